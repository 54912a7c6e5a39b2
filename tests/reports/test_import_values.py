"""The import's value reader gives exactly the engine's validate_values answer, row after row."""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any

import pytest

from app.forms_engine.fieldtypes import Invalid
from app.forms_engine.record import validate_values
from app.reports.imports.cells import raw_value
from app.reports.imports.values import ValueReader
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


def test_every_row_gets_validate_values_answer() -> None:
    rng = random.Random(7)
    reader = ValueReader(SPEC)
    for _ in range(3000):
        row = {name: rng.choice(values) for name, values in CHOICES.items() if rng.random() < 0.9}
        assert reader.read(row) == validate_values(SPEC, row), row


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
