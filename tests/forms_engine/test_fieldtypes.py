"""Value conversion and checks per field type (pure, no database)."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from babel.support import Translations
from hypothesis import given, settings
from hypothesis import strategies as st

from app.forms_engine.fieldtypes import (
    EXACT_DIGITS,
    MAX_RECORD_ID,
    Invalid,
    check,
    column_length,
    convert,
    convert_stored,
    numeric_bounds,
    record_id,
)
from app.forms_engine.identity import check_kk, check_nik, check_nip, normalise_phone
from app.forms_engine.spec import Choice, FieldSpec, Text
from tests.conftest import ROOT

INDONESIAN = Translations.load(str(ROOT / "app/i18n/simpul"), ["id"])


def field(type_: str, **options: Any) -> FieldSpec:
    return FieldSpec(id="f", name="f", type=type_, label=Text("F"), **options)


def case_id(value: Any) -> str:
    """Short test ids: a field by its type, a value by its repr, cut."""
    return value.type if isinstance(value, FieldSpec) else repr(value)[:30]


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


# ---------------------------------------------------------------------------
# Hostile input: every answer is a value the column holds on both databases, or a message.

CHOICES = (Choice("aktif", Text("Aktif")), Choice("mati", Text("Mati")))
FIELDS = [
    field("text", max_length=10),
    field("text"),
    field("longtext"),
    field("integer"),
    field("decimal"),
    field("decimal", precision=5, scale=3),
    field("decimal", precision=18, scale=0),
    field("money"),
    field("date"),
    field("datetime"),
    field("boolean"),
    field("choice", choices=CHOICES),
    field("multichoice", choices=CHOICES),
    field("email"),
    field("phone"),
    field("nik"),
    field("kk"),
    field("nip"),
    field("region", level="desa"),
    field("region"),
    field("reference", target="program"),
    field("file", accept=("pdf",)),
    field("photo", accept=("jpg",)),
]
HOSTILE_TEXT = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\x1b[31m",
    "\x7f",
    "\u202eabc",
    "\u200f",
    "１２３",
    "٤٢",
    "߁",
    "²",
    "1e1000000",
    "1e" + "9" * 60,
    "-1e-1000000",
    "1e30",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "-0",
    "9223372036854775808",
    "-9223372036854775809",
    "1.000",
    "1,000",
    "12,500",
    "1.000.000,5",
    "Rp 1.250.000",
    "1_000",
    "9" * 100,
    " " * 1000 + "1",
    "x" * 70_000,
    "True",
    "False",
    "０８１２３４５６７８９０",
    "６３０９０１４５０７９００００１",
    "٦٣.٠٩.٠١.٢٠٠١",
    "2020-11-04",
    "2020-11-05T08:30:00+08:00",
    "a@b.id\x00",
]
SPECIAL_VALUES = [
    2**63,
    2**63 - 1,
    -(2**63) - 1,
    2**31,
    2**53 + 1,
    float(2**53 + 1),
    1e30,
    -0.0,
    float("inf"),
    float("nan"),
    Decimal("sNaN"),
    Decimal("NaN"),
    Decimal("Infinity"),
    Decimal("-0"),
    Decimal("1E+999999999999999999"),
    10**400,
    True,
    False,
    b"bytes",
    date(2020, 11, 4),
    datetime(2020, 11, 5, 8, 30, tzinfo=timezone(timedelta(hours=8))),
    {"id": 2**63},
    {"id": "1"},
    [],
    {},
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text()
    | st.sampled_from(HOSTILE_TEXT)
    | st.sampled_from(SPECIAL_VALUES),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=4,
)


def assert_storable(f: FieldSpec, value: Any) -> None:
    """What the column of `f` holds on SQLite and PostgreSQL alike (see tables.py for the types)."""
    if f.type == "integer":
        assert type(value) is int and -(2**63) <= value < 2**63
    elif f.type == "reference":
        assert type(value) is int and 1 <= value <= MAX_RECORD_ID
    elif f.type in ("decimal", "money"):
        scale, largest = numeric_bounds(f)
        assert isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent == -scale
        assert abs(value) <= largest and len(value.as_tuple().digits) <= EXACT_DIGITS
    elif f.type == "date":
        assert type(value) is date
    elif f.type == "datetime":
        assert type(value) is datetime and value.tzinfo is None
    elif f.type == "boolean":
        assert type(value) is bool
    elif f.type == "multichoice":
        assert isinstance(value, list) and set(value) <= {c.value for c in f.choices}
    else:
        assert isinstance(value, str) and value == value.strip()
        value.encode("utf-8")  # no lone surrogate
        assert not any(ord(c) < 32 and c not in "\t\n\r" or 0x7F <= ord(c) <= 0x9F for c in value)
        if check(f, value) is None and column_length(f) is not None:
            assert len(value) <= column_length(f)  # type: ignore[operator]
    if f.type in ("nik", "kk", "nip", "phone", "region"):
        assert value.isascii()


@settings(max_examples=400)
@given(st.sampled_from(FIELDS), json_values)
def test_every_input_converts_to_a_storable_value_or_a_message(f: FieldSpec, raw: Any) -> None:
    try:
        value = convert(f, raw)
    except Invalid as refused:
        assert refused.message.render(), (f.type, raw)
        return
    if value is not None:
        assert_storable(f, value)
        check(f, value)  # never raises


@pytest.mark.parametrize("f", FIELDS, ids=case_id)
@pytest.mark.parametrize("raw", HOSTILE_TEXT + SPECIAL_VALUES, ids=case_id)
def test_hostile_values_at_bounded_cost(f: FieldSpec, raw: Any) -> None:
    started = time.perf_counter()
    try:
        value = convert(f, raw)
    except Invalid:
        value = None
    assert time.perf_counter() - started < 0.5, "parsing must not depend on the value's magnitude"
    if value is not None:
        assert_storable(f, value)


@pytest.mark.parametrize(
    ("f", "raw", "message"),
    [
        (field("integer"), 2**63, "must be at most 9223372036854775807"),
        (field("integer"), -(2**63) - 1, "must be at least -9223372036854775808"),
        (field("integer"), "1e1000000", "must be at most 9223372036854775807"),
        (field("integer"), "Infinity", "must be a whole number"),
        (field("integer"), "sNaN", "must be a whole number"),
        (field("integer"), float("nan"), "must be a whole number"),
        (field("integer"), float(2**53 + 1), "is too large to be exact as a floating-point number"),
        (field("integer"), True, "must be a whole number"),
        (field("integer"), "1_000", "must be a whole number"),
        (field("integer"), "9" * 65, "is too long for a number"),
        (field("integer"), "1,000", "'1,000' is ambiguous: write 1000 for thousands or 1 for decimals"),
        (field("decimal"), "1.000", "'1.000' is ambiguous: write 1000 for thousands or 1,000 for decimals"),
        (field("decimal"), "1e30", "must be at most 99999999999.9999"),
        (field("decimal"), Decimal("sNaN"), "must be a number"),
        (field("decimal"), "Infinity", "must be a number"),
        (field("decimal"), "0.00001", "at most 4 digits after the decimal point"),
        (field("decimal", precision=5, scale=3), "100", "must be at most 99.999"),
        (field("money"), "1e30", "must be at most 9999999999999.99"),
        (field("money"), "Rp 12,500", "'12,500' is ambiguous: write 12500 for thousands or 12,5 for decimals"),
        (field("money"), "1,234", "at most 2 digits after the decimal point"),
        (field("text"), "a\x00b", "contains the character U+0000, which cannot be stored"),
        (field("text"), "\ud800", "contains the character U+D800, which cannot be stored"),
        (field("text"), "\x1b[31m", "contains the character U+001B, which cannot be stored"),
        (field("text"), False, "must be text"),
        (field("text"), ["a"], "must be text"),
        (field("longtext"), {"a": 1}, "must be text"),
        (field("choice", choices=CHOICES), "x" * 500, "is not one of the choices"),
        (field("multichoice", choices=CHOICES), {"a": 1}, "must be a list of choices"),
        (field("email"), "\ud800@tabalong.go.id", "contains the character U+D800, which cannot be stored"),
        (field("email"), "a\u202e@tabalong.go.id", "is not a valid e-mail address"),
        (field("nik"), "６３０９０１３１０２９００００１", "NIK: birth date 31-02 is not valid"),
        (field("nik"), "²" * 16, "NIK must be exactly 16 digits"),
        (field("region"), "63.09\n.01", "is not a region code"),
        (field("reference", target="p"), 2**63, "must be a record number from 1 to 2147483647"),
        (field("reference", target="p"), {"id": 0}, "must be a record number from 1 to 2147483647"),
        (field("reference", target="p"), "1e3", "must be a record number from 1 to 2147483647"),
        (field("boolean"), [], "must be yes or no"),
        (field("date"), 20201104, "must be a date (YYYY-MM-DD)"),
        (field("datetime"), ["2020-11-04"], "must be a date and time"),
    ],
    ids=case_id,
)
def test_hostile_values_are_refused_with_a_message(f: FieldSpec, raw: Any, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        convert(f, raw)
    assert message in refused.value.message.render()
    assert INDONESIAN.gettext(refused.value.message.text) != refused.value.message.text  # shown in Indonesian


def test_text_longer_than_its_column_is_refused() -> None:
    assert check(field("text"), "x" * 256).render() == "must be at most 255 characters"
    assert check(field("file"), "x" * 256 + ".pdf").render() == "must be at most 255 characters"
    assert check(field("text", max_length=300), "x" * 300) is None


@pytest.mark.parametrize(
    ("f", "raw", "value"),
    [
        (field("integer"), "1.000", 1000),  # the one rule: a dot groups thousands…
        (field("money"), "1.000", Decimal("1000")),
        (field("decimal", scale=2), "1.000", Decimal("1000")),
        (field("integer"), "1.000.000", 1000000),
        (field("decimal"), "1.000.000", Decimal("1000000")),  # …unambiguously with two dots
        (field("decimal"), "1,000", Decimal("1")),  # a comma is the decimal separator
        (field("decimal"), "12,5", Decimal("12.5")),
        (field("money"), "1.250.000,50", Decimal("1250000.50")),
        (field("decimal"), "3.25", Decimal("3.25")),  # a dot that cannot group thousands is a point
        (field("money"), "0.500", Decimal("0.5")),
        (field("decimal"), "1234.567", Decimal("1234.567")),
        (field("integer"), "1e3", 1000),
        (field("integer"), "-0", 0),
        (field("integer"), "٤٢", 42),
        (field("integer"), "１ ０００", 1000),
        (field("integer"), 42.0, 42),
        (field("integer"), 2**63 - 1, 2**63 - 1),
        (field("decimal"), 0.1, Decimal("0.1")),
        (field("money"), "Rp. 9.999.999.999.999,99", Decimal("9999999999999.99")),
        (field("decimal"), Decimal("-0"), Decimal("0")),
        (field("reference", target="p"), "12", 12),
        (field("reference", target="p"), {"id": 3}, 3),
        (field("text"), 5, "5"),
        (field("text"), "\u202eabc", "\u202eabc"),  # bidi marks are text; they are stored as written
        (field("nik"), "６３０９０１４５０７９００００１", "6309014507900001"),
        (field("nik"), "٦٣٠٩٠١٤٥٠٧٩٠٠٠٠١", "6309014507900001"),
        (field("phone"), "٠٨١٢-٣٤٥٦-٧٨٩٠", "+6281234567890"),
        (field("region"), "٦٣.٠٩.٠١.٢٠٠١", "63.09.01.2001"),
    ],
    ids=case_id,
)
def test_numbers_and_digits_by_one_rule(f: FieldSpec, raw: Any, value: Any) -> None:
    converted = convert(f, raw)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize(
    ("old", "new", "stored", "value"),
    [
        ("boolean", "integer", True, 1),  # PostgreSQL returns booleans…
        ("boolean", "integer", 1, 1),  # …SQLite 0/1
        ("boolean", "text", False, "0"),
        ("boolean", "text", 0, "0"),
        ("datetime", "date", datetime(2020, 11, 5, 8, 30), date(2020, 11, 5)),
        ("datetime", "date", "2020-11-05 08:30:00.000000", date(2020, 11, 5)),  # SQLite's text
        ("datetime", "text", "2020-11-05 08:30:00.000000", "2020-11-05 08:30:00"),
        ("money", "text", Decimal("1250000.00"), "1250000.00"),
        ("money", "text", 1250000.0, "1250000.00"),  # SQLite's REAL
        ("money", "text", 1250000, "1250000.00"),  # SQLite's INTEGER (NUMERIC affinity)
        ("date", "text", "2020-11-04", "2020-11-04"),
        ("text", "integer", "1.000", 1000),
        ("choice", "multichoice", "aktif", ["aktif"]),
    ],
)
def test_stored_values_convert_alike_on_both_databases(old: str, new: str, stored: Any, value: Any) -> None:
    assert convert_stored(field(old, choices=CHOICES), field(new, choices=CHOICES), stored) == value


def test_record_ids_are_bounded() -> None:
    assert [record_id(v) for v in ("1", 7, "2147483647", " 1", "1e3", "٣", 0, -1, True, 2**31, "9" * 30, 1.0)] == [
        1,
        7,
        2147483647,
        *[None] * 9,
    ]
