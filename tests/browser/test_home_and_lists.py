"""In Chromium at 1366 x 768 (the common office laptop), in Indonesian, on the shipped forms and demo
data: the navbar fits one row, every list shows all its columns without scrolling sideways (long
cells wrap), and the home page shows the clerk's area, counts, shortcuts and changes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import shot, sign_in
from tests.conftest import ROOT, add_user, shipped_app

FORMS = sorted(p.stem for p in (ROOT / "forms").glob("*.yaml") if p.stem != "pengaturan_kantor")


@pytest.fixture(scope="module", params=["sqlite"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shipped_app(request, tmp_path_factory.mktemp("home-lists")) as app:
        add_user(app, "kepala", "Admin")
        add_user(app, "camat", "Kecamatan", region_scope="63.09.01")
        yield app


def test_the_indonesian_navbar_fits_one_row_for_an_admin(laptop: Any) -> None:
    sign_in(laptop, "kepala")
    shot(laptop, "home-and-lists/home-admin", full_page=False)
    tops = laptop.evaluate(
        "[...document.querySelectorAll('.navbar-header, .navbar-nav > li')]"
        ".map(e => Math.round(e.getBoundingClientRect().top))"
    )
    assert len(tops) >= 8 and len(set(tops)) == 1, tops  # brand, six menus, language, user: one row
    assert "Keamanan" in laptop.inner_text(".navbar")


def _overflow(page: Any) -> dict[str, Any]:
    """The list table's width against its frame's, and the headers that end outside the frame."""
    return page.evaluate(
        """() => {
            const table = document.querySelector('.table-responsive > table');
            const right = Math.min(document.documentElement.clientWidth,
                                   table.parentElement.getBoundingClientRect().right);
            const hidden = [...table.querySelectorAll('thead th')]
                .filter(th => th.getBoundingClientRect().right > right).map(th => th.innerText.trim());
            return {table: table.scrollWidth, frame: table.parentElement.clientWidth, hidden: hidden};
        }"""
    )


@pytest.mark.parametrize("form", FORMS)
def test_every_list_shows_all_its_columns_at_1366(laptop: Any, form: str) -> None:
    sign_in(laptop, "kepala")
    laptop.goto(laptop.base + f"/forms/{form}/list/")
    shot(laptop, f"home-and-lists/list-{form}", full_page=False)
    found = _overflow(laptop)
    assert found["table"] <= found["frame"] and not found["hidden"], found


def test_a_long_word_wraps_in_its_cell(laptop: Any, app: Any) -> None:
    client = app.test_client()
    client.post("/login/", data={"username": "kepala", "password": "admin-pass"})
    record = client.get("/api/v1/rujukan/", query_string={"q": "(page_size:1)"}).json["ids"][0]
    long = "https://layanan.dinsos.tabalongkab.go.id/" + "berkas" * 30  # nowhere to break
    assert client.put(f"/api/v1/rujukan/{record}", json={"program_tujuan": long}).status_code == 200
    sign_in(laptop, "kepala")
    laptop.goto(laptop.base + "/forms/rujukan/list/")
    shot(laptop, "home-and-lists/list-rujukan-long-value", full_page=False)
    cell = laptop.locator("td", has_text="berkasberkas").first
    em = float(cell.evaluate("td => getComputedStyle(td).fontSize").rstrip("px"))
    assert cell.bounding_box()["width"] <= 22 * em + 12  # it wraps in a column of 22em (and padding)
    found = _overflow(laptop)
    assert found["table"] <= found["frame"] and not found["hidden"], found


def test_a_kecamatan_clerk_sees_their_area_counts_shortcuts_and_changes(laptop: Any, app: Any) -> None:
    clerk = app.test_client()
    clerk.post("/login/", data={"username": "camat", "password": "admin-pass"})
    record = clerk.get("/api/v1/rujukan/", query_string={"q": "(page_size:1)"}).json["ids"][0]
    assert clerk.put(f"/api/v1/rujukan/{record}", json={"program_tujuan": "PKH"}).status_code == 200
    sign_in(laptop, "camat")
    shot(laptop, "home-and-lists/home-kecamatan")
    assert "Kecamatan Banua Lawas, Kabupaten Tabalong" in laptop.inner_text("#home-area")
    assert laptop.locator("#home-shortcuts a", has_text="Tambah Registrasi & Rujukan").count() == 1
    assert laptop.locator(f"#home-recent a[href='/forms/rujukan/show/{record}']").count() == 1
    laptop.locator("#home-counts a", has_text="Registrasi & Rujukan").first.click()
    laptop.wait_for_url("**/forms/rujukan/list/**")
    assert "Registrasi & Rujukan" in laptop.inner_text(".panel-heading")
