"""Field checks derived once per spec (FieldSpec.compiled, FormSpec.validator) answer as the per-call code did.

The reference functions below are the engine's former `check` and `validate_values`, which
rebuilt the column type, converted min/max and compiled the pattern on every call; the derived
versions must give the same answer (and the same exception) for every field and value.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from app.forms_engine.fieldtypes import FIELD_TYPES, UNSET, Invalid, _Today, check, convert
from app.forms_engine.messages import N_, Message, shown
from app.forms_engine.record import validate_values
from app.forms_engine.spec import FieldSpec, FormSpec
from tests.conftest import spec_of

SPEC = spec_of(
    """
form: semua
title: Semua jenis
fields:
  - {name: nama, type: text, label: Nama, required: true, min_length: 2, max_length: 12}
  - {name: kode, type: text, label: Kode, pattern: "[A-Z]{2}-[0-9]+", pattern_message: {id: Kode salah, en: Bad code}}
  - {name: sandi, type: text, label: Sandi, pattern: "[0-9]{4}"}
  - {name: catatan, type: longtext, label: Catatan, max_length: 20}
  - {name: umur, type: integer, label: Umur, min: 1, max: 120, default: 30}
  - {name: angka, type: decimal, label: Angka, precision: 6, scale: 3, min: -5, max: "99,5"}
  - {name: uang, type: money, label: Uang, min: 1000}
  - {name: lahir, type: date, label: Lahir, min: 1950-01-01, max: 2026-12-31}
  - {name: waktu, type: datetime, label: Waktu, min: "2020-01-01 00:00"}
  - {name: aktif, type: boolean, label: Aktif, default: true}
  - {name: status, type: choice, label: Status, default: a, choices: [a, b, c]}
  - {name: kegiatan, type: multichoice, label: Kegiatan, default: [tani], choices: [tani, ternak, ikan]}
  - {name: surel, type: email, label: Surel}
  - {name: hp, type: phone, label: HP}
  - {name: nik, type: nik, label: NIK, required: true}
  - {name: kk, type: kk, label: KK}
  - {name: nip, type: nip, label: NIP}
  - {name: desa, type: region, level: desa, label: Desa}
  - {name: berkas, type: file, label: Berkas, accept: [pdf, jpg]}
  - {name: foto, type: photo, label: Foto}
  - {name: lama, type: text, label: Lama, retired: true}
