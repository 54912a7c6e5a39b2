"""The demo data: what the README's run command shows, valid by the same rules as typed data."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.demo import load_demo
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.identity import check_kk, check_nik, nik_birth
from app.forms_engine.store import published_specs
from app.forms_engine.tables import all_tables
from tests.conftest import ROOT, add_user, login, rebuilt


@pytest.fixture
def app(empty_app: Any) -> Any:
    empty_app.config["FORMS_DIR"] = str(ROOT / "forms")
    result = empty_app.test_cli_runner().invoke(args=["simpul", "init"])
    assert result.exit_code == 0, result.output
    return empty_app


def rows(app: Any, sql: str) -> list[Any]:
    with app.app_context(), db.engine.connect() as conn:
        return list(conn.execute(sa.text(sql)))


def test_the_demo_has_what_the_issue_describes_and_keeps_the_rules(app: Any) -> None:
    counts = {
        t: rows(app, f"SELECT count(*) FROM form_{t}")[0][0]
        for t in (
            "bimtek",
            "bimtek_angkatan",
            "bimtek_peserta",
            "bimtek_kehadiran",
            "puskesos",
            "program_bantuan",
            "penerima_bantuan",
            "rujukan",
        )
    }
    assert counts == {
        "bimtek": 1,
        "bimtek_angkatan": 2,
        "bimtek_peserta": 150,
        "bimtek_kehadiran": 150,
        "puskesos": 15,
        "program_bantuan": 4,
        "penerima_bantuan": 300,
        "rujukan": 50,
    }
    assert rows(app, "SELECT count(*) FROM form_bimtek_peserta GROUP BY angkatan_id") == [(75,), (75,)]
    states = {r[0] for r in rows(app, "SELECT status FROM form_puskesos")}
    assert {"aktif", "terbentuk", "direncanakan"} <= states
    same_kk = rows(
        app, "SELECT program_id, no_kk FROM form_penerima_bantuan GROUP BY program_id, no_kk HAVING count(*) > 1"
    )
    assert same_kk, "some same-KK pairs to review"
    # every identity number is valid and matches the person
    for nik, kk, desa, born, sex in rows(
        app, "SELECT nik, no_kk, desa, tanggal_lahir, jenis_kelamin FROM form_rujukan"
    ):
        assert check_nik(nik) is None and check_kk(kk) is None
        assert nik[:6] == desa[:8].replace(".", "")
        decoded, decoded_sex = nik_birth(nik)
        assert str(decoded) == str(born) and {"female": "P", "male": "L"}[decoded_sex] == sex
    # active Puskesos follow their rules
    active = rows(app, "SELECT id, sk_nomor FROM form_puskesos WHERE status = 'aktif'")
    assert active and all(sk for _, sk in active)
    for puskesos_id, _ in active:
        assert rows(
            app, f"SELECT count(*) FROM form_puskesos__pengurus WHERE parent_id = {puskesos_id} AND peran = 'ketua'"
        ) == [(1,)]


def test_demo_is_deterministic_and_only_fills_empty_forms(app: Any) -> None:
    before = rows(app, "SELECT nik FROM form_penerima_bantuan ORDER BY id")
    with app.app_context(), db.engine.begin() as conn:
        assert load_demo(conn, published_specs(conn)) == {}
    result = app.test_cli_runner().invoke(args=["simpul", "demo", "--reload"], input="y\n")
    assert result.exit_code == 0, result.output
    assert rows(app, "SELECT nik FROM form_penerima_bantuan ORDER BY id") == before


def test_scale_adds_roster_lines(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["simpul", "demo", "--reload", "--scale", "2000"], input="y\n")
    assert result.exit_code == 0, result.output
    assert rows(app, "SELECT count(*) FROM form_penerima_bantuan")[0][0] == 2300


def identity_columns(app: Any) -> list[tuple[Any, str, str]]:
    """(table spec, column, type) of every NIK and No. KK field of the published forms."""
    with app.app_context(), db.engine.connect() as conn:
        specs = published_specs(conn)
    return [
        (part, column_name(f), f.type)
        for spec in specs.values()
        for part in all_tables(spec)
        for f in part.live_fields
        if f.type in ("nik", "kk")
    ]


def test_demo_nik_and_kk_serials_vary(app: Any) -> None:
    niks = [r[0] for r in rows(app, "SELECT nik FROM form_penerima_bantuan")]
    kks = [r[0] for r in rows(app, "SELECT no_kk FROM form_penerima_bantuan")]
    assert len({n[12:] for n in niks}) >= 50, "masked NIKs (6309********SSSS) must not all look alike"
    assert len({k[12:] for k in kks}) >= 50
    assert "0000" not in {n[12:] for n in niks} | {k[12:] for k in kks}
    assert max(int(n[12:]) for n in niks) > 500, "serials spread over 0001-0999"


def test_every_demo_nik_and_kk_is_valid_and_belongs_to_one_person(app: Any) -> None:
    kecamatan = {r[0][:8].replace(".", "") for r in rows(app, "SELECT code FROM simpul_region WHERE level = 3")}
    seen: dict[str, tuple[Any, ...]] = {}
    for part, column, kind in identity_columns(app):
        names = {f.name for f in part.live_fields}
        extra = [c for c in ("nama", "tanggal_lahir", "jenis_kelamin") if c in names]
        for value, *person in rows(app, f"SELECT {column}, {', '.join(extra)} FROM {part.table_name}"):
            if value is None:
                continue
            assert (check_nik(value) if kind == "nik" else check_kk(value)) is None, (part.slug, value)
            assert value[:4] == "6309" and (not kecamatan or value[:6] in kecamatan), (part.slug, value)
            if kind != "nik":
                continue
            details = dict(zip(extra, person, strict=True))
            born, sex = nik_birth(value)
            if details.get("tanggal_lahir"):
                assert str(born) == str(details["tanggal_lahir"])[:10]
            if details.get("jenis_kelamin"):
                assert {"female": "P", "male": "L"}[sex] == details["jenis_kelamin"]
            name = details.get("nama")
            assert seen.setdefault(value, (name,)) == (name,), f"one NIK, two people: {part.slug} {name}"


def test_some_people_have_a_real_recipient_history(app: Any) -> None:
    records: dict[str, int] = {}
    for part, column, kind in identity_columns(app):
        if kind == "nik":
            for (nik,) in rows(app, f"SELECT {column} FROM {part.table_name} WHERE {column} IS NOT NULL"):
                records[nik] = records.get(nik, 0) + 1
    regulars = [nik for nik, n in records.items() if n >= 3]
    assert 10 <= len(regulars) <= 30
    in_programmes = rows(
        app, "SELECT nik FROM form_penerima_bantuan GROUP BY nik HAVING count(DISTINCT program_id) >= 2"
    )
    assert len(in_programmes) >= 10
    assert rows(app, "SELECT nik FROM form_penerima_bantuan GROUP BY nik HAVING count(*) = 3")
    referred = {r[0] for r in rows(app, "SELECT nik FROM form_rujukan")}
    trained = {r[0] for r in rows(app, "SELECT nik FROM form_bimtek_peserta")}
    assert referred & set(regulars) and trained & set(regulars)
    sent_on = {nik: agency for nik, agency in rows(app, "SELECT nik, dirujuk_ke_id FROM form_rujukan")}
    assert all(sent_on[nik] for nik in referred & set(regulars)), "a regular's registration was referred on"
    fresh = rebuilt(app)
    add_user(fresh, "historian", "Admin")
    client = fresh.test_client()
    login(client, "historian")
    nik = max(regulars, key=lambda n: (records[n], n))
    page = client.post("/riwayat/", data={"nik": nik}).get_data(as_text=True)
    assert page.count("/show/") >= records[nik] >= 3


def test_every_record_of_a_scoped_form_has_its_region(app: Any) -> None:
    with app.app_context(), db.engine.connect() as conn:
        specs = published_specs(conn)
    checked = []
    for spec in specs.values():
        for part in all_tables(spec):
            owner = part.region_field or (part.parent and specs[part.parent].region_field)
            if not owner:  # shared lists (programmes, office settings, master lists) and their children
                continue
            assert rows(app, f"SELECT count(*) FROM {part.table_name} WHERE region_code IS NULL") == [(0,)], part.slug
            checked.append(part.slug)
            if part.region_field and part.field(part.region_field).type == "region":
                mismatch = f"region_code <> {column_name(part.field(part.region_field))}"
                assert rows(app, f"SELECT count(*) FROM {part.table_name} WHERE {mismatch}") == [(0,)]
    assert {"bimtek_kehadiran", "puskesos__pengurus", "kelompok_usaha__anggota", "rujukan"} <= set(checked)
    # attendance rows and child rows carry the region of the record they belong to
    assert not rows(
        app,
        "SELECT k.id FROM form_bimtek_kehadiran k JOIN form_bimtek_peserta p ON p.id = k.peserta_id"
        " WHERE k.region_code <> p.region_code",
    )
    assert not rows(
        app,
        "SELECT a.id FROM form_kelompok_usaha__anggota a JOIN form_kelompok_usaha k ON k.id = a.parent_id"
        " WHERE a.region_code <> k.region_code",
    )


def test_the_busiest_kecamatan_have_records_of_their_own_in_every_sizeable_form(app: Any) -> None:
    busiest = rows(
        app,
        "SELECT substr(desa, 1, 8) AS kec FROM form_penerima_bantuan GROUP BY kec ORDER BY count(*) DESC LIMIT 2",
    )
    assert len(busiest) == 2
    for (kecamatan,) in busiest:  # what a Kecamatan account sees on each screen (tests/test_scoping.py)
        for table in ("puskesos", "puskesos__pengurus", "kelompok_usaha", "kelompok_usaha__anggota", "rujukan"):
            mine, total = rows(
                app,
                f"SELECT sum(CASE WHEN region_code LIKE '{kecamatan}.%' THEN 1 ELSE 0 END), count(*) FROM form_{table}",
            )[0]
            assert 0 < mine < total, (kecamatan, table)
