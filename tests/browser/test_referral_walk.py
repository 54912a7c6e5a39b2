"""A browser test walks one referral from desa to dinas through three users and sees the timeline.

In Chromium, on the shipped forms and demo data, CSRF on as in production: an Operator Desa
registers a referral on the add screen in their desa and takes `verifikasi`; a Kecamatan user of
that kecamatan takes `rujuk` (filling dirujuk_ke, program_tujuan, tanggal_rujukan); a Dinsos user
takes `tangani`, `pantau` and `selesaikan`. After each step the record page shows the new state
and the "Linimasa" tab one more event. Screenshots go to tests/artifacts/referral/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.browser.conftest import shot, sign_in
from tests.conftest import add_user, shipped_app
from tests.test_rendered_language import seen_texts, wrong_language

DESA = "63.09.01.2001"
USERS = {"opdesa": ("Operator Desa", DESA), "camat": ("Kecamatan", DESA[:8]), "dinsos": ("Dinsos", None)}
NAME = "Rahmat Hidayat Jalan Rujukan"


@pytest.fixture(scope="module", params=["sqlite"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shipped_app(request, tmp_path_factory.mktemp("referral")) as app:
        app.config["WTF_CSRF_ENABLED"] = True
        for name, (role, area) in USERS.items():
            add_user(app, name, role, region_scope=area)
        yield app


def _shot(page: Any, name: str) -> None:
    shot(page, f"referral/{name}")
    assert wrong_language(seen_texts(page.content()), "id") == [], name


def _select(page: Any, selector: str, value: Any) -> None:
    """Pick a value of a Select2 box as a person would end up with it."""
    page.evaluate("([s, v]) => $(s).val(String(v)).trigger('change')", [selector, value])


def _take(page: Any, app: Any, pk: int, step: str, comment: str, fill: Any = None) -> str:
    """Open the record page, open the step's form, fill it in, record it; the record page again."""
    page.goto(page.base + f"/forms/rujukan/show/{pk}")
    page.click('a[href="#Home"]')  # the page opens on the tab last shown (FAB's ab_keep_tab.js)
    page.click(f".simpul-step-button[data-step='{step}']")
    panel = f"#simpul-step-{step}"
    page.wait_for_selector(f"{panel} textarea", state="visible")
    if fill is not None:
        fill(panel)
    page.fill(f"{panel} textarea[name='step-{step}-comment']", comment)
    _shot(page, f"{step}-form")
    with page.expect_navigation():
        page.click(f"{panel} button[type=submit]")
    assert page.url.endswith(f"/forms/rujukan/show/{pk}"), page.url
    assert "dicatat" in page.inner_text(".alert-success"), page.content()[:2000]
    page.click('a[href="#Linimasa"]')
    _shot(page, f"{step}-timeline")
    return page.inner_text("#Linimasa")


def _events(page: Any) -> int:
    return page.locator("#Linimasa .simpul-event").count()


def _first_id(app: Any, table: str) -> int:
    with app.app_context():
        return db.session.execute(sa.text(f"SELECT min(id) FROM {table}")).scalar_one()


