"""In Chromium: add an aid roster line with the region picker, meet the NIK check, find the line."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.loader import load_paths
from tests.browser.conftest import sign_in
from tests.conftest import ROOT, add_user, publish_yaml, rebuilt
from tests.test_regions import run_import

REGIONS = "kode,nama\n63,Kalimantan Selatan\n63.09,Kabupaten Tabalong\n63.09.01,Banua Lawas\n63.09.01.2001,Hapalah\n63.09.02,Pugaan\n63.09.02.2001,Pugaan\n"


@pytest.fixture
def app(empty_app: Any) -> Any:
    run_import(empty_app, REGIONS)
    found, errors = load_paths([ROOT / "forms"])
    assert not errors
    texts = [
        (ROOT / "forms" / f"{slug}.yaml").read_text(encoding="utf-8")
        for slug in ("kategori_pmks", "jenis_disabilitas", "program_bantuan", "penerima_bantuan")
    ]
    publish_yaml(empty_app, *texts)
    app = rebuilt(empty_app)
    add_user(app, "operator", "Dinsos", password="rahasia-123")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO form_program_bantuan (nama, jenis, tahun, tahap, sumber_anggaran, kuota) VALUES (:n, 'permakanan', 2026, 1, 'apbd', 100)"
            ),
            {"n": "Bantuan Permakanan Lansia 2026 Tahap I"},
        )
    return app


def test_add_a_roster_line_in_the_browser(page: Any) -> None:
    sign_in(page, "operator", password="rahasia-123")
    page.goto(page.base + "/forms/penerima_bantuan/list/")
    with page.expect_navigation():
        page.click("a[href*='/forms/penerima_bantuan/add']")
    page.select_option("#program", label="Bantuan Permakanan Lansia 2026 Tahap I")
    page.fill("#nik", "6309017102450001")  # day 71 - 40 = 31 February: no such date
    page.fill("#nama", "Siti Aminah")
    page.select_option("select.simpul-region-level[data-level='3']", "63.09.01")
    page.locator("select[data-level='4'] option").nth(1).wait_for(state="attached")
    page.select_option("select.simpul-region-level[data-level='4']", "63.09.01.2001")
    with page.expect_navigation():
        page.click("button[type=submit], input[type=submit]")
    assert "NIK: tanggal lahir 31-02 tidak valid" in page.locator(".alert-danger").all_inner_texts()
    page.fill("#nik", "6309014507450001")  # 5 July 1945, female
    page.locator("select[data-level='4'] option").nth(1).wait_for(state="attached")
    assert page.input_value("#desa") == "63.09.01.2001"  # the picker kept the chosen village
    with page.expect_navigation():
        page.click("button[type=submit], input[type=submit]")
    assert "/penerima_bantuan/list/" in page.url
    assert page.locator(".alert-success").is_visible()
    # find it with the quick search above the list
    page.fill("#simpul-quick-search", "Aminah")
    with page.expect_navigation():
        page.press("#simpul-quick-search", "Enter")
    assert "_flt_" in page.url
    row = page.locator("table tr", has_text="Siti Aminah")
    assert row.count() == 1
    assert "Hapalah, Kec. Banua Lawas" in row.inner_text()
