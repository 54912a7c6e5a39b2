"""In Chromium: a record page's Hapus button asks first, then deletes and returns to the list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import settled, shot, sign_in
from tests.conftest import app_with_forms

FORM = """
form: catatan
title: Catatan
fields:
  - {name: isi, type: text, label: Isi, required: true}
  - {name: tanggal, type: date, label: Tanggal}
"""


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, FORM)
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: the delete posts the page's token
    return app


def test_the_date_picker_speaks_indonesian_and_starts_on_monday(page: Any) -> None:
    sign_in(page)
    page.goto(page.base + "/forms/catatan/add")
    page.click("#tanggal")
    picker = page.wait_for_selector(".datepicker-days", state="visible")
    shot(page, "date-picker-id", full_page=False)
    days = [cell.inner_text() for cell in picker.query_selector_all("th.dow")]
    assert days[0] == "Sn" and days[-1] == "Mg"
    month = picker.query_selector("th.datepicker-switch").inner_text()
    assert month.split()[0] in (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    )
    picker.query_selector("td.day:not(.old):not(.new)").click()
    assert page.input_value("#tanggal").endswith(month.split()[1]) and page.input_value("#tanggal")[2] == "-"


def test_delete_from_the_record_page_asks_then_returns_to_the_list(page: Any) -> None:
    sign_in(page)
    page.goto(page.base + "/forms/catatan/add")
    page.fill("#isi", "Rapat desa")
    with page.expect_navigation():  # saved before the next page is asked for
        page.click("button[type=submit]")
    page.goto(page.base + "/forms/catatan/list/")
    page.goto(page.base + "/forms/catatan/show/1")
    shot(page, "record-page")
    page.click("#simpul-delete")
    page.wait_for_selector("#modal-confirm", state="visible")
    settled(page, "#modal-confirm")
    page.click("#modal-confirm-ok")
    page.wait_for_url("**/forms/catatan/list/**")
    assert "Rapat desa" not in page.content()
