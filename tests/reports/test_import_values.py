"""The import judges whole columns, each distinct cell once, and gets exactly the engine's validate_values answer."""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.access.audit import plain
from app.forms_engine.fieldtypes import Invalid
from app.forms_engine.record import validate_values
from app.forms_engine.rules import RuleContext, check_rules, rule_inputs
from app.reports.imports.cells import raw_value
from app.reports.imports.reading import Table
from app.reports.imports.validation import ImportTarget, _FileValues, _RowRules
from app.reports.imports.values import Remembered, each_distinct, judged_column, memo_key
from app.reports.imports.write import audit_changes
from tests.conftest import spec_of

SPEC = spec_of(
    """
form: campuran
title: Campuran
fields:
  - {name: nik, type: nik, label: NIK, required: true}
  - {name: kk, type: kk, label: No. KK}
  - {name: nama, type: text, label: Nama, required: true, max_length: 20, min_length: 2}
  - {name: umur, type: integer, label: Umur, min: 0, max: 120}
  - {name: jumlah, type: money, label: Jumlah, min: 0}
  - {name: tanggal, type: date, label: Tanggal}
  - {name: aktif, type: boolean, label: Aktif, default: true}
  - {name: status, type: choice, label: Status, default: a, choices: [{value: a, label: A}, {value: b, label: B}]}
  - {name: desa, type: region, level: desa, label: Desa}
  - {name: telepon, type: phone, label: HP}
"""
)
CHOICES: dict[str, list[Any]] = {
    "nik": [
        "6309011001900001",
        "6309011001900000",
        "63090110019",
        "",
        None,
        6309011001900001.0,
        "６３０９０１１００１９００００２",
    ],
    "kk": ["6309011501200001", "123", None],
    "nama": ["  Ani  ", "A", "x" * 30, 5, True, None, "Budi\x00"],
    "umur": [5, 5.0, 5.5, "5", "lima", -1, 200, None],
    "jumlah": ["Rp 1.250.000", 250000.0, "1,000", -5, None],
    "tanggal": [date(2026, 3, 1), datetime(2026, 3, 1, 8, 0), "01-03-2026", "2026-02-30", 45000, None],
    "aktif": [True, 0, "ya", "tidak", "mungkin", None],
    "status": ["a", "b", "c", None],
    "desa": ["63.09.01.2001", "63.09", "x", None],
    "telepon": ["0812-3456-7890", "12", None],
}


@pytest.mark.parametrize(("seed", "left_out"), [(7, ""), (8, ""), (9, "nama"), (10, "nik")])
def test_every_row_gets_validate_values_answer(seed: int, left_out: str) -> None:
    """Columns judged once per distinct cell, rows merged over stored values: validate_values' answer."""
    rng = random.Random(seed)
    names = [name for name in CHOICES if rng.random() < 0.8 and name != left_out]  # a required field left out
    rng.shuffle(names)  # the file's columns in another order than the form's fields
    rows = [[rng.choice(CHOICES[name]) for name in names] for _ in range(1000)]
    table = Table("xlsx", names, 1, rows, list(range(2, len(rows) + 2)))
    target = ImportTarget(None, SPEC, {}, None, None)
    file = _FileValues(target, table, [(i, SPEC.field(name)) for i, name in enumerate(names)], {})
    kept = {"nik": "6309011001900003", "kk": None, "nama": "Tersimpan", "umur": 7, "jumlah": None}
    kept |= {"tanggal": None, "aktif": False, "status": "b", "desa": None, "telepon": "bukan nomor"}
    for index, cells in enumerate(rows):
        stored = kept if index % 3 == 0 else None
        errors: dict[str, list[Any]] = {}
        raw: dict[str, Any] = {}
        for name, cell in zip(names, cells, strict=True):
            try:
                raw[name] = raw_value(SPEC.field(name), cell)
            except Invalid as exc:
                errors[name] = [exc.message]
        clean, found = validate_values(SPEC, (stored | raw) if stored else raw)
        for name, messages in found.items():
            errors.setdefault(name, messages)
        got_errors = {name: [message] for name, message in file.cell_problems(index)}
        got_clean, more, unseen = file.values_of(index, stored)
        for name, messages in more.items():
            got_errors.setdefault(name, messages)
        assert not unseen
        assert (got_clean, list(got_errors.items())) == (clean, list(errors.items())), cells


