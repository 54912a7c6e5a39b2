"""The change-history tab of a record page: audit entries rendered with the form's labels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from app.access.audit import record_changes
from app.access.personal import PERSONAL_TYPES, shown
from app.forms_engine.spec import FormSpec
from app.views.labels import current_lang, format_value


@dataclass(frozen=True)
class Change:
    at: str
    username: str
    action: str
    fields: list[tuple[str, Any, Any]]


def change_history(spec: FormSpec, record_id: int) -> list[Change]:
    """Newest first; retired fields keep their label, personal values stay masked unless revealed."""
    by_id = {f.id: f for f in spec.fields}
    actions = {"create": gettext("Created"), "update": gettext("Changed"), "delete": gettext("Deleted")}
    lang = current_lang()
    out = []
    for entry in record_changes(spec.slug, record_id):
        rows = []
        for field_id, (before, after) in entry.changes.items():
            field = by_id.get(field_id)
            if field is None:
                rows.append((field_id, before, after))
                continue
            label = field.label.get(lang) + (f" ({gettext('retired')})" if field.retired else "")
            rows.append((label, _value(field, before), _value(field, after)))
        out.append(
            Change(entry.at.strftime("%d-%m-%Y %H:%M"), entry.username, actions.get(entry.action, entry.action), rows)
        )
    return out


def _value(field: Any, value: Any) -> Any:
    if value is None:
        return ""
    if field.type in PERSONAL_TYPES:
        return shown(value)
    if field.type in ("choice", "region", "money", "boolean"):
        try:
            return format_value(field, value)
        except (TypeError, ValueError, ArithmeticError):
            return value
    return value
