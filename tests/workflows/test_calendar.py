"""Working days: weekends, national holidays, cuti bersama, year ends, zones; deadlines at the start of a working day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.workflows.calendar import CUTI_BERSAMA, NATIONAL, WorkingCalendar, seed_holidays, zone_of
from app.workflows.clock import FixedClock, SystemClock

from .conftest import utc

PLAIN = WorkingCalendar({}, "WITA")


def local(calendar: WorkingCalendar, instant: datetime) -> datetime:
    return instant.astimezone(calendar.zone)


# --- Seeding from the holidays package


def test_cuti_bersama_only_in_the_government_category() -> None:
    """Why the seed asks for both categories: a plain holidays.ID() leaves cuti bersama out."""
    assert date(2026, 12, 24) not in holidays.ID(years=2026)
    seeded = {h.day: h for h in seed_holidays([2026])}
    assert seeded[date(2026, 12, 24)].kind == CUTI_BERSAMA
    assert seeded[date(2026, 12, 25)].kind == NATIONAL
    assert seeded[date(2026, 12, 25)].name == "Hari Raya Natal"


def test_idul_fitri_2026_with_its_cuti_bersama() -> None:
    seeded = {h.day: h for h in seed_holidays([2026])}
    assert [(d.day, seeded[d].kind) for d in sorted(seeded) if date(2026, 3, 18) <= d <= date(2026, 3, 24)] == [
        (18, CUTI_BERSAMA),  # Nyepi
        (19, NATIONAL),
        (20, CUTI_BERSAMA),  # Idul Fitri
        (21, NATIONAL),
        (22, NATIONAL),
        (23, CUTI_BERSAMA),
        (24, CUTI_BERSAMA),
    ]
    assert seeded[date(2026, 3, 21)].name == "Hari Raya Idul Fitri"


def test_estimated_islamic_dates_are_flagged() -> None:
    later = [h for h in seed_holidays([2027]) if h.estimated]
    assert date(2027, 3, 10) in {h.day for h in later}  # Idul Fitri 2027, not decreed yet
    assert not any(h.estimated for h in seed_holidays([2025]))


def test_seed_is_sorted_with_one_row_per_day() -> None:
    rows = seed_holidays([2025, 2026])
    assert rows == sorted(rows)
    assert len({h.day for h in rows}) == len(rows)
    assert date(2025, 8, 18) in {h.day for h in rows}  # added by decree in 2025


def test_zones() -> None:
    assert zone_of("WIB").key == "Asia/Jakarta"
    assert zone_of("WITA").key == "Asia/Makassar"
    assert zone_of("WIT").key == "Asia/Jayapura"
    assert zone_of("Asia/Makassar").key == "Asia/Makassar"


# --- Working days


def test_weekends_are_not_working_days() -> None:
    assert [PLAIN.is_working_day(date(2026, 3, d)) for d in range(2, 9)] == [True] * 5 + [False] * 2


def test_holidays_are_not_working_days(wita: WorkingCalendar) -> None:
    assert not wita.is_working_day(date(2026, 3, 20))  # cuti bersama, a Friday
    assert not wita.is_working_day(date(2026, 8, 17))  # Independence Day, a Monday
    assert wita.is_working_day(date(2026, 3, 25))


def test_one_working_day_ends_at_the_start_of_the_second() -> None:
    """Monday 10:00 WITA with one working day: all of Tuesday, due Wednesday 00:00 WITA."""
    entered = utc(2026, 3, 2, 2)  # Monday 10:00 WITA
    due = PLAIN.add_working_days(entered, 1)
    assert local(PLAIN, due) == datetime(2026, 3, 4, tzinfo=PLAIN.zone)
    assert due.tzinfo is UTC and due == utc(2026, 3, 3, 16)
    assert PLAIN.due_date(entered, 1) == date(2026, 3, 3)


def test_an_sla_ending_on_friday_is_due_on_monday() -> None:
    entered = utc(2026, 3, 4, 2)  # Wednesday
    assert local(PLAIN, PLAIN.add_working_days(entered, 2)) == datetime(2026, 3, 9, tzinfo=PLAIN.zone)
    assert PLAIN.due_date(entered, 2) == date(2026, 3, 6)


def test_entering_on_saturday_counts_from_monday() -> None:
    friday_evening = utc(2026, 3, 6, 15, 30)  # 23:30 WITA
    saturday = utc(2026, 3, 7, 1)
    sunday_night = utc(2026, 3, 8, 15, 59)  # 23:59 WITA
    due = {PLAIN.add_working_days(t, 1) for t in (friday_evening, saturday, sunday_night)}
    assert due == {datetime(2026, 3, 10, tzinfo=PLAIN.zone)}  # Monday counts: due Tuesday 00:00
    assert PLAIN.add_working_days(utc(2026, 3, 8, 16), 1) == datetime(2026, 3, 11, tzinfo=PLAIN.zone)  # Monday 00:00


def test_zero_days_is_the_end_of_the_day_of_entry() -> None:
    assert PLAIN.add_working_days(utc(2026, 3, 6, 2), 0) == datetime(2026, 3, 9, tzinfo=PLAIN.zone)


def test_idul_fitri_2026(wita: WorkingCalendar) -> None:
    """Tuesday 17 March: Nyepi, cuti bersama, the weekend of Lebaran and two more days off follow."""
    entered = utc(2026, 3, 17, 2)
    assert wita.due_date(entered, 1) == date(2026, 3, 25)
    assert local(wita, wita.add_working_days(entered, 1)) == datetime(2026, 3, 26, tzinfo=wita.zone)
    assert wita.due_date(entered, 3) == date(2026, 3, 27)
    assert wita.due_date(entered, 4) == date(2026, 3, 30)


def test_year_end_christmas_cuti_bersama_and_new_year(wita: WorkingCalendar) -> None:
    """Wed 23 Dec 2026: 24 (cuti bersama), 25 (Christmas), the weekend, 28–31, 1 Jan 2027 off, 5 Jan Isra Mikraj."""
    entered = utc(2026, 12, 23, 3)
    assert [wita.due_date(entered, n) for n in range(1, 7)] == [
        date(2026, 12, 28),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 4),
        date(2027, 1, 6),
    ]
    assert local(wita, wita.add_working_days(entered, 4)) == datetime(2027, 1, 4, tzinfo=wita.zone)


def test_entering_on_new_year_in_local_time(wita: WorkingCalendar) -> None:
    """20:00 UTC on 31 December is 04:00 on 1 January in WITA: a holiday, counted from 4 January."""
    entered = utc(2026, 12, 31, 20)
    assert wita.local_date(entered) == date(2027, 1, 1)
    assert wita.due_date(entered, 1) == date(2027, 1, 4)


def test_wib_and_wita_near_midnight(wib: WorkingCalendar, wita: WorkingCalendar) -> None:
    """16:30 UTC on Thursday 5 March is 23:30 Thursday in WIB but 00:30 Friday in WITA."""
    entered = utc(2026, 3, 5, 16, 30)
    assert wib.local_date(entered) == date(2026, 3, 5)
    assert wita.local_date(entered) == date(2026, 3, 6)
    assert wib.add_working_days(entered, 1) == utc(2026, 3, 8, 17)  # Monday 9 March 00:00 WIB
    assert wita.add_working_days(entered, 1) == utc(2026, 3, 9, 16)  # Tuesday 10 March 00:00 WITA


def test_a_corrected_calendar_moves_the_deadline(seeded: dict[date, str]) -> None:
    """Admins add a local holiday (Hari Jadi Kabupaten): the same entry is due a working day later."""
    entered = utc(2026, 6, 2, 2)  # Tuesday
    before = WorkingCalendar(seeded, "WITA")
    after = WorkingCalendar({**seeded, date(2026, 6, 4): "Hari Jadi Kabupaten Tabalong"}, "WITA")
    assert before.due_date(entered, 2) == date(2026, 6, 4)
    assert after.due_date(entered, 2) == date(2026, 6, 5)
    removed = dict(seeded)
    del removed[date(2026, 12, 24)]  # a decree cancels a cuti bersama
    assert WorkingCalendar(removed, "WITA").due_date(utc(2026, 12, 23, 3), 1) == date(2026, 12, 24)


def test_working_days_between(wita: WorkingCalendar) -> None:
    assert PLAIN.working_days_between(utc(2026, 3, 2, 2), utc(2026, 3, 9, 2)) == 5  # Monday to Monday
    assert PLAIN.working_days_between(utc(2026, 3, 9, 2), utc(2026, 3, 2, 2)) == 0
    assert PLAIN.working_days_between(utc(2026, 3, 2, 2), utc(2026, 3, 2, 9)) == 0
    assert wita.working_days_between(utc(2026, 3, 16, 2), utc(2026, 3, 30, 2)) == 5  # Lebaran fortnight
    assert wita.working_days_between(utc(2026, 1, 1), utc(2027, 1, 1)) == 261 - sum(
        1 for d in wita.holidays if d.year == 2026 and d.weekday() < 5
    )


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        PLAIN.add_working_days(datetime(2026, 3, 2, 10), 1)
    with pytest.raises(ValueError):
        PLAIN.add_working_days(utc(2026, 3, 2), -1)


def test_clocks() -> None:
    clock = FixedClock(utc(2026, 12, 31, 15))
    assert clock.now() == utc(2026, 12, 31, 15)
    assert clock.advance(days=1, hours=2) == utc(2027, 1, 1, 17)
    clock.set(datetime(2027, 1, 4, 8, tzinfo=zone_of("WITA")))
    assert clock.now() == utc(2027, 1, 4) and clock.now().tzinfo is UTC
    assert abs(SystemClock().now() - datetime.now(UTC)) < timedelta(seconds=5)


# --- Invariants

INSTANTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
DAYS = st.integers(min_value=0, max_value=120)


@settings(max_examples=150, deadline=None)
@given(start=INSTANTS, n=DAYS)
def test_deadlines_fall_at_the_start_of_a_working_day(wita: WorkingCalendar, start: datetime, n: int) -> None:
    due = wita.add_working_days(start, n)
    assert due > start
    assert wita.is_working_day(wita.local_date(due))
    assert local(wita, due).time().isoformat() == "00:00:00"
    assert wita.local_date(due) > wita.due_date(start, n or 1) or n == 0


@settings(max_examples=150, deadline=None)
@given(start=INSTANTS, m=DAYS, n=DAYS)
def test_deadlines_grow_by_working_days(wita: WorkingCalendar, start: datetime, m: int, n: int) -> None:
    m, n = sorted((m, n))
    first, second = wita.add_working_days(start, m), wita.add_working_days(start, n)
    assert (first < second) == (m < n)
    assert wita.working_days_between(first, second) == n - m


@settings(max_examples=100, deadline=None)
@given(a=INSTANTS, b=INSTANTS, n=DAYS)
def test_a_later_entry_is_never_due_earlier(wita: WorkingCalendar, a: datetime, b: datetime, n: int) -> None:
    a, b = sorted((a, b))
    assert wita.add_working_days(a, n) <= wita.add_working_days(b, n)


@settings(max_examples=100, deadline=None)
@given(a=INSTANTS, b=INSTANTS)
def test_counting_matches_day_by_day(wita: WorkingCalendar, a: datetime, b: datetime) -> None:
    first, last = wita.local_date(a), wita.local_date(b)
    expected = sum(wita.is_working_day(first + timedelta(days=i)) for i in range(max((last - first).days, 0)))
    assert wita.working_days_between(a, b) == expected