def test_a_column_is_judged_once_per_distinct_cell_and_equal_cells_that_read_differently_apart() -> None:
    calls: list[Any] = []

    def judge(cell: Any) -> tuple[Any, str | None]:
        calls.append(cell)
        return (repr(cell), None if cell != "bad" else "refused")

    cells = ["a", 1, 1.0, True, 0.0, -0.0, Decimal("1.5"), Decimal("1.50"), "a", 1, "bad", [1], [1], "bad"]
    values, problems = judged_column(cells, judge)
    assert values == [repr(c) for c in cells]
    assert problems == {10: ("'bad'", "refused"), 13: ("'bad'", "refused")}
    assert calls == ["a", 1, 1.0, True, 0.0, -0.0, Decimal("1.5"), Decimal("1.50"), "bad", [1], [1]]
    remembered = Remembered(judge)
    assert [remembered(c) for c in cells] == [judge(c) for c in cells]


def test_audit_changes_are_the_text_json_dumps_writes() -> None:
    rng = random.Random(3)
    pool: list[Any] = [None, "", [], "Ani", 'Buñi "x"\n', "ال", 0, 5, True, False, Decimal("1.50")]
    pool += [Decimal("1.5"), Decimal("-0"), date(2026, 3, 1), datetime(2026, 3, 1, 8, 0, 0, 5), ["a", "b"], 2.5, -0.0]
    audited = [("f1", "a"), ("f2", "b"), ('id "3"', "c")]
    values = [{name: rng.choice(pool) for _key, name in audited if rng.random() < 0.8} for _ in range(500)]
    expected = [
        json.dumps({key: [None, plain(v[name])] for key, name in audited if v.get(name) not in (None, "", [])})
        for v in values
    ]
    assert audit_changes(audited, values) == expected
    assert audit_changes([], [{}, {}]) == ["{}", "{}"]
    assert audit_changes(audited, [{"a": None, "b": 1}, {"b": ""}]) == ['{"f2": [null, 1]}', "{}"]


@pytest.mark.parametrize("cell", [6309011001900001.0, "6,30901E+15", " 6.30901e+15 ", 1e15])
def test_a_rounded_nik_cell_is_refused_before_the_engine_sees_it(cell: Any) -> None:
    with pytest.raises(Invalid) as refused:
        raw_value(SPEC.field("nik"), cell)
    assert refused.value.message.text.startswith("was stored by Excel as a number and rounded")


def test_whole_number_cells_become_ints_and_other_cells_stay() -> None:
    assert raw_value(SPEC.field("umur"), 5.0) == 5 and isinstance(raw_value(SPEC.field("umur"), 5.0), int)
    assert raw_value(SPEC.field("umur"), 5.5) == 5.5
    assert raw_value(SPEC.field("jumlah"), 2e15) == 2e15  # a number field: the engine judges its size
    assert raw_value(SPEC.field("tanggal"), date(2026, 3, 1)) == date(2026, 3, 1)


