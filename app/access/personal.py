"""Personal data (UU 27/2022): NIK and No. KK masked unless a permitted user asks to see them,
and an access log of who viewed, revealed, searched, exported or printed personal data.

Masking is the default on every path (lists, record pages, API in any shape, history, audit,
exports, edit forms). Users whose role has a form's `reveal` permission can ask for the full
values of a record (the record page's "show" button with a purpose, or the API's
`?reveal=true&purpose=…`); nothing else shows them. A personal field can be searched only by its
whole value (no partial operators, no sorting), and each such search is logged.

Access-log entries of a request are written together once its response is ready
(`after_request`); if they cannot be written the response is refused, so no personal data
leaves without its log entry.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_request_context
from flask_babel import gettext
from sqlalchemy.orm import Mapped, mapped_column

from app.access.login_guard import client_address
from app.core_model import CoreModel
from app.database import write_intent
from app.extensions import db
from app.forms_engine.identity import PERSONAL_TYPES, mask
from app.forms_engine.messages import N_
from app.forms_engine.text import UNSTORABLE
from app.office import utc_now

log = logging.getLogger(__name__)

IDENTITY_DIGITS = 16  # NIK and No. KK
_WHOLE_IDENTITY = re.compile(r"\d{16}", re.ASCII)


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


def is_personal(field: Any) -> bool:
    """Whether a field's values are masked (NIK, No. KK)."""
    return getattr(field, "type", None) in PERSONAL_TYPES


def personal_fields(spec: Any) -> list[Any]:
    """The form's fields that are masked."""
    return [f for f in spec.live_fields if is_personal(f)]


def whole_identity(value: Any) -> str | None:
    """A complete NIK / No. KK typed into a search (spaces and dots allowed), else None."""
    text = re.sub(r"[\s.\-]", "", str(value or ""))
    return text if _WHOLE_IDENTITY.fullmatch(text) else None


MIN_PURPOSE_LENGTH = 5
PURPOSE_REQUIRED = N_("State the purpose of viewing the full NIK and No. KK (at least 5 characters).")


def stated_purpose(text: Any) -> str | None:
    """The purpose given for a reveal, or None when there is none worth logging.

    Whitespace runs become one space and characters no database stores (NUL…) are dropped: the
    purpose is a note for the audit trail, not a value to refuse a reveal over."""
    purpose = " ".join(UNSTORABLE.sub("", str(text or "")).split())[:500]
    return purpose if len(purpose) >= MIN_PURPOSE_LENGTH else None


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


@dataclass
class _Pending:
    action: str
    form: str
    record_ids: list[int] | None
    row_count: int
    purpose: str | None


def log_access(
    action: str, form: str, record_ids: list[int] | None, row_count: int, purpose: str | None = None
) -> None:
    """Log one access (written with the request's response; outside requests, at once)."""
    entry = _Pending(action, form, record_ids, row_count, purpose)
    if has_request_context():
        g.setdefault("simpul_access", []).append(entry)
    else:
        _write([entry])


def note_search(form: str) -> None:
    """A search by a whole NIK / No. KK is about to run; `searched()` logs it with what it found."""
    if has_request_context():
        g.setdefault("simpul_searches", set()).add(form)


def searched(form: str, record_ids: list[int], count: int) -> None:
    """Log the pending whole-value search on this form, with the records it found."""
    if not has_request_context():
        return
    pending = g.get("simpul_searches", set())
    if form in pending:
        pending.discard(form)
        log_access("search", form, record_ids, count)


def _write(entries: list[_Pending]) -> None:
    user = current_user()
    now = utc_now()
    address = client_address() if has_request_context() else None
    db.session.add_all(
        AccessLogEntry(
            at=now,
            user_id=getattr(user, "id", None),
            username=getattr(user, "username", None) or "sistem",
            action=e.action,
            form=e.form,
            record_ids=json.dumps(e.record_ids[:1000]) if e.record_ids is not None else None,
            row_count=e.row_count,
            purpose=(e.purpose or "").strip()[:500] or None,
            address=address,
        )
        for e in entries
    )
    db.session.commit()


def init_access_log(app: Flask) -> None:
    """Write each request's access-log entries once its response is ready; refuse it if they fail."""

    @app.after_request
    def write_access_log(response: Response) -> Response:
        for form in g.pop("simpul_searches", set()):  # searched, but no rows were read (counts only)
            log_access("search", form, [], 0)
        entries = g.pop("simpul_access", [])
        if not entries:
            return response
        try:
            # A read (GET) ends its transaction first, then the entries take SQLite's write lock up
            # front: upgrading a read transaction would fail at once beside another writer.
            db.session.commit()
            with write_intent(True):
                _write(entries)
        except Exception:
            db.session.rollback()
            log.exception("the personal-data access log could not be written; the response was withheld")
            return Response(gettext("The request could not be logged. Try again."), status=503)
        return response
