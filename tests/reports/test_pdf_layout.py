"""Print layouts as data: the shipped ones load and fit their forms; every bad definition is located."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.forms_engine.loader import DefinitionErrors, parse_definition, read_file
from app.reports.pdf import check_fields, parse_layout, shipped_layout, shipped_layouts
from app.reports.pdf.layout import MM, placeholders
from tests.conftest import ROOT

PACKAGE = ROOT / "app" / "reports" / "pdf"
FORBIDDEN = ("flask", "flask_appbuilder", "flask_babel", "flask_sqlalchemy", "sqlalchemy", "werkzeug")
GOOD = """
title: DAFTAR {judul}
columns:
  - {kind: "no"}
  - {field: nama, label: Nama, weight: 2}
  - {field: jumlah, label: Jumlah, width: 30, format: rupiah}
  - {kind: signature, width: 40}
totals: [jumlah]
"""


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_the_print_engine_imports_no_web_or_database_code(module: str) -> None:
    for name in imported(PACKAGE / module):
        assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), name
        assert not name.startswith("app.") or name.startswith(("app.forms_engine.", "app.reports.pdf")), name


def form_fields(name: str) -> dict[str, str]:
    document, errors = read_file(ROOT / "forms" / f"{name}.yaml")
    assert not errors
    spec = parse_definition(document.data, name, document.lines)
    return {f.name: f.type for f in spec.live_fields}


@pytest.mark.parametrize("name", ["daftar_hadir_bimtek", "penyaluran_bantuan", "puskesos_kecamatan"])
def test_shipped_layouts_fit_their_forms(name: str) -> None:
    assert name in shipped_layouts()
    layout = shipped_layout(name)
    assert layout.form is not None
    checked = shipped_layout(name, form_fields(layout.form))
    assert checked == layout
    widths = layout.column_widths()
    assert sum(widths) == pytest.approx(layout.usable_width_mm * MM)
    assert min(widths) >= 5 * MM


def test_fields_are_what_each_row_carries_in_order() -> None:
    layout = shipped_layout("penyaluran_bantuan")
    assert layout.fields == ("nik", "nama", "alamat", "jumlah", "desa")
    assert layout.page_size == pytest.approx((935.43, 609.45), abs=0.01)
    assert shipped_layout("daftar_hadir_bimtek").value_keys == ("kegiatan", "angkatan", "tanggal", "tempat")
    assert placeholders("A {x} B {y_2}") == ("x", "y_2")


def errors_of(data: Any, fields: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(DefinitionErrors) as caught:
        parse_layout(data, "layouts/x.yaml", fields=fields)
    return [e.render() for e in caught.value.errors]


def good(**changes: Any) -> dict[str, Any]:
    data = yaml.safe_load(GOOD)
    for key, value in changes.items():
        data[key] = value
    return data


def column(index: int, **changes: Any) -> dict[str, Any]:
    data = good()
    data["columns"][index].update(changes)
    return data


BAD: list[tuple[Any, str]] = [
    (column(1, width="lebar"), "columns[1].width: must be a number of millimetres, not 'lebar'"),
    (column(1, width=-3), "columns[1].width: must be a number of millimetres from 5.0 to 400.0"),
    (column(1, weight="x"), "columns[1].weight: must be a number (a share of the width left), not 'x'"),
    (column(2, weight=1), "columns[2]: give width or weight, not both"),
    (column(1, kind="tanda"), "columns[1].kind: 'tanda' is not one of field, no, signature, thumbprint"),
    (column(1, field="Nama Lengkap"), "columns[1].field: 'Nama Lengkap' is not a field name"),
    (column(1, field="desa.dusun"), "columns[1].field: 'desa.dusun' is not a field name"),
    (column(1, label=None), "columns[1].label: is required"),
    (column(1, align="middle"), "columns[1].align: 'middle' is not one of left, center, right"),
    (column(2, format="money"), "columns[2].format: 'money' is not one of text, rupiah, number, date"),
    (column(3, field="nama"), "columns[3].field: a column of kind signature shows no field"),
    (column(1, colour="red"), "columns[1].colour: unknown key 'colour'"),
    (column(0, kind=False), "columns[0].kind: must be text, not true/false (YAML reads yes, no, on and off"),
    (good(columns=[]), "columns: needs at least one column"),
    (good(columns="nama"), "columns: must be a list, not text"),
    (good(paper="Letter"), "paper: 'Letter' is not one of F4, A4"),
    (good(orientation="tegak"), "orientation: 'tegak' is not one of portrait, landscape"),
    (good(font_size=40), "font_size: must be a size in points from 6.0 to 14.0"),
    (good(row_height="10mm"), "row_height: must be a number of millimetres, not '10mm'"),
    (good(title=None), "title: is required"),
    (good(title="DAFTAR {judul"), "title: has a '{' or '}' without its pair"),
    (good(title="DAFTAR {Judul Kegiatan}"), "title: '{Judul Kegiatan}' must name a value"),
    (good(totals=["nama"]), "totals[0]: 'nama' is not a column with format rupiah or number"),
    (good(group_by={"label": "Desa"}), "group_by.field: is required"),
    (good(group_by={"field": "desa", "new_page": "ya"}), "group_by.new_page: must be true or false, not text"),
    (good(signature_block={"signer": "bupati"}), "signature_block.signer: 'bupati' is not one of kepala"),
    (good(signature_block={"signer": "kepala", "mengetahui": "kepala"}), "signature_block.mengetahui: the same"),
    (good(details=[{"label": "Tempat"}]), "details[0]: needs a key (a value the print is given) or a value"),
    (good(details=[{"label": "Tempat", "key": "a", "value": "b"}]), "details[0]: give key or value, not both"),
    (good(details=[{"label": "Tanggal", "key": "t", "format": "tanggal"}]), "details[0].format: 'tanggal' is not"),
    (good(colour="red"), "colour: unknown key 'colour'"),
    (
        good(columns=[{"field": f"f{i}", "label": "x", "width": 40} for i in range(6)], totals=[]),
        "columns: need 240 mm but F4 portrait leaves 183 mm between the margins; narrow some columns or print landscape",
    ),
    ("columns: [nama]", "must be a print layout: a mapping with title and columns, not text"),
]


@pytest.mark.parametrize(
    ("data", "expected"), BAD, ids=[expected.split(":")[0] + f"-{i}" for i, (_, expected) in enumerate(BAD)]
)
def test_bad_layouts_are_refused_with_located_errors(data: Any, expected: str) -> None:
    errors = errors_of(data)
    assert any(expected in error for error in errors), errors
    assert all(error.startswith("layouts/x.yaml: ") for error in errors), errors


FIELDS = {"nama": "text", "jumlah": "money", "desa": "region", "foto": "photo", "lahir": "date"}
AGAINST_FORM: list[tuple[Any, str]] = [
    (column(1, field="alamat"), "columns[1].field: the form has no field 'alamat'"),
    (column(1, field="foto"), "columns[1].field: 'foto' is a photo field, which a roster cannot print"),
    (column(2, field="nama"), "columns[2].field: 'nama' is a text field; format rupiah needs a number"),
    (column(1, field="nama.kecamatan"), "columns[1].field: 'nama' is not a region field"),
    (column(1, field="jumlah", format="long_date"), "'jumlah' is a money field; format long_date needs a date"),
    (good(group_by="kecamatan"), "group_by: the form has no field 'kecamatan'"),
]


@pytest.mark.parametrize(("data", "expected"), AGAINST_FORM)
def test_layouts_are_checked_against_the_form(data: Any, expected: str) -> None:
    assert any(expected in error for error in errors_of(data, FIELDS))


def test_a_region_fields_wider_area_and_dates_fit_the_form() -> None:
    data = good(group_by="desa.kecamatan")
    data["columns"].insert(1, {"field": "lahir", "label": "Lahir", "width": 25, "format": "date"})
    assert check_fields(parse_layout(data), FIELDS) == []


def test_errors_in_a_file_carry_their_line(tmp_path: Path) -> None:
    from app.reports.pdf import load_layout

    path = tmp_path / "x.yaml"
    path.write_text(GOOD.replace("width: 30,", "width: lebar,"), encoding="utf-8")
    with pytest.raises(DefinitionErrors) as caught:
        load_layout(path)
    assert [e.render() for e in caught.value.errors] == [
        "x.yaml: columns[2].width: must be a number of millimetres, not 'lebar' (line 6)"
    ]
