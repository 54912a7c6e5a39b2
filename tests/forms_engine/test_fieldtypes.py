"""Value conversion and checks per field type (pure, no database)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.forms_engine.fieldtypes import Invalid, check, convert
from app.forms_engine.identity import check_kk, check_nik, check_nip, normalise_phone
from app.forms_engine.spec import Choice, FieldSpec, Text


def field(type_: str, **options: Any) -> FieldSpec:
    return FieldSpec(id="f", name="f", type=type_, label=Text("F"), **options)


@pytest.mark.parametrize(
    ("type_", "raw", "value"),
    [
        ("integer", "42", 42),
        ("integer", Decimal("7"), 7),
        ("decimal", "3.25", Decimal("3.25")),
        ("money", "Rp 1.250.000", Decimal("1250000")),
        ("money", "1.250.000,50", Decimal("1250000.50")),
        ("money", 1250000, Decimal("1250000")),
        ("date", "2020-11-04", date(2020, 11, 4)),
        ("date", "04-11-2020", date(2020, 11, 4)),
        ("datetime", "2020-11-05T08:30:00", datetime(2020, 11, 5, 8, 30)),
        ("datetime", "2020-11-05T08:30:00+08:00", datetime(2020, 11, 5, 8, 30)),
        ("boolean", "ya", True),
        ("boolean", "tidak", False),
        ("email", "Dinsos@Tabalong.go.id", "Dinsos@tabalong.go.id"),
        ("phone", "0812-3456-7890", "+6281234567890"),
        ("phone", "+62 812 3456 7890", "+6281234567890"),
        ("nik", "6309 0145 0790 0001", "6309014507900001"),
        ("region", "63.09.01.2001", "63.09.01.2001"),
        ("text", "  Siti  ", "Siti"),
    ],
)
def test_conversions(type_: str, raw: Any, value: Any) -> None:
    assert convert(field(type_), raw) == value


@pytest.mark.parametrize(
    ("type_", "raw"),
    [
        ("integer", "4.5"),
        ("integer", True),
        ("decimal", "abc"),
        ("decimal", "NaN"),
        ("date", "31-02-2020"),
        ("boolean", "mungkin"),
        ("email", "bukan"),
        ("phone", "12345"),
        ("phone", "0812"),
        ("region", "63.9"),
        ("nik", "123"),
    ],
)
def test_refusals(type_: str, raw: Any) -> None:
    with pytest.raises(Invalid):
        convert(field(type_), raw)


def test_empty_values_are_none() -> None:
    assert convert(field("integer"), "  ") is None and convert(field("text"), None) is None


def test_choices_keep_their_order_and_drop_duplicates() -> None:
    colours = field("multichoice", choices=(Choice("merah", Text("Merah")), Choice("biru", Text("Biru"))))
    assert convert(colours, "biru, merah, biru") == ["merah", "biru"]


def test_limits() -> None:
    assert check(field("integer", min=1, max=10), 11).render() == "must be at most 10"
    assert check(field("text", max_length=3), "abcd").render() == "must be at most 3 characters"
    coded = field("text", pattern=r"\d{4}", pattern_message=Text("Harus 4 angka", "Must be 4 digits"))
    assert check(coded, "12a4").render(lang="id") == "Harus 4 angka"
    assert check(coded, "1234") is None


def test_kk_and_nip_rules() -> None:
    assert check_kk("6309010101200001") is None
    assert check_kk("6309013202200001").render() == "No. KK: issue date 32-02 is not valid"
    assert check_kk("6309010101200000").render() == "No. KK: serial number 0000 is not valid"
    assert check_nip("198507122010012001") is None  # born 12-07-1985, TMT 01-2010, female, serial 001
    assert check_nip("198513122010012001").render() == "NIP: birth date 12-13-1985 is not valid"
    assert check_nip("198507121980012001").render() == "NIP: start of service 01-1980 is not valid"
    assert check_nip("198507122010013001").render() == "NIP: the sex digit must be 1 (male) or 2 (female), not 3"
    assert check_nip("198507122010012000").render() == "NIP: serial number 000 is not valid"
    assert check_nip("19850712201001200").render() == "NIP must be exactly 18 digits"


def test_nik_rules() -> None:
    assert check_nik("6309014507900001") is None  # 5 July 1990, female (+40)
    assert check_nik("6309013102900001").render() == "NIK: birth date 31-02 is not valid"
    assert check_nik("6309010507900000").render() == "NIK: serial number 0000 is not valid"
    assert check_nik("630901050790000").render() == "NIK must be exactly 16 digits"


@given(st.dates(min_value=date(1930, 1, 1), max_value=date(2024, 12, 31)), st.booleans(), st.integers(1, 9999))
def test_every_real_birth_date_makes_a_valid_nik(born: date, female: bool, serial: int) -> None:
    day = born.day + (40 if female else 0)
    assert check_nik(f"630901{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}") is None


@given(st.from_regex(r"8[1-9][0-9]{7,10}", fullmatch=True), st.sampled_from(["0", "62", "+62", "+62 "]))
def test_mobile_numbers_normalise_to_one_form(rest: str, prefix: str) -> None:
    assert normalise_phone(prefix + rest) == "+62" + rest


@given(
    st.dates(min_value=date(1950, 1, 1), max_value=date(2000, 12, 31)),
    st.integers(18, 40),
    st.sampled_from("12"),
    st.integers(1, 999),
)
def test_every_real_nip_is_valid(born: date, years_to_service: int, sex: str, serial: int) -> None:
    start = min(born.year + years_to_service, date.today().year)
    assert check_nip(f"{born:%Y%m%d}{start}{born.month:02d}{sex}{serial:03d}") is None


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2025, 12, 31)), st.integers(1, 9999))
def test_every_real_issue_date_makes_a_valid_kk(issued: date, serial: int) -> None:
    assert check_kk(f"630901{issued:%d%m%y}{serial:04d}") is None


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_nik_check_never_crashes_and_explains_refusals(digits: str) -> None:
    problem = check_nik(digits)
    assert problem is None or problem.render().startswith("NIK")
