"""In Chromium: admin-written markup stays text in the filter panel, and no screen
breaks the Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import open_filters, sign_in
from tests.test_web_security import NIK, XSS, every_screen, xss_app

# Set before any page script runs (Playwright's init scripts are not subject to the page's CSP).
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e =>
    window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""
# Markup that ran or was built from XSS: an element with an inline handler from it, or its script.
INJECTED = """() => [
    ...[...document.querySelectorAll('*')].filter(e =>
        [...e.attributes].some(a => a.name.startsWith('on') && a.value.includes('alert('))).map(e => e.outerHTML),
    ...[...document.scripts].filter(s => s.textContent.trim() === 'alert(1)').map(s => s.outerHTML),
]"""
FIELDS = ["kelompok", "nama", "nik", "umur", "jumlah", "lahir", "datang", "aktif", "jenis", "desa"]


@pytest.fixture
def app(empty_app: Any) -> Any:
    return xss_app(empty_app)


def _csp(text: str) -> bool:
    return "Content Security Policy" in text or "EvalError" in text


@pytest.fixture
def watched(page: Any) -> Any:
    """The page signed in as admin, recording dialogs and what the CSP blocked."""
    page.dialogs, page.problems = [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    # Only what the policy causes: FAB's own script errors (its filter panel calls a date picker
    # it no longer ships) are not this test's business.
    page.on("pageerror", lambda error: page.problems.append(str(error)) if _csp(str(error)) else None)
    page.on("console", lambda message: page.problems.append(message.text) if _csp(message.text) else None)
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto(page.base + "/login/")
    assert_clean(page, "/login/")
    sign_in(page)
    return page


def assert_clean(page: Any, where: str) -> None:
    """No dialog opened, nothing injected, nothing blocked by the CSP on the page."""
    assert page.dialogs == [], where
    assert page.evaluate(INJECTED) == [], where
    assert page.evaluate("window.__violations") == [], where
    assert page.problems == [], where


def test_filters_applied_from_the_address_show_labels_as_text(watched: Any) -> None:
    query = "&".join(f"_flt_0_{name}=1" for name in FIELDS)
    watched.goto(f"{watched.base}/forms/xanggota/list/?{query}")
    chips = watched.locator(".simpul-active-filters a.simpul-chip")
    assert chips.count() == len(FIELDS)
    assert any(f"{XSS} Jenis" in text for text in chips.all_inner_texts())  # the markup, shown as text
    assert_clean(watched, "list with filters")


def test_fields_in_the_filter_panel_show_labels_as_text(watched: Any) -> None:
    watched.goto(watched.base + "/forms/xanggota/list/")
    panel = open_filters(watched)
    for name in FIELDS:
        assert XSS in panel.locator(f".simpul-filter-field[data-column='{name}'] label").inner_text()
    watched.select_option(".simpul-filter-field[data-column='jenis'] select", "a")
    with watched.expect_navigation():
        watched.click("#simpul-filter-fields button[type=submit]")
    assert f"{XSS} Jenis: {XSS} Pilihan" in watched.locator(".simpul-active-filters").inner_text()
    assert_clean(watched, "filter panel")


def test_no_screen_breaks_the_content_security_policy(app: Any, watched: Any) -> None:
    # every screen kind; of the filtered lists, the first filter of each field
    screens = [url for url in every_screen(app) if "_flt_" not in url or "_flt_0_" in url]
    for url in screens:
        watched.goto(watched.base + url)
        watched.wait_for_load_state("networkidle")
        assert_clean(watched, url)
    watched.goto(watched.base + "/forms/xanggota/show/1")
    watched.click("a[href='#Riwayat']")
    assert f"{XSS} Jenis" in watched.locator("#Riwayat").inner_text()
    assert_clean(watched, "history tab")
    watched.goto(watched.base + "/riwayat/")
    watched.fill("#nik", NIK)
    with watched.expect_navigation():
        watched.click("[type=submit]")
    assert f"{XSS} Anggota" in watched.locator("table.table-bordered").inner_text()
    assert_clean(watched, "recipient history")
    watched.goto(watched.base + "/swagger/v1")
    watched.wait_for_selector(".opblock-tag", timeout=15000)
    assert_clean(watched, "API docs")


def test_the_watch_sees_a_violation(watched: Any) -> None:
    """The checks above can fail: a script without this page's nonce is reported and blocked."""
    watched.goto(watched.base + "/")
    watched.evaluate("document.body.appendChild(Object.assign(document.createElement('script'), {text: 'alert(1)'}))")
    assert watched.dialogs == []
    with pytest.raises(AssertionError):
        assert_clean(watched, "/")
