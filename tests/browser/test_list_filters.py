"""In Chromium: a clerk filters the aid roster by kecamatan, status and date, reads the active
filters as chips, removes them, and the page raises no script error on the way."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.browser.conftest import open_filters, shot, sign_in
from tests.conftest import ROOT, add_user, publish_yaml, rebuilt
from tests.test_regions import run_import

REGIONS = (
    "kode,nama\n63,Kalimantan Selatan\n63.09,Kabupaten Tabalong\n63.09.01,Banua Lawas\n"
    "63.09.01.2001,Hapalah\n63.09.01.2002,Bangkiling\n63.09.02,Pugaan\n63.09.02.2001,Pugaan\n"
)
DESA = ["63.09.01.2001", "63.09.01.2002", "63.09.02.2001"]
STATUS = ["belum", "tersalurkan", "gagal"]
ROWS = 40
VISIT = """
form: kunjungan
title: Kunjungan
fields:
  - {name: tujuan, type: text, label: Tujuan}
  - {name: waktu, type: datetime, label: Waktu}
"""


@pytest.fixture
def app(empty_app: Any) -> Any:
    run_import(empty_app, REGIONS)
    texts = [
        (ROOT / "forms" / f"{slug}.yaml").read_text(encoding="utf-8")
        for slug in ("kategori_pmks", "jenis_disabilitas", "program_bantuan", "penerima_bantuan")
    ]
    publish_yaml(empty_app, *texts, VISIT)
    app = rebuilt(empty_app)
    add_user(app, "admin", "Admin")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO form_program_bantuan (nama, jenis, tahun, tahap, sumber_anggaran, kuota)"
                " VALUES ('Permakanan Lansia 2026', 'permakanan', 2026, 1, 'apbd', 100)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO form_penerima_bantuan (program_id, nama, desa, region_code, status_penyaluran,"
                " tanggal_penyaluran, jumlah) VALUES (1, :nama, :desa, :desa, :status, :tanggal, 300000)"
            ),
            [
                {
                    "nama": f"Penerima {i:02d}",
                    "desa": DESA[i % 3],
                    "status": STATUS[i % 3],
                    "tanggal": f"2026-01-{i % 28 + 1:02d}",
                }
                for i in range(ROWS)
            ],
        )
    return app


@pytest.fixture
def clerk_page(page: Any) -> Any:
    """Signed in; every script error and console error of the page recorded."""
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    sign_in(page)
    return page


def _rows(page: Any) -> list[str]:
    return page.locator("table.table-bordered tbody tr, table.table-bordered tr:has(td)").all_inner_texts()


def test_filter_by_kecamatan_status_and_date_then_clear(clerk_page: Any) -> None:
    page = clerk_page
    page.goto(page.base + "/forms/penerima_bantuan/list/")
    assert page.locator("#simpul-quick-search").is_visible()  # on the list, not behind a menu
    assert page.locator(".pagination").count() == 2  # above and below the table
    shot(page, "list-filters-closed")

    panel = open_filters(page)
    box = panel.bounding_box()
    for field in page.locator(".simpul-filter-field").all():
        inner = field.bounding_box()
        assert box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"] + 1
        assert inner["y"] + inner["height"] <= box["y"] + box["height"] + 1
    region = ".simpul-filter-field[data-column='desa']"
    page.locator(f"{region} select[data-level='3'] option").nth(1).wait_for(state="attached")
    page.select_option(f"{region} select[data-level='3']", "63.09.01")  # a kecamatan, no desa
    page.select_option(".simpul-filter-field[data-column='status_penyaluran'] select", "tersalurkan")
    page.click(".simpul-filter-field[data-column='tanggal_penyaluran'] input >> nth=0")
    page.wait_for_selector(".datepicker-days", state="visible")
    shot(page, "list-filters-open")
    page.keyboard.press("Escape")
    page.fill(".simpul-filter-field[data-column='tanggal_penyaluran'] input >> nth=0", "10-01-2026")
    with page.expect_navigation():
        page.click("#simpul-filter-fields button[type=submit]")
    assert "_flt_0_desa=63.09.01&" in page.url + "&" and "page_" not in page.url
    assert "tanggal_penyaluran=10-01-2026" in page.url and "jumlah" not in page.url  # blank boxes stay out
    chips = page.locator(".simpul-chip").all_inner_texts()
    assert [" ".join(c.split()) for c in chips] == [
        "Desa/kelurahan: Kec. Banua Lawas ×",
        "Status penyaluran: Tersalurkan ×",
        "Tanggal penyaluran: dari 10-01-2026 ×",
    ]
    expected = sum(
        1 for i in range(ROWS) if DESA[i % 3].startswith("63.09.01.") and STATUS[i % 3] == "tersalurkan" and i % 28 >= 9
    )
    assert len(_rows(page)) == expected > 0
    shot(page, "list-filters-active")

    with page.expect_navigation():
        page.click(".simpul-chip:has-text('Tersalurkan')")
    assert len(page.locator(".simpul-chip").all()) == 2 and "status_penyaluran" not in page.url
    with page.expect_navigation():
        page.click(".simpul-clear-filters")
    assert page.locator(".simpul-chip").count() == 0 and "_flt_" not in page.url
    assert page.errors == []


def test_sorting_by_village_sorts_by_its_name(clerk_page: Any) -> None:
    page = clerk_page
    page.goto(page.base + "/forms/penerima_bantuan/list/?psize_FormView_penerima_bantuan=100")
    with page.expect_navigation():
        page.click("th a:has-text('Desa/kelurahan')")
    column = page.evaluate(
        """() => {
            const heads = [...document.querySelectorAll('table.table-bordered thead th')];
            const at = heads.findIndex(th => th.innerText.includes('Desa/kelurahan'));
            return [...document.querySelectorAll('table.table-bordered tbody tr, table.table-bordered tr:has(td)')]
                .map(tr => tr.children[at].innerText);
        }"""
    )
    villages = [name.split(",")[0].strip() for name in column]
    assert villages == sorted(villages) and villages[0] == "Bangkiling" and villages[-1] == "Pugaan"
    assert page.errors == []


def test_a_date_time_filter_picks_a_day_without_a_script_error(clerk_page: Any) -> None:
    """FAB's own filter row for a date-time called a picker it no longer ships (a console error)."""
    page = clerk_page
    page.goto(page.base + "/forms/kunjungan/list/")
    open_filters(page)
    page.click(".simpul-filter-field[data-column='waktu'] input >> nth=1")
    page.locator(".datepicker-days td.day:not(.old):not(.new)").first.click()
    chosen = page.input_value(".simpul-filter-field[data-column='waktu'] input >> nth=1")
    with page.expect_navigation():
        page.click("#simpul-filter-fields button[type=submit]")
    assert " ".join(page.locator(".simpul-chip").inner_text().split()) == f"Waktu: sampai {chosen} ×"
    assert page.errors == []
