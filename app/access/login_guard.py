"""Login throttling kept in the database, so every worker and app server sees the same counts.

Two limits, both over a sliding window (LOGIN_WINDOW_MINUTES):
- lockout: after LOGIN_LOCKOUT_FAILURES failed logins for one username, that account is
  refused (even with the right password) until the window has passed since the last failure;
- rate limit: after LOGIN_ADDRESS_FAILURES failed logins from one address (any usernames),
  that address is refused, which stops password spraying across many accounts.
A successful login clears the username's failures. `flask simpul users unlock NAME` clears
them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.orm import Mapped, mapped_column

from app.core_model import CoreModel
from app.extensions import db
from app.office import utc_now


class LoginFailure(CoreModel):
    """One failed login: which username (lower case), from which address, when."""

    __tablename__ = "simpul_login_failure"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(256))
    address: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(sa.DateTime)


@dataclass(frozen=True)
class Refusal:
    """Why a login is refused before the password is even checked."""

    reason: str  # "locked" or "throttled"
    minutes: int  # until it may be tried again


def client_address() -> str:
    """The caller's address (behind a proxy: set PROXY_FIX_X_FOR so Werkzeug's ProxyFix fills it)."""
    return (request.remote_addr if request else None) or "-"


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def refusal(username: str, address: str) -> Refusal | None:
    """A reason to refuse this login now, or None."""
    now = utc_now()
    config = current_app.config
    for reason, column, value, limit in (
        ("locked", LoginFailure.username, username.strip().lower(), config["LOGIN_LOCKOUT_FAILURES"]),
        ("throttled", LoginFailure.address, address, config["LOGIN_ADDRESS_FAILURES"]),
    ):
        count, last = db.session.execute(
            sa.select(sa.func.count(), sa.func.max(LoginFailure.at)).where(
                column == value, LoginFailure.at >= now - _window()
            )
        ).one()
        if count >= limit:
            return Refusal(reason, _minutes_left(last, now))
    return None


def _minutes_left(last: datetime, now: datetime) -> int:
    return max(1, int(((last + _window()) - now).total_seconds() // 60) + 1)


def record_failure(username: str, address: str) -> None:
    db.session.add(LoginFailure(username=username.strip().lower()[:256], address=address[:64], at=utc_now()))
    # Old rows are of no use to either limit.
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at < utc_now() - 4 * _window()))
    db.session.commit()


def clear_failures(username: str) -> int:
    """Forget a username's failures (after a successful login, or an admin's unlock)."""
    result = db.session.execute(sa.delete(LoginFailure).where(LoginFailure.username == username.strip().lower()))
    db.session.commit()
    return result.rowcount or 0
