"""Where the workflow engine gets the time: injectable, so tests can move it across weekends and years."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


def aware(value: datetime, what: str = "time") -> datetime:
    """`value` as UTC; a naive datetime is refused (its zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must carry a time zone (store and pass UTC): {value!r}")
    return value.astimezone(UTC)


class Clock(Protocol):
    """Anything that tells the current instant (aware, UTC)."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until a test sets or advances it."""

    def __init__(self, at: datetime) -> None:
        self._at = aware(at)

    def now(self) -> datetime:
        """The instant it was last set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to `at` (aware)."""
        self._at = aware(at)

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by `delta` or by timedelta keywords (days=3, hours=2); return the new time."""
        self._at += (delta or timedelta()) + timedelta(**parts)
        return self._at
