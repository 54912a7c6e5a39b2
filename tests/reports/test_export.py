"""Spreadsheet exports of a form's list, read back with openpyxl and csv: typed cells, formats, NIK
masked with every digit kept, formula-like text escaped, the list's filters, order and the user's
area; large exports as a background job whose file only its owner downloads; the access log."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from app import create_app
from app.access.permissions import sync_permissions
from app.database import dispose_app
from app.extensions import db
from app.office import utc_now
from app.reports import files
from tests.conftest import BACKENDS, add_user, app_config, login, publish_yaml, rebuilt
from tests.runtime_jobs import run_queued_jobs
from tests.test_regions import run_import

REGIONS = (
    "kode,nama\n63,Kalimantan Selatan\n63.09,Kabupaten Tabalong\n"
    "63.09.01,Banua Lawas\n63.09.01.2001,Hapalah\n63.09.01.2002,Bangkiling\n"
    "63.09.02,Pugaan\n63.09.02.2001,Pugaan\n"
)
PROGRAM = """
form: program
title: {id: Program, en: Programme}
title_field: nama
permissions: {Kecamatan: [view]}
fields:
  - {name: nama, type: text, label: Nama program}
"""
FORM = """
form: penerima
title: {id: Penerima Bantuan, en: Aid recipients}
title_field: nama
region_field: desa
order_by: [nama]
permissions: {Kecamatan: [view, add, edit]}
fields:
  - {name: nama, type: text, label: {id: Nama, en: Name}, search: true}
  - {name: nik, type: nik, label: NIK}
  - {name: no_kk, type: kk, label: No. KK}
  - {name: nip, type: nip, label: NIP}
  - {name: program, type: reference, target: program, label: Program}
  - {name: desa, type: region, level: desa, label: Desa}
  - name: status
    type: choice
    label: Status
    choices:
      - {value: baru, label: {id: Baru, en: New}}
      - {value: dirujuk, label: {id: Dirujuk, en: Referred}}
  - {name: aktif, type: boolean, label: Aktif}
  - {name: tanggal, type: date, label: {id: Tanggal, en: Date}}
  - {name: waktu, type: datetime, label: Waktu}
  - {name: jumlah, type: money, label: {id: Jumlah, en: Amount}}
  - {name: berat, type: decimal, label: Berat}
  - {name: anak, type: integer, label: Anak}
  - {name: catatan, type: text, label: Catatan}
"""
NIK, KK, NIP = "6309014507450001", "6309010101200001", "199001012015031001"
# nama, desa, status, aktif, tanggal, waktu, jumlah, berat, anak, catatan, program
ROWS = [
    ("Siti Aminah", "63.09.01.2001", "dirujuk", True, "2026-01-05", "2026-01-05 16:30", 1250000, 2.5, 3,
     '=HYPERLINK("http://evil.example/","klik")', 1),
    ("Budi", "63.09.01.2002", "baru", False, "2026-01-06", "2026-01-06 08:00", 250000, None, 0, "+62 811", 1),
    ("Ani", "63.09.02.2001", "dirujuk", False, "2026-02-01", "2026-02-01 09:00", 500000.5, 1.25, 1, "@SUM(1)", 2),
    ("Rahmat", "63.09.02.2001", "baru", True, "2026-03-01", "2026-03-01 10:00", 1000000, None, 2, None, None),
]  # fmt: skip
EXPORT = "/forms/penerima/export/"


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The forms, the regions, four recipients; an admin and two Kecamatan clerks of Banua Lawas."""
    tmp = tmp_path_factory.mktemp("export")
    if request.param == "sqlite":
        url, context = f"sqlite:///{tmp / 'simpul.db'}", None
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
    add_user(app, "camat", "Kecamatan", region_scope="63.09.01")
    add_user(app, "lain", "Kecamatan", region_scope="63.09.01")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO form_program (nama) VALUES ('PKH'), ('')"))
        for nama, desa, status, aktif, tanggal, waktu, jumlah, berat, anak, catatan, program in ROWS:
            conn.execute(
                sa.text(
                    "INSERT INTO form_penerima (nama, nik, no_kk, nip, program_id, desa, region_code, status, aktif,"
                    " tanggal, waktu, jumlah, berat, anak, catatan) VALUES (:nama, :nik, :kk, :nip, :program,"
                    " :desa, :desa, :status, :aktif, :tanggal, :waktu, :jumlah, :berat, :anak, :catatan)"
                ),
                {
                    "nama": nama,
                    "nik": NIK if nama == "Siti Aminah" else None,
                    "kk": KK if nama == "Siti Aminah" else None,
                    "nip": NIP if nama == "Siti Aminah" else None,
                    "program": program,
                    "desa": desa,
                    "status": status,
                    "aktif": aktif,
                    "tanggal": date.fromisoformat(tanggal),
                    "waktu": datetime.fromisoformat(waktu),
                    "jumlah": jumlah,
                    "berat": berat,
                    "anak": anak,
                    "catatan": catatan,
                },
            )
    yield app
    dispose_app(app)
    if context is not None:
        context.__exit__(None, None, None)


