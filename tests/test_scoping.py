"""Region scoping on every path: a generated matrix of every shipped form × every path × users of
two kecamatan and one desa, on the demo data, on SQLite and PostgreSQL.

What each user should see is computed here with plain SQL (LIKE on the region code, joins to
the owning record), independently of app/access/scope.py; screens and API must agree with it exactly,
and every record outside the user's working area must answer 404.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.spec import FormSpec
from app.forms_engine.store import published_specs
from app.forms_engine.tables import all_tables
from tests.conftest import BACKENDS, ROOT, add_user, login, shipped_app

ALL_FORMS_ROLE = "Uji Semua Formulir"  # every permission on every form: scoping alone decides


def _shipped_tables() -> list[FormSpec]:
    from app.forms_engine.loader import load_paths

    found, errors = load_paths([ROOT / "forms"])
    assert not errors
    return [part for spec, _ in found.values() for part in all_tables(spec)]


TABLES = _shipped_tables()
USERS = ("kec_a", "kec_b", "desa_a")


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The shipped forms with demo data; three scoped users; who-should-see-what from SQL."""
    with shipped_app(request, tmp_path_factory.mktemp("scoping")) as app:
        with app.app_context():
            specs = published_specs(db.session.connection())
            scopes = _pick_scopes(specs)
            db.session.rollback()
        for name, (kind, _scope) in scopes.items():
            add_user(app, name, kind)
        with app.app_context():
            sm = app.appbuilder.sm
            role = sm.add_role(ALL_FORMS_ROLE)
            for spec in specs.values():
                for perm in ("can_read", "can_add", "can_edit", "can_delete"):
                    sm.add_permission_role(role, sm.find_permission_view_menu(perm, f"form_{spec.slug}"))
            for name, (_kind, scope) in scopes.items():
                user = sm.find_user(name)
                user.roles.append(role)
                user.region_scope = scope
                sm.update_user(user)
            expected = {
                name: {part.slug: _visible_ids(specs, part, scope) for part in TABLES}
                for name, (_, scope) in scopes.items()
            }
            everything = {part.slug: _visible_ids(specs, part, "") for part in TABLES}
        scoped_parents = {p.slug for p in TABLES if p.region_field}
        yield {
            "app": app,
            "expected": expected,
            "scoped_parents": scoped_parents,
            "all": everything,
            "scopes": scopes,
            "specs": specs,
        }


def _pick_scopes(specs: dict[str, FormSpec]) -> dict[str, tuple[str, str]]:
    """Two kecamatan with the most roster lines, and the busiest desa of the first."""
    rows = db.session.execute(sa.text("SELECT desa FROM form_penerima_bantuan")).scalars().all()
    kecamatan = [code for code, _ in Counter(d[:8] for d in rows).most_common(2)]
    desa = Counter(d for d in rows if d.startswith(kecamatan[0])).most_common(1)[0][0]
    return {
        "kec_a": ("Kecamatan", kecamatan[0]),
        "kec_b": ("Kecamatan", kecamatan[1]),
        "desa_a": ("Operator Desa", desa),
    }


def _visible_ids(specs: dict[str, FormSpec], part: FormSpec, scope: str) -> set[int]:
    """Ids a user with this scope should see, by plain SQL ('' = everything)."""
    table = part.table_name
    all_parts = {p.slug: p for s in specs.values() for p in all_tables(s)}
    if scope and part.region_field:
        field = part.field(part.region_field)
        column = column_name(field)
        if field.type == "region":
            sql = f"SELECT id FROM {table} WHERE {column} = :s OR {column} LIKE :p"
            return set(db.session.execute(sa.text(sql), {"s": scope, "p": scope + ".%"}).scalars())
        owners = _visible_ids(specs, all_parts[field.target], scope)  # type: ignore[index]
        rows = db.session.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
        return {i for i, owner in rows if owner in owners}
    if scope and part.parent:
        parents = _visible_ids(specs, all_parts[part.parent], scope)
        rows = db.session.execute(sa.text(f"SELECT id, parent_id FROM {table}")).all()
        return {i for i, parent in rows if parent in parents}
    return set(db.session.execute(sa.text(f"SELECT id FROM {table}")).scalars())


