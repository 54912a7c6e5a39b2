"""Working days: Monday to Friday, less national holidays, cuti bersama and local holidays.

Instants go in and come out as aware UTC datetimes; days are counted in the installation's
zone (WIB, WITA or WIT), because a record entered at 23:30 WIB on Thursday was entered on
Friday in WITA.

**Deadlines.** An SLA of N working days for a record entering a state at instant t ends with
the Nth working day *after* the local date of t (the day of entry never counts, whatever the
hour; a record entering on a Saturday or a holiday counts from the next working day, like one
entering late on the Friday before). The deadline instant is the start (00:00 local) of the next
working day after that Nth day: the record is overdue from the moment work could resume, so
an SLA ending on a Friday fires its reminders on Monday at 00:00, not on Saturday, and every
deadline falls at the start of a working day. `add_working_days(t, n)` is that instant (for
n = 0: the start of the first working day after the day of t).

**Counting.** `working_days_between(a, b)` is the number of working days whose local date lies
from the local date of a (included) to that of b (excluded): for two deadlines it is the number
of working days between them; for a deadline and now, the working days that began overdue.

Holidays come from the office's table (seeded by `seed_holidays`, corrected and extended by
admins with each decree, plus local holidays); a changed table means a new calendar, and due
times are computed again with it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from .clock import aware

# Indonesia's zones (no daylight saving): the office's zone name -> IANA zone.
ZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
NATIONAL, CUTI_BERSAMA, LOCAL = "national", "cuti_bersama", "local"
HOLIDAY_KINDS = (NATIONAL, CUTI_BERSAMA, LOCAL)
ESTIMATED = "(perkiraan)"  # how the holidays package marks Islamic dates it has only estimated
_ONE_DAY = timedelta(days=1)


def zone_of(name: str) -> ZoneInfo:
    """The zone of WIB, WITA or WIT, or of an IANA name such as Asia/Makassar."""
    return ZoneInfo(ZONES.get(name, name))


class WorkingCalendar:
    """Which days are working days in one installation, and arithmetic in them."""

    def __init__(self, holidays: Mapping[date, str], zone: ZoneInfo | str) -> None:
        self.holidays = dict(holidays)
        self.zone = zone if isinstance(zone, ZoneInfo) else zone_of(zone)
        # Holidays that fall on weekdays: the only ones that change a count of working days.
        self._weekday_holidays = sorted(d for d in self.holidays if d.weekday() < 5)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a holiday."""
        return day.weekday() < 5 and day not in self.holidays

    def local_date(self, instant: datetime) -> date:
        """The date of `instant` in the installation's zone."""
        return aware(instant).astimezone(self.zone).date()

    def start_of(self, day: date) -> datetime:
        """00:00 local on `day`, in UTC."""
        return aware(datetime.combine(day, time(), tzinfo=self.zone))

    def working_day_after(self, day: date, n: int = 1) -> date:
        """The nth working day after `day` (`day` itself never counts)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        while n:
            day += _ONE_DAY
            n -= self.is_working_day(day)
        return day

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """The deadline of n working days from instant `start` (see the module docstring), in UTC."""
        if n < 0:
            raise ValueError(f"n must not be negative, not {n}")
        return self.start_of(self.working_day_after(self.local_date(start), n + 1))

    def due_date(self, start: datetime, n: int) -> date:
        """The last working day of an SLA of n ≥ 1 working days from `start` ("due by Friday")."""
        return self.working_day_after(self.local_date(start), n)

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """Working days from the local date of `a` (included) to that of `b` (excluded); 0 if b is not later."""
        first, last = self.local_date(a), self.local_date(b)
        if last <= first:
            return 0
        days = (last - first).days
        weeks, rest = divmod(days, 7)
        weekdays = weeks * 5 + sum((first.weekday() + i) % 7 < 5 for i in range(rest))
        off = bisect.bisect_left(self._weekday_holidays, last) - bisect.bisect_left(self._weekday_holidays, first)
        return weekdays - off


class SeededHoliday(NamedTuple):
    """A holiday as the `holidays` package knows it: a starting point for the office's table."""

    day: date
    name: str  # in Bahasa Indonesia; several on one day are joined by "; "
    kind: str  # national or cuti_bersama

    @property
    def estimated(self) -> bool:
        """An Islamic date the package has only estimated: to be checked against the decree."""
        return ESTIMATED in self.name


def seed_holidays(years: Iterable[int]) -> list[SeededHoliday]:
    """National holidays and cuti bersama of `years`, by date, from the `holidays` package.

    Cuti bersama are in the package's *government* category (a plain `holidays.ID()` leaves
    them out); national holidays are its *public* one. A day in both is national. Islamic dates
    beyond the years decreed are estimates ("(perkiraan)" in the name), and decrees move dates
    during the year: the office's table is seeded from this and corrected by admins.
    """
    import holidays  # only the seeding needs it

    wanted = sorted(set(years))
    public = holidays.country_holidays("ID", years=wanted, categories=("public",), language="id")
    government = holidays.country_holidays("ID", years=wanted, categories=("government",), language="id")
    seeded = [SeededHoliday(day, name, NATIONAL) for day, name in public.items()]
    seeded += [SeededHoliday(day, name, CUTI_BERSAMA) for day, name in government.items() if day not in public]
    return sorted(seeded)
