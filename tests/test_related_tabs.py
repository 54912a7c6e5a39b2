"""A record page lists the records pointing to it, as tabs with counts and what they sum up to:
an event's batches against capacity with attendance per day, a programme's roster by distribution."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import BACKENDS, add_user, app_with_forms, login, shipped_app

KECAMATAN = "63.09.01"  # Banua Lawas: one kecamatan of the demo district


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The shipped forms with the demo data; an admin and a Kecamatan clerk of one kecamatan."""
    with shipped_app(request, tmp_path_factory.mktemp("related")) as app:
        add_user(app, "kepala", "Admin")
        add_user(app, "camat", "Kecamatan")
        with app.app_context():
            sm = app.appbuilder.sm
            user = sm.find_user("camat")
            user.region_scope = KECAMATAN
            sm.update_user(user)
        yield app


def client_of(app: Any, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    client.get("/lang/id")
    return client


@pytest.fixture(scope="module")
def admin(world: Any) -> Any:
    return client_of(world, "kepala")


@pytest.fixture(scope="module")
def camat(world: Any) -> Any:
    return client_of(world, "camat")


def sql(app: Any, text: str, **params: Any) -> list[Any]:
    with app.app_context():
        rows = list(db.session.execute(sa.text(text), params))
        db.session.rollback()
    return rows


def tab(page: str, anchor: str) -> str:
    """The HTML of one tab pane of a record page."""
    start = page.index(f'<div id="{anchor}"')
    end = page.find('<div id="', start + 10)
    return page[start : end if end > 0 else None]


def tab_label(page: str, anchor: str) -> str:
    found = re.search(rf'href="#{anchor}" data-toggle="tab">(.*?)</a>', page, re.S)
    assert found, anchor
    return re.sub(r"<[^>]+>", "", found.group(1)).split()


def test_an_event_shows_its_batches_against_capacity_with_attendance_per_day(world: Any, admin: Any) -> None:
    [(event,)] = sql(world, "SELECT id FROM form_bimtek")
    page = admin.get(f"/forms/bimtek/show/{event}").data.decode()
    assert tab_label(page, "related-bimtek_angkatan-bimtek") == ["Angkatan", "Bimtek", "2"]
    pane = tab(page, "related-bimtek_angkatan-bimtek")
    assert "Angkatan I" in pane and "Angkatan II" in pane
    assert pane.count("<strong>75</strong> / 75") == 2  # participants against capacity, per batch
    hadir = dict(
        sql(
            world,
            "SELECT a.nama, count(*) FROM form_bimtek_kehadiran k JOIN form_bimtek_peserta p ON p.id = k.peserta_id"
            " JOIN form_bimtek_angkatan a ON a.id = p.angkatan_id WHERE k.status = 'hadir' GROUP BY a.nama",
        )
    )
    days = re.findall(r'<tr data-day="([^"]+)">\s*<td[^>]*>([^<]+)</td>\s*<td class="text-center">(\d+)</td>', pane)
    assert [(d, int(n)) for d, _label, n in days] == [
        ("04-11-2020", hadir["Angkatan I"]),
        ("05-11-2020", hadir["Angkatan II"]),
    ]
    assert days[0][1] == "Rabu, 04-11-2020"  # the day in words


def test_a_batch_shows_its_participants_and_each_days_attendance(world: Any, admin: Any) -> None:
    [(batch,)] = sql(world, "SELECT id FROM form_bimtek_angkatan WHERE nomor = 1")
    page = admin.get(f"/forms/bimtek_angkatan/show/{batch}").data.decode()
    assert tab_label(page, "related-bimtek_peserta-angkatan") == ["Peserta", "Bimtek", "75"]
    pane = tab(page, "related-bimtek_peserta-angkatan")
    assert "<strong>75</strong> / 75" in pane and "Kapasitas peserta" in pane
    counts = dict(
        sql(
            world,
            "SELECT k.status, count(*) FROM form_bimtek_kehadiran k JOIN form_bimtek_peserta p"
            " ON p.id = k.peserta_id WHERE p.angkatan_id = :b GROUP BY k.status",
            b=batch,
        )
    )
    row = re.search(r'<tr data-day="04-11-2020">(.*?)</tr>', pane, re.S).group(1)
    cells = [int(n) for n in re.findall(r'<td class="text-center ?[a-z]*">(\d+)</td>', row)]
    assert cells == [counts.get(s, 0) for s in ("hadir", "izin", "sakit", "alpa")] + [0]
    assert f"/forms/bimtek_kehadiran/grid/?group={batch}&amp;key=04-11-2020" in row  # fill in that day
    assert pane.count('<i class="fa fa-search">') == 50  # the first 50, then a link to the whole list
    assert "Menampilkan 50 dari 75." in pane and "bimtek_peserta/list/?_flt_" in pane


def test_a_programme_shows_its_roster_by_distribution_status(world: Any, admin: Any) -> None:
    [(programme, quota)] = sql(world, "SELECT id, kuota FROM form_program_bantuan ORDER BY id LIMIT 1")
    by_status = dict(
        sql(
            world,
            "SELECT status_penyaluran, count(*) FROM form_penerima_bantuan WHERE program_id = :p"
            " GROUP BY status_penyaluran",
            p=programme,
        )
    )
    total = sum(by_status.values())
    page = admin.get(f"/forms/program_bantuan/show/{programme}").data.decode()
    assert tab_label(page, "related-penerima_bantuan-program")[-1] == str(total)
    pane = tab(page, "related-penerima_bantuan-program")
    if quota:
        assert f"<strong>{total}</strong> / {quota}" in pane
    shown = {
        value: int(n) for value, n in re.findall(r'<tr data-value="([a-z]+)">.*?<strong>(\d+)</strong>', pane, re.S)
    }
    assert shown == {s: by_status.get(s, 0) for s in ("belum", "tersalurkan", "gagal")}
    if total > 50:
        assert "Menampilkan 50 dari" in pane and f"_program={programme}" in pane


def test_the_tabs_count_and_list_only_the_users_area(world: Any, camat: Any) -> None:
    [(batch,)] = sql(world, "SELECT id FROM form_bimtek_angkatan WHERE nomor = 1")
    mine = sql(
        world,
        "SELECT nama FROM form_bimtek_peserta WHERE angkatan_id = :b AND region_code LIKE :k",
        b=batch,
        k=KECAMATAN + ".%",
    )
    others = sql(
        world,
        "SELECT nama FROM form_bimtek_peserta WHERE angkatan_id = :b AND region_code NOT LIKE :k",
        b=batch,
        k=KECAMATAN + ".%",
    )
    assert others
    page = camat.get(f"/forms/bimtek_angkatan/show/{batch}").data.decode()
    assert tab_label(page, "related-bimtek_peserta-angkatan")[-1] == str(len(mine))
    pane = html_lib.unescape(tab(page, "related-bimtek_peserta-angkatan"))
    assert all(name in pane for (name,) in mine)
    assert not any(f">{name}<" in pane for (name,) in others)
    assert f"<strong>{len(mine)}</strong> / 75" in pane
    assert "Tambah" not in pane or "bimtek_peserta/add" in pane  # Kecamatan may add participants


def test_nik_is_masked_in_a_tab(world: Any, admin: Any) -> None:
    [(batch,)] = sql(world, "SELECT id FROM form_bimtek_angkatan WHERE nomor = 1")
    niks = [nik for (nik,) in sql(world, "SELECT nik FROM form_bimtek_peserta WHERE angkatan_id = :b", b=batch)]
    page = admin.get(f"/forms/bimtek_angkatan/show/{batch}").data.decode()
    assert not any(nik in page for nik in niks)
    assert niks[0][:4] + "********" + niks[0][-4:] in page


def test_a_child_table_tab_has_its_count(world: Any, admin: Any) -> None:
    [(puskesos, board)] = sql(
        world,
        "SELECT p.id, count(b.id) FROM form_puskesos p JOIN form_puskesos__pengurus b ON b.parent_id = p.id"
        " GROUP BY p.id ORDER BY p.id LIMIT 1",
    )
    page = admin.get(f"/forms/puskesos/show/{puskesos}").data.decode()
    assert re.search(rf'>Pengurus <span class="badge">{board}</span>', page)


# ---------------------------------------------------------------------------- declared on the definition

EVENT = """
form: acara
title: Acara
permissions: {Kecamatan: [view]}
fields:
  - {name: nama, type: text, label: Nama, required: true}
"""
GUEST = """
form: tamu
title: Tamu
fields:
  - {name: nama, type: text, label: Nama, required: true}
  - {name: acara, type: reference, target: acara, label: Acara, required: true, related: {by: datang}}
  - {name: pengganti, type: reference, target: acara, label: Acara pengganti, related: false}
  - {name: datang, type: boolean, label: Datang}
"""


@pytest.fixture
def app(empty_app: Any) -> Any:
    return app_with_forms(empty_app, EVENT, GUEST)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_related_false_hides_a_tab_and_by_counts_a_boolean(app: Any, client: Any) -> None:
    event = client.post("/api/v1/acara/", json={"nama": "Rapat"}).json["id"]
    for name, came in (("Ani", True), ("Budi", False), ("Citra", True)):
        assert client.post("/api/v1/tamu/", json={"nama": name, "acara": event, "datang": came}).status_code == 201
    page = client.get(f"/forms/acara/show/{event}").data.decode()
    assert "related-tamu-acara" in page and "related-tamu-pengganti" not in page
    pane = tab(page, "related-tamu-acara")
    assert re.findall(r'<tr data-value="(\w+)">.*?<strong>(\d+)</strong>', pane, re.S) == [
        ("True", "2"),
        ("False", "1"),
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_add_link_fills_in_the_reference(app: Any, client: Any) -> None:
    event = client.post("/api/v1/acara/", json={"nama": "Rapat"}).json["id"]
    page = client.get(f"/forms/acara/show/{event}").data.decode()
    add_url = html_lib.unescape(re.search(r'href="([^"]*/forms/tamu/add[^"]*)"', page).group(1))
    form = client.get(add_url).data.decode()
    assert 'name="nama"' in form and 'name="acara"' not in form  # the event is the page's
    assert client.post(add_url, data={"nama": "Dewi"}).status_code == 302
    with app.app_context():
        assert db.session.execute(sa.text("SELECT nama, acara_id FROM form_tamu")).all() == [("Dewi", event)]
