"""Timestamps are stored in UTC and shown in the office's zone (WIB / WITA / WIT) on record pages,
change history, the audit trail and the access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


SETTINGS = """
form: pengaturan_kantor
title: Pengaturan Kantor
singleton: true
region_field: false
fields:
  - {name: kabupaten, type: region, level: kabupaten, within: all, label: Kabupaten}
  - {name: zona_waktu, type: choice, label: Zona waktu, choices: [{value: WIB, label: WIB}, {value: WITA, label: WITA}, {value: WIT, label: WIT}]}
"""
WALL_CLOCK = FORM + "  - {name: waktu, type: datetime, label: Waktu}\n"


@pytest.mark.parametrize(("setting", "sent"), [("WITA", "+08:00"), (None, "+08:00"), ("WIT", "+09:00")])
def test_the_api_sends_stamps_in_the_offices_zone_and_stores_utc(
    empty_app: Any, setting: str | None, sent: str
) -> None:
    """A Tabalong office (WITA) on an installation configured for Semarang (WIB): the settings decide."""
    empty_app.test_config["DISTRICT"] = "33.74"
    app = app_with_forms(empty_app, WALL_CLOCK, SETTINGS)
    with app.app_context():
        db.session.execute(
            sa.text(
                "INSERT INTO form_pengaturan_kantor (kabupaten, zona_waktu, created_on, changed_on)"
                " VALUES ('63.09', :zone, :now, :now)"
            ),
            {"zone": setting, "now": datetime(2026, 12, 1, 12, 0)},
        )
        db.session.commit()
    client = app.test_client()
    login(client)
    # a client may send a wall-clock value with any offset: it is kept as entered, without it
    added = client.post("/api/v1/catatan/", json={"isi": "rapat", "waktu": "2026-12-01T20:15:00+07:00"})
    assert added.status_code == 201, added.json
    pk = added.json["id"]
    assert added.json["result"]["waktu"] == "2026-12-01T20:15:00"
    assert added.json["result"]["created_on"].endswith(sent)
    stored = _stored(app, f"SELECT created_on FROM form_catatan WHERE id = {pk}")
    stored = datetime.fromisoformat(stored) if isinstance(stored, str) else stored  # SQLite returns text
    assert datetime.fromisoformat(added.json["result"]["created_on"]).astimezone(UTC).replace(tzinfo=None) == stored
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE form_catatan SET created_on = :at WHERE id = :pk"),
            {"at": datetime(2026, 12, 1, 12, 15), "pk": pk},
        )
        db.session.commit()
    stamp = client.get(f"/api/v1/catatan/{pk}").json["result"]["created_on"]
    assert stamp == f"2026-12-01T{20 if sent == '+08:00' else 21}:15:00{sent}"
    assert datetime.fromisoformat(stamp).astimezone(UTC) == datetime(2026, 12, 1, 12, 15, tzinfo=UTC)
