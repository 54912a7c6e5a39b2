"""In Chromium at 1366 x 768, in Indonesian, on the shipped forms and demo referrals: "Tugas saya" on a
Kecamatan clerk's home page, the overdue screen, and the holiday calendar (screenshots in
tests/artifacts/workflow-dashboard/)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.extensions import db
from app.workflows.sweep import SweepSettings, sweep_due
from tests.browser.conftest import shot, sign_in
from tests.conftest import add_user, shipped_app


@pytest.fixture(scope="module", params=["sqlite"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shipped_app(request, tmp_path_factory.mktemp("wf-dashboard-browser")) as app:
        add_user(app, "kepala", "Admin")
        add_user(app, "camat", "Kecamatan", region_scope="63.09.01")  # the overdue screen: granted by `simpul init`
        with app.app_context():  # the scheduler's sweep fires the demo's due escalations
            sweep_due(db.engine, SweepSettings.from_app(app), now=datetime.now(UTC).replace(tzinfo=None))
        yield app


def test_a_kecamatan_clerk_sees_tugas_saya_and_the_overdue_screen(laptop: Any) -> None:
    sign_in(laptop, "camat")
    panel = laptop.locator("#home-tasks")
    assert "Tugas saya" in panel.locator(".panel-title").inner_text()
    assert int(laptop.locator("#home-tasks-count").inner_text()) > 0
    assert laptop.locator("#home-tasks .simpul-task-late").count() > 0
    shot(laptop, "workflow-dashboard/home-tugas-saya")
    laptop.click("text=Layanan & Rujukan")
    laptop.click("text=Keterlambatan")
    laptop.wait_for_selector("#simpul-overdue")
    assert "Kecamatan Banua Lawas" in laptop.inner_text("#overdue-area")
    assert "Tingkat 1" in laptop.inner_text("#overdue-rujukan thead")
    shot(laptop, "workflow-dashboard/keterlambatan")
    laptop.locator("#overdue-rujukan tbody a.badge").first.click()
    laptop.wait_for_selector(".simpul-chip-label")
    assert "Terlambat" in laptop.inner_text("body")
    shot(laptop, "workflow-dashboard/daftar-terlambat")
    # an overdue record's timeline shows its escalations, level by level
    laptop.locator("a[href*='/forms/rujukan/show/']").first.click()
    laptop.click("a[href='#Linimasa']")
    laptop.wait_for_selector("#Linimasa .simpul-event-escalation")
    assert "Eskalasi tingkat" in laptop.inner_text("#Linimasa")
    shot(laptop, "workflow-dashboard/linimasa-eskalasi")


def test_an_admin_switches_off_a_seeded_day_on_the_holiday_screen(laptop: Any) -> None:
    sign_in(laptop, "kepala")
    laptop.goto(laptop.base + "/keamanan/hari-libur/")
    laptop.wait_for_selector(".simpul-holidays-table")
    shot(laptop, "workflow-dashboard/hari-libur")
    laptop.locator(".simpul-holiday-off-button").first.click()
    laptop.wait_for_selector(".alert-success, .alert")
    assert "dinonaktifkan" in laptop.inner_text("body")
    assert laptop.locator(".simpul-holiday-off").count() >= 1
    shot(laptop, "workflow-dashboard/hari-libur-nonaktif")
    laptop.click("#holidays-add")
    laptop.fill("#holiday-name", "")
    laptop.click("#holiday-save")
    shot(laptop, "workflow-dashboard/hari-libur-tambah-kosong")
