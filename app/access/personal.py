"""Personal data (UU 27/2022): NIK and No. KK masked unless a permitted user asks to see them,
and an access log of who viewed, revealed, exported or printed personal data.

Masking is the default on every path (lists, record pages, API, history, exports). Users
whose role has a form's `reveal` permission can ask for the full values of a record (the
record page's "show" button, or the API's `?reveal=true`); each such request is logged
with who, when, which form and records, and the purpose given.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from sqlalchemy.orm import Mapped, mapped_column

from app.access.login_guard import client_address
from app.core_model import CoreModel
from app.extensions import db

PERSONAL_TYPES = frozenset({"nik", "kk"})


class AccessLogEntry(CoreModel):
    """One access to personal data."""

    __tablename__ = "simpul_access_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    user_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    username: Mapped[str] = mapped_column(sa.String(256))
    action: Mapped[str] = mapped_column(sa.String(20))  # reveal, export, print, search
    form: Mapped[str] = mapped_column(sa.String(120))
    record_ids: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    row_count: Mapped[int] = mapped_column(sa.Integer)
    purpose: Mapped[str | None] = mapped_column(sa.String(500), nullable=True)
    address: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)

    def __repr__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.form}"


def mask(value: Any) -> Any:
    """6309********0001: the region and the serial stay, the birth date and the rest do not."""
    if not value:
        return value
    text = str(value)
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def personal_fields(spec: Any) -> list[Any]:
    """The form's fields that are masked."""
    return [f for f in spec.live_fields if f.type in PERSONAL_TYPES]


def current_user() -> Any:
    return current_app.appbuilder.sm.current_user if has_request_context() else None


def may_reveal(spec: Any) -> bool:
    """Whether the current user's roles have the form's `reveal` permission."""
    from app.views.generated import permission_view_name

    return bool(current_user()) and current_app.appbuilder.sm.has_access("can_reveal", permission_view_name(spec))


def revealing() -> bool:
    """Whether this request was granted (and logged) full values."""
    return bool(has_request_context() and g.get("simpul_reveal"))


def shown(value: Any) -> Any:
    """A personal value as this request may show it."""
    return value if revealing() else mask(value)


def log_access(
    action: str, form: str, record_ids: list[int] | None, row_count: int, purpose: str | None = None
) -> None:
    """Write one access-log entry (committed on its own: the access happened either way)."""
    user = current_user()
    entry = AccessLogEntry(
        at=datetime.now(),
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", None) or "sistem",
        action=action,
        form=form,
        record_ids=json.dumps(record_ids[:1000]) if record_ids is not None else None,
        row_count=row_count,
        purpose=(purpose or "").strip()[:500] or None,
        address=client_address() if has_request_context() else None,
    )
    db.session.add(entry)
    db.session.commit()
