"""Timestamps are stored in UTC and shown in the office's zone (WIB / WITA / WIT) on record pages,
change history, the audit trail and the access log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.office import zone_of_region
from tests.conftest import add_user, app_with_forms, login, rebuilt

FORM = """
form: catatan
title: Catatan
permissions: {Petugas: [view, add, edit]}
fields:
  - {name: isi, type: text, label: Isi}
  - {name: nik, type: nik, label: NIK}
"""


@pytest.mark.parametrize(
    ("code", "zone"),
    [
        ("63.09", "WITA"),  # Tabalong
        ("63.03", "WITA"),  # Banjar
        ("63.11", "WITA"),  # Balangan
        ("74.06", "WITA"),  # Bombana
        ("62.71", "WIB"),  # Palangka Raya
        ("33.74", "WIB"),  # Semarang
        ("91.71", "WIT"),  # Jayapura
        ("81.71", "WIT"),  # Ambon
        ("51.71", "WITA"),  # Denpasar
    ],
)
def test_each_district_has_its_zone(code: str, zone: str) -> None:
    assert zone_of_region(code) == zone


def _stored(app: Any, sql: str) -> Any:
    with app.app_context():
        value = db.session.execute(sa.text(sql)).scalar()
        db.session.rollback()
    return value


@pytest.mark.parametrize(("setting", "zone", "hours"), [("", "WITA", 8), ("WIB", "WIB", 7), ("WIT", "WIT", 9)])
def test_timestamps_are_shown_in_the_offices_zone(empty_app: Any, setting: str, zone: str, hours: int) -> None:
    app = app_with_forms(empty_app, FORM)
    if setting:
        app.test_config["TIME_ZONE"] = setting
        app = rebuilt(app)
    add_user(app, "petugas", "Petugas")
    client = app.test_client()
    login(client, "petugas")
    pk = client.post("/api/v1/catatan/", json={"isi": "awal", "nik": "6309014507900001"}).json["id"]
    client.put(f"/api/v1/catatan/{pk}", json={"isi": "ubah"})
    created = _stored(app, f"SELECT created_on FROM form_catatan WHERE id = {pk}")
    if isinstance(created, str):  # SQLite returns text
        from datetime import datetime

        created = datetime.fromisoformat(created)
    expected = (created + timedelta(hours=hours)).strftime("%d-%m-%Y %H:%M") + f" {zone}"
    show = client.get(f"/forms/catatan/show/{pk}").get_data(as_text=True)
    assert expected in show  # "Dibuat pada" and the history tab
    audit_at = _stored(app, "SELECT min(at) FROM simpul_audit")
    if isinstance(audit_at, str):
        from datetime import datetime

        audit_at = datetime.fromisoformat(audit_at)
    assert abs((audit_at - created).total_seconds()) < 5  # both stored in UTC
    admin = app.test_client()
    login(admin)
    audit = admin.get("/keamanan/audit/list/").get_data(as_text=True)
    assert (audit_at + timedelta(hours=hours)).strftime("%d-%m-%Y %H:%M") + f" {zone}" in audit
