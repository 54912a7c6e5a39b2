"""The filter panel of generated lists: filters a clerk can use, shown back as removable chips."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import openpyxl
import pytest
import sqlalchemy as sa
from flask_appbuilder.urltools import get_filter_args

from app import create_app
from app.access.permissions import sync_permissions
from app.database import dispose_app
from app.extensions import db
from tests.conftest import BACKENDS, add_user, app_config, login, publish_yaml, rebuilt
from tests.test_regions import run_import

REGIONS = (
    "kode,nama\n63,Kalimantan Selatan\n63.09,Kabupaten Tabalong\n"
    "63.09.01,Banua Lawas\n63.09.01.2001,Hapalah\n63.09.01.2002,Bangkiling\n"
    "63.09.02,Pugaan\n63.09.02.2001,Pugaan\n63.09.03,Kelua\n63.09.03.2001,Ampukung\n"
)
PROGRAM = """
form: program
title: Program
title_field: nama
region_field: desa
permissions: {Petugas: [view]}
fields:
  - {name: nama, type: text, label: Nama program}
  - {name: desa, type: region, level: desa, label: Desa}
"""
FORM = """
form: penerima
title: Penerima
title_field: nama
region_field: desa
permissions: {Petugas: [view, add, edit]}
fields:
  - {name: nama, type: text, label: Nama, search: true}
  - {name: alamat, type: text, label: Alamat, search: true}
  - {name: nik, type: nik, label: NIK}
  - {name: program, type: reference, target: program, label: Program}
  - {name: desa, type: region, level: desa, label: Desa}
  - name: status
    type: choice
    label: Status
    choices:
      - {value: baru, label: {id: Baru, en: New}}
      - {value: dirujuk, label: {id: Dirujuk, en: Referred}}
  - {name: aktif, type: boolean, label: Aktif}
  - {name: tanggal, type: date, label: Tanggal}
  - {name: waktu, type: datetime, label: Waktu}
  - {name: jumlah, type: money, label: Jumlah}
  - name: bantuan
    type: multichoice
    label: Bantuan
    filter: true
    choices: [{value: pkh, label: PKH}, {value: bpnt, label: BPNT}]
"""
NIK = "6309014507450001"
# name, desa, status, aktif, tanggal, waktu, jumlah, program (1 Banua Lawas, 2 Pugaan), bantuan
ROWS = [
    ("Siti Aminah", "63.09.01.2001", "dirujuk", True, "2026-01-05", "2026-01-05 16:30", 100000, 1, '["pkh"]'),
    ("Budi", "63.09.01.2002", "baru", False, "2026-01-06", "2026-01-06 08:00", 250000, 1, '["pkh", "bpnt"]'),
    ("Ani", "63.09.02.2001", "dirujuk", False, "2026-02-01", "2026-02-01 09:00", 500000, 2, '["bpnt"]'),
    ("Rahmat", "63.09.03.2001", "baru", True, "2026-03-01", "2026-03-01 10:00", 1000000, 2, None),
]
BASE = "/forms/penerima/list/"


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One app for the module: the two forms, the regions, four recipients, an admin and a desa clerk."""
    tmp = tmp_path_factory.mktemp("filters")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'simpul.db'}"
        context = None
    else:
        from tests.postgres import scratch_database

        context = scratch_database(request.getfixturevalue("postgres_server"))
        url = context.__enter__()
    config = app_config(url, tmp, DISTRICT="63.09")
    setup = create_app(config)
    with setup.app_context():
        from app.migrations import upgrade_database

        upgrade_database()
        sync_permissions(setup.appbuilder, {})
    setup.test_config = config
    run_import(setup, REGIONS)
    publish_yaml(setup, PROGRAM, FORM)
    app = rebuilt(setup)
    dispose_app(setup)
    add_user(app, "admin", "Admin")
    add_user(app, "clerk", "Petugas")
    with app.app_context():
        sm = app.appbuilder.sm
        clerk = sm.find_user("clerk")
        clerk.region_scope = "63.09.01"
        sm.update_user(clerk)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO form_program (nama, desa, region_code) VALUES (:n, :d, :d)"),
            [{"n": "PKH Banua <Lawas>", "d": "63.09.01.2001"}, {"n": "Sembako Pugaan", "d": "63.09.02.2001"}],
        )
        for nama, desa, status, aktif, tanggal, waktu, jumlah, program, bantuan in ROWS:
            conn.execute(
                sa.text(
                    "INSERT INTO form_penerima (nama, alamat, nik, program_id, desa, region_code, status, aktif,"
                    " tanggal, waktu, jumlah, bantuan) VALUES (:nama, 'Jl. Baru', :nik, :program, :desa, :desa,"
                    " :status, :aktif, :tanggal, :waktu, :jumlah, :bantuan)"
                ),
                {
                    "nama": nama,
                    "nik": NIK if nama == "Siti Aminah" else None,
                    "program": program,
                    "desa": desa,
                    "status": status,
                    "aktif": aktif,
                    "tanggal": tanggal,
                    "waktu": waktu,
                    "jumlah": jumlah,
                    "bantuan": bantuan,
                },
            )
    yield app
    dispose_app(app)
    if context is not None:
        context.__exit__(None, None, None)


