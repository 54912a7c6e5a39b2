"""Region master data: the shipped national list and imports of newer lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.regions.importer import (
    SHIPPED_LIST,
    RegionFileError,
    import_regions,
    read_region_file,
    read_regions,
    region_table,
)
from tests.conftest import publish_yaml

SMALL = "kode,nama\n63,Kalimantan Selatan\n63.09,Kabupaten Tabalong\n63.09.01,Tanjung\n63.09.01.2001,Agung\n63.09.01.2002,Banyu Tajun\n"


def test_the_shipped_list_is_complete() -> None:
    regions = read_region_file(SHIPPED_LIST)
    levels = [sum(1 for c in regions if c.count(".") == n) for n in range(4)]
    assert levels == [38, 514, 7285, 83762]
    assert regions["63.09"] == "Kabupaten Tabalong"
    assert regions["12.07.28.1007"] == "Lubuk Pakam I,II"  # quoted names with commas


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("code,name\n63,Kalsel\n", "line 1: the first line must be the header 'kode,nama'"),
        ("kode,nama\n63,Kalsel\n63.9,Salah\n", "line 3: '63.9' is not a region code"),
        ("kode,nama\n63,Kalsel\n63.09,\n", "line 3: the name of 63.09 is empty"),
        ("kode,nama\n63,Kalsel\n63,Lagi\n", "line 3: 63 appears twice"),
        ("kode,nama\n63,Kalsel,x\n", "line 2: expected 2 columns (kode,nama), found 3"),
        ("kode,nama\n63.09,Tabalong\n", "63.09 has no parent 63 in the list"),
    ],
)
def test_malformed_lists_are_refused_by_line(text: str, problem: str) -> None:
    with pytest.raises(RegionFileError) as refused:
        read_regions(text.splitlines(keepends=True))
    assert problem in str(refused.value)


def count(app: Any) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(region_table)).scalar()


def run_import(app: Any, text: str) -> Any:
    with app.app_context(), db.engine.begin() as conn:
        return import_regions(conn, read_regions(text.splitlines(keepends=True)))


def test_import_is_idempotent(empty_app: Any) -> None:
    first = run_import(empty_app, SMALL)
    assert (first.added, first.unchanged) == (5, 0)
    again = run_import(empty_app, SMALL)
    assert (again.added, again.renamed, again.unchanged, again.removed) == (0, [], 5, 0)


def test_import_reports_renames_and_removes_unused_codes(empty_app: Any) -> None:
    run_import(empty_app, SMALL)
    newer = SMALL.replace("Banyu Tajun", "Banyu Tajun Pangkalan").replace("63.09.01.2001,Agung\n", "")
    report = run_import(empty_app, newer + "63.09.01.2003,Baru\n")
    assert report.renamed == [("63.09.01.2002", "Banyu Tajun", "Banyu Tajun Pangkalan")]
    assert (report.added, report.removed, report.kept_in_use) == (1, 1, [])
    assert count(empty_app) == 5


def test_a_code_used_by_a_record_is_never_deleted(empty_app: Any) -> None:
    run_import(empty_app, SMALL)
    publish_yaml(empty_app, "form: warga\ntitle: Warga\nfields: [{name: desa, type: region, label: Desa}]\n")
    with empty_app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO form_warga (desa, region_code) VALUES ('63.09.01.2001', '63.09.01.2001')"))
    report = run_import(empty_app, SMALL.replace("63.09.01.2001,Agung\n", ""))
    assert report.kept_in_use == ["63.09.01.2001"] and report.removed == 0
    with empty_app.app_context(), db.engine.connect() as conn:
        row = conn.execute(sa.select(region_table).where(region_table.c.code == "63.09.01.2001")).one()
    assert row.active is False or row.active == 0
    back = run_import(empty_app, SMALL)
    assert back.reactivated == 1


def test_cli_import_reports_a_bad_line_and_writes_nothing(empty_app: Any, tmp_path: Path) -> None:
    (tmp_path / "baru.csv").write_text(SMALL + "63.09.01.20x3,Rusak\n", encoding="utf-8")
    result = empty_app.test_cli_runner().invoke(args=["simpul", "regions", "import", str(tmp_path / "baru.csv")])
    assert result.exit_code == 1
    assert "baru.csv: line 7: '63.09.01.20x3' is not a region code" in result.output
    assert count(empty_app) == 0


def test_cli_imports_the_national_list(empty_app: Any) -> None:
    result = empty_app.test_cli_runner().invoke(args=["simpul", "regions", "import", str(SHIPPED_LIST)])
    assert result.exit_code == 0, result.output
    assert "91599 codes: 91599 added, 0 renamed, 0 unchanged" in result.output
    assert count(empty_app) == 91599


PICKED = "form: warga\ntitle: Warga\nfields: [{name: nama, type: text, label: Nama}, {name: desa, type: region, level: desa, label: Desa}]\n"


@pytest.fixture
def app(empty_app: Any) -> Any:
    from tests.conftest import app_with_forms

    run_import(
        empty_app, SMALL + "62,Kalimantan Tengah\n62.71,Kota Palangka Raya\n62.71.01,Pahandut\n62.71.01.1001,Pahandut\n"
    )
    return app_with_forms(empty_app, PICKED)


def test_children_and_search_for_pickers(client: Any) -> None:
    provinces = client.get("/api/v1/wilayah/children/").json["result"]
    assert [r["name"] for r in provinces] == ["Kalimantan Selatan", "Kalimantan Tengah"]  # by name
    children = client.get("/api/v1/wilayah/children/63.09.01").json["result"]
    assert [(r["code"], r["name"]) for r in children] == [("63.09.01.2001", "Agung"), ("63.09.01.2002", "Banyu Tajun")]
    found = client.get("/api/v1/wilayah/search/?q=tajun&level=4&within=63.09").json["result"]
    assert [r["code"] for r in found] == ["63.09.01.2002"]
    assert client.get("/api/v1/wilayah/search/?q=63.09.01.20&level=4").json["result"][0]["code"] == "63.09.01.2001"


def test_region_lookups_need_a_login(app: Any) -> None:
    assert app.test_client().get("/api/v1/wilayah/children/").status_code == 401


def test_lists_show_region_names_and_codes_are_checked(client: Any) -> None:
    assert client.post("/api/v1/warga/", json={"nama": "Siti", "desa": "63.09.01.2002"}).status_code == 201
    assert "Banyu Tajun, Kec. Tanjung" in client.get("/forms/warga/list/").data.decode()
    unknown = client.post("/api/v1/warga/?_l_=en", json={"nama": "Budi", "desa": "63.09.01.2099"})
    assert unknown.json["message"]["desa"] == ["63.09.01.2099 is not in the region list"]
    outside = client.post("/api/v1/warga/?_l_=en", json={"nama": "Ani", "desa": "62.71.01.1001"})
    assert outside.json["message"]["desa"] == ["must lie within region 63.09"]


def test_the_picker_starts_at_the_office_district(client: Any) -> None:
    html = client.get("/forms/warga/add").data.decode()
    assert 'data-root="63.09"' in html and 'data-level="4"' in html and "region-picker.js" in html


def test_region_names_load_one_province_at_a_time(empty_app: Any) -> None:
    from app.regions.names import RegionNames

    run_import(empty_app, SMALL + "62,Kalimantan Tengah\n62.71,Kota Palangka Raya\n62.71.01,Pahandut\n")
    with empty_app.app_context():
        names = RegionNames(db.engine)
        assert names.label("63.09.01.2001") == "Agung, Kec. Tanjung"
        assert names._provinces.keys() == {"63"}  # Kalimantan Tengah not read for a code of Kalsel
        assert names.path("63.09.01.2002") == [
            {"code": "63", "name": "Kalimantan Selatan"},
            {"code": "63.09", "name": "Kabupaten Tabalong"},
            {"code": "63.09.01", "name": "Tanjung"},
            {"code": "63.09.01.2002", "name": "Banyu Tajun"},
        ]
        assert names.name("62.71") == "Kota Palangka Raya"
        assert names.name("62") == "Kalimantan Tengah"
        assert names._provinces["62"] == {
            "62": "Kalimantan Tengah",
            "62.71": "Kota Palangka Raya",
            "62.71.01": "Pahandut",
        }
        # Codes of no province answer as unknown and are not remembered (a request cannot grow the cache).
        for odd in ("zz", "6", "630", "%", "63' OR 1=1", "\u0663\u0663.09"):
            assert names.name(odd) is None
            assert names.label(odd) == odd
        assert names.name("63.99") is None and names.label("63.99") == "63.99"
        assert names._provinces.keys() == {"63", "62"}
