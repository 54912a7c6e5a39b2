"""CSRF on every state-changing path, and admin-defined text escaped wherever it is shown."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import add_user, app_with_forms, login

SCRIPT = "<script>alert(1)</script>"
FORM = f"""
form: catatan
title: "Catatan {SCRIPT}"
category: "Kategori {SCRIPT}"
fields:
  - {{name: judul, type: text, label: "Judul {SCRIPT}", help: "Bantuan <img src=x onerror=alert(2)>", list: true, filter: true}}
  - name: jenis
    type: choice
    label: "Jenis <b onmouseover=alert(3)>"
    choices: [{{value: a, label: "Pilihan {SCRIPT}"}}, {{value: b, label: B}}]
"""


@pytest.fixture
def app(empty_app: Any) -> Any:
    return app_with_forms(empty_app, FORM)


def _csrf_token(client: Any, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, "the page carries a CSRF token"
    return match.group(1)


def test_state_changes_without_a_csrf_token_are_refused(app: Any) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    # the login form itself
    assert client.post("/login/", data={"username": "admin", "password": "admin-pass"}).status_code == 303
    token = _csrf_token(client, "/login/")
    assert (
        client.post("/login/", data={"username": "admin", "password": "admin-pass", "csrf_token": token}).status_code
        == 302
    )
    # screens: add without a token changes nothing; with the page's token it saves
    assert client.post("/forms/catatan/add", data={"judul": "tanpa token"}).status_code == 303
    token = _csrf_token(client, "/forms/catatan/add")
    assert client.post("/forms/catatan/add", data={"judul": "dengan token", "csrf_token": token}).status_code == 302
    api = client.get("/api/v1/catatan/").json
    assert [r["judul"] for r in api["result"]] == ["dengan token"]
    pk = api["ids"][0]
    # delete: not by GET, not by POST without the token
    client.get(f"/forms/catatan/delete/{pk}")
    assert client.post(f"/forms/catatan/delete/{pk}").status_code == 303
    assert client.get(f"/api/v1/catatan/{pk}").status_code == 200
    # the API with the session cookie needs the token in a header
    response = client.put(f"/api/v1/catatan/{pk}", json={"judul": "diubah"})
    assert response.status_code == 400 and "Formulir sudah kedaluwarsa" in response.json["message"]
    response = client.put(f"/api/v1/catatan/{pk}", json={"judul": "diubah"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.json
    # …but not with a JWT: no cookie for another site to ride on
    jwt = app.test_client().post(
        "/api/v1/security/login", json={"username": "admin", "password": "admin-pass", "provider": "db"}
    )
    bearer = {"Authorization": f"Bearer {jwt.json['access_token']}"}
    assert app.test_client().delete(f"/api/v1/catatan/{pk}", headers=bearer).status_code == 200



def _jwt(app: Any, username: str, password: str = "admin-pass") -> dict[str, str]:
    response = app.test_client().post(
        "/api/v1/security/login", json={"username": username, "password": password, "provider": "db"}
    )
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _cookie_client_with_a_record(app: Any) -> tuple[Any, int]:
    """An admin signed in by the session cookie, with CSRF checks on, and one record."""
    client = app.test_client()
    login(client)
    pk = client.post("/api/v1/catatan/", json={"judul": "asli"}).json["id"]
    app.config["WTF_CSRF_ENABLED"] = True
    return client, pk


def test_a_jwt_call_is_the_jwt_users_even_with_a_session_cookie(app: Any) -> None:
    add_user(app, "pengamat", "Viewer")
    client, pk = _cookie_client_with_a_record(app)
    # the admin's cookie rides along, but the viewer's JWT decides: no edit right
    response = client.put(f"/api/v1/catatan/{pk}", json={"judul": "diubah"}, headers=_jwt(app, "pengamat"))
    assert response.status_code == 403
    assert client.get(f"/api/v1/catatan/{pk}", headers=_jwt(app, "pengamat")).status_code == 403
    assert client.get(f"/api/v1/catatan/{pk}").json["result"]["judul"] == "asli"
    # the admin's own JWT needs no CSRF token, and the cookie's session is left as it was
    response = client.put(f"/api/v1/catatan/{pk}", json={"judul": "diubah"}, headers=_jwt(app, "admin"))
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert client.get(f"/api/v1/catatan/{pk}").json["result"]["judul"] == "diubah"


@pytest.mark.parametrize("bearer", ["x", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"])
def test_a_bogus_bearer_with_a_session_cookie_still_needs_the_csrf_token(app: Any, bearer: str) -> None:
    client, pk = _cookie_client_with_a_record(app)
    headers = {"Authorization": f"Bearer {bearer}"}
    response = client.put(f"/api/v1/catatan/{pk}", json={"judul": "diubah"}, headers=headers)
    assert response.status_code == 400 and "Formulir sudah kedaluwarsa" in response.json["message"]
    assert client.delete(f"/api/v1/catatan/{pk}", headers=headers).status_code == 400
    assert client.get(f"/api/v1/catatan/{pk}").json["result"]["judul"] == "asli"


def test_an_api_call_with_neither_cookie_nor_jwt_is_unauthorized(app: Any) -> None:
    _client, pk = _cookie_client_with_a_record(app)
    anonymous = app.test_client()
    assert anonymous.get(f"/api/v1/catatan/{pk}").status_code == 401
    assert anonymous.put(f"/api/v1/catatan/{pk}", json={"judul": "diubah"}).status_code == 401
    assert anonymous.post("/api/v1/catatan/", json={"judul": "baru"}).status_code == 401
    assert anonymous.delete(f"/api/v1/catatan/{pk}").status_code == 401

def test_admin_defined_text_is_escaped_on_every_screen(app: Any) -> None:
    client = app.test_client()
    login(client)
    client.post("/api/v1/catatan/", json={"judul": f"Isi {SCRIPT}", "jenis": "a"})
    pages = {
        url: client.get(url).get_data(as_text=True)
        for url in ("/forms/catatan/list/", "/forms/catatan/add", "/forms/catatan/show/1", "/forms/catatan/edit/1", "/")
    }
    for url, page in pages.items():
        assert SCRIPT not in page, url
        assert "<img src=x" not in page and "<b onmouseover" not in page, url
    assert "Catatan &lt;script&gt;" in pages["/forms/catatan/list/"]
    assert "Judul &lt;script&gt;" in pages["/forms/catatan/add"]
    assert "Pilihan &lt;script&gt;" in pages["/forms/catatan/show/1"]


def test_every_response_carries_the_security_headers(app: Any) -> None:
    client = app.test_client()
    login(client)
    for url in ("/login/", "/forms/catatan/list/", "/api/v1/catatan/", "/static/simpul/region-picker.js"):
        with client.get(url) as response:
            headers = response.headers
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == "same-origin", url
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'", url
        assert policy["base-uri"] == "'none'" and policy["form-action"] == "'self'", url
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"], url


def test_every_script_on_a_page_carries_the_policy_nonce(app: Any) -> None:
    client = app.test_client()
    login(client)
    response = client.get("/forms/catatan/list/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script\b[^>]*>", response.get_data(as_text=True))
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert nonce not in client.get("/forms/catatan/list/").headers["Content-Security-Policy"]  # new each request
