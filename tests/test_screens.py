"""Screens a clerk reads right: required fields marked, without the browser's own refusals."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import app_with_forms, login

FORM = """
form: catatan
title: Catatan
fields:
  - {name: isi, type: text, label: Isi, required: true}
  - {name: catatan, type: text, label: Keterangan}
"""


def test_required_fields_are_marked_and_checked_by_simpul(empty_app: Any) -> None:
    app = app_with_forms(empty_app, FORM)
    client = app.test_client()
    login(client)
    page = client.get("/forms/catatan/add").get_data(as_text=True)
    assert re.search(r'<label for="isi" control-label>\s*Isi\s*<strong style="color: red">&#42;</strong>', page)
    assert not re.search(r'<label for="catatan" control-label>\s*Keterangan\s*<strong', page)
    assert not re.search(r"<input[^>]*\brequired\b", page)  # the message is Simpul's, in Indonesian
    refused = client.post("/forms/catatan/add", data={"isi": ""}).get_data(as_text=True)
    assert "wajib diisi" in refused


def test_pages_are_titled_and_a_save_returns_to_where_the_user_came_from(empty_app: Any) -> None:
    app = app_with_forms(empty_app, FORM.replace("title: Catatan", "title: Catatan <b>Kas</b>"))
    client = app.test_client()
    login(client)
    add = client.get("/forms/catatan/add").get_data(as_text=True)
    assert "Tambah Catatan &lt;b&gt;Kas&lt;/b&gt;" in add
    listed = "/forms/catatan/list/?_flt_2_isi=Rapat"
    client.get(listed)
    saved = client.post("/forms/catatan/add", data={"isi": "Rapat desa"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(listed)
    pk = 1
    edit = client.get(f"/forms/catatan/edit/{pk}").get_data(as_text=True)
    assert "Ubah Catatan &lt;b&gt;Kas&lt;/b&gt;: Rapat desa" in edit
    client.get(f"/forms/catatan/show/{pk}")
    edited = client.post(f"/forms/catatan/edit/{pk}", data={"isi": "Rapat desa 2"})
    assert edited.headers["Location"].endswith(f"/forms/catatan/show/{pk}")
    deleted = client.post(f"/forms/catatan/delete/{pk}")
    assert deleted.headers["Location"].endswith(listed)  # not the deleted record's page, not the home page


def test_the_save_despite_warnings_box_appears_only_with_a_warning(empty_app: Any) -> None:
    app = app_with_forms(
        empty_app,
        """
form: daftar
title: Daftar
fields:
  - {name: nama, type: text, label: Nama, required: true}
  - {name: tahap, type: integer, label: Tahap, required: true}
  - {name: no_kk, type: kk, label: No. KK}
rules:
  - {rule: confirm_same, fields: [no_kk], within: [tahap]}
""",
    )
    client = app.test_client()
    login(client)
    box = "Tetap simpan walau ada peringatan"
    assert box not in client.get("/forms/daftar/add").get_data(as_text=True)
    first = client.post("/forms/daftar/add", data={"nama": "Siti", "tahap": "1", "no_kk": "6309010101200001"})
    assert first.status_code == 302
    warned = client.post("/forms/daftar/add", data={"nama": "Budi", "tahap": "1", "no_kk": "6309010101200001"})
    assert warned.status_code == 200 and box in warned.get_data(as_text=True)
    confirmed = client.post(
        "/forms/daftar/add", data={"nama": "Budi", "tahap": "1", "no_kk": "6309010101200001", "confirm_warnings": "y"}
    )
    assert confirmed.status_code == 302
    assert box not in client.get("/forms/daftar/edit/1").get_data(as_text=True)


def test_record_pages_offer_edit_and_delete_to_those_allowed(empty_app: Any) -> None:
    from tests.conftest import add_user

    app = app_with_forms(
        empty_app, FORM.replace("title: Catatan\n", "title: Catatan\npermissions: {Petugas: [view]}\n")
    )
    add_user(app, "petugas", "Petugas")
    admin = app.test_client()
    login(admin)
    admin.post("/forms/catatan/add", data={"isi": "Rapat"})
    page = admin.get("/forms/catatan/show/1").get_data(as_text=True)
    assert 'href="/forms/catatan/edit/1"' in page and "Hapus" in page and 'id="delete_form"' in page
    # one confirmation and one alert dialog (FAB's layout and its show widget both include them)
    assert page.count('id="modal-confirm"') == 1 and page.count('id="modal-alert"') == 1
    assert page.count('id="myModalLabel"') == 1
    viewer = app.test_client()
    login(viewer, "petugas")
    page = viewer.get("/forms/catatan/show/1").get_data(as_text=True)
    assert "/forms/catatan/edit/1" not in page and 'id="simpul-delete"' not in page


def test_the_edit_form_shows_dates_and_money_as_clerks_write_them(empty_app: Any) -> None:
    app = app_with_forms(
        empty_app,
        """
