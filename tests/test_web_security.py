"""CSRF and the API's credential, admin-written text escaped on every screen kind, security headers."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from markupsafe import escape

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


# Markup in every text an admin writes: it must reach each screen as text, never as markup.
XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
RAW = ("<script>alert(1)", "<img src=x")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
NIK = "6309014507900001"
XSS_REGIONS = (
    "kode,nama\n63,Kalimantan Selatan\n63.09,Kabupaten Tabalong\n63.09.01,Banua Lawas\n63.09.01.2001,Hapalah\n"
)
XSS_FORMS = [
    f"""
form: xkelompok
title: '{XSS} Kelompok'
category: '{XSS} Kategori'
region_field: false
fields:
  - {{name: nama, type: text, label: '{XSS} Nama kelompok', help: '{XSS} bantuan'}}
""",
    f"""
form: xanggota
title: {{id: '{XSS} Anggota', en: '{XSS} Member'}}
category: '{XSS} Kategori'
fields:
  - {{name: kelompok, type: reference, target: xkelompok, label: '{XSS} Kelompok', help: '{XSS} bantuan'}}
  - {{name: nama, type: text, label: '{XSS} Nama', help: '{XSS} bantuan', search: true}}
  - {{name: nik, type: nik, label: '{XSS} NIK', help: '{XSS} bantuan'}}
  - {{name: umur, type: integer, label: '{XSS} Umur', help: '{XSS} bantuan'}}
  - {{name: jumlah, type: money, label: '{XSS} Jumlah', help: '{XSS} bantuan'}}
  - {{name: lahir, type: date, label: '{XSS} Lahir', help: '{XSS} bantuan'}}
  - {{name: datang, type: datetime, label: '{XSS} Datang', help: '{XSS} bantuan'}}
  - {{name: aktif, type: boolean, label: '{XSS} Aktif', help: '{XSS} bantuan'}}
  - {{name: jenis, type: choice, label: '{XSS} Jenis', help: '{XSS} bantuan',
     choices: [{{value: a, label: '{XSS} Pilihan'}}, {{value: b, label: {{id: '{XSS} B', en: '{XSS} B'}}}}]}}
  - {{name: minat, type: multichoice, label: '{XSS} Minat', help: '{XSS} bantuan',
     choices: [{{value: a, label: '{XSS} Minat A'}}, {{value: b, label: '{XSS} Minat B'}}]}}
  - {{name: desa, type: region, level: desa, label: '{XSS} Desa', help: '{XSS} bantuan'}}
  - {{name: catatan, type: longtext, label: '{XSS} Catatan', help: '{XSS} bantuan'}}
  - name: anak
    type: child
    label: '{XSS} Anak'
    fields: [{{name: nama, type: text, label: '{XSS} Nama anak', help: '{XSS} bantuan'}}]
""",
    f"""
form: xhadir
title: '{XSS} Hadir'
category: '{XSS} Kategori'
region_field: anggota
fields:
  - {{name: anggota, type: reference, target: xanggota, label: '{XSS} Anggota', required: true}}
  - {{name: tanggal, type: date, label: '{XSS} Tanggal', required: true}}
  - {{name: status, type: choice, label: '{XSS} Status', required: true, default: hadir,
     choices: [{{value: hadir, label: '{XSS} Hadir'}}, {{value: alpa, label: '{XSS} Alpa'}}]}}
  - {{name: catatan, type: text, label: '{XSS} Catatan'}}
