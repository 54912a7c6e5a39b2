"""Personal data on every path: every shipped form × every NIK / No. KK field × list, get,
`columns`, filters, quick search, sort, export, record page, history, audit × a role with and
one without `reveal`, on the demo data, on SQLite and PostgreSQL; and the access log.

A full number must appear only after the logged reveal; a part of it must never find a record
(no partial operators), the whole of it may, and then the search is logged.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import openpyxl
import prison
import pytest
import sqlalchemy as sa

from app.access.personal import mask
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.loader import load_paths
from app.forms_engine.spec import FieldSpec, FormSpec
from app.forms_engine.tables import all_tables
from tests.conftest import BACKENDS, ROOT, add_user, login, shipped_app

ROLES = {"tanpa_reveal": "Kecamatan", "dengan_reveal": "Dinsos"}  # Kecamatan may not reveal; Dinsos may


def _personal_cases() -> list[tuple[FormSpec, FieldSpec]]:
    found, errors = load_paths([ROOT / "forms"])
    assert not errors
    return [
        (part, f)
        for spec, _ in found.values()
        for part in all_tables(spec)
        for f in part.live_fields
        if f.type in ("nik", "kk")
    ]


CASES = _personal_cases()
CASE_IDS = [f"{part.slug}.{f.name}" for part, f in CASES]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The shipped forms with demo data, and a user of each role seeing the whole district."""
    with shipped_app(request, tmp_path_factory.mktemp("personal")) as app:
        for name, role in (*ROLES.items(), ("pengawas", "Admin")):
            add_user(app, name, role)
        with app.app_context():
            sm = app.appbuilder.sm
            user = sm.find_user("tanpa_reveal")
            user.region_scope = "63.09"
            sm.update_user(user)
        yield {"app": app}


