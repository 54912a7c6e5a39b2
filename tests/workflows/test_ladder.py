"""Deadlines and escalation of a stay: each level fires once, a new stay starts a new ladder."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.forms_engine.spec import Text
from app.workflows.calendar import WorkingCalendar
from app.workflows.clock import FixedClock
from app.workflows.ladder import DEADLINE, Ladder, Timer, area_of, waited_days
from app.workflows.spec import LadderLevel, StateSpec, WorkflowSpec

from .conftest import utc

LEVELS = (
    LadderLevel(1, 1, "Operator Desa", "desa"),
    LadderLevel(2, 3, "Kecamatan", "kecamatan"),
    LadderLevel(3, 5, "Dinsos", "kabupaten"),
)
WAITING = StateSpec("terdaftar", Text("Terdaftar"), sla=3, ladder=LEVELS)
ENTERED = utc(2026, 3, 2, 2)  # Monday 2 March 2026, 10:00 WITA


@pytest.fixture
def ladder(wita: WorkingCalendar) -> Ladder:
    return Ladder(WAITING, wita)


def wita_midnight(day: int, month: int = 3) -> datetime:
    return utc(2026, month, day) - timedelta(hours=8)


def test_deadline_and_levels(ladder: Ladder) -> None:
    """SLA 3 from Monday: Tue–Thu, due Friday 00:00; levels 1, 3, 5 working days later."""
    assert ladder.due_date(ENTERED) == date(2026, 3, 5)
    assert ladder.due_at(ENTERED) == wita_midnight(6)
    assert [ladder.level_due_at(ENTERED, lv) for lv in LEVELS] == [
        wita_midnight(9),  # Friday overdue: level 1 on Monday 00:00
        wita_midnight(11),
        wita_midnight(13),
    ]
    assert ladder.timers(ENTERED) == (
        Timer(DEADLINE, wita_midnight(6)),
        Timer(1, wita_midnight(9)),
        Timer(2, wita_midnight(11)),
        Timer(3, wita_midnight(13)),
    )


def test_no_sla_no_deadline(wita: WorkingCalendar) -> None:
    open_ended = Ladder(StateSpec("dipantau", Text("Dipantau")), wita)
    assert open_ended.due_at(ENTERED) is None
    assert open_ended.timers(ENTERED) == ()
    assert open_ended.levels_due(ENTERED, utc(2027, 1, 1), set()) == []
    assert open_ended.overdue_days(ENTERED, utc(2027, 1, 1)) == 0


def test_levels_come_in_order_and_skip_those_fired(ladder: Ladder) -> None:
    assert ladder.levels_due(ENTERED, wita_midnight(9) - timedelta(microseconds=1), set()) == []
    assert ladder.levels_due(ENTERED, wita_midnight(9), set()) == [LEVELS[0]]
    assert ladder.levels_due(ENTERED, wita_midnight(9), {1}) == []
    # The sweep was down until the next week: both late levels come at once, in order.
    assert ladder.levels_due(ENTERED, wita_midnight(16), {1}) == [LEVELS[1], LEVELS[2]]
    assert ladder.levels_due(ENTERED, wita_midnight(16), {1, 2, 3}) == []


def test_each_level_fires_once_in_a_stay(ladder: Ladder) -> None:
    """A sweep every hour for four weeks: every level once, at the first sweep after it came."""
    clock = FixedClock(ENTERED)
    fired: dict[int, datetime] = {}
    while clock.now() < ENTERED + timedelta(weeks=4):
        for level in ladder.levels_due(ENTERED, clock.now(), set(fired)):
            assert level.number not in fired
            fired[level.number] = clock.now()
        clock.advance(hours=1)
    assert list(fired) == [1, 2, 3]
    for level in LEVELS:
        due = ladder.level_due_at(ENTERED, level)
        assert due <= fired[level.number] < due + timedelta(hours=1)


def test_entering_again_starts_a_new_ladder() -> None:
    """Sent back to the state after level 2 fired: nothing is due until the new stay is overdue."""
    ladder = Ladder(WAITING, WorkingCalendar({}, "WITA"))
    left = wita_midnight(12)
    assert [lv.number for lv in ladder.levels_due(ENTERED, left, set())] == [1, 2]
    again = left + timedelta(days=3, hours=9)  # back on Sunday 15 March
    assert ladder.levels_due(again, again, set()) == []
    assert ladder.due_at(again) == wita_midnight(19)
    assert ladder.levels_due(again, wita_midnight(20), set()) == [LEVELS[0]]


def test_over_a_holiday_and_a_corrected_calendar(seeded: dict[date, str]) -> None:
    """Entering before Lebaran 2026; then admins add a local holiday and the timers move."""
    entered = utc(2026, 3, 17, 2)
    ladder = Ladder(WAITING, WorkingCalendar(seeded, "WITA"))
    assert ladder.due_date(entered) == date(2026, 3, 27)
    assert ladder.level_due_at(entered, LEVELS[2]) == wita_midnight(7, 4)  # Good Friday 3 April skipped
    corrected = Ladder(WAITING, WorkingCalendar({**seeded, date(2026, 3, 26): "Hari Jadi"}, "WITA"))
    before, after = ladder.timers(entered), corrected.timers(entered)
    assert [t.level for t in after] == [t.level for t in before]
    assert all(b.at < a.at for b, a in zip(before, after, strict=True))
    assert corrected.due_date(entered) == date(2026, 3, 30)


def test_overdue_and_waited_days(ladder: Ladder, wita: WorkingCalendar) -> None:
    due = ladder.due_at(ENTERED)
    assert not ladder.is_overdue(ENTERED, due - timedelta(seconds=1))
    assert ladder.is_overdue(ENTERED, due)
    assert ladder.overdue_days(ENTERED, due + timedelta(hours=10)) == 0  # the first day overdue, under way
    assert ladder.overdue_days(ENTERED, wita_midnight(9)) == 1  # Friday passed, the weekend does not count
    assert waited_days(wita, ENTERED, ENTERED) == 0
    assert waited_days(wita, ENTERED, due) == 3
    assert waited_days(wita, utc(2026, 3, 7, 2), wita_midnight(10)) == 1  # entered Saturday, Monday passed


@settings(max_examples=100, deadline=None)
@given(
    entered=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(utc(2026, 1, 1).tzinfo)
    ),
    after=st.integers(1, 30),
)
def test_a_level_comes_when_it_is_that_many_days_overdue(wita: WorkingCalendar, entered: datetime, after: int) -> None:
    ladder = Ladder(StateSpec("s", Text("S"), sla=3, ladder=(LadderLevel(1, after, "Dinsos", "kabupaten"),)), wita)
    at = ladder.level_due_at(entered, ladder.state.ladder[0])
    assert ladder.overdue_days(entered, at) == after
    # The count reaches `after` when the last overdue working day ends; the level comes when work resumes.
    last = wita.local_date(at) - timedelta(days=1)
    while not wita.is_working_day(last):
        last -= timedelta(days=1)
    assert ladder.overdue_days(entered, wita.start_of(last)) == after - 1
    assert waited_days(wita, entered, ladder.due_at(entered)) == 3


def test_area_of_a_record() -> None:
    assert area_of("63.09.01.2001", "desa") == "63.09.01.2001"
    assert area_of("63.09.01.2001", "kecamatan") == "63.09.01"
    assert area_of("63.09.01.2001", "kabupaten") == "63.09"
    assert area_of("63.09", "kecamatan") is None


def test_the_slrt_ladders_go_up_from_desa(slrt: WorkflowSpec) -> None:
    for state in slrt.states:
        if not state.terminal:
            assert [(lv.region_level, lv.role) for lv in state.ladder] == [
                ("desa", "Operator Desa"),
                ("kecamatan", "Kecamatan"),
                ("kabupaten", "Dinsos"),
            ]
