"""The demo data: what the README's run command shows, valid by the same rules as typed data."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.demo import load_demo
from app.extensions import db
from app.forms_engine.identity import check_kk, check_nik, nik_birth
from app.forms_engine.store import published_specs
from tests.conftest import ROOT


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
