"""Every field type goes in and comes back out unchanged, through the screens and the API."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.forms_engine.fieldtypes import Invalid, check, column_name, convert, numeric_bounds
from app.forms_engine.spec import FieldSpec
from app.forms_engine.tables import field_column
from tests.conftest import BACKENDS, app_with_forms, login, publish_yaml, rebuilt, spec_of
from tests.postgres import scratch_database

PROGRAM = """
form: program
title: {id: Program, en: Programme}
fields:
  - {name: nama, type: text, label: Nama, required: true}
"""

EVERYTHING = """
form: semua
title: {id: Semua jenis, en: Every type}
fields:
  - {name: teks, type: text, label: Teks, required: true}
  - {name: panjang, type: longtext, label: Teks panjang}
  - {name: bulat, type: integer, label: Bilangan bulat, min: 0}
  - {name: desimal, type: decimal, label: Desimal, scale: 2}
  - {name: uang, type: money, label: Uang}
  - {name: tanggal, type: date, label: Tanggal}
  - {name: waktu, type: datetime, label: Waktu}
  - {name: ya, type: boolean, label: Ya/tidak}
  - {name: status, type: choice, label: Status, choices: [{value: aktif, label: {id: Aktif, en: Active}}, {value: mati, label: Tidak aktif}]}
  - {name: warna, type: multichoice, label: Warna, choices: [merah, hijau, biru]}
  - {name: surel, type: email, label: Email}
  - {name: hp, type: phone, label: HP}
  - {name: nik, type: nik, label: NIK}
  - {name: desa, type: region, level: desa, label: Desa}
  - {name: program, type: reference, target: program, label: Program}
  - {name: berkas, type: file, label: Berkas}
  - {name: foto, type: photo, label: Foto}
  - {name: anggota, type: child, label: Anggota, fields: [{name: nama, type: text, label: Nama, required: true}, {name: umur, type: integer, label: Umur}]}
