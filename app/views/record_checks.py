"""The engine's checks against stored data, as the current user may hear them.

Screens, API and grid all check a record through `check_for_user`: the office's district and
the user's working area are filled in, and a message that points to another record names it
only when the user may see that record ("sudah dipakai oleh data lain" otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext

from app.access.scope import current_scope, visible
from app.forms_engine.messages import Message, RecordRef
from app.forms_engine.record import check_record
from app.office import office_district

Errors = dict[str, list[Message]]


def check_for_user(
    session: Any,
    spec: Any,
    tables: Any,
    specs: Any,
    values: Any,
    record_id: int | None,
    parent_id: int | None = None,
) -> tuple[Errors, Errors]:
    """(errors, warnings) of the form's uniqueness and rules, for the current user."""
    errors, warnings = check_record(
        session, spec, tables, specs, values, record_id, parent_id, office_district(), current_scope()
    )
    return hide_unseen(errors, session), hide_unseen(warnings, session)


def hide_unseen(found: Errors, session: Any) -> Errors:
    """Messages with every record the user may not see named only as "another record"."""
    return {name: [_hidden(m, session) for m in messages] for name, messages in found.items()}


def _hidden(message: Message, session: Any) -> Message:
    refs = {k: v for k, v in message.params.items() if isinstance(v, RecordRef)}
    if not refs:
        return message
    models = current_app.extensions.get("simpul_models", {})
    params = dict(message.params)
    for key, ref in refs.items():
        model = models.get(ref.form)
        if model is None or visible(model, ref.id, session) is None:
            params[key] = gettext("another record")
    return Message(message.text, params, message.custom)
