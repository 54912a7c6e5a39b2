"""In Chromium: what scripts write on the page (Select2's messages, the confirmation dialog's
buttons) speaks the page's language, and the role screen names permissions readably."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import settled, shot, sign_in
from tests.conftest import app_with_forms

PROGRAMME = """
form: program
title: {id: Program, en: Programme}
fields:
  - {name: nama, type: text, label: {id: Nama program, en: Programme name}, required: true}
"""
NOTE = """
form: catatan
title: {id: Catatan, en: Notes}
fields:
  - {name: isi, type: text, label: {id: Isi, en: Text}, required: true}
  - {name: program, type: reference, target: program, label: Program}
"""


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, PROGRAMME, NOTE)
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.mark.parametrize(
    ("lang", "no_results", "buttons"),
    [("id", "Tidak ada hasil", ["Batal", "Ya"]), ("en", "No results found", ["Cancel", "OK"])],
)
def test_select2_and_the_confirmation_speak_the_page_language(
    page: Any, lang: str, no_results: str, buttons: list[str]
) -> None:
    sign_in(page, lang=lang)
    page.goto(page.base + "/forms/catatan/add")
    page.click("#s2id_program, .select2-container >> nth=0")
    page.fill(".select2-search__field", "zzz")
    message = page.wait_for_selector(".select2-results__message", state="visible")
    shot(page, f"select2-{lang}", full_page=False)
    assert message.inner_text() == no_results
    page.keyboard.press("Escape")
    page.fill("#isi", "Rapat desa")
    with page.expect_navigation():  # saved before the next page is asked for
        page.click("button[type=submit]")
    page.goto(page.base + "/forms/catatan/show/1")
    page.click("#simpul-delete")
    dialog = page.wait_for_selector("#modal-confirm", state="visible")
    settled(page, "#modal-confirm")
    shot(page, f"confirm-{lang}", full_page=False)
    assert [b.inner_text().strip() for b in dialog.query_selector_all(".modal-footer .btn")] == buttons


def test_the_role_screen_names_permissions_readably(page: Any) -> None:
    sign_in(page, lang="id")
    page.goto(page.base + "/roles/list/")
    shot(page, "roles-list-id")
    page.goto(page.base + "/roles/edit/1")
    page.click(".select2-container >> nth=0")
    page.fill(".select2-search__field", "Catatan")
    options = page.wait_for_selector(".select2-results__options", state="visible")
    shot(page, "role-edit-id", full_page=False)
    texts = [o.inner_text() for o in options.query_selector_all(".select2-results__option")]
    assert "Hapus · Catatan" in texts and not any("can " in t or "form_" in t for t in texts), texts
