"""Lists page, sort and filter correctly at any depth, in screens and API."""

from __future__ import annotations

import re
from typing import Any

import prison
import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import app_with_forms, login

FORM = """
form: penerima
title: Penerima
fields:
  - {name: nama, type: text, label: Nama}
  - {name: tahap, type: integer, label: Tahap}
  - {name: desa, type: region, level: desa, label: Desa}
"""
DESA = ["63.09.01.2001", "63.09.01.2002", "63.09.02.2001", "63.09.10.2001"]
ROWS = 103


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, FORM)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO form_penerima (nama, tahap, desa, region_code) VALUES (:n, :t, :d, :d)"),
            [{"n": f"Orang {i:03d}", "t": i % 3, "d": DESA[i % 4]} for i in range(ROWS)],
        )
    return app


def expected(app: Any, order: str, offset: int, where: str = "") -> list[int]:
    with app.app_context(), db.engine.connect() as conn:
        sql = f"SELECT id FROM form_penerima {where} ORDER BY {order} LIMIT 10 OFFSET {offset}"
        return [r[0] for r in conn.execute(sa.text(sql))]


def test_api_pages_match_sql_at_any_depth(app: Any, client: Any) -> None:
    for column, direction in [("id", "asc"), ("tahap", "desc"), ("tahap", "asc")]:
        for page in [0, 1, 5, 9, 10]:
            q = prison.dumps({"page": page, "page_size": 10, "order_column": column, "order_direction": direction})
            body = client.get(f"/api/v1/penerima/?q={q}").json
            assert body["count"] == ROWS
            assert body["ids"] == expected(app, f"{column} {direction}, id {direction}", page * 10), (
                column,
                direction,
                page,
            )


def test_screen_last_page_shows_the_last_rows(app: Any, client: Any) -> None:
    html = client.get("/forms/penerima/list/?psize_FormView_penerima=10&page_FormView_penerima=10").data.decode()
    assert re.findall(r"Orang \d{3}", html)[-3:] == ["Orang 002", "Orang 001", "Orang 000"]


@pytest.mark.parametrize(("code", "count"), [("63.09.01", 52), ("63.09.01.2002", 26), ("63.09", ROWS), ("63.09.1", 0)])
def test_region_filter_takes_a_code_at_any_level(client: Any, code: str, count: int) -> None:
    q = prison.dumps({"filters": [{"col": "desa", "opr": "rw", "value": code}], "page_size": 100})
    body = client.get(f"/api/v1/penerima/?q={q}").json
    assert body["count"] == count
    assert all(r["desa"] == code or r["desa"].startswith(code + ".") for r in body["result"])


def test_region_filter_in_the_screen(client: Any) -> None:
    html = client.get("/forms/penerima/list/?_flt_0_desa=63.09.02").data.decode()
    assert set(re.findall(r"63\.09\.\d\d\.\d{4}", html)) == {"63.09.02.2001"}


SEARCHABLE = """
form: warga
title: Warga
title_field: nama
fields:
  - {name: nama, type: text, label: Nama, search: true}
  - {name: alamat, type: text, label: Alamat, search: true}
  - {name: catatan, type: text, label: Catatan, search: false}
"""


def test_quick_search_looks_in_every_searchable_field(empty_app: Any) -> None:
    client = app_with_forms(empty_app, SEARCHABLE).test_client()
    login(client)
    for body in (
        {"nama": "Siti Aminah", "alamat": "Tanjung"},
        {"nama": "Budi", "alamat": "Jl. Siti 5"},
        {"nama": "Ani", "alamat": "Murung Pudak", "catatan": "Siti"},
        {"nama": "50%_off", "alamat": "x"},
    ):
        assert client.post("/api/v1/warga/", json=body).status_code == 201

    def found(text: str) -> set[str]:
        q = prison.dumps({"filters": [{"col": "nama", "opr": "any", "value": text}]})
        return {r["nama"] for r in client.get(f"/api/v1/warga/?q={q}").json["result"]}

    assert found("siti") == {"Siti Aminah", "Budi"}
    assert found("%_") == {"50%_off"}
    html = client.get("/forms/warga/list/?_flt_0_nama=siti").data.decode()
    assert "Siti Aminah" in html and "Budi" in html and "Ani" not in html


def test_list_api_loads_a_page_in_a_fixed_number_of_queries(app: Any, client: Any) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        q = prison.dumps({"page_size": 25})
        assert len(client.get(f"/api/v1/penerima/?q={q}").json["result"]) == 25
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    form_queries = [s for s in statements if "form_penerima" in s]
    assert len(form_queries) == 2, form_queries  # the count and the page, not one per row


def test_every_order_by_key_applies(empty_app: Any) -> None:
    text = FORM.replace("title: Penerima", "title: Penerima\norder_by: [-tahap, nama]")
    client = app_with_forms(empty_app, text).test_client()
    login(client)
    for name, tahap in [("B", 1), ("A", 1), ("C", 2), ("D", 0)]:
        client.post("/api/v1/penerima/", json={"nama": name, "tahap": tahap})
    names = [r["nama"] for r in client.get("/api/v1/penerima/").json["result"]]
    assert names == ["C", "A", "B", "D"]
    html = client.get("/forms/penerima/list/").data.decode()
    assert re.findall(r"<td>([ABCD])</td>", html) == ["C", "A", "B", "D"]


def test_a_malformed_query_argument_is_still_refused(client: Any) -> None:
    response = client.get("/api/v1/penerima/?q=(page_size:banyak)")
    assert response.status_code == 400
    assert "Not a valid rison schema" in response.json["message"]
