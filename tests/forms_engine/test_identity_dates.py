"""NIK and No. KK date checks answer from a memo of date digits exactly as the plain date check did."""

from __future__ import annotations

import random
from datetime import date

from app.forms_engine.identity import DATE_DIGITS, _birth_date, _nik_date, check_kk, check_nik
from app.forms_engine.messages import N_, Message

TODAYS = [date(2026, 5, 1), date(2000, 2, 28), date(2000, 2, 29), date(2024, 2, 28), date(2099, 12, 31)]


# The reference checks below call the plain date check (`_birth_date`) for every number, as the
# engine did before the memo; the memo's answers must match them.


def reference_nik(value: str, today: date) -> Message | None:
    if len(value) != 16 or not value.isascii() or not value.isdigit():
        return Message(N_("NIK must be exactly 16 digits"))
    day, month, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if _birth_date(day - 40 if day > 40 else day, month, yy, today) is None:
        shown = day - 40 if day > 40 else day
        return Message(N_("NIK: birth date %(date)s is not valid"), {"date": f"{shown:02d}-{value[8:10]}"})
    if value[12:] == "0000":
        return Message(N_("NIK: serial number 0000 is not valid"))
    return None


def reference_kk(value: str, today: date) -> Message | None:
    if len(value) != 16 or not value.isascii() or not value.isdigit():
        return Message(N_("No. KK must be exactly 16 digits"))
    day, month, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if _birth_date(day, month, yy, today) is None:
        return Message(N_("No. KK: issue date %(date)s is not valid"), {"date": f"{value[6:8]}-{value[8:10]}"})
    if value[12:] == "0000":
        return Message(N_("No. KK: serial number 0000 is not valid"))
    return None


def test_every_date_digit_combination_answers_as_before() -> None:
    """Days 00-99 (a woman's day + 40 included), months 00-13, every year; then around a leap day as today."""
    for today, years in ((date(2026, 5, 1), range(100)), (date(2000, 2, 28), (0, 1, 4, 96, 99))):
        for yy in years:
            for month in range(14):
                for day in range(100):
                    value = f"630901{day:02d}{month:02d}{yy:02d}0001"
                    assert check_nik(value, today) == reference_nik(value, today), (value, today)
                    if day < 45:
                        assert check_kk(value, today) == reference_kk(value, today), (value, today)


def test_days_asked_in_turn_each_get_their_own_answer() -> None:
    """Feb 29, the day + 40, dates just past today, serial 0000, wrong lengths: with `today` changing between calls."""
    rng = random.Random(13)
    samples = ["6309012902000001", "6309016902000001", "6309012902960001", "6309012902010001", "6309013102900001"]
    samples += ["6309010105260001", "6309010205260001", "6309010105260000", "630901010526000", "63090101052600011"]
    samples += [
        "6309017102900001",
        "6309010013900001",
        "6309010000900001",
        "63090141029000x1",
        "６３０９０１４５０７９００００１",
    ]
    for _ in range(5_000):
        samples.append(
            f"{rng.randrange(10**6):06d}{rng.randrange(73):02d}{rng.randrange(14):02d}{rng.randrange(100):02d}{rng.randrange(3):04d}"
        )
    for value in samples:
        for today in rng.sample(TODAYS, len(TODAYS)):
            assert check_nik(value, today) == reference_nik(value, today), (value, today)
            assert check_kk(value, today) == reference_kk(value, today), (value, today)
    assert check_nik("6309012902000001", date(2000, 2, 28)) is not None  # 29-02-2000 not yet, 1900 no leap year
    assert check_nik("6309012902000001", date(2000, 2, 29)) is None
    assert check_nik("6309016902960001", date(2026, 5, 1)) is None  # a woman born 29-02-1996


def test_the_memo_stays_bounded() -> None:
    today = date(2031, 1, 1)
    for i in range(DATE_DIGITS + 500):
        check_nik(f"630901{i % 1_000_000:06d}0001", today)
    assert len(_nik_date.memo[1]) <= DATE_DIGITS
    assert check_nik("6309013102900001", today) == reference_nik("6309013102900001", today)
