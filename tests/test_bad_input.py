"""Bad input to the generated screens and API answers 4xx with a reason, never 5xx (issue 10 §9–11)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import app_with_forms, login

FORMS = (
    """
form: acara
title: {id: Acara Bimtek, en: Training event}
permissions: {Petugas: [view, add, edit, delete]}
fields:
  - {name: judul, type: text, label: Judul, required: true}
""",
    """
form: angkatan
title: {id: Angkatan Bimtek, en: Training batch}
permissions: {Petugas: [view, add, edit, delete]}
fields:
  - {name: nama, type: text, label: Nama, required: true}
  - {name: acara, type: reference, target: acara, label: Acara}
  - name: peserta
    type: child
    label: Peserta
    fields: [{name: nama, type: text, label: Nama}]
""",
)


@pytest.fixture
def app(empty_app: Any) -> Any:
    return app_with_forms(empty_app, *FORMS)


@pytest.fixture
def client(app: Any) -> Any:
    client = app.test_client()
    login(client)
    return client


def test_a_delete_blocked_by_references_says_what_uses_the_record(client: Any) -> None:
    event = client.post("/api/v1/acara/", json={"judul": "Bimtek SLRT"}).json["id"]
    for name in ("Angkatan I", "Angkatan II"):
        assert client.post("/api/v1/angkatan/", json={"nama": name, "acara": event}).status_code == 201
    refused = client.delete(f"/api/v1/acara/{event}")
    assert refused.status_code == 422
    assert refused.json["message"] == "Tidak dapat dihapus: masih dipakai oleh 2 data Angkatan Bimtek."
    page = client.post(f"/forms/acara/delete/{event}", follow_redirects=True).get_data(as_text=True)
    assert "masih dipakai oleh 2 data Angkatan Bimtek" in page and "FOREIGN KEY" not in page.upper()
    assert client.get(f"/api/v1/acara/{event}").status_code == 200  # still there
    # a parent with child rows is deleted with them
    batch = client.post("/api/v1/angkatan/", json={"nama": "Angkatan III"}).json["id"]
    assert client.post("/api/v1/angkatan__peserta/", json={"parent_id": batch, "nama": "Siti"}).status_code == 201
    assert client.delete(f"/api/v1/angkatan/{batch}").status_code == 200


def test_ids_no_record_can_have_answer_404(client: Any) -> None:
    for pk in ("9223372036854775808", "99999999999999999999", "2147483648", "0"):
        for method, url in (
            ("get", f"/api/v1/acara/{pk}"),
            ("put", f"/api/v1/acara/{pk}"),
            ("delete", f"/api/v1/acara/{pk}"),
            ("get", f"/forms/acara/show/{pk}"),
            ("get", f"/forms/acara/edit/{pk}"),
        ):
            response = getattr(client, method)(url, json={"judul": "x"} if method == "put" else None)
            assert response.status_code == 404, (method, url, response.status_code)
        child = client.post("/api/v1/angkatan__peserta/", json={"parent_id": int(pk), "nama": "x"})
        assert child.status_code == 422 and "parent_id" in child.json["message"], pk


def test_bodies_that_are_not_a_record_answer_4xx(app: Any, client: Any) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    for body, expected in (
        (nested, 400),
        ("{not json", 400),
        ('"just a string"', 422),
        ("[1, 2]", 422),
    ):
        response = client.post("/api/v1/acara/", data=body, content_type="application/json")
        assert response.status_code == expected, (body[:20], response.status_code)
    app.config["MAX_CONTENT_LENGTH"] = 1000
    large = client.post("/api/v1/acara/", json={"judul": "x" * 5000})
    assert large.status_code == 413


def test_list_arguments_it_cannot_use_never_break_the_screen(client: Any) -> None:
    client.post("/api/v1/acara/", json={"judul": "Bimtek SLRT"})
    for query in (
        "psize_FormView_acara=abc",
        "psize_FormView_acara=100000000",
        "psize_FormView_acara=-1",
        "page_FormView_acara=abc",
        "page_FormView_acara=-5",
        "page_FormView_acara=99999999999999999999",
        "_oc_FormView_acara=no_such_column&_od_FormView_acara=asc",
        "_oc_FormView_acara=judul&_od_FormView_acara=sideways",
    ):
        response = client.get(f"/forms/acara/list/?{query}", follow_redirects=True)
        assert response.status_code == 200 and "Bimtek SLRT" in response.get_data(as_text=True), query


def test_a_filter_position_that_does_not_exist_is_ignored(client: Any) -> None:
    event = client.post("/api/v1/acara/", json={"judul": "Bimtek SLRT"}).json["id"]
    client.post("/api/v1/angkatan/", json={"nama": "Angkatan I", "acara": event})
    page = client.get(f"/forms/angkatan/list/?_flt_7_acara={event}")
    assert page.status_code == 200 and "Angkatan I" in page.get_data(as_text=True)


def test_routes_simpul_does_not_use_answer_404_or_405(client: Any) -> None:
    assert client.get("/forms/acara/download/x.pdf").status_code == 404
    event = client.post("/api/v1/acara/", json={"judul": "Bimtek SLRT"}).json["id"]
    response = client.post("/forms/acara/action_post", data={"action": "muldelete", "rowid": [str(event)]})
    assert response.status_code in (302, 404, 405)
    assert client.get(f"/api/v1/acara/{event}").status_code == 200


def test_query_arguments_that_are_not_a_query_answer_400(client: Any) -> None:
    client.post("/api/v1/acara/", json={"judul": "Bimtek SLRT"})
    for q in (
        "1e+5",
        "(",
        "!(1,2)",
        "'text'",
        "42",
        "(columns:5)",
        "(columns:!(nope))",
        "(page:-1,page_size:10)",
        "(page:abc)",
        "(page:99999999999999999999,page_size:25)",
        "(filters:!((col:judul,opr:ct,value:(a:1))))",
        "(filters:!((col:judul,opr:nope,value:x)))",
        "(filters:!((col:nope,opr:ct,value:x)))",
        "(filters:!(x))",
        "(order_column:nope,order_direction:asc)",
        "(order_column:judul,order_direction:sideways)",
        "(keys:!(nope))",
    ):
        for url in ("/api/v1/acara/", "/api/v1/acara/1", "/api/v1/acara/_info", "/api/v1/angkatan/related/acara"):
            response = client.get(url, query_string={"q": q})
            assert response.status_code < 500, (url, q, response.status_code)


def test_filter_values_are_read_as_the_field_reads_input(empty_app: Any) -> None:
    app = app_with_forms(
        empty_app,
        """