form: salur
title: Penyaluran
fields:
  - {name: nama, type: text, label: Nama}
  - {name: tanggal, type: date, label: Tanggal}
  - {name: jumlah, type: money, label: Jumlah}
""",
    )
    client = app.test_client()
    login(client)
    saved = client.post("/forms/salur/add", data={"nama": "Siti", "tanggal": "04-11-2026", "jumlah": "Rp 1.250.000"})
    assert saved.status_code == 302
    edit = client.get("/forms/salur/edit/1").get_data(as_text=True)
    assert 'value="04-11-2026"' in edit and 'value="Rp 1.250.000"' in edit
    assert 'class="input-group date simpul-date" data-language="id"' in edit
    again = client.post("/forms/salur/edit/1", data={"nama": "Siti", "tanggal": "04-11-2026", "jumlah": "Rp 1.250.000"})
    assert again.status_code == 302
    record = client.get("/api/v1/salur/1").json["result"]
    assert record["tanggal"] == "2026-11-04" and record["jumlah"] in ("1250000", "1250000.00")


def test_a_singleton_form_opens_its_one_record(empty_app: Any) -> None:
    app = app_with_forms(
        empty_app,
        """
form: kantor
title: Pengaturan Kantor
singleton: true
region_field: false
fields:
  - {name: nama, type: text, label: Nama kantor}
  - {name: kabupaten, type: region, level: kabupaten, label: Kabupaten}
""",
    )
    client = app.test_client()
    login(client)
    assert client.get("/forms/kantor/list/").headers["Location"].endswith("/forms/kantor/add")
    assert client.post("/forms/kantor/add", data={"nama": "Dinas Sosial", "kabupaten": "63.09"}).status_code == 302
    opened = client.get("/forms/kantor/list/", follow_redirects=True)
    page = opened.get_data(as_text=True)
    assert opened.request.path == "/forms/kantor/show/1" and "Dinas Sosial" in page and "Tambah" not in page


def test_a_scoped_users_region_picker_starts_at_their_area(empty_app: Any) -> None:
    from tests.conftest import add_user

    app = app_with_forms(
        empty_app,
        """
form: warga
title: Warga
permissions: {Kecamatan: [view, add]}
fields:
  - {name: nama, type: text, label: Nama}
  - {name: desa, type: region, level: desa, label: Desa}
""",
    )
    add_user(app, "kec", "Kecamatan")
    with app.app_context():
        user = app.appbuilder.sm.find_user("kec")
        user.region_scope = "63.09.01"
        app.appbuilder.sm.update_user(user)
    client = app.test_client()
    login(client, "kec")
    assert 'data-root="63.09.01"' in client.get("/forms/warga/add").get_data(as_text=True)
    admin = app.test_client()
    login(admin)
    assert 'data-root="63.09"' in admin.get("/forms/warga/add").get_data(as_text=True)


CHAIN = [
    """
form: acara
title: Acara
category: Bimtek
fields: [{name: judul, type: text, label: Judul}]
""",
    """
form: angkatan
title: Angkatan
category: Bimtek
fields: [{name: nama, type: text, label: Nama}, {name: acara, type: reference, target: acara, label: Acara}]
""",
    """
form: peserta
title: Peserta
category: Bimtek
fields: [{name: nama, type: text, label: Nama}, {name: angkatan, type: reference, target: angkatan, label: Angkatan}]
""",
    """
form: hadir
title: Daftar Hadir
category: Bimtek
fields: [{name: peserta, type: reference, target: peserta, label: Peserta}]
""",
]


def test_the_menu_is_in_working_order_with_keamanan_last(empty_app: Any) -> None:
    app = app_with_forms(empty_app, *CHAIN)
    client = app.test_client()
    login(client)
    page = client.get("/forms/acara/list/").get_data(as_text=True)
    positions = [page.index(f'href="/forms/{slug}/list/"') for slug in ("acara", "angkatan", "peserta", "hadir")]
    assert positions == sorted(positions)
    assert page.index("Bimtek") < page.index("Keamanan")
    assert 'href="/swagger/v1"' in page


def test_every_role_opens_its_own_profile(empty_app: Any) -> None:
    from tests.conftest import add_user

    app = app_with_forms(empty_app, CHAIN[0])
    add_user(app, "kec", "Kecamatan")
    client = app.test_client()
    login(client, "kec")
    profile = client.get("/users/userinfo/")
    assert profile.status_code == 200 and "kec@example.org" in profile.get_data(as_text=True)


def test_pages_carry_the_favicon(empty_app: Any) -> None:
    app = app_with_forms(empty_app, CHAIN[0])
    client = app.test_client()
    login(client)
    page = client.get("/forms/acara/list/").get_data(as_text=True)
    assert 'rel="icon" type="image/svg+xml" href="/static/simpul/favicon.svg"' in page
    with client.get("/static/simpul/favicon.svg") as icon:
        assert icon.status_code == 200