@pytest.fixture(scope="module")
def client(app: Any) -> Any:
    client = app.test_client()
    login(client)
    return client


def _page(client: Any, query: dict[str, str] | str = "") -> str:
    response = client.get(BASE, query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _names(page: str) -> set[str]:
    return {name for name, *_ in ROWS if re.search(rf"<td>\s*{re.escape(name)}\s*</td>", page)}


def _field(page: str, column: str) -> str:
    found = re.search(
        rf'<div class="[^"]*simpul-filter-field"[^>]*data-column="{column}">(.*?)\n        </div>', page, re.S
    )
    assert found, column
    return found.group(1)


def _input_name(page: str, column: str, index: int = 0) -> str:
    return re.findall(r'name="(_flt_\d_[^"]+)"', _field(page, column))[index]


def _chips(page: str) -> list[str]:
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", chip)).split())
        for chip in re.findall(r'<a class="simpul-chip"[^>]*>(.*?)</a>', page, re.S)
    ]


def test_the_panel_offers_a_filter_a_clerk_can_use_for_each_field(client: Any) -> None:
    page = _page(client)
    assert "AdminFilters" not in page and 'id="filter_form"' not in page  # FAB's operator rows are gone
    quick = re.search(r'<input type="search"[^>]*id="simpul-quick-search"[^>]*>', page, re.S).group(0)
    assert 'placeholder="Cari Nama, Alamat, NIK"' in quick
    assert 'data-any-level="1"' in _field(page, "desa")
    program = _field(page, "program")
    assert "__None" not in program and "PKH Banua &lt;Lawas&gt;" in program and "Sembako Pugaan" in program
    assert re.findall(r"<option[^>]*>([^<]*)</option>", _field(page, "status")) == ["— semua —", "Baru", "Dirujuk"]
    assert re.findall(r"<option[^>]*>([^<]*)</option>", _field(page, "aktif")) == ["— semua —", "Ya", "Tidak"]
    assert len(re.findall(r"simpul-date", _field(page, "tanggal"))) == 2
    assert "16 digit" in _field(page, "nik")


def test_the_panel_speaks_english_to_english_readers(app: Any) -> None:
    client = app.test_client()
    login(client)
    client.get("/lang/en")
    page = _page(client)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", _field(page, "status")) == ["— any —", "New", "Referred"]


def test_a_region_filter_takes_the_picked_kecamatan_and_reads_as_its_name(client: Any) -> None:
    name = _input_name(_page(client), "desa")
    page = _page(client, {name: "63.09.01"})
    assert _names(page) == {"Siti Aminah", "Budi"}
    assert _chips(page) == ["Desa: Kec. Banua Lawas ×"]
    assert _names(_page(client, {name: "Banua"})) == {"Siti Aminah", "Budi"}  # a name typed in the address
    assert _names(_page(client, {name: "pugaan"})) == {"Ani"}
    assert _names(_page(client, {name: "Tidak Ada"})) == set()


def test_choice_boolean_and_reference_filters_read_as_labels(client: Any) -> None:
    blank = _page(client)
    status, aktif, program = (_input_name(blank, c) for c in ("status", "aktif", "program"))
    page = _page(client, {status: "dirujuk", aktif: "true"})
    assert _names(page) == {"Siti Aminah"}
    assert sorted(_chips(page)) == ["Aktif: Ya ×", "Status: Dirujuk ×"]
    page = _page(client, {program: "2"})
    assert _names(page) == {"Ani", "Rahmat"} and _chips(page) == ["Program: Sembako Pugaan ×"]
    assert _names(_page(client, {program: "99999999999"})) == set()
    bantuan = _input_name(blank, "bantuan")
    assert _names(_page(client, {bantuan: "bpnt"})) == {"Budi", "Ani"}


def test_number_and_date_ranges_include_both_ends(client: Any) -> None:
    blank = _page(client)
    low, high = _input_name(blank, "jumlah", 0), _input_name(blank, "jumlah", 1)
    page = _page(client, {low: "250.000", high: "Rp 500.000"})
    assert _names(page) == {"Budi", "Ani"}
    assert sorted(_chips(page)) == ["Jumlah: dari 250.000 ×", "Jumlah: sampai Rp 500.000 ×"]
    low, high = _input_name(blank, "tanggal", 0), _input_name(blank, "tanggal", 1)
    assert _names(_page(client, {low: "05-01-2026", high: "01-02-2026"})) == {"Siti Aminah", "Budi", "Ani"}
    high = _input_name(blank, "waktu", 1)  # a day as the end of a date-time range: all of that day
    assert _names(_page(client, {high: "05-01-2026"})) == {"Siti Aminah"}
    assert _names(_page(client, {low: "banyak"})) == set()  # unreadable: nothing, never everything