"""

STORED = {
    "teks": "Halo",
    "panjang": "baris 1\nbaris 2",
    "bulat": 42,
    "desimal": Decimal("3.25"),
    "uang": Decimal("1250000.00"),
    "tanggal": date(2020, 11, 4),
    "waktu": datetime(2020, 11, 5, 8, 30),
    "ya": True,
    "status": "aktif",
    "warna": ["merah", "biru"],
    "surel": "dinsos@tabalong.go.id",
    "hp": "+6281234567890",
    "nik": "6309014507900001",
    "desa": "63.09.01.2001",
    "program_id": 1,
}


@pytest.fixture
def app(empty_app: Any) -> Any:
    fresh = app_with_forms(empty_app, PROGRAM, EVERYTHING)
    with fresh.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO form_program (nama) VALUES ('Sembako')"))
    return fresh


def stored(app: Any, record_id: int) -> dict[str, Any]:
    with app.app_context(), db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM form_semua WHERE id = :id"), {"id": record_id}).mappings().one()
    return dict(row)


def assert_stored(app: Any, record_id: int) -> None:
    row = stored(app, record_id)
    for key, value in STORED.items():
        got = row[key]
        if key == "ya":
            got = bool(got)
        if isinstance(value, Decimal):
            got = Decimal(str(got))
        if isinstance(value, date) and isinstance(got, str):  # SQLite returns text for raw SQL
            got = datetime.fromisoformat(got) if isinstance(value, datetime) else date.fromisoformat(got)
        if key == "warna" and isinstance(got, str):
            import json

            got = json.loads(got)
        assert got == value, key


def test_screen_round_trip(app: Any, client: Any) -> None:
    form = {
        "teks": "Halo",
        "panjang": "baris 1\nbaris 2",
        "bulat": "42",
        "desimal": "3,25".replace(",", "."),
        "uang": "Rp 1.250.000",
        "tanggal": "2020-11-04",
        "waktu": "2020-11-05 08:30:00",
        "ya": "y",
        "status": "aktif",
        "warna": ["merah", "biru"],
        "surel": "dinsos@tabalong.go.id",
        "hp": "0812-3456-7890",
        "nik": "6309014507900001",
        "desa": "63.09.01.2001",
        "program": "1",
        "berkas": (io.BytesIO(b"%PDF-1.4 test"), "sk.pdf"),
        "foto": (io.BytesIO(b"\x89PNG\r\n"), "foto.png"),
    }
    response = client.post("/forms/semua/add", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:3000]
    assert_stored(app, 1)
    show = client.get("/forms/semua/show/1").data.decode()
    for shown in (
        "Rp 1.250.000",
        "04-11-2020",
        "05-11-2020 08:30",
        "Aktif",
        "merah, biru",
        "+6281234567890",
        "Sembako",
        "sk.pdf",
    ):
        assert shown in show, shown
    edit = client.get("/forms/semua/edit/1").data.decode()
    # the edit form shows the NIK masked even to Admin: the logged reveal is the only way to see it
    assert 'value="04-11-2020"' in edit and 'value="6309********0001"' in edit and "6309014507900001" not in edit
    key = stored(app, 1)["berkas"]
    with client.get("/forms/semua/file/1/berkas") as download:
        assert download.status_code == 200 and download.data == b"%PDF-1.4 test"
    # editing without sending files keeps them
    form.pop("berkas"), form.pop("foto")
    assert client.post("/forms/semua/edit/1", data=form, content_type="multipart/form-data").status_code == 302
    assert stored(app, 1)["berkas"] == key
    assert_stored(app, 1)


def test_api_round_trip(app: Any, client: Any) -> None:
    body = {
        "teks": "Halo",
        "panjang": "baris 1\nbaris 2",
        "bulat": 42,
        "desimal": "3.25",
        "uang": 1250000,
        "tanggal": "2020-11-04",
        "waktu": "2020-11-05T08:30:00",
        "ya": True,
        "status": "aktif",
        "warna": ["biru", "merah"],
        "surel": "dinsos@tabalong.go.id",
        "hp": "+62 812 3456 7890",
        "nik": "6309014507900001",
        "desa": "63.09.01.2001",
        "program": 1,
    }
    response = client.post("/api/v1/semua/", json=body)
    assert response.status_code == 201, response.json
    record_id = response.json["id"]
    assert_stored(app, record_id)
    result = client.get(f"/api/v1/semua/{record_id}").json["result"]
    assert result["uang"] == "1250000.00" and result["desimal"] == "3.25"
    assert result["tanggal"] == "2020-11-04" and result["waktu"] == "2020-11-05T08:30:00"
    assert result["warna"] == ["merah", "biru"] and result["program"] == {"id": 1, "title": "Sembako"}
    assert result["hp"] == "+6281234567890" and result["ya"] is True
    # a partial update changes only what it names
    assert client.put(f"/api/v1/semua/{record_id}", json={"bulat": 43}).status_code == 200
    assert client.get(f"/api/v1/semua/{record_id}").json["result"]["teks"] == "Halo"


def test_child_rows_through_api_and_screen(app: Any, client: Any) -> None:
    parent = client.post("/api/v1/semua/", json={"teks": "Induk"}).json["id"]
    response = client.post("/api/v1/semua__anggota/", json={"parent_id": parent, "nama": "Siti", "umur": 41})
    assert response.status_code == 201, response.json
    assert client.get(f"/api/v1/semua/{parent}").json["result"]["anggota"][0]["nama"] == "Siti"
    response = client.post(
        f"/forms/semua/anggota/add?_flt_0_parent={parent}", data={"nama": "Budi", "umur": "7", "parent": str(parent)}
    )
    assert response.status_code == 302
    assert "Budi" in client.get(f"/forms/semua/show/{parent}").data.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bulat", "x", "must be a whole number"),
        ("bulat", -1, "must be at least 0"),
        ("uang", "banyak", "must be a number"),
        ("tanggal", "31-02-2020", "must be a date"),
        ("status", "hidup", "'hidup' is not one of the choices"),
        ("warna", ["ungu"], "'ungu' is not one of the choices"),
        ("surel", "bukan-email", "is not a valid e-mail address"),
        ("hp", "12345", "is not an Indonesian phone number"),
        ("nik", "6309013102900001", "NIK: birth date 31-02 is not valid"),
        ("desa", "63.09", "must be a region code at level desa"),
        ("teks", "", "is required"),
    ],
)
def test_the_same_rules_in_api_and_screen(client: Any, field: str, value: Any, message: str) -> None:
    body = {"teks": "Halo", field: value}
    api = client.post("/api/v1/semua/?_l_=en", json=body)
    assert api.status_code == 422
    assert any(message in m for m in api.json["message"][field]), api.json
    client.get("/lang/en")
    form = {k: ("" if v is None else v) for k, v in body.items()}
    if isinstance(value, int):
        form[field] = str(value)
    screen = client.post("/forms/semua/add", data=form)
    assert screen.status_code == 200
    assert message.replace("'", "&#39;") in screen.data.decode()


def test_unique_value_is_refused_naming_the_other_record(app: Any, client: Any) -> None:
    publish_yaml(app, PROGRAM.replace("required: true}", "required: true, unique: true}"))
    fresh = rebuilt(app)
    c = fresh.test_client()
    login(c)
    response = c.post("/api/v1/program/?_l_=en", json={"nama": "Sembako"})
    assert response.status_code == 422
    assert response.json["message"]["nama"] == ["already used by record #1"]


def test_typed_markup_in_an_error_message_is_escaped(client: Any) -> None:
    html = client.post("/forms/semua/add", data={"teks": "Halo", "status": "<script>alert(1)</script>"}).data.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_api_info_and_openapi_describe_the_form(client: Any) -> None:
    info = client.get("/api/v1/semua/_info").json
    columns = {c["name"]: c for c in info["add_columns"]}
    assert columns["teks"]["label"] == "Teks" and columns["teks"]["required"] is True
    assert columns["bulat"]["description"] == "Bilangan bulat"
    assert info["add_title"] == "Semua jenis"
    spec = client.get("/api/v1/_openapi").json
    assert "/api/v1/semua/" in spec["paths"] and "/api/v1/semua__anggota/" in spec["paths"]
    post = spec["components"]["schemas"]["FormApi_semua.post"]["properties"]
    assert post["status"]["enum"] == ["aktif", "mati"]


def test_a_file_of_a_refused_type_is_named_once(client: Any) -> None:
    form = {"teks": "Halo", "berkas": (io.BytesIO(b"MZ"), "virus.exe")}
    client.get("/lang/en")
    html = client.post("/forms/semua/add", data=form, content_type="multipart/form-data").data.decode()
    assert html.count("file type .exe is not allowed (allowed: pdf, jpg") == 1


# ---------------------------------------------------------------------------
# Every value convert() accepts is stored and read back unchanged on SQLite and PostgreSQL.

VALUE_FIELDS = [f for f in spec_of(EVERYTHING).column_fields if f.type != "child"]


@pytest.fixture(scope="module", params=BACKENDS)
def value_table(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A table with the real column of every field type, on each backend (one per module: hypothesis)."""
    if request.param == "sqlite":
        database: Any = contextlib.nullcontext(f"sqlite:///{tmp_path_factory.mktemp('values') / 'values.db'}")
    else:
        database = scratch_database(request.getfixturevalue("postgres_server"))
    with database as url:
        engine = sa.create_engine(url)
        columns = [field_column("form_values", f, None) for f in VALUE_FIELDS]
        table = sa.Table("form_values", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), *columns)
        table.create(engine)
        yield engine, table
        engine.dispose()


