"""In Chromium, on the demo data: related records as tabs on record pages, and the attendance grid
(its date picker offers only the batch's days; a day nobody saved is marked, with nothing ticked)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.browser.conftest import shot, sign_in
from tests.conftest import add_user, shipped_app


@pytest.fixture(scope="module", params=["sqlite"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shipped_app(request, tmp_path_factory.mktemp("related-browser")) as app:
        app.config["WTF_CSRF_ENABLED"] = True
        add_user(app, "kepala", "Admin")
        with app.app_context():  # the first batch runs over two days: the second has no attendance yet
            db.session.execute(
                sa.text("UPDATE form_bimtek_angkatan SET tanggal_selesai = '2020-11-05' WHERE nomor = 1")
            )
            db.session.commit()
        yield app


def test_record_pages_show_related_records_as_tabs(page: Any) -> None:
    sign_in(page, "kepala")
    page.goto(page.base + "/forms/bimtek/show/1")
    page.click('a[href="#related-bimtek_angkatan-bimtek"]')
    pane = page.wait_for_selector("#related-bimtek_angkatan-bimtek", state="visible")
    shot(page, "related-bimtek-angkatan")
    assert pane.inner_text().count("75 / 75") == 2
    page.click("#related-bimtek_angkatan-bimtek tbody tr >> nth=0 >> a >> nth=0")
    page.wait_for_url("**/forms/bimtek_angkatan/show/**")
    page.click('a[href="#related-bimtek_peserta-angkatan"]')
    pane = page.wait_for_selector("#related-bimtek_peserta-angkatan", state="visible")
    shot(page, "related-angkatan-peserta")
    assert "Kamis, 05-11-2020" in pane.inner_text()  # the second day, nobody recorded yet
    assert page.inner_text('#related-bimtek_peserta-angkatan tr[data-day="05-11-2020"] td.warning') == "75"
    page.goto(page.base + "/forms/program_bantuan/show/1")
    page.click('a[href="#related-penerima_bantuan-program"]')
    pane = page.wait_for_selector("#related-penerima_bantuan-program", state="visible")
    shot(page, "related-program-penerima")
    assert "Status penyaluran" in pane.inner_text() and "Tersalurkan" in pane.inner_text()


def test_the_attendance_grid_offers_the_batchs_days_and_marks_an_unsaved_one(page: Any) -> None:
    sign_in(page, "kepala")
    page.goto(page.base + "/forms/bimtek_kehadiran/grid/")
    labels = page.eval_on_selector_all("#group optgroup", "groups => groups.map(g => g.label)")
    assert labels == ["Bimbingan Teknis Puskesos Kabupaten Tabalong"]
    page.select_option("#group", label="Angkatan I")  # opens that batch on its first day
    page.wait_for_url("**group=*")
    assert page.input_value("#key") == "04-11-2020"
    assert page.locator('input[type="radio"]:checked').count() == 75  # saved: shown as saved
    page.click(".simpul-date .input-group-addon")
    picker = page.wait_for_selector(".datepicker-days", state="visible")
    enabled = [c.inner_text() for c in picker.query_selector_all("td.day:not(.disabled):not(.old):not(.new)")]
    shot(page, "grid-date-picker")
    assert enabled == ["4", "5"]
    picker.query_selector("td.day:not(.disabled):not(.old):not(.new) >> nth=1").click()
    page.click("#simpul-grid-pick button[type=submit]")
    page.wait_for_url("**key=05-11-2020*")
    assert page.locator('input[type="radio"]:checked').count() == 0  # nothing pre-set
    assert page.locator("tr.simpul-unsaved").count() == 75
    shot(page, "grid-unsaved-day")
    page.check('input[type="radio"][value="hadir"] >> nth=0')
    page.click("form[method=post] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("tr.danger").count() == 74  # the other 74 still need a status: nothing saved
    shot(page, "grid-refused")
