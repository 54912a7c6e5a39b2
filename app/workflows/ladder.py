"""When a stay in a state is due, how long it is overdue, and which escalation levels have come.

A *stay* begins when a record enters a state (`entered_at`) and ends when it leaves; entering
the same state again is a new stay with its own deadline and a fresh ladder. The deadline is
the state's SLA in working days (calendar.py); a level with `after: N` comes N working days
later, i.e. at `add_working_days(entered_at, sla + N)`. Each level fires once per stay: the
caller keeps the numbers already fired with the stay and passes them back. When several
levels have come at once (the sweep was down over a long weekend), all of them are due, in
order.

Everything is computed from `entered_at` and a calendar, never stored: a corrected holiday
table is a new calendar, and `timers` gives the new due times for the rows not yet fired.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from .calendar import WorkingCalendar
from .clock import aware
from .spec import LadderLevel, StateSpec

DEADLINE = 0  # the number of the deadline itself among a stay's timers; ladder levels are 1, 2, 3 …
_PARTS = {"kabupaten": 2, "kecamatan": 3, "desa": 4}  # parts of a region code at each level


@dataclass(frozen=True)
class Timer:
    """One moment of a stay: its deadline (level 0) or a ladder level coming due."""

    level: int
    at: datetime


@dataclass(frozen=True)
class Ladder:
    """Deadline and escalation of stays in one state, counted in one calendar."""

    state: StateSpec
    calendar: WorkingCalendar

    def due_at(self, entered_at: datetime) -> datetime | None:
        """The instant a stay that began at `entered_at` becomes overdue (None: the state has no SLA)."""
        if self.state.sla is None:
            return None
        return self.calendar.add_working_days(entered_at, self.state.sla)

    def due_date(self, entered_at: datetime) -> date | None:
        """The last working day of the SLA, as shown to people ("due by Friday 20 March")."""
        if self.state.sla is None:
            return None
        return self.calendar.due_date(entered_at, self.state.sla)

    def level_due_at(self, entered_at: datetime, level: LadderLevel) -> datetime:
        """The instant `level` comes: `level.after` working days after the deadline."""
        if self.state.sla is None:
            raise ValueError(f"state {self.state.name!r} has no SLA, so no ladder")
        return self.calendar.add_working_days(entered_at, self.state.sla + level.after)

    def levels_due(self, entered_at: datetime, now: datetime, already_fired: Collection[int]) -> list[LadderLevel]:
        """Levels whose time has come by `now` and whose numbers are not in `already_fired`, in order."""
        now = aware(now, "now")
        return [
            level
            for level in self.state.ladder
            if level.number not in already_fired and self.level_due_at(entered_at, level) <= now
        ]

    def is_overdue(self, entered_at: datetime, now: datetime) -> bool:
        """Whether the stay's deadline has passed by `now`."""
        due = self.due_at(entered_at)
        return due is not None and aware(now, "now") >= due

    def overdue_days(self, entered_at: datetime, now: datetime) -> int:
        """Whole working days overdue by `now` (0 on the first overdue day); a level with `after: N` comes at N."""
        due = self.due_at(entered_at)
        if due is None:
            return 0
        return self.calendar.working_days_between(due, now)

    def timers(self, entered_at: datetime) -> tuple[Timer, ...]:
        """The stay's deadline and each level's due time, as rows for a sweep (empty without an SLA)."""
        due = self.due_at(entered_at)
        if due is None:
            return ()
        return (
            Timer(DEADLINE, due),
            *(Timer(lv.number, self.level_due_at(entered_at, lv)) for lv in self.state.ladder),
        )


def waited_days(calendar: WorkingCalendar, entered_at: datetime, now: datetime) -> int:
    """Whole working days a stay has lasted by `now` (the day of entry not counted): the SLA's count."""
    waited = calendar.working_days_between(entered_at, now) - calendar.is_working_day(calendar.local_date(entered_at))
    return max(waited, 0)


def area_of(region_code: str, level: str) -> str | None:
    """The record's region cut at a ladder level (63.09.01.2001 at kecamatan: 63.09.01); None if too coarse."""
    parts = region_code.split(".")
    wanted = _PARTS[level]
    return ".".join(parts[:wanted]) if len(parts) >= wanted else None