def test_quick_search_is_on_the_list_and_a_nik_only_whole_and_masked(client: Any) -> None:
    blank = _page(client)
    quick = re.search(r'id="simpul-quick-search" name="([^"]+)"', blank).group(1)
    page = _page(client, {quick: "jl. baru"})
    assert _names(page) == {name for name, *_ in ROWS}
    assert _names(_page(client, {quick: "aminah"})) == {"Siti Aminah"}
    page = _page(client, {_input_name(blank, "nik"): NIK})
    assert _names(page) == {"Siti Aminah"} and _chips(page) == ["NIK: 6309********0001 ×"]
    assert _names(_page(client, {_input_name(blank, "nik"): NIK[:12]})) == set()
    page = _page(client, {quick: NIK})
    assert _names(page) == {"Siti Aminah"} and _chips(page) == ["Cari: 6309********0001 ×"]


def test_chips_remove_one_filter_or_all_and_keep_the_order(client: Any) -> None:
    blank = _page(client)
    status, region = _input_name(blank, "status"), _input_name(blank, "desa")
    order = {"_oc_FormView_penerima": "nama", "_od_FormView_penerima": "asc", "page_FormView_penerima": "0"}
    page = _page(client, {status: "baru", region: "63.09.01", **order})
    links = dict(
        re.findall(r'<a class="simpul-chip" href="([^"]+)"[^>]*>\s*<span class="simpul-chip-label">([^<]+)', page)
    )
    without_status = dict(parse_qsl(urlsplit(html.unescape(next(k for k, v in links.items() if v == "Status:"))).query))
    assert without_status == {region: "63.09.01", "_oc_FormView_penerima": "nama", "_od_FormView_penerima": "asc"}
    clear = html.unescape(re.search(r'<a class="simpul-clear-filters" href="([^"]+)"', page).group(1))
    assert dict(parse_qsl(urlsplit(clear).query)) == {"_oc_FormView_penerima": "nama", "_od_FormView_penerima": "asc"}
    # the panel's form carries the order along, never the page number
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    assert hidden == {"_oc_FormView_penerima": "nama", "_od_FormView_penerima": "asc"}


def test_filter_text_is_shown_escaped(client: Any) -> None:
    name = _input_name(_page(client), "alamat")
    page = _page(client, {name: "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_region_column_sorts_by_name(client: Any) -> None:
    order = {"_oc_FormView_penerima": "desa", "_od_FormView_penerima": "asc"}
    page = _page(client, order)
    shown = [name for name in re.findall(r"<td>\s*(Siti Aminah|Budi|Ani|Rahmat)\s*</td>", page)]
    # Ampukung (Rahmat), Bangkiling (Budi), Hapalah (Siti), Pugaan (Ani): by name, not by code
    assert shown == ["Rahmat", "Budi", "Siti Aminah", "Ani"]
    order["_od_FormView_penerima"] = "desc"
    assert re.findall(r"<td>\s*(Siti Aminah|Budi|Ani|Rahmat)\s*</td>", _page(client, order)) == shown[::-1]


def test_the_export_has_the_lists_filters(client: Any) -> None:
    page = _page(client, {_input_name(_page(client), "status"): "dirujuk"})
    link = html.unescape(re.search(r'href="([^"]*/export/[^"]*)"', page).group(1))
    book = openpyxl.load_workbook(io.BytesIO(client.get(link).data))
    names = {row[0] for row in book.active.iter_rows(min_row=2, values_only=True)}
    assert names == {"Siti Aminah", "Ani"}


def test_a_clerk_filters_and_picks_only_in_their_area(app: Any) -> None:
    clerk = app.test_client()
    login(clerk, "clerk")
    blank = _page(clerk)
    assert "Sembako Pugaan" not in _field(blank, "program")  # a programme of another kecamatan
    assert 'data-root="63.09.01"' in _field(blank, "desa")
    page = _page(clerk, {_input_name(blank, "program"): "2"})
    assert _names(page) == set() and _chips(page) == ["Program: #2 ×"]  # its title is not told either
    assert _names(_page(clerk, {_input_name(blank, "desa"): "Pugaan"})) == set()


def test_paging_shows_above_and_below_the_table(client: Any) -> None:
    page = _page(client, {"psize_FormView_penerima": "2"})
    assert page.count('class="pagination') == 2
    assert page.index('class="simpul-pager-bottom"') > page.index("</table>")


def test_one_requests_filters_never_reach_anothers(app: Any) -> None:
    """FAB kept the active filters on the view, which every request (and thread) shares."""
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "FormView_penerima")
    api = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "FormApi_penerima")
    with app.test_request_context(BASE + "?_flt_0_nama=siti"):
        get_filter_args(view._filters)
        api._filters.add_filter("nama", type(view._filters.filters[0]), "siti")
        with app.test_request_context(BASE):  # another request meanwhile
            get_filter_args(view._filters)
            assert view._filters.filters == [] and api._filters.filters == []
        assert len(view._filters.filters) == 1 and view._filters.values == [["siti"]]
        assert len(api._filters.filters) == 1