def _typed(f: FieldSpec) -> st.SearchStrategy[Any]:
    """Inputs likely to be accepted, so that many values reach the table."""
    if f.type in ("decimal", "money"):
        scale, largest = numeric_bounds(f)
        numbers = st.decimals(-largest, largest, places=scale)
        return numbers | numbers.map(str) | numbers.map(lambda d: format(d, "f").replace(".", ","))
    return {
        "integer": st.integers(-(2**63), 2**63 - 1) | st.integers().map(str),
        "date": st.dates() | st.dates().map(str),
        "datetime": st.datetimes() | st.datetimes().map(lambda d: d.isoformat()),
        "boolean": st.booleans() | st.sampled_from(["ya", "tidak", "1", "0"]),
        "choice": st.sampled_from([c.value for c in f.choices]),
        "multichoice": st.lists(st.sampled_from([c.value for c in f.choices])),
        "email": st.emails(),
        "phone": st.from_regex(r"(0|\+62|62)8[1-9][0-9]{7,10}", fullmatch=True),
        "nik": st.sampled_from(["6309014507900001", "６３０９０１４５０７９００００１", "٦٣٠٩٠١٤٥٠٧٩٠٠٠٠١"]),
        "region": st.from_regex(r"[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}", fullmatch=True),
        "reference": st.integers(1, 2**31 - 1) | st.integers().map(str),
        "file": st.text().map(lambda t: t + ".pdf"),
        "photo": st.text().map(lambda t: t + ".png"),
    }.get(f.type, st.text())


