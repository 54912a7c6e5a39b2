"""403, 404 and 405 answer a page in the app's layout, in the reader's language, with a way back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import add_user, app_with_forms, login

FORM = """
form: catatan
title: Catatan
permissions: {Petugas: [view]}
fields:
  - {name: isi, type: text, label: Isi}
"""


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, FORM)
    add_user(app, "petugas", "Petugas")
    return app


def test_error_pages_speak_the_users_language_inside_the_layout(app: Any) -> None:
    client = app.test_client()
    login(client, "petugas")
    for url, code, indonesian in (
        ("/no/such/page", 404, "Halaman tidak ditemukan"),
        ("/forms/catatan/show/99", 404, "Halaman tidak ditemukan"),
        ("/forms/catatan/delete/1", 403, "Akses ditolak"),
        ("/forms/catatan/file/1/isi", 404, "Halaman tidak ditemukan"),
        ("/forms/catatan/reveal/1", 405, "Tidak dapat dilakukan di sini"),
    ):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == code, url
        assert indonesian in page and "Beranda" in page and 'class="navbar' in page, url
        assert "Not Found" not in page and "The requested URL" not in page
    client.get("/lang/en")
    page = client.get("/no/such/page").get_data(as_text=True)
    assert "Page not found" in page and "Halaman" not in page


def test_api_errors_stay_json(app: Any) -> None:
    client = app.test_client()
    login(client, "petugas")
    response = client.get("/api/v1/no_such_form/")
    assert response.status_code == 404 and response.is_json


NUL_ADDRESSES = (
    "/api/v1/catatan/?q=(filters:!((col:isi,opr:ct,value:'a\x00b')))",
    "/api/v1/catatan/?q=(filters:!((col:isi,opr:eq,value:'a\x00b')))",
    "/api/v1/catatan/1?reveal=true&purpose=cek\x00data",
    "/api/v1/wilayah/search/?q=a\x00b",
    "/forms/catatan/list/?_flt_0_isi=a\x00b",
    "/forms/catatan/list/?_flt_1_isi=a\x1bb",
    "/forms/catatan/list/?search=a\x85b",
    "/forms/catatan/list/?a\x00b=1",
)


@pytest.mark.parametrize("address", NUL_ADDRESSES, ids=range(len(NUL_ADDRESSES)))
def test_a_control_character_in_the_address_is_refused_naming_it(app: Any, address: str) -> None:
    # CI's fuzzer on PostgreSQL: a NUL in a filter, search or purpose reached the database (500).
    client = app.test_client()
    login(client, "petugas")
    response = client.get(address)
    assert response.status_code == 400, address
    text = response.json["message"] if response.is_json else response.get_data(as_text=True)
    assert response.is_json == address.startswith("/api/")
    assert "yang tidak dapat disimpan" in text and "U+00" in text, text
    if not response.is_json:
        assert 'class="navbar' in text and "Alamat tidak dapat dibaca" in text