@pytest.mark.parametrize(
    "pool",
    [
        ["a", "b", None, "", " a"],  # text: the usual column, told apart by dictionaries
        [1, 2, 3, None, "1"],
        [1.5, 2.0, -3.25, None, float("nan")],
        [0.0, -0.0, 1.0, None],  # a zero among floats: by memo_key
        [date(2026, 3, 1), date(2026, 3, 2), None],
        [datetime(2026, 3, 1, 8), datetime(2026, 3, 1, 8, 0, 0, 1), None],
        [True, False, None],
        [1, True, 1.0, Decimal("1"), Decimal("1.0"), None],  # equal values of different kinds
        [date(2026, 3, 1), datetime(2026, 3, 1), "2026-03-01"],
        [Decimal("1.5"), Decimal("1.50"), Decimal("-0"), Decimal("0")],
        [["a"], ["a"], "a", None],  # unhashable: every time
    ],
    ids=lambda pool: "-".join(sorted({type(v).__name__ for v in pool})),
)
def test_each_distinct_answers_as_a_call_per_cell_with_one_call_per_distinct_cell(pool: list[Any]) -> None:
    rng = random.Random(len(pool))
    cells = [rng.choice(pool) for _ in range(300)]
    calls: list[Any] = []

    def judge(cell: Any) -> tuple[str, str]:
        calls.append(cell)
        return repr(cell), type(cell).__name__

    assert each_distinct(cells, judge) == [(repr(c), type(c).__name__) for c in cells]
    hashable = [c for c in cells if not isinstance(c, list)]
    distinct = {memo_key(c) if c == c else id(c) for c in hashable}  # a NaN equals only itself
    assert len(calls) == len(distinct) + (len(cells) - len(hashable))


RULES_SPEC = spec_of(
    """
form: aturan
title: Aturan
region_field: desa
fields:
  - {name: nik, type: nik, label: NIK}
  - {name: lahir, type: date, label: Lahir}
  - {name: jk, type: choice, label: JK, choices: [{value: L, label: Laki-laki}, {value: P, label: Perempuan}]}
  - {name: status, type: choice, label: Status, choices: [{value: aktif, label: Aktif}, {value: lain, label: Lain}]}
  - {name: sk, type: text, label: SK}
  - {name: desa, type: region, level: desa, label: Desa}
  - {name: asal, type: region, level: kecamatan, within: "63.10", label: Asal}
  - {name: mana, type: region, within: all, label: Mana}
  - {name: kuota, type: integer, label: Kuota}
rules:
  - {rule: required_if, fields: [sk], when: {status: aktif}}
  - {rule: nik_consistent, nik: nik, birth_date: lahir, sex: jk}
"""
)


@pytest.mark.parametrize("scope", [None, "63.09.01", "63.10"])
def test_the_rules_asked_once_per_input_find_what_check_rules_finds(scope: str | None) -> None:
    """Rows alike in the fields the rules read share an answer: the same as check_rules gives each row."""
    assert rule_inputs(RULES_SPEC) == ("sk", "status", "nik", "lahir", "jk", "desa", "asal", "mana")
    rng = random.Random(hash(scope) % 1000)
    pool: dict[str, list[Any]] = {
        "nik": ["6309014507900001", "6309010507900001", "6309010101000001", None],
        "lahir": [date(1990, 7, 5), date(2000, 1, 1), None],
        "jk": ["L", "P", None],
        "status": ["aktif", "lain", None],
        "sk": ["", "12/2026", None],
        "desa": ["63.09.01.2001", "63.10.02.2003", "63.09.02.2001", None],
        "asal": ["63.10.02", "63.09.01", None],
        "mana": ["11.01", None],
        "kuota": [1, 2, 3, 4, 5, None],
    }
    target = ImportTarget(None, RULES_SPEC, {}, scope, "63.09")
    rules = _RowRules(target)
    for _ in range(2000):
        values = {name: rng.choice(choices) for name, choices in pool.items()}
        context = RuleContext(None, RULES_SPEC, {}, {}, values, None, None, office_region="63.09", scope=scope)
        assert rules.findings(values, None, None) == check_rules(context), values
    assert len(rules.memo) < 2000  # answered from the memo for rows alike


def test_rules_reading_stored_data_are_not_asked_once_per_input() -> None:
    spec = spec_of(
        """
form: kuota
title: Kuota
fields:
  - {name: nama, type: text, label: Nama}
rules:
  - {rule: confirm_same, fields: [nama]}
"""
    )
    assert rule_inputs(spec) is None