form: bantuan
title: Bantuan
permissions: {Petugas: [view]}
fields:
  - {name: nama, type: text, label: Nama}
  - {name: jumlah, type: money, label: Jumlah}
  - {name: jiwa, type: integer, label: Jiwa}
  - {name: tanggal, type: date, label: Tanggal}
""",
    )
    client = app.test_client()
    login(client)
    client.post("/api/v1/bantuan/", json={"nama": "Sembako", "jumlah": 1000, "jiwa": 4, "tanggal": "2020-11-04"})
    for query, found in (
        ("_flt_0_jumlah=1000", True),
        ("_flt_0_jumlah=Rp 1.000", True),
        ("_flt_0_jumlah=banyak", False),
        ("_flt_0_jiwa=4", True),
        ("_flt_0_jiwa=empat", False),
        ("_flt_0_tanggal=04-11-2020", True),
        ("_flt_0_tanggal=31-02-2020", False),
    ):
        page = client.get(f"/forms/bantuan/list/?{query}")
        assert page.status_code == 200, query
        assert ("Sembako" in page.get_data(as_text=True)) is found, query
    for opr, value in (("eq", "1000"), ("gt", "999"), ("eq", "1e999999"), ("lt", "x")):
        q = f"(filters:!((col:jumlah,opr:{opr},value:'{value}')))"
        response = client.get("/api/v1/bantuan/", query_string={"q": q})
        assert response.status_code == 200, (opr, value, response.status_code)


def test_options_and_unreadable_tokens_answer_without_5xx(app: Any) -> None:
    client = app.test_client()
    assert client.options("/api/v1/acara/", headers={"Authorization": "Bearer abc"}).status_code == 200
    unreadable = client.get("/api/v1/acara/", headers={"Authorization": "Bearer not.a.token"})
    assert unreadable.status_code == 401 and unreadable.is_json