@pytest.fixture(scope="module")
def clients(world: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in (*ROLES, "pengawas"):
        client = world["app"].test_client()
        login(client, name)
        out[name] = client
    return out


def _record(app: Any, part: FormSpec, field: FieldSpec) -> tuple[int, str]:
    """A record holding a value in the field, and that value."""
    column = column_name(field)
    with app.app_context():
        row = db.session.execute(
            sa.text(f"SELECT id, {column} FROM {part.table_name} WHERE {column} IS NOT NULL ORDER BY id LIMIT 1")
        ).one()
        db.session.rollback()
    return row[0], row[1]


def _access_log(app: Any) -> list[tuple[Any, ...]]:
    with app.app_context():
        rows = db.session.execute(
            sa.text("SELECT username, action, form, record_ids, purpose FROM simpul_access_log ORDER BY id")
        ).all()
        db.session.rollback()
    return [tuple(r) for r in rows]


def _route(part: FormSpec) -> str:
    return "/forms/" + part.slug.replace("__", "/")


def _api(client: Any, part: FormSpec, query: dict[str, Any] | None = None, pk: int | None = None) -> Any:
    url = f"/api/v1/{part.slug}/" + (str(pk) if pk is not None else "")
    return client.get(url, query_string={"q": prison.dumps(query)} if query else None)


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize(("part", "field"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("user", list(ROLES))
def test_no_full_number_without_the_logged_reveal(
    world: dict[str, Any], clients: dict[str, Any], part: FormSpec, field: FieldSpec, user: str
) -> None:
    app, client = world["app"], clients[user]
    pk, value = _record(app, part, field)
    column = column_name(field)
    before = len(_access_log(app))
    responses = {
        "list": _api(client, part),
        "get": _api(client, part, pk=pk),
        "list columns": _api(client, part, {"columns": ["id", column, field.name]}),
        "get columns": _api(client, part, {"columns": ["id", column, field.name]}, pk=pk),
        "list sel_columns": _api(client, part, {"select_columns": ["id", column]}),
        "screen list": client.get(f"{_route(part)}/list/"),
        "record page": client.get(f"{_route(part)}/show/{pk}"),
        "edit form": client.get(f"{_route(part)}/edit/{pk}"),
        "history search": client.post("/riwayat/", data={"nik": value}),
    }
    for path, response in responses.items():
        assert response.status_code in (200, 400), (path, response.status_code)
        assert value not in _text(response), path
    assert mask(value) in _text(responses["get"])
    assert json.loads(_text(responses["get columns"]))["result"][field.name] == mask(value)
    export = client.get(f"{_route(part)}/export/")
    assert export.status_code == 200
    cells = {str(c.value) for row in openpyxl.load_workbook(io.BytesIO(export.data)).active.iter_rows() for c in row}
    assert value not in cells and mask(value) in cells
    actions = [(row[1], row[2]) for row in _access_log(app)[before:]]
    assert "reveal" not in {a for a, _ in actions}
    assert ("export", part.slug) in actions


@pytest.mark.parametrize(("part", "field"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("user", list(ROLES))
def test_only_the_whole_number_finds_a_record_and_the_search_is_logged(
    world: dict[str, Any], clients: dict[str, Any], part: FormSpec, field: FieldSpec, user: str
) -> None:
    app, client = world["app"], clients[user]
    pk, value = _record(app, part, field)
    column = column_name(field)
    # every partial operator FAB knows, and the prefix/suffix/infix an attacker would try
    for opr in ("sw", "ew", "ct", "nct", "neq", "eq", "in", "gt", "lt", "whole", "any"):
        for piece in (value[:6], value[-6:], value[4:10], value[:15]):
            response = _api(client, part, {"filters": [{"col": column, "opr": opr, "value": piece}]})
            assert response.status_code == 400 or response.json["count"] == 0, (opr, piece)
    unfiltered = _rows(_text(client.get(f"{_route(part)}/list/")))
    for index in range(8):  # the screen's filters, by position: ignored, or matching nothing
        page = client.get(f"{_route(part)}/list/", query_string={f"_flt_{index}_{column}": value[:12]})
        assert page.status_code == 200 and _rows(_text(page)) in (unfiltered, []), index
    before = len(_access_log(app))
    whole = _api(client, part, {"filters": [{"col": column, "opr": "whole", "value": value}]})
    assert whole.status_code == 200 and pk in whole.json["ids"]
    screen = client.get(f"{_route(part)}/list/", query_string={f"_flt_0_{column}": value})
    # (the filter box shows back what the user typed; the table shows the number masked)
    assert screen.status_code == 200 and _rows(_text(screen)) and str(pk) in _rows(_text(screen))
    searches = [row for row in _access_log(app)[before:] if row[1] == "search"]
    assert [(row[0], row[2]) for row in searches] == [(user, part.slug)] * 2
    assert all(pk in json.loads(row[3]) for row in searches)


@pytest.mark.parametrize(("part", "field"), CASES, ids=CASE_IDS)
def test_the_quick_search_matches_a_number_only_whole(
    world: dict[str, Any], clients: dict[str, Any], part: FormSpec, field: FieldSpec
) -> None:
    if not field.in_search or not part.title_field:
        pytest.skip("not a searchable field")
    client = clients["tanpa_reveal"]
    pk, value = _record(app := world["app"], part, field)
    anchor = column_name(part.field(part.title_field))
    partial = _api(client, part, {"filters": [{"col": anchor, "opr": "any", "value": value[:12]}]})
    assert partial.status_code == 200 and pk not in partial.json["ids"]
    before = len(_access_log(app))
    found = _api(client, part, {"filters": [{"col": anchor, "opr": "any", "value": value}]})
    assert pk in found.json["ids"]
    assert [row[1] for row in _access_log(app)[before:]] == ["search"]


@pytest.mark.parametrize(("part", "field"), CASES, ids=CASE_IDS)
def test_lists_are_never_sorted_by_a_personal_number(
    world: dict[str, Any], clients: dict[str, Any], part: FormSpec, field: FieldSpec
) -> None:
    client = clients["tanpa_reveal"]
    column = column_name(field)
    for direction in ("asc", "desc"):
        refused = _api(client, part, {"order_column": column, "order_direction": direction})
        assert refused.status_code == 400
    default = _text(client.get(f"{_route(part)}/list/"))
    for direction in ("asc", "desc"):
        view = f"FormView_{part.slug}"
        page = client.get(f"{_route(part)}/list/", query_string={f"_oc_{view}": column, f"_od_{view}": direction})
        assert page.status_code == 200 and _rows(_text(page)) == _rows(default)
        assert f"_oc_{view}={column}" not in default  # no sortable header either


def _rows(page: str) -> list[str]:
    import re

    return re.findall(r'/show/(\d+)"', page)


@pytest.mark.parametrize(("part", "field"), CASES, ids=CASE_IDS)
def test_history_tab_and_audit_trail_stay_masked(
    world: dict[str, Any], clients: dict[str, Any], part: FormSpec, field: FieldSpec
) -> None:
    app = world["app"]
    pk, value = _record(app, part, field)
    with app.app_context():
        audit_id = db.session.execute(
            sa.text("SELECT id FROM simpul_audit WHERE form = :f AND record_id = :r ORDER BY id LIMIT 1"),
            {"f": part.slug, "r": pk},
        ).scalar()
        db.session.rollback()
    admin = clients["pengawas"]
    if audit_id is not None:
        page = _text(admin.get(f"/keamanan/audit/show/{audit_id}"))
        assert value not in page and mask(value) in page
    for user in (*ROLES, "pengawas"):
        page = _text(clients[user].get(f"{_route(part)}/show/{pk}"))
        assert value not in page


@pytest.mark.parametrize(("part", "field"), CASES, ids=CASE_IDS)
def test_the_reveal_is_for_permitted_roles_with_a_purpose_and_logged(
    world: dict[str, Any], clients: dict[str, Any], part: FormSpec, field: FieldSpec
) -> None:
    app = world["app"]
    pk, value = _record(app, part, field)
    refused, allowed = clients["tanpa_reveal"], clients["dengan_reveal"]
    before = len(_access_log(app))
    assert refused.get(f"/api/v1/{part.slug}/{pk}?reveal=true&purpose=cek%20identitas").status_code == 403
    assert value not in _text(refused.post(f"{_route(part)}/reveal/{pk}", data={"purpose": "cek identitas"}))
    # a purpose is required
    assert allowed.get(f"/api/v1/{part.slug}/{pk}?reveal=true").status_code == 400
    assert value not in _text(allowed.post(f"{_route(part)}/reveal/{pk}", data={"purpose": " "}))
    assert _access_log(app)[before:] == []
    shown = allowed.get(f"/api/v1/{part.slug}/{pk}?reveal=true&purpose=verifikasi%20data")
    assert shown.json["result"][field.name] == value
    page = allowed.post(f"{_route(part)}/reveal/{pk}", data={"purpose": "verifikasi data"})
    assert value in _text(page)
    assert [(r[0], r[1], r[2], r[4]) for r in _access_log(app)[before:]] == [
        ("dengan_reveal", "reveal", part.slug, "verifikasi data")
    ] * 2
