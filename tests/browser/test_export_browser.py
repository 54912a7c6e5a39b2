"""In Chromium: a clerk filters a list, exports it as CSV for Excel in Indonesian from the export
menu, and a large export goes through its job page to a downloaded workbook."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.office import utc_now
from app.workflows.runtime.jobs import claim_next_job, run_job
from tests.browser.conftest import shot, sign_in
from tests.conftest import add_user, publish_yaml, rebuilt

FORM = """
form: penerima
title: Penerima Bantuan
title_field: nama
order_by: [nama]
fields:
  - {name: nama, type: text, label: Nama, search: true}
  - {name: nik, type: nik, label: NIK}
  - {name: jumlah, type: money, label: Jumlah}
  - {name: tanggal, type: date, label: Tanggal}
"""
NAMES = ["Ani", "Budi", "Siti", "Rahmat"]


@pytest.fixture
def app(empty_app: Any) -> Any:
    publish_yaml(empty_app, FORM)
    app = rebuilt(empty_app)
    add_user(app, "admin", "Admin")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO form_penerima (nama, nik, jumlah, tanggal) VALUES (:n, :k, 1250000, '2026-01-05')"),
            [{"n": name, "k": f"630901450790{i:04d}"} for i, name in enumerate(NAMES, 1)],
        )
    return app


@pytest.fixture
def admin_page(page: Any) -> Any:
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    sign_in(page)
    return page


def test_export_menu_and_job_page_in_a_browser(admin_page: Any, app: Any) -> None:
    page = admin_page
    page.goto(page.base + "/forms/penerima/list/")
    page.fill("#simpul-quick-search", "i")  # Ani, Budi, Siti: not Rahmat
    with page.expect_navigation():
        page.press("#simpul-quick-search", "Enter")
    page.click(".simpul-export .dropdown-toggle")
    menu = page.locator(".simpul-export .dropdown-menu")
    menu.wait_for(state="visible")
    shot(page, "export-menu", full_page=False)
    with page.expect_download() as download:
        page.click(".simpul-export .dropdown-menu a:has-text(';')")
    data = Path(download.value.path()).read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nama", "NIK", "Jumlah", "Tanggal"]
    assert [r[0] for r in rows[1:]] == ["Ani", "Budi", "Siti"] and rows[1][1] == "6309********0001"

    app.config["EXPORT_INLINE_MAX_ROWS"] = 1
    with page.expect_navigation():
        page.click(".simpul-export > a")  # the main button: Excel
    assert "/ekspor/" in page.url and page.locator(".progress").is_visible()
    shot(page, "export-job-waiting", full_page=False)
    with app.app_context():
        job = claim_next_job(db.engine, "test", utc_now())
        assert run_job(db.engine, job, "test") == "done"
        db.session.remove()
    page.wait_for_selector("#export-download", timeout=10_000)  # the page refreshes itself
    shot(page, "export-job-ready", full_page=False)
    with page.expect_download() as download:
        page.click("#export-download")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert [r[0] for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)] == ["Ani", "Budi", "Siti"]
    assert page.errors == []


def test_an_import_of_a_workbooks_second_sheet_in_a_browser(admin_page: Any, app: Any, tmp_path: Path) -> None:
    """A clerk uploads a workbook whose first sheet is instructions, picks the data sheet and imports it."""
    import xlsxwriter

    page = admin_page
    path = tmp_path / "penerima.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Petunjuk").write_string(0, 0, "Isi data penerima di lembar Data.")
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, ["Nama", "NIK", "Jumlah", "Tanggal"])
    sheet.write_row(1, 0, ["Wati", "6309014507900011", 750000, "2026-02-03"])
    book.close()
    page.goto(page.base + "/import/penerima/")
    page.set_input_files("#file", str(path))
    with page.expect_navigation():
        page.click("#simpul-import-upload [type=submit]")
    assert "Isi data penerima" in page.content()  # the first sheet with rows, until another is chosen
    page.select_option("#sheet", "Data")
    with page.expect_navigation():
        page.click("#simpul-import-sheet [type=submit]")
    assert page.locator("select[name=column-0]").input_value() == "nama"
    shot(page, "import-sheet-chosen")
    with page.expect_navigation():
        page.click("#simpul-import-mapping form[method=post] [type=submit]")
    assert page.locator("#simpul-import-result").get_attribute("data-state") == "done", page.content()[:3000]
    shot(page, "import-done")
    with app.app_context():
        assert db.session.execute(sa.text("SELECT nama FROM form_penerima WHERE nama = 'Wati'")).scalar() == "Wati"
    assert page.errors == []
