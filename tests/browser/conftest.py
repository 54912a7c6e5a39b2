"""A real browser (Debian's Chromium driven by Playwright) against a real server thread."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"  # screenshots and files to look at
LAPTOP = {"width": 1366, "height": 768}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling out, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Browser tests run on SQLite: the queries behind every screen are tested on both databases elsewhere."""
    return f"sqlite:///{tmp_path / 'simpul.db'}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the run."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must run the browser tests")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` on a free loopback port for the length of a test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def _page(browser: Any, live_server: str, viewport: dict[str, int]) -> Iterator[Any]:
    """A fresh page in a context of its own (its own cookies), with the server's address as `page.base`."""
    context = browser.new_context(viewport=viewport, locale="id-ID", accept_downloads=True)
    page = context.new_page()
    page.base = live_server
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A browser page on a wide screen."""
    with _page(browser, live_server, {"width": 1280, "height": 900}) as page:
        yield page


@pytest.fixture
def laptop(browser: Any, live_server: str) -> Iterator[Any]:
    """A browser page on the offices' common laptop screen."""
    with _page(browser, live_server, LAPTOP) as page:
        yield page


def sign_in(page: Any, username: str = "admin", lang: str | None = None, password: str = "admin-pass") -> None:
    """Sign in through the login form with fresh cookies and wait for the page it leads to; then
    switch to `lang` when given."""
    page.context.clear_cookies()
    page.goto(page.base + "/login/")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("[type=submit]")
    if lang:
        page.goto(page.base + f"/lang/{lang}")


def open_filters(page: Any) -> Any:
    """Open a list's filter panel and wait until it has slid open: a click while it still grows
    can land its press on a button and its release beside it (no click, no submit). Returns the panel."""
    page.click(".simpul-filter-toggle")
    page.wait_for_selector("#simpul-filter-fields.collapse.in")
    return page.locator("#simpul-filter-fields")


def settled(page: Any, selector: str) -> None:
    """Wait until the element's transitions and animations (a dialog fading and sliding in) have ended:
    a click on something still moving can press it and release beside it."""
    page.locator(selector).evaluate("e => Promise.all(e.getAnimations({subtree: true}).map(a => a.finished))")


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    """Screenshot the page to tests/artifacts/<name>.png (name may hold a folder) and return the path."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path
