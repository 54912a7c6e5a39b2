"""Changes of a record as people read them: the record page's history tab and the audit trail.

Audit entries are keyed by field id; they are shown with the form's labels (retired fields
keep theirs) and values formatted as on screens. NIK and No. KK stay masked unless the page is
a logged reveal; values of fields the form no longer knows are masked wherever they hold a
16-digit number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext

from app.access.audit import record_changes
from app.access.personal import is_personal, mask, revealing
from app.access.redaction import redact
from app.forms_engine.spec import FormSpec
from app.office import local_timestamp
from app.views.labels import current_lang, format_value


@dataclass(frozen=True)
class Change:
    at: str
    username: str
    action: str
    fields: list[tuple[str, Any, Any]]


def action_label(action: str) -> str:
    """Created / Changed / Deleted in the reader's language."""
    return {"create": gettext("Created"), "update": gettext("Changed"), "delete": gettext("Deleted")}.get(
        action, action
    )


def change_history(spec: FormSpec, record_id: int) -> list[Change]:
    """Newest first; personal values masked unless this request is a logged reveal."""
    return [
        Change(
            local_timestamp(entry.at),
            entry.username,
            action_label(entry.action),
            change_rows(spec, entry.changes, reveal=revealing()),
        )
        for entry in record_changes(spec.slug, record_id)
    ]


def change_rows(spec: FormSpec | None, changes: dict[str, Any], reveal: bool = False) -> list[tuple[str, Any, Any]]:
    """(label, before, after) for each changed field of one audit entry."""
    by_id = {f.id: f for f in spec.fields} if spec is not None else {}
    lang = current_lang()
    rows = []
    for field_id, (before, after) in (changes or {}).items():
        field = by_id.get(field_id)
        if field is None:
            rows.append((field_id, _unknown(before), _unknown(after)))
            continue
        label = field.label.get(lang) + (f" ({gettext('retired')})" if field.retired else "")
        rows.append((label, _value(field, before, reveal), _value(field, after, reveal)))
    return rows


def _unknown(value: Any) -> Any:
    return "" if value is None else redact(str(value))


def _value(field: Any, value: Any, reveal: bool) -> Any:
    """A value as the audit stored it (JSON: dates as ISO text), shown as the screens show it."""
    if value is None:
        return ""
    if is_personal(field):
        return value if reveal else mask(value)
    try:
        if field.type == "reference":
            return record_title(field.target, value)
        if field.type in ("date", "datetime") and isinstance(value, str):
            value = (date if field.type == "date" else datetime).fromisoformat(value)
        if field.type in ("choice", "multichoice", "region", "money", "boolean", "date", "datetime"):
            return format_value(field, value)
    except (TypeError, ValueError, ArithmeticError):
        return value
    return value


def record_title(slug: str | None, record_id: Any) -> str:
    """ "#18 Siti" for a record the reader may see, "#18" otherwise (or when it is gone)."""
    from app.access.scope import visible
    from app.extensions import db

    model = current_app.extensions.get("simpul_models", {}).get(slug or "")
    found = visible(model, record_id, db.session) if model is not None else None
    title = str(found) if found is not None else ""
    return f"#{record_id} {title}".strip() if title and title != f"#{record_id}" else f"#{record_id}"
