"""The REST API answers as its OpenAPI spec says, on the shipped forms, on SQLite and PostgreSQL.

Plain tests pin what the spec promises (integer ids, timestamps with their offset, nullable
region codes, POST/PUT results, error bodies, `_info`, the region API's parameters, 401 for
calls without a credential), each checked against a real answer. Then a bounded schemathesis
run (tests/contract.py) fails on any 5xx, undocumented status, wrong content type, answer
outside its schema, or call served without a valid JWT. bench/api_fuzz.py is the long run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa

from app import create_app
from app.database import dispose_app
from app.extensions import db
from tests.conftest import BACKENDS, add_user, app_with_forms, shipped_app
from tests.contract import FUZZ_PASSWORD, FUZZ_USER, SPEC_PATH, api_server, fuzz, fuzz_token
from tests.live_load import Gunicorn
from tests.test_field_roundtrip import EVERYTHING, PROGRAM

# CI's bound: about a minute per database on two cores. Writes get the coverage phase's edge
# values and generated cases; reads (FAB's one `q` parser on every form) get generated cases only.
# bench/api_fuzz.py runs everything, ten times as many.
CI_MAX_EXAMPLES = 10
FORM_OPERATIONS = {"get_list": ("", "get"), "post": ("", "post"), "get": ("{pk}", "get"), "put": ("{pk}", "put")}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The shipped forms with demo data, an Admin's JWT, the served spec; CSRF on as in production."""
    tmp = tmp_path_factory.mktemp("contract")
    with shipped_app(request, tmp) as shipped:
        add_user(shipped, FUZZ_USER, "Admin", password=FUZZ_PASSWORD)
        # Errors answer 500 as a real server does, instead of being raised into the test.
        app = create_app({**shipped.test_config, "WTF_CSRF_ENABLED": True, "PROPAGATE_EXCEPTIONS": False})
        try:
            client = app.test_client()
            login = {"username": FUZZ_USER, "password": FUZZ_PASSWORD, "provider": "db"}
            token = client.post("/api/v1/security/login", json=login).json["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            spec = client.get(SPEC_PATH, headers=headers).json
            yield {"app": app, "headers": headers, "client": client, "spec": spec, "tmp": tmp}
        finally:
            dispose_app(app)


@pytest.fixture(scope="module")
def server(world: dict[str, Any]) -> Iterator[Gunicorn]:
    """gunicorn serving the world's database in its own process."""
    config = world["app"].config
    with api_server(config["DATABASE_URL"], config["UPLOAD_DIR"], world["tmp"] / "gunicorn.log") as running:
        yield running


def form_paths(spec: dict[str, Any]) -> list[str]:
    """The collection path of every generated form API (/api/v1/<slug>/)."""
    return [p for p in spec["paths"] if p.endswith("/") and f"{p}_info" in spec["paths"]]


def documented(spec: dict[str, Any], path: str, method: str, response: Any) -> None:
    """The answer's status is documented for the operation, and its body matches that schema."""
    operation = spec["paths"][path][method]
    assert str(response.status_code) in operation["responses"], (path, method, response.status_code)
    assert response.is_json, response.get_data(as_text=True)[:300]
    schemathesis.openapi.from_dict(spec)[path][method.upper()].validate_response(response)


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its top-level $ref followed."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def success_schema(spec: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    return resolve(spec, spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"])


def test_every_form_api_documents_integer_ids_and_its_stored_record(world: dict[str, Any]) -> None:
    spec = world["spec"]
    paths = form_paths(spec)
    assert len(paths) >= 15  # every shipped form and child table
    for path in paths:
        listing = success_schema(spec, path, "get", "200")["properties"]
        assert listing["ids"]["items"] == {"type": "integer"} and listing["count"]["type"] == "integer"
        for method, status in (("post", "201"), ("put", "200")):
            answer = success_schema(spec, path if method == "post" else f"{path}{{pk}}", method, status)
            assert answer["properties"]["id"] == {"type": "integer"}
            # the stored record as GET shows it, not the request body
            assert answer["properties"]["result"]["$ref"].endswith(".get")
        item = success_schema(spec, f"{path}{{pk}}", "get", "200")["properties"]
        assert item["id"] == {"type": "integer"}