"""
)
VALUES: list[Any] = [
    None, "", "  ", "a", "Ani", "Ani Suryani binti X", "AB-12", "ab-12", "1234", "12345", "x" * 25, "x\x00y",
    0, 1, -6, 5, 121, 99, 100, 2**70, 1.5, 99.5, 99.6, -5.0, float("nan"), True, False,
    "1.000", "1,000", "99,5", "Rp 1.500", "Rp. 999", "1e3", "12,3456",
    Decimal("1000"), Decimal("99.5"), Decimal("NaN"),
    date(1949, 12, 31), date(1950, 1, 1), date(2027, 1, 1), datetime(2019, 12, 31, 23, 59), datetime(2021, 5, 1, 8, 0),
    "2020-11-04", "04/11/2020", "2019-12-31 10:00", "ya", "tidak",
    "a", "b", "d", "tani", "tani, ikan", ["ternak", "tani"], [], ["kuda"],
    "dinsos@tabalong.go.id", "bukan surel", "0812-3456-7890", "12",
    "6309014507900001", "6309011001900000", "6309011501200001", "199001012015031001",
    "63.09.01.2001", "63.09", "surat.pdf", "foto.PNG", "surat.exe", {"id": 3},
]  # fmt: skip


def old_column_length(field: FieldSpec) -> int | None:
    column = FIELD_TYPES[field.type].column
    sql_type = column(field) if column is not None else None
    return sql_type.length if isinstance(sql_type, sa.String) else None


def old_check(field: FieldSpec, value: Any) -> Message | None:
    """fieldtypes.check as it was: everything derived from the field at each call."""
    ftype = FIELD_TYPES[field.type]
    if ftype.ordered:
        if field.min is not None and value < convert(field, field.min):
            return Message(N_("must be at least %(min)s"), {"min": field.min})
        if field.max is not None and value > convert(field, field.max):
            return Message(N_("must be at most %(max)s"), {"max": field.max})
    if isinstance(value, str):
        if ftype.sized and field.min_length is not None and len(value) < field.min_length:
            return Message(N_("must be at least %(n)s characters"), {"n": field.min_length})
        limits = [n for n in (field.max_length if ftype.sized else None, old_column_length(field)) if n is not None]
        if limits and len(value) > min(limits):
            return Message(N_("must be at most %(n)s characters"), {"n": min(limits)})
    if field.pattern and not re.fullmatch(field.pattern, value):
        if field.pattern_message:
            return Message(field.pattern_message.id, custom=field.pattern_message.as_dict())
        return Message(N_("has the wrong format"))
    if field.type in ("file", "photo") and field.accept and value:
        ext = value.rsplit(".", 1)[-1].lower()
        if ext not in field.accept:
            return Message(
                N_("file type .%(ext)s is not allowed (allowed: %(allowed)s)"),
                {"ext": shown(ext), "allowed": ", ".join(field.accept)},
            )
    return None


def old_validate_values(
    spec: FormSpec, data: Mapping[str, Any], partial: bool = False
) -> tuple[dict[str, Any], dict[str, list[Message]]]:
    """record.validate_values as it was: convert and check per field, defaults converted at each call."""
    clean: dict[str, Any] = {}
    errors: dict[str, list[Message]] = {}
    for f in (f for f in spec.live_fields if f.type != "child"):
        if f.name not in data:
            if partial:
                continue
            if f.default is not None and f.type not in ("file", "photo"):
                clean[f.name] = convert(f, f.default)
                continue
        try:
            value = convert(f, data.get(f.name))
        except Invalid as exc:
            errors[f.name] = [exc.message]
            continue
        if value is None:
            if f.required:
                errors[f.name] = [Message(N_("is required"))]
            clean[f.name] = None
            continue
        problem = old_check(f, value)
        if problem is not None:
            errors[f.name] = [problem]
            continue
        clean[f.name] = value
    return clean, errors


def outcome(function: Any, *args: Any) -> Any:
    """What a call gives: its result, or the kind of exception it raised."""
    try:
        return ("=", function(*args))
    except Exception as exc:  # noqa: BLE001 - the same failure is part of the same behaviour
        return ("!", type(exc).__name__)


@pytest.mark.parametrize("field", [f for f in SPEC.fields if not f.retired], ids=lambda f: f.name)
def test_check_and_judge_answer_as_the_per_call_code(field: FieldSpec) -> None:
    fresh = dataclasses.replace(field)  # nothing derived yet: the first check derives its limits
    for spec in (field, fresh):
        for raw in VALUES:
            try:
                value = convert(spec, raw)
            except Invalid as exc:
                assert spec.compiled.judge(raw) == (UNSET, exc.message)
                continue
            if value is None:
                assert spec.compiled.judge(raw) == (None, Message(N_("is required")) if spec.required else None)
                continue
            assert outcome(check, spec, value) == outcome(old_check, spec, value), (raw, value)
            problem = old_check(spec, value)
            assert spec.compiled.judge(raw) == ((value, None) if problem is None else (UNSET, problem)), raw


def test_validate_values_answers_as_the_per_call_loop() -> None:
    rng = random.Random(11)
    names = [f.name for f in SPEC.fields] + ["unknown"]
    for _ in range(3000):
        data = {name: rng.choice(VALUES) for name in names if rng.random() < 0.6}
        partial = rng.random() < 0.3
        assert outcome(validate_values, SPEC, data, partial) == outcome(old_validate_values, SPEC, data, partial), data


def test_each_record_gets_its_own_default_list() -> None:
    first, _errors = validate_values(SPEC, {"nama": "Ani", "nik": "6309014507900001"})
    second, _errors = validate_values(SPEC, {"nama": "Ani", "nik": "6309014507900001"})
    assert first["kegiatan"] == second["kegiatan"] == ["tani"] and first["kegiatan"] is not second["kegiatan"]


def test_a_limit_the_field_cannot_read_fails_at_each_check_as_before() -> None:
    odd = dataclasses.replace(SPEC.field("umur"), min="banyak")
    for _ in range(2):
        with pytest.raises(Invalid):
            check(odd, 5)
    bad_pattern = dataclasses.replace(SPEC.field("sandi"), pattern="[0-9")
    for _ in range(2):
        assert outcome(check, bad_pattern, "1") == outcome(old_check, bad_pattern, "1") == ("!", "error")


def test_derived_values_leave_specs_equal_and_lookups_as_they_were() -> None:
    copy = dataclasses.replace(SPEC)
    assert SPEC.validator is SPEC.validator and SPEC.field("nama").compiled is SPEC.field("nama").compiled
    assert copy == SPEC and copy.live_fields == SPEC.live_fields and repr(copy) == repr(SPEC)
    assert SPEC.field("lama").retired and "lama" not in {f.name for f in SPEC.live_fields}
    with pytest.raises(KeyError):
        SPEC.field("tidak_ada")
    with pytest.raises(KeyError):
        SPEC.field(["unhashable"])  # type: ignore[arg-type]


def test_today_is_read_again_when_the_day_is_over() -> None:
    today = _Today()
    assert today() == date.today()
    today.day, today.end = date.today() - timedelta(days=1), 0.0  # as if the clock passed midnight
    assert today() == date.today()
