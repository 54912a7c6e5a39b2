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