def client_for(app: Any, name: str, lang: str = "id") -> Any:
    client = app.test_client()
    login(client, name)
    client.get(f"/lang/{lang}")
    return client


def workbook(response: Any) -> Any:
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    return openpyxl.load_workbook(io.BytesIO(response.data))


def table(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def details(book: Any) -> dict[str, str]:
    return {str(label): str(value) for label, value in book.worksheets[1].iter_rows(values_only=True)}


def filter_name(client: Any, column: str) -> str:
    """The address name of a column's filter in the list's panel (`_flt_N_column`)."""
    page = client.get("/forms/penerima/list/").get_data(as_text=True)
    return re.findall(rf'name="(_flt_\d_{column})"', page)[0]


def access_log(app: Any) -> list[Any]:
    with app.app_context():
        rows = db.session.execute(
            sa.text("SELECT username, action, form, record_ids, row_count, purpose FROM simpul_access_log ORDER BY id")
        ).all()
        db.session.rollback()
        return list(rows)


def test_xlsx_cells_are_typed_masked_and_formula_safe(app: Any) -> None:
    book = workbook(client_for(app, "admin").get(EXPORT))
    sheet = book.worksheets[0]
    rows = table(sheet)
    assert sheet.title == "Penerima Bantuan"
    assert rows[0][:6] == ["Nama", "NIK", "No. KK", "NIP", "Program", "Desa"]
    assert [r[0] for r in rows[1:]] == ["Ani", "Budi", "Rahmat", "Siti Aminah"]  # the form's order: nama
    siti = dict(zip(rows[0], rows[4], strict=True))
    assert siti["NIK"] == "6309********0001" and siti["No. KK"] == "6309********0001"
    assert siti["NIP"] == NIP  # 18 digits, as text: none lost
    assert siti["Program"] == "PKH" and siti["Desa"] == "Hapalah, Kec. Banua Lawas"
    assert (siti["Status"], siti["Aktif"]) == ("Dirujuk", "Ya")
    assert siti["Tanggal"] == datetime(2026, 1, 5) and siti["Waktu"] == datetime(2026, 1, 5, 16, 30)
    assert siti["Jumlah"] == 1250000 and siti["Berat"] == 2.5 and siti["Anak"] == 3
    assert siti["Catatan"] == '\'=HYPERLINK("http://evil.example/","klik")'
    ani = dict(zip(rows[0], rows[1], strict=True))
    assert ani["Jumlah"] == 500000.5 and ani["Catatan"] == "'@SUM(1)" and ani["Program"] == "#2"
    assert dict(zip(rows[0], rows[2], strict=True))["Catatan"] == "'+62 811"
    cells = {c.column_letter: c for c in sheet[5]}  # Siti's row, by column
    header = {c.value: c.column_letter for c in sheet[1]}
    assert cells[header["NIK"]].data_type == "s" and cells[header["NIP"]].data_type == "s"
    assert cells[header["Jumlah"]].data_type == "n" and cells[header["Jumlah"]].number_format == '"Rp" #,##0'
    assert cells[header["Tanggal"]].is_date and cells[header["Tanggal"]].number_format == "dd-mm-yyyy"
    assert cells[header["Anak"]].data_type == "n"
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b
    assert sheet.auto_filter.ref == f"A1:{cells[max(cells)].column_letter}5"
    assert sheet.column_dimensions[header["NIK"]].width >= 16
    assert all(NIK not in str(v) and KK not in str(v) for row in rows for v in row)


def test_the_details_sheet_says_who_when_what_and_how_many(app: Any) -> None:
    client = client_for(app, "camat")
    status = filter_name(client, "status")
    book = workbook(client.get(EXPORT, query_string={status: "dirujuk"}))
    assert [s.title for s in book.worksheets] == ["Penerima Bantuan", "Keterangan"]
    info = details(book)
    assert info["Formulir"] == "Penerima Bantuan" and info["Jumlah baris"] == "1"
    assert "camat" in info["Diekspor oleh"] and re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d WITA", info["Waktu ekspor"])
    assert info["Wilayah kerja"] == "Kec. Banua Lawas" and info["Filter: Status"] == "Dirujuk"


def test_a_kecamatan_user_exports_only_their_area_with_the_lists_filters_and_order(app: Any) -> None:
    client = client_for(app, "camat")
    rows = table(workbook(client.get(EXPORT)).worksheets[0])
    assert [r[0] for r in rows[1:]] == ["Budi", "Siti Aminah"]  # Pugaan's records are not theirs
    status = filter_name(client, "status")
    rows = table(workbook(client.get(EXPORT, query_string={status: "dirujuk"})).worksheets[0])
    assert [r[0] for r in rows[1:]] == ["Siti Aminah"]
    order = {"_oc_FormView_penerima": "tanggal", "_od_FormView_penerima": "desc"}
    rows = table(workbook(client.get(EXPORT, query_string=order)).worksheets[0])
    assert [r[0] for r in rows[1:]] == ["Budi", "Siti Aminah"]
    quick = filter_name(client, "nama")
    rows = table(workbook(client.get(EXPORT, query_string={quick: "sit"})).worksheets[0])
    assert [r[0] for r in rows[1:]] == ["Siti Aminah"]


def test_labels_speak_english_when_chosen(app: Any) -> None:
    book = workbook(client_for(app, "admin", "en").get(EXPORT))
    rows = table(book.worksheets[0])
    assert book.worksheets[0].title == "Aid recipients" and book.worksheets[1].title == "Export details"
    assert rows[0][0] == "Name" and "Referred" in {r[6] for r in rows[1:]} and "Yes" in {r[7] for r in rows[1:]}
    assert details(book)["Rows"] == "4"


def _csv(response: Any, delimiter: str) -> list[list[str]]:
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark: Excel reads names right
    return list(csv.reader(io.StringIO(response.data[3:].decode("utf-8")), delimiter=delimiter))


def test_csv_with_semicolons_has_decimal_commas_iso_dates_and_escaped_formulas(app: Any) -> None:
    rows = _csv(client_for(app, "admin").get(EXPORT, query_string={"format": "csv", "sep": "semicolon"}), ";")
    header = rows[0]
    assert header[:3] == ["Nama", "NIK", "No. KK"] and len(rows) == 5
    ani, siti = dict(zip(header, rows[1], strict=True)), dict(zip(header, rows[4], strict=True))
    assert ani["Jumlah"] == "500000,5" and siti["Jumlah"] == "1250000" and siti["Berat"] == "2,5"
    assert siti["Tanggal"] == "2026-01-05" and siti["Waktu"] == "2026-01-05 16:30"
    assert siti["NIK"] == "6309********0001" and siti["NIP"] == NIP
    assert siti["Catatan"].startswith("'=HYPERLINK") and ani["Catatan"] == "'@SUM(1)"


def test_csv_with_commas_has_decimal_points(app: Any) -> None:
    rows = _csv(client_for(app, "admin").get(EXPORT, query_string={"format": "csv"}), ",")
    ani = dict(zip(rows[0], rows[1], strict=True))
    assert ani["Jumlah"] == "500000.5" and ani["Berat"] == "1.25" and ani["Desa"] == "Pugaan, Kec. Pugaan"


def test_an_export_is_logged_with_its_filters_and_row_count(app: Any) -> None:
    client = client_for(app, "camat")
    status = filter_name(client, "status")
    assert client.get(EXPORT, query_string={status: "baru", "format": "csv"}).status_code == 200
    username, action, form, record_ids, row_count, purpose = access_log(app)[-1]
    assert (username, action, form, row_count) == ("camat", "export", "penerima", 1)
    assert record_ids.startswith("[") and "Status: Baru" in purpose and "csv" in purpose


def test_the_list_offers_excel_and_both_csv_kinds_with_its_filters(app: Any) -> None:
    client = client_for(app, "admin")
    status = filter_name(client, "status")
    page = client.get("/forms/penerima/list/", query_string={status: "baru"}).get_data(as_text=True)
    links = re.findall(r'href="(/forms/penerima/export/[^"]*)"', page)
    assert any("format=csv&amp;sep=semicolon" in link for link in links)
    assert all(f"{status}=baru" in link for link in links) and len(links) >= 3


@pytest.fixture
def small_inline(app: Any) -> Iterator[None]:
    """Exports above one row go to the background."""
    saved = app.config["EXPORT_INLINE_MAX_ROWS"]
    app.config["EXPORT_INLINE_MAX_ROWS"] = 1
    yield
    app.config["EXPORT_INLINE_MAX_ROWS"] = saved


def test_a_large_export_runs_as_a_job_for_its_owner_only(app: Any, small_inline: None) -> None:
    camat = client_for(app, "camat")
    order = {"_oc_FormView_penerima": "nama", "_od_FormView_penerima": "desc"}
    queued = camat.get(EXPORT, query_string=order)
    assert queued.status_code == 302 and "/ekspor/" in queued.headers["Location"]
    status_url = queued.headers["Location"]
    waiting = camat.get(status_url).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "export-download" not in waiting
    run_queued_jobs(app)
    page = camat.get(status_url).get_data(as_text=True)
    assert "refresh" not in page and "2 baris" in page
    download = html.unescape(re.search(r'id="export-download" href="([^"]+)"', page).group(1))
    fetched = camat.get(download)
    book = workbook(fetched)
    fetched.close()
    assert [r[0] for r in table(book.worksheets[0])[1:]] == ["Siti Aminah", "Budi"]  # their area, their order
    assert "camat" in details(book)["Diekspor oleh"]
    assert client_for(app, "lain").get(download).status_code == 404  # another clerk: not theirs
    assert client_for(app, "lain").get(status_url).status_code == 404
    by_admin = client_for(app, "admin").get(download)
    assert by_admin.status_code == 200
    by_admin.close()
    username, action, form, _ids, row_count, _purpose = access_log(app)[-1]
    assert (username, action, form, row_count) == ("camat", "export", "penerima", 2)


def test_an_expired_export_is_removed_and_no_longer_offered(app: Any, small_inline: None) -> None:
    camat = client_for(app, "camat")
    status_url = camat.get(EXPORT, query_string={"format": "csv"}).headers["Location"]
    run_queued_jobs(app)
    download = status_url + "/unduh"
    fetched = camat.get(download)
    assert fetched.status_code == 200 and fetched.data.startswith(b"\xef\xbb\xbf")
    fetched.close()
    with app.app_context():
        removed = files.remove_files_before(db.engine, files.report_dir(), utc_now() + timedelta(days=1))
    assert removed >= 1
    assert camat.get(download).status_code == 404
    assert "kedaluwarsa" in camat.get(status_url).get_data(as_text=True)


def test_expired_files_are_cleaned_by_a_periodic_job_of_the_scheduler(app: Any) -> None:
    from app.workflows.runtime.periodic import PERIODIC

    entry = PERIODIC["reports.expire"]
    assert entry.target == "app.reports.files:remove_expired" and int(app.config[entry.seconds_key]) > 0
    assert app.config["REPORT_KEEP_DAYS"] == 7 and app.config["EXPORT_INLINE_MAX_ROWS"] == 5000


def test_rows_past_a_sheets_limit_continue_on_the_next_sheet(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.reports import spreadsheet

    monkeypatch.setattr(spreadsheet, "XLSX_MAX_ROWS", 3)  # Excel's 1,048,575, scaled to the four records
    book = workbook(client_for(app, "admin").get(EXPORT))
    assert [s.title for s in book.worksheets] == ["Penerima Bantuan", "Penerima Bantuan (2)", "Keterangan"]
    first, second = table(book.worksheets[0]), table(book.worksheets[1])
    assert first[0] == second[0] and first[0][0] == "Nama"  # each sheet has the header
    assert [r[0] for r in first[1:] + second[1:]] == ["Ani", "Budi", "Rahmat", "Siti Aminah"]  # each row once
    assert book.worksheets[1].freeze_panes == "A2" and book.worksheets[1].auto_filter.ref.endswith("2")
    info = {str(label): str(value) for label, value in book["Keterangan"].iter_rows(values_only=True)}
    assert info["Jumlah baris"] == "4" and info["Catatan"] == "2 lembar: Excel memuat 3 baris per lembar."
    assert (
        spreadsheet.numbered_sheet_name("Daftar Penerima Bantuan Sosial Kab", 12) == "Daftar Penerima Bantuan So (12)"
    )  # 31