def test_a_record_added_and_changed_is_answered_as_documented(world: dict[str, Any]) -> None:
    client, headers, spec = world["client"], world["headers"], world["spec"]
    added = client.post("/api/v1/jenis_bantuan/", json={"nama": "Kontrak API", "satuan": "paket"}, headers=headers)
    assert added.status_code == 201, added.json
    documented(spec, "/api/v1/jenis_bantuan/", "post", added)
    assert isinstance(added.json["id"], int) and added.json["result"]["nama"] == "Kontrak API"
    changed = client.put(f"/api/v1/jenis_bantuan/{added.json['id']}", json={"satuan": "kg"}, headers=headers)
    assert changed.status_code == 200, changed.json
    documented(spec, "/api/v1/jenis_bantuan/{pk}", "put", changed)
    assert changed.json["result"]["satuan"] == "kg"
    listing = client.get("/api/v1/jenis_bantuan/", headers=headers)
    documented(spec, "/api/v1/jenis_bantuan/", "get", listing)
    assert all(isinstance(i, int) for i in listing.json["ids"])


def test_timestamps_are_sent_in_the_offices_zone_with_their_offset(world: dict[str, Any]) -> None:
    client, headers, spec = world["client"], world["headers"], world["spec"]
    stamp = success_schema(spec, "/api/v1/rujukan/{pk}", "get", "200")["properties"]["result"]
    created = resolve(spec, stamp)["properties"]["created_on"]
    assert created["format"] == "date-time" and "time zone" in created["description"]
    with world["app"].app_context():
        query = sa.text("SELECT id, created_on FROM form_rujukan ORDER BY id LIMIT 1").columns(created_on=sa.DateTime)
        stored = db.session.execute(query).one()
    answer = client.get(f"/api/v1/rujukan/{stored.id}", headers=headers)
    documented(spec, "/api/v1/rujukan/{pk}", "get", answer)
    sent = answer.json["result"]["created_on"]
    assert sent.endswith("+08:00"), sent  # the demo office is Tabalong: WITA
    assert datetime.fromisoformat(sent).utcoffset() == timedelta(hours=8)
    assert datetime.fromisoformat(sent).astimezone(UTC).replace(tzinfo=None) == stored.created_on  # naive UTC


def test_a_shared_list_record_has_a_null_region_code_as_documented(world: dict[str, Any]) -> None:
    client, headers, spec = world["client"], world["headers"], world["spec"]
    region = resolve(
        spec, success_schema(spec, "/api/v1/program_bantuan/", "get", "200")["properties"]["result"]["items"]
    )
    assert region["properties"]["region_code"]["nullable"] is True
    answer = client.get("/api/v1/program_bantuan/", headers=headers)  # region_field: false
    documented(spec, "/api/v1/program_bantuan/", "get", answer)
    assert answer.json["result"] and all(r["region_code"] is None for r in answer.json["result"])