ANY_INPUT = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text()
    | st.lists(st.text(max_size=3), max_size=3)
    | st.sampled_from(["1.000", "1e30", "Infinity", "sNaN", "-0", "\x00", "\ud800", "x" * 300, str(2**63)])
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_accepted_value_is_stored_and_read_back_unchanged(value_table: Any, data: st.DataObject) -> None:
    engine, table = value_table
    f = data.draw(st.sampled_from(VALUE_FIELDS), label="field")
    raw = data.draw(_typed(f) | ANY_INPUT, label="input")
    try:
        value = convert(f, raw)
    except Invalid:
        return
    if value is None or check(f, value) is not None:
        return
    column = table.c[column_name(f)]
    with engine.connect() as conn:  # rolled back: the table stays small
        row_id = conn.execute(table.insert().values({column.name: value})).inserted_primary_key[0]
        back = conn.execute(sa.select(column).where(table.c.id == row_id)).scalar_one()
    assert back == value and type(back) is type(value)
    assert convert(f, back) == value  # what an edit sends back converts to the same value


# ---------------------------------------------------------------------------
# The API answers hostile values with 422 and a message on the field, never 5xx.

HOSTILE_BODIES = [
    ("bulat", 2**63, "must be at most 9223372036854775807"),
    ("bulat", "1e1000000", "must be at most 9223372036854775807"),
    ("bulat", float(2**53 + 1), "is too large to be exact"),
    ("bulat", float("nan"), "must be a whole number"),
    ("bulat", False, "must be a whole number"),
    ("program", 2**63, "must be a record number from 1 to 2147483647"),
    ("program", {"id": 2**63}, "must be a record number from 1 to 2147483647"),
    ("desimal", "Infinity", "must be a number"),
    ("desimal", "sNaN", "must be a number"),
    ("desimal", "1e30", "must be at most 9999999999999.99"),
    ("uang", 1e30, "must be at most 9999999999999.99"),
    ("uang", "123456789012345678", "must be at most 9999999999999.99"),
    ("teks", "a\x00b", "contains the character U+0000, which cannot be stored"),
    ("teks", "\ud800", "contains the character U+D800, which cannot be stored"),
    ("panjang", "baris\x00", "contains the character U+0000, which cannot be stored"),
    ("teks", False, "must be text"),
    ("teks", "x" * 300, "must be at most 255 characters"),
    ("surel", "\udfff@tabalong.go.id", "contains the character U+DFFF, which cannot be stored"),
    ("status", ["aktif"], "must be text"),
    ("warna", {"merah": True}, "must be a list of choices"),
    ("tanggal", 20201104, "must be a date"),
    ("ya", [], "must be yes or no"),
    ("hp", "+62 812\x00", "contains the character U+0000, which cannot be stored"),
]


def test_hostile_values_are_refused_on_their_field(client: Any) -> None:
    answers = {}
    for name, value, _ in HOSTILE_BODIES:
        response = client.post("/api/v1/semua/?_l_=en", json={"teks": "Halo", name: value})
        answers[name, repr(value)[:40]] = (response.status_code, (response.json or {}).get("message", {}).get(name))
    expected = {(name, repr(value)[:40]): (422, message) for name, value, message in HOSTILE_BODIES}
    wrong = {
        key: got
        for key, got in answers.items()
        if got[0] != 422 or not any(expected[key][1] in m for m in got[1] or [])
    }
    assert wrong == {}
    indonesian = client.post("/api/v1/semua/", json={"teks": "a\x00b", "bulat": 2**63}).json["message"]
    assert indonesian == {
        "teks": ["mengandung karakter U+0000, yang tidak dapat disimpan; hapus karakter itu"],
        "bulat": ["paling besar 9223372036854775807"],
    }


def test_a_nik_in_other_digits_is_stored_in_ascii_and_found_by_the_unique_check(app: Any) -> None:
    publish_yaml(app, EVERYTHING.replace("type: nik, label: NIK}", "type: nik, label: NIK, unique: true}"))
    c = rebuilt(app).test_client()
    login(c)
    first = c.post("/api/v1/semua/?_l_=en", json={"teks": "A", "nik": "６３０９０１４５０７９００００１"})
    assert first.status_code == 201 and stored(app, first.json["id"])["nik"] == "6309014507900001"
    for spelling in ("6309014507900001", "٦٣٠٩٠١٤٥٠٧٩٠٠٠٠١"):
        again = c.post("/api/v1/semua/?_l_=en", json={"teks": "B", "nik": spelling})
        assert again.status_code == 422 and "already used by" in again.json["message"]["nik"][0]
