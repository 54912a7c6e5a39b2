"""The attendance grid: a whole batch marked on one screen, all rows saved or none."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import ROOT, app_with_forms

FORMS = ["bimtek", "bimtek_angkatan", "bimtek_peserta", "bimtek_kehadiran"]


@pytest.fixture
def app(empty_app: Any) -> Any:
    return app_with_forms(empty_app, *[(ROOT / "forms" / f"{f}.yaml").read_text(encoding="utf-8") for f in FORMS])


@pytest.fixture
def batch(client: Any) -> dict[str, Any]:
    event = client.post(
        "/api/v1/bimtek/",
        json={
            "judul": "Bimtek Puskesos",
            "penyelenggara": "Dinsos",
            "tempat": "Tanjung",
            "tanggal_mulai": "2020-11-04",
            "tanggal_selesai": "2020-11-05",
        },
    ).json["id"]
    batch = client.post(
        "/api/v1/bimtek_angkatan/",
        json={
            "bimtek": event,
            "nomor": 1,
            "nama": "Angkatan I",
            "tanggal": "2020-11-04",
            "tanggal_selesai": "2020-11-05",
            "kapasitas": 75,
        },
    ).json["id"]
    people = []
    for name, nik, sex in [
        ("Ani", "6309014507900001", "P"),
        ("Budi", "6309010507900002", "L"),
        ("Citra", "6309015507900003", "P"),
    ]:
        people.append(
            client.post(
                "/api/v1/bimtek_peserta/", json={"angkatan": batch, "nama": name, "nik": nik, "jenis_kelamin": sex}
            ).json["id"]
        )
    return {"batch": batch, "people": people}


def attendance(app: Any) -> list[tuple]:
    with app.app_context(), db.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT peserta_id, status, jam FROM form_bimtek_kehadiran ORDER BY peserta_id")
            )
        ]


def test_a_whole_batch_on_one_screen(app: Any, client: Any, batch: dict[str, Any]) -> None:
    url = f"/forms/bimtek_kehadiran/grid/?group={batch['batch']}&key=2020-11-04"
    html = client.get(url).data.decode()
    assert html.count('type="radio"') == 3 * 4 and "Ani" in html and "Citra" in html
    a, b, c = batch["people"]
    form = {
        "group": batch["batch"],
        "key": "2020-11-04",
        f"status_{a}": "hadir",
        f"jam_{a}": "08:05",
        f"status_{b}": "sakit",
        f"status_{c}": "alpa",
    }
    assert client.post("/forms/bimtek_kehadiran/grid/", data=form).status_code == 302
    assert attendance(app) == [(a, "hadir", "08:05"), (b, "sakit", None), (c, "alpa", None)]
    form[f"status_{c}"] = "izin"  # saving again updates, it does not add
    client.post("/forms/bimtek_kehadiran/grid/", data=form)
    assert attendance(app)[2] == (c, "izin", None) and len(attendance(app)) == 3


def test_one_bad_row_saves_nothing(app: Any, client: Any, batch: dict[str, Any]) -> None:
    a, b, c = batch["people"]
    client.get("/lang/id")
    form = {
        "group": batch["batch"],
        "key": "2020-11-04",
        f"status_{a}": "hadir",
        f"jam_{a}": "25:00",
        f"status_{b}": "hadir",
    }
    html = client.post("/forms/bimtek_kehadiran/grid/", data=form).data.decode()
    assert "Tidak ada yang disimpan" in html
    assert "Tulis jam sebagai JJ:MM" in html
    assert re.search(r"Kehadiran: wajib diisi", html)  # Citra has no status
    assert attendance(app) == []


def test_the_grid_needs_a_csrf_token(app: Any, client: Any, batch: dict[str, Any]) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(
        "/forms/bimtek_kehadiran/grid/",
        data={"group": batch["batch"], "key": "2020-11-04", **{f"status_{i}": "hadir" for i in range(1, 200)}},
    )
    assert response.status_code == 303  # back, with the message; nothing saved
    with app.app_context():
        assert db.session.execute(db.text("SELECT count(*) FROM form_bimtek_kehadiran")).scalar() == 0


def test_a_day_with_nothing_saved_has_nothing_ticked_and_says_so(app: Any, client: Any, batch: dict[str, Any]) -> None:
    client.get("/lang/id")
    url = f"/forms/bimtek_kehadiran/grid/?group={batch['batch']}&key=04-11-2020"
    html = client.get(url).data.decode()
    assert "checked" not in html  # no status is pre-set: one click must not record attendance nobody took
    assert html.count('class="warning simpul-unsaved"') == 3 and "Belum ada yang disimpan" in html
    a, b, c = batch["people"]
    form = {"group": batch["batch"], "key": "04-11-2020", f"status_{a}": "hadir", f"status_{b}": "izin"}
    form[f"status_{c}"] = "alpa"
    assert client.post("/forms/bimtek_kehadiran/grid/", data=form).status_code == 302
    html = client.get(url).data.decode()
    assert html.count("checked") == 3 and "simpul-unsaved" not in html and "Belum ada yang disimpan" not in html


def test_the_grid_opens_on_the_batchs_first_day_and_offers_only_its_days(
    app: Any, client: Any, batch: dict[str, Any]
) -> None:
    client.get("/lang/id")
    html = client.get(f"/forms/bimtek_kehadiran/grid/?group={batch['batch']}").data.decode()
    assert 'data-start-date="04-11-2020" data-end-date="05-11-2020"' in html  # the picker's range
    assert 'name="key" value="04-11-2020"' in html and html.count('type="radio"') == 3 * 4
    days = re.findall(r'data-day="([^"]+)">\s*([^<]+?)\s*<span class="label ([a-z-]+)"', html)
    assert days == [
        ("04-11-2020", "Rabu, 04-11-2020", "label-warning"),
        ("05-11-2020", "Kamis, 05-11-2020", "label-warning"),
    ]
    a, b, c = batch["people"]
    form = {"group": batch["batch"], "key": "06-11-2020", **{f"status_{p}": "hadir" for p in (a, b, c)}}
    html = client.post("/forms/bimtek_kehadiran/grid/", data=form).data.decode()
    assert "pilih salah satu hari Angkatan I: 04-11-2020 sampai 05-11-2020" in html
    assert attendance(app) == []
    form["key"] = "2020-11-05"  # as typed: the same day
    assert client.post("/forms/bimtek_kehadiran/grid/", data=form).status_code == 302
    html = client.get(f"/forms/bimtek_kehadiran/grid/?group={batch['batch']}&key=05-11-2020").data.decode()
    assert re.search(r'data-day="05-11-2020">\s*Kamis, 05-11-2020\s*<span class="label label-success"', html)


def test_the_batch_selector_names_the_event(app: Any, client: Any, batch: dict[str, Any]) -> None:
    html = client.get("/forms/bimtek_kehadiran/grid/").data.decode()
    assert re.search(r'<optgroup label="Bimtek Puskesos">\s*<option value="\d+"\s*>Angkatan I</option>', html)