@pytest.fixture(scope="module")
def clients(world: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name in USERS:
        client = world["app"].test_client()
        login(client, name)
        out[name] = client
    return out


def _route(part: FormSpec) -> str:
    return "/forms/" + part.slug.replace("__", "/")


def _api_ids(client: Any, slug: str, extra: str = "") -> tuple[int, set[int]]:
    """Every id the list API gives, page by page (small pages: deep ones are read in reverse)."""
    ids: set[int] = set()
    count, page = None, 0
    while True:
        response = client.get(
            f"/api/v1/{slug}/?q=(page:{page},page_size:7,order_column:id,order_direction:desc{extra})"
        )
        assert response.status_code == 200, response.json
        body = response.json
        count = body["count"]
        ids |= set(body["ids"])
        page += 1
        if page * 7 >= count:
            return count, ids


def _screen_count(client: Any, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    match = re.search(r"<strong>[^<]*:</strong>\s*(\d+)", response.get_data(as_text=True))
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("part", TABLES, ids=lambda p: p.slug)
def test_each_user_sees_exactly_their_records_on_every_path(
    world: dict[str, Any], clients: dict[str, Any], part: FormSpec, user: str
) -> None:
    client = clients[user]
    mine = world["expected"][user][part.slug]
    others = sorted(world["all"][part.slug] - mine)
    scoped_form = mine != world["all"][part.slug]
    if part.region_field or part.parent in world["scoped_parents"]:
        # the demo data must give every scoped form records outside each area (else no 404 is tried),
        # and the busiest kecamatan records of their own in every sizeable form
        assert others
        assert mine or user == "desa_a" or len(world["all"][part.slug]) < 15

    # list: screen count, API count and ids over every page (a singleton's list opens its record)
    if part.singleton:
        target = client.get(f"{_route(part)}/list/").headers["Location"]
        assert target.endswith(f"/show/{min(mine)}" if mine else "/add")
    else:
        assert _screen_count(client, f"{_route(part)}/list/") == len(mine)
    count, ids = _api_ids(client, part.slug)
    assert (count, ids) == (len(mine), mine)

    # search and filters never widen the scope: a search for another area's record finds nothing
    spec = part
    if spec.title_field and others and spec.field(spec.title_field).type in ("text",):
        with world["app"].app_context():
            title = db.session.execute(
                sa.text(f"SELECT {column_name(spec.field(spec.title_field))} FROM {spec.table_name} WHERE id = :i"),
                {"i": others[0]},
            ).scalar()
        if title:
            value = title.replace("'", "!'")
            _count, found = _api_ids(client, part.slug, f",filters:!((col:{spec.title_field},opr:ct,value:'{value}'))")
            assert found <= mine and others[0] not in found

    # a record of another area: 404 on every screen and API path, and left untouched
    for pk in others[:3]:
        assert client.get(f"{_route(part)}/show/{pk}").status_code == 404
        assert client.get(f"{_route(part)}/edit/{pk}").status_code == 404
        assert client.post(f"{_route(part)}/edit/{pk}", data={}).status_code == 404
        assert client.post(f"{_route(part)}/delete/{pk}").status_code == 404
        assert client.get(f"/api/v1/{part.slug}/{pk}").status_code == 404
        assert client.put(f"/api/v1/{part.slug}/{pk}", json={}).status_code == 404
        assert client.delete(f"/api/v1/{part.slug}/{pk}").status_code == 404
        for f in part.live_fields:
            if f.type in ("file", "photo"):
                assert client.get(f"{_route(part)}/file/{pk}/{f.name}").status_code == 404
    if scoped_form:
        with world["app"].app_context():
            stored = db.session.execute(sa.text(f"SELECT count(*) FROM {part.table_name}")).scalar()
        assert stored == len(world["all"][part.slug])
    # a record of one's own area opens
    for pk in sorted(mine)[:1]:
        assert client.get(f"{_route(part)}/show/{pk}").status_code == 200
        assert client.get(f"/api/v1/{part.slug}/{pk}").status_code == 200

    # reference pickers and API lookups offer only records the user may see
    references = [f for f in part.live_fields if f.type == "reference"]
    if references:
        page = client.get(f"{_route(part)}/add").get_data(as_text=True)
        info = client.get(
            f"/api/v1/{part.slug}/_info?q=(add_columns:("
            + ",".join(f"{f.name}:(page_size:100)" for f in references)
            + "))"
        ).json
        for f in references:
            target = world["expected"][user][f.target]  # type: ignore[index]
            select = re.search(rf'<select[^>]*id="{f.name}"[^>]*>(.*?)</select>', page, re.S)
            assert select, f.name
            offered = {int(v) for v in re.findall(r'value="(\d+)"', select.group(1))}
            assert offered == target
            # the API takes ids; if its _info ever lists choices, they must be scoped too
            column = next(c for c in info["add_columns"] if c["name"] == f.name)
            assert column.get("count", len(target)) == len(target)
            assert {v["id"] for v in column.get("values", [])} <= target


@pytest.mark.parametrize("user", USERS)
def test_recipient_history_only_shows_the_users_area(world: dict[str, Any], clients: dict[str, Any], user: str) -> None:
    mine = world["expected"][user]["penerima_bantuan"]
    with world["app"].app_context():
        rows = db.session.execute(sa.text("SELECT id, nik FROM form_penerima_bantuan")).all()
    own = next(nik for i, nik in rows if i in mine)
    foreign = next(nik for i, nik in rows if i not in mine and nik not in {n for j, n in rows if j in mine})
    assert "Bantuan" in history_text(clients[user], own)
    assert "/forms/penerima_bantuan/show/" not in history_text(clients[user], foreign)


def history_text(client: Any, nik: str) -> str:
    response = client.post("/riwayat/", data={"nik": nik})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def client_text(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_nobody_creates_or_moves_a_record_outside_their_area(world: dict[str, Any], clients: dict[str, Any]) -> None:
    client = clients["desa_a"]
    own_desa = world["scopes"]["desa_a"][1]
    other_desa = next(code for code in _desa_codes(world) if not code.startswith(own_desa) and code[:8] != own_desa[:8])
    program = min(world["all"]["program_bantuan"])
    person = {
        "program": program,
        "nik": "6309015507900003",
        "nama": "Siti Aminah",
        "no_kk": "6309010101200003",
        "alamat": "Jl. Mawar 1",
        "confirm_warnings": True,
    }
    response = client.post("/api/v1/penerima_bantuan/", json={**person, "desa": other_desa})
    assert response.status_code == 422, response.json
    assert "desa" in response.json["message"], response.json
    response = client.post("/api/v1/penerima_bantuan/", json={**person, "desa": own_desa})
    assert response.status_code == 201, response.json
    pk = response.json["id"]
    response = client.put(f"/api/v1/penerima_bantuan/{pk}", json={"desa": other_desa})
    assert response.status_code == 422 and "desa" in response.json["message"]
    # through the screen: the same refusal, named on the field
    page = client.post(f"/forms/penerima_bantuan/edit/{pk}", data={**person, "desa": other_desa, "program": program})
    assert page.status_code == 200 and "wilayah kerja" in page.get_data(as_text=True)
    with world["app"].app_context():
        assert (
            db.session.execute(sa.text("SELECT desa FROM form_penerima_bantuan WHERE id = :i"), {"i": pk}).scalar()
            == own_desa
        )
    # a child row cannot be hung under another area's record
    foreign = min(world["all"]["puskesos"] - world["expected"]["desa_a"]["puskesos"])
    response = client.post(
        "/api/v1/puskesos__pengurus/",
        json={"parent_id": foreign, "nama": "Budi", "peran": "anggota"},
    )
    assert response.status_code == 422 and "parent_id" in response.json["message"]
    assert client.delete(f"/api/v1/penerima_bantuan/{pk}").status_code == 200


def _desa_codes(world: dict[str, Any]) -> list[str]:
    with world["app"].app_context():
        return list(db.session.execute(sa.text("SELECT DISTINCT desa FROM form_penerima_bantuan")).scalars())


def test_uploaded_files_are_served_only_within_the_area(world: dict[str, Any], clients: dict[str, Any]) -> None:
    app = world["app"]
    theirs = min(world["expected"]["kec_b"]["puskesos"])
    key = "puskesos/sk_berkas/0123456789abcdef/sk.pdf"
    path = Path(app.config["UPLOAD_DIR"]) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 test")
    with app.app_context():
        db.session.execute(sa.text("UPDATE form_puskesos SET sk_berkas = :k WHERE id = :i"), {"k": key, "i": theirs})
        db.session.commit()
    response = clients["kec_b"].get(f"/forms/puskesos/file/{theirs}/sk_berkas")
    assert response.data == b"%PDF-1.4 test"
    response.close()
    assert clients["kec_a"].get(f"/forms/puskesos/file/{theirs}/sk_berkas").status_code == 404


def test_the_api_with_a_jwt_is_scoped_the_same(world: dict[str, Any]) -> None:
    client = world["app"].test_client()
    response = client.post(
        "/api/v1/security/login", json={"username": "kec_b", "password": "admin-pass", "provider": "db"}
    )
    assert response.status_code == 200, response.json
    headers = {"Authorization": f"Bearer {response.json['access_token']}"}
    mine = world["expected"]["kec_b"]["penerima_bantuan"]
    body = client.get("/api/v1/penerima_bantuan/?q=(page_size:100)", headers=headers).json
    assert body["count"] == len(mine) and set(body["ids"]) <= mine
    foreign = min(world["all"]["penerima_bantuan"] - mine)
    assert client.get(f"/api/v1/penerima_bantuan/{foreign}", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/penerima_bantuan/{foreign}", headers=headers).status_code == 404
