"""Audit trail: every create, update and delete of a form record, with field-level before/after.

Recorded from SQLAlchemy's flush, so every path that writes records through the ORM (screens,
API, grid, later imports) is covered without each one remembering to. Changes are keyed by
the field's stable id, so renamed and retired fields stay readable in the history.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy import orm
from sqlalchemy.orm import Mapped, mapped_column

from app.core_model import CoreModel
from app.forms_engine.fieldtypes import column_name
from app.office import utc_now


class AuditEntry(CoreModel):
    """One change of one record."""

    __tablename__ = "simpul_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    user_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    username: Mapped[str] = mapped_column(sa.String(256))
    form: Mapped[str] = mapped_column(sa.String(120))
    record_id: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[str] = mapped_column(sa.String(10))  # create, update, delete
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # field id -> [before, after]

    def __repr__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.form} #{self.record_id}"


def plain(value: Any) -> Any:
    """A value as the audit trail stores it in JSON (dates as ISO text, Decimal as text)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _changes(obj: Any, action: str) -> dict[str, list[Any]]:
    state = sa.inspect(obj)
    found: dict[str, list[Any]] = {}
    for f in type(obj).__spec__.column_fields:
        column = column_name(f)
        if column not in state.attrs:
            continue
        if action == "create":
            value = getattr(obj, column)
            if value not in (None, "", []):
                found[f.id] = [None, plain(value)]
        elif action == "delete":
            value = state.attrs[column].loaded_value
            if value is not orm.base.NO_VALUE and value not in (None, "", []):
                found[f.id] = [plain(value), None]
        else:
            history = state.attrs[column].history
            if history.has_changes():
                before = history.deleted[0] if history.deleted else None
                after = history.added[0] if history.added else None
                if before != after:
                    found[f.id] = [plain(before), plain(after)]
    return found


def _who() -> tuple[int | None, str]:
    user = g.get("user") if has_request_context() else None
    if user is not None and getattr(user, "is_authenticated", False):
        return user.id, user.username
    return None, "sistem"


def _after_flush(session: orm.Session, _context: Any) -> None:
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not hasattr(type(obj), "__spec__") or getattr(obj, "id", None) is None:
                continue
            changes = _changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append((type(obj).__spec__.slug, obj.id, action, changes))
    if rows:
        user_id, username = _who()
        now = utc_now()
        session.connection().execute(
            sa.insert(AuditEntry.__table__),
            [
                {
                    "at": now,
                    "user_id": user_id,
                    "username": username,
                    "form": form,
                    "record_id": rid,
                    "action": act,
                    "changes": ch,
                }
                for form, rid, act, ch in rows
            ],
        )


def install() -> None:
    """Listen on every ORM session (once per process; apps rebuilt after a publish share it)."""
    if not sa.event.contains(orm.Session, "after_flush", _after_flush):
        sa.event.listen(orm.Session, "after_flush", _after_flush)


def record_changes(form: str, record_id: int) -> list[AuditEntry]:
    """A record's history, newest first."""
    from app.extensions import db

    query = sa.select(AuditEntry).where(AuditEntry.form == form, AuditEntry.record_id == record_id)
    return list(db.session.execute(query.order_by(AuditEntry.id.desc())).scalars())