def test_a_referral_walks_from_desa_to_dinas_through_three_users(app: Any, page: Any) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # the Operator Desa registers the referral in their desa
    sign_in(page, "opdesa", lang="id")
    page.goto(page.base + "/forms/rujukan/add")
    page.fill("#tanggal_registrasi", "02-03-2026")
    page.keyboard.press("Escape")
    page.fill("#nik", "6309011207850003")
    page.fill("#nama", NAME)
    page.fill("#uraian", "Lansia tinggal sendiri, butuh permakanan.")
    _select(page, "#sumber", "datang_langsung")
    if not page.input_value("input[name='desa']"):
        page.evaluate("(code) => { document.querySelector(\"input[name='desa']\").value = code; }", DESA)
    _shot(page, "0-add")
    with page.expect_navigation():
        page.click("form [type=submit].btn-primary >> nth=0")
    with app.app_context():
        pk = db.session.execute(sa.text("SELECT id FROM form_rujukan WHERE nama = :n"), {"n": NAME}).scalar_one()
    page.goto(page.base + f"/forms/rujukan/show/{pk}")
    assert page.inner_text(".simpul-state") == "Terdaftar"
    assert "batas waktu" in page.inner_text(".simpul-wf-state")
    _shot(page, "1-registered")
    assert page.locator(".simpul-step-button[data-step='tolak']").count() == 0  # Kecamatan and Dinsos only

    kategori = _first_id(app, "form_kategori_pmks")
    timeline = _take(
        page, app, pk, "verifikasi", "Data cocok dengan DTKS.", lambda p: _select(page, f"{p} select", kategori)
    )
    assert "Langkah 'Verifikasi': Terdaftar → Diverifikasi" in timeline and "Data cocok dengan DTKS." in timeline
    assert page.inner_text(".simpul-state") == "Diverifikasi" and _events(page) == 2

    # the kecamatan refers it, first forgetting the programme: refused, what was typed kept
    sign_in(page, "camat", lang="id")
    instansi = _first_id(app, "form_instansi")
    page.goto(page.base + f"/forms/rujukan/show/{pk}")
    page.click('a[href="#Home"]')
    page.click(".simpul-step-button[data-step='rujuk']")
    page.wait_for_selector("#simpul-step-rujuk textarea", state="visible")
    _select(page, "#step-rujuk-dirujuk_ke", instansi)
    page.fill("#step-rujuk-tanggal_rujukan", "05-03-2026")
    page.keyboard.press("Escape")
    page.fill("#step-rujuk-comment", "Dirujuk ke Dinas Sosial untuk PKH.")
    with page.expect_navigation():
        page.click("#simpul-step-rujuk button[type=submit]")
    assert "Program tujuan harus diisi sebelum 'Rujuk'" in page.inner_text("#simpul-step-rujuk")
    assert page.input_value("#step-rujuk-tanggal_rujukan") == "05-03-2026"
    _shot(page, "rujuk-refused")

    def refer(panel: str) -> None:
        _select(page, f"{panel} select[name='step-rujuk-dirujuk_ke']", instansi)
        page.fill(f"{panel} input[name='step-rujuk-program_tujuan']", "PKH")
        page.fill(f"{panel} input[name='step-rujuk-tanggal_rujukan']", "05-03-2026")
        page.keyboard.press("Escape")

    timeline = _take(page, app, pk, "rujuk", "Dirujuk ke Dinas Sosial untuk PKH.", refer)
    assert "Diverifikasi → Dirujuk" in timeline and "camat" in timeline
    assert _events(page) == 3

    # the district office handles, monitors and closes it
    sign_in(page, "dinsos", lang="id")
    for number, (step, state) in enumerate(
        [("tangani", "Ditangani"), ("pantau", "Dipantau"), ("selesaikan", "Selesai")], start=4
    ):
        timeline = _take(page, app, pk, step, f"Catatan dinas {number}.")
        assert page.inner_text(".simpul-state") == state and _events(page) == number
        assert f"Catatan dinas {number}." in timeline
    assert "simpul-state-terminal" in page.get_attribute(".simpul-state", "class")
    assert page.locator(".simpul-step-button").count() == 0  # nothing leaves Selesai
    assert page.locator("#Linimasa .simpul-stays tbody tr").count() == 6
    page.click('a[href="#Home"]')
    _shot(page, "9-closed")
    assert "Tertangani" in page.inner_text("#Home")

    # a demo referral past its deadline: the badge says so, with the working days overdue
    with app.app_context():
        late = db.session.execute(
            sa.text(
                "SELECT record_id FROM simpul_wf_stay WHERE form = 'rujukan' AND left_at IS NULL"
                " AND due_at < :now ORDER BY due_at LIMIT 1"
            ),
            {"now": datetime.now(UTC).replace(tzinfo=None)},
        ).scalar_one()
    page.goto(page.base + f"/forms/rujukan/show/{late}")
    assert "simpul-state-overdue" in page.get_attribute(".simpul-state", "class")
    assert re.search(r"terlambat (\d+ hari kerja|sejak hari ini)", page.inner_text(".simpul-wf-state"))
    _shot(page, "overdue")
    assert errors == []