def test_error_bodies_are_as_documented(world: dict[str, Any]) -> None:
    client, headers, spec = world["client"], world["headers"], world["spec"]
    refused = client.post("/api/v1/puskesos/", json={"nama": ""}, headers=headers)
    assert refused.status_code == 422 and isinstance(refused.json["message"], dict), refused.json
    documented(spec, "/api/v1/puskesos/", "post", refused)
    missing = client.get("/api/v1/puskesos/999999", headers=headers)
    assert missing.status_code == 404
    documented(spec, "/api/v1/puskesos/{pk}", "get", missing)
    malformed = client.get("/api/v1/puskesos/?q=(order_column:nothing)", headers=headers)
    assert malformed.status_code == 400
    documented(spec, "/api/v1/puskesos/", "get", malformed)
    not_json = client.post("/api/v1/puskesos/", data="nama=x", content_type="text/plain", headers=headers)
    assert not_json.status_code == 400
    documented(spec, "/api/v1/puskesos/", "post", not_json)
    forged = client.get("/api/v1/puskesos/", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401
    documented(spec, "/api/v1/puskesos/", "get", forged)


def test_calls_without_a_credential_are_refused_401_as_documented(world: dict[str, Any]) -> None:
    """CSRF is on (as in production), and a call with no cookie and no JWT is a 401, not a CSRF 400."""
    spec, anonymous = world["spec"], world["app"].test_client()
    for path in form_paths(spec):
        for method, operation in (*spec["paths"][path].items(), *spec["paths"][f"{path}{{pk}}"].items()):
            assert "401" in operation["responses"], (path, method)
            assert operation["security"] == [{"jwt": []}]  # API keys are off: not offered
    for method, url in (("post", "/api/v1/instansi/"), ("put", "/api/v1/instansi/1"), ("delete", "/api/v1/instansi/1")):
        answer = getattr(anonymous, method)(url, json={"nama": "x"})
        assert answer.status_code == 401, (method, answer.get_data(as_text=True))
        documented(spec, url.replace("/1", "/{pk}"), method, answer)
    answer = anonymous.get("/api/v1/wilayah/children/")
    assert answer.status_code == 401
    documented(spec, "/api/v1/wilayah/children/", "get", answer)


def test_info_is_documented_as_it_answers(world: dict[str, Any]) -> None:
    client, headers, spec = world["client"], world["headers"], world["spec"]
    info = success_schema(spec, "/api/v1/kelompok_usaha/_info", "get", "200")["properties"]
    assert info["add_columns"]["type"] == "array" and info["add_columns"]["items"]["$ref"].endswith("/FieldInfo")
    assert info["filters"]["additionalProperties"]["type"] == "array"
    answer = client.get("/api/v1/kelompok_usaha/_info", headers=headers)
    documented(spec, "/api/v1/kelompok_usaha/_info", "get", answer)
    assert {c["name"] for c in answer.json["add_columns"]} >= {"nama_kelompok", "desa"}


def test_the_region_api_is_documented_with_its_parameters(world: dict[str, Any]) -> None:
    client, headers, spec = world["client"], world["headers"], world["spec"]
    children = spec["paths"]["/api/v1/wilayah/children/{code}"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in children["parameters"]] == [("code", "path", True)]
    search = spec["paths"]["/api/v1/wilayah/search/"]["get"]
    assert {p["name"]: p["schema"]["type"] for p in search["parameters"]} == {
        "q": "string",
        "level": "integer",
        "within": "string",
    }
    assert "parameters" not in spec["paths"]["/api/v1/wilayah/children/"]["get"]
    for url, path in (
        ("/api/v1/wilayah/children/", "/api/v1/wilayah/children/"),
        ("/api/v1/wilayah/children/63.09", "/api/v1/wilayah/children/{code}"),
        ("/api/v1/wilayah/children/bukan-kode", "/api/v1/wilayah/children/{code}"),
        ("/api/v1/wilayah/search/?q=tanjung&level=3&within=63.09", "/api/v1/wilayah/search/"),
    ):
        answer = client.get(url, headers=headers)
        documented(spec, path, "get", answer)
    assert [r["name"] for r in answer.json["result"]] == ["Tanjung"]


@pytest.fixture
def every_type_app(empty_app: Any) -> Any:
    """A form with a field of every type (tests/test_field_roundtrip.py's), one record in each table."""
    app = app_with_forms(empty_app, PROGRAM, EVERYTHING)
    client = app.test_client()
    client.post("/login/", data={"username": "admin", "password": "admin-pass"})
    assert client.post("/api/v1/program/", json={"nama": "Sembako"}).status_code == 201
    body = {
        "teks": "Halo",
        "bulat": 42,
        "desimal": "3.25",
        "uang": 1250000,
        "tanggal": "2020-11-04",
        "waktu": "2020-11-05T08:30:00",
        "ya": True,
        "status": "aktif",
        "warna": ["biru", "merah"],
        "nik": "6309014507900001",
        "desa": "63.09.01.2001",
        "program": 1,
    }
    record = client.post("/api/v1/semua/", json=body)
    assert record.status_code == 201, record.json
    assert (
        client.post("/api/v1/semua__anggota/", json={"parent_id": record.json["id"], "nama": "Siti"}).status_code == 201
    )
    app.contract_client = client  # type: ignore[attr-defined]
    return app


def test_every_field_type_is_answered_as_documented(every_type_app: Any) -> None:
    client = every_type_app.contract_client
    spec = client.get(SPEC_PATH).json
    for url, path in (
        ("/api/v1/semua/", "/api/v1/semua/"),
        ("/api/v1/semua/1", "/api/v1/semua/{pk}"),
        ("/api/v1/semua__anggota/", "/api/v1/semua__anggota/"),
        ("/api/v1/semua/_info", "/api/v1/semua/_info"),
    ):
        documented(spec, path, "get", client.get(url))
    result = client.get("/api/v1/semua/1").json["result"]
    # a datetime field is the wall-clock time entered; only the system's stamps carry an offset
    assert result["waktu"] == "2020-11-05T08:30:00" and result["created_on"].endswith("+08:00")  # DISTRICT 63.09
    assert result["uang"] == "1250000.00" and result["program"] == {"id": 1, "title": "Sembako"}
    assert result["nik"] == "6309********0001"


def test_every_api_answers_as_documented_under_fuzzing(world: dict[str, Any], server: Gunicorn) -> None:
    """Schemathesis over every form API and the region API: no 5xx, nothing undocumented."""
    report = fuzz(server.base, fuzz_token(server.base), max_examples=CI_MAX_EXAMPLES, read_coverage=False)
    print(f"{report.cases} cases over {report.operations} operations in {report.seconds:.0f} s")
    assert report.operations >= len(form_paths(world["spec"])) * 6 + 3
    assert report.cases > report.operations * 10
    problems = "\n\n".join(str(f) for f in report.findings)
    assert not report.findings, f"{len(report.findings)} finding(s): {dict(report.by_kind())}\n\n{problems}"