grid: {{rows: anggota, group: kelompok, key: tanggal, cell: status, extra: [catatan]}}
""",
]
# A value each filter of a field type can take from the URL.
FILTER_VALUES = {
    "reference": "1",
    "integer": "30",
    "money": "1000",
    "date": "2024-01-02",
    "datetime": "2024-01-02 08:00:00",
    "boolean": "y",
    "choice": "a",
    "multichoice": "a",
    "nik": NIK,
    "region": "63.09.01.2001",
}


def xss_app(empty_app: Any) -> Any:
    """The forms above published, with a group, a member (changed once, for its history) and attendance."""
    from tests.test_regions import run_import

    run_import(empty_app, XSS_REGIONS)
    app = app_with_forms(empty_app, *XSS_FORMS)
    client = app.test_client()
    login(client)
    group = client.post("/api/v1/xkelompok/", json={"nama": f"{XSS} isi"}).json["id"]
    member = {
        "kelompok": group,
        "nama": f"{XSS} isi",
        "nik": NIK,
        "umur": 30,
        "jumlah": 1000,
        "lahir": "1990-07-05",
        "datang": "2024-01-02T08:00:00",
        "aktif": True,
        "jenis": "a",
        "minat": ["a", "b"],
        "desa": "63.09.01.2001",
        "catatan": f"{XSS} isi",
        "confirm_warnings": True,
    }
    response = client.post("/api/v1/xanggota/", json=member)
    assert response.status_code == 201, response.json
    pk = response.json["id"]
    assert client.put(f"/api/v1/xanggota/{pk}", json={"jenis": "b", "catatan": f"{XSS} baru"}).status_code == 200
    response = client.post("/api/v1/xanggota__anak/", json={"parent_id": pk, "nama": f"{XSS} isi"})
    assert response.status_code == 201, response.json
    response = client.post("/api/v1/xhadir/", json={"anggota": pk, "tanggal": "2024-01-02", "status": "hadir"})
    assert response.status_code == 201, response.json
    return app


def filter_urls(app: Any, base: str, view_name: str) -> list[str]:
    """The list at `base` with each filter of each filterable field applied, one at a time."""
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == view_name)
    spec = getattr(view, "spec", None)
    with app.test_request_context():
        filters = view._filters.get_search_filters()
    urls = []
    for column, kinds in filters.items():
        field = next((f for f in spec.live_fields if column in (f.name, f"{f.name}_id")), None) if spec else None
        value = FILTER_VALUES.get(field.type if field else "", "a")
        urls += [f"{base}?_flt_{i}_{column}={quote(value)}" for i in range(len(kinds))]
    return urls


def every_screen(app: Any) -> list[str]:
    """Every kind of screen that shows the forms' texts, lists with each filter kind applied."""
    lists = filter_urls(app, "/forms/xanggota/list/", "FormView_xanggota")
    logs = filter_urls(app, "/keamanan/audit/list/", "AuditView")
    return [
        "/",
        "/forms/xanggota/list/",
        *lists,
        "/forms/xanggota/add",
        "/forms/xanggota/show/1",
        "/forms/xanggota/edit/1",
        "/forms/xanggota/anak/list/",
        "/forms/xanggota/anak/show/1",
        "/forms/xkelompok/list/",
        "/forms/xkelompok/show/1",
        "/forms/xhadir/list/",
        "/forms/xhadir/grid/",
        "/forms/xhadir/grid/?group=1&key=2024-01-02",
        "/riwayat/",
        *logs,
        "/keamanan/audit/show/2",
        "/keamanan/log-akses/list/",
        "/swagger/v1",
    ]


def assert_escaped(client: Any, url: str) -> str:
    """The page at `url` (GET, or "POST /riwayat/" for a NIK search), with no admin markup raw."""
    response = client.post("/riwayat/", data={"nik": NIK}) if url == "POST /riwayat/" else client.get(url)
    assert response.status_code == 200, url
    page = response.get_data(as_text=True)
    for raw in RAW:
        assert raw not in page, f"{url}: {raw}"
    return page


# FAB passes a filter value for a Numeric column (money) to the database as text, which
# PostgreSQL refuses to compare with a number: a 500. Known; the filters are interface.py's.
MONEY_FILTER = "_jumlah="


def test_admin_defined_text_is_escaped_on_every_screen(empty_app: Any) -> None:
    app = xss_app(empty_app)
    client = app.test_client()
    login(client)
    screens = [url for url in every_screen(app) if MONEY_FILTER not in url] + ["POST /riwayat/"]
    shown = "".join(assert_escaped(client, url) for url in screens)
    # the texts were there to be escaped: titles, labels, help, choices, values, history
    for text in ("Anggota", "Kelompok", "Kategori", "Nama", "bantuan", "Pilihan", "Minat A", "isi", "baru", "Hadir"):
        assert f"{ESCAPED} {text}" in shown, text


def test_money_filters_from_the_address_are_escaped(empty_app: Any) -> None:
    """Filter values are read as the field reads input (PostgreSQL refused numeric = varchar: a 500)."""
    app = xss_app(empty_app)
    client = app.test_client()
    login(client)
    urls = [url for url in every_screen(app) if MONEY_FILTER in url]
    assert urls
    for url in urls:
        assert_escaped(client, url)


def test_the_filter_panel_gets_its_labels_as_html_text(empty_app: Any) -> None:
    """The list's filter panel and its active-filter chips show each label escaped, once."""
    app = xss_app(empty_app)
    client = app.test_client()
    login(client)
    page = client.get("/forms/xanggota/list/?_flt_0_nama=a").get_data(as_text=True)
    labels = re.findall(r'<label class="control-label" for="flt-[^"]+">(.*?)</label>', page, re.S)
    assert f"{escape(XSS)} Nama" in labels
    assert all("<" not in label for label in labels)
    assert re.search(r'<span class="simpul-chip-label">[^<]+:</span>', page)  # the active filter's chip
    assert XSS not in page


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
