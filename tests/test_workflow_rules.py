"""Transition rules by name (app/workflows/rules.py): `four_eyes` and `not_registrant` refuse a step
to the person who brought the record to its state or registered it, on the screen and the API."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from app.extensions import db
from app.forms_engine.loader import DefinitionErrors, parse_definition
from tests.conftest import add_user, app_with_forms, login

FORM = """
form: pengajuan
title: Pengajuan
region_field: false
permissions: {Petugas: [view, add, edit]}
fields:
  - {name: uraian, type: text, label: Uraian, required: true}
workflow:
  states:
    - {name: diajukan, label: Diajukan, sla: 3}
    - {name: diperiksa, label: Diperiksa, sla: 3}
    - {name: disetujui, label: Disetujui, terminal: true}
  transitions:
    - {name: periksa, from: diajukan, to: diperiksa, label: Periksa, roles: [Petugas], rule: not_registrant}
    - {name: setujui, from: diperiksa, to: disetujui, label: Setujui, roles: [Petugas], rule: four_eyes}
"""


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, FORM)
    for name in ("ani", "budi", "citra"):
        add_user(app, name, "Petugas")
    return app


def _client(app: Any, name: str) -> Any:
    client = app.test_client()
    login(client, name)
    client.get("/lang/id")
    return client


def _state(app: Any, pk: int) -> str:
    with app.app_context():
        return db.session.execute(sa.text("SELECT status FROM form_pengajuan WHERE id = :id"), {"id": pk}).scalar_one()


def test_the_registrant_may_not_check_their_own_entry_nor_the_checker_approve(app: Any) -> None:
    ani, budi, citra = (_client(app, name) for name in ("ani", "budi", "citra"))
    pk = ani.post("/api/v1/pengajuan/", json={"uraian": "Kursi roda"}).json["id"]
    own = ani.post(f"/api/v1/pengajuan/{pk}/step/periksa", json={})
    assert own.status_code == 403 and "Anda yang mendaftarkan data ini" in own.json["message"], own.json
    assert _state(app, pk) == "diajukan"
    assert budi.post(f"/api/v1/pengajuan/{pk}/step/periksa", json={}).status_code == 200
    # budi brought it to 'diperiksa': another person approves (the screen says why, in Indonesian)
    page = budi.post(f"/forms/pengajuan/step/{pk}/setujui", data={}, follow_redirects=True).get_data(as_text=True)
    assert "Anda yang memindahkan data ini ke tahap sekarang" in page
    assert _state(app, pk) == "diperiksa"
    assert ani.post(f"/api/v1/pengajuan/{pk}/step/setujui", json={}).status_code == 200  # ani registered, budi checked
    assert _state(app, pk) == "disetujui"
    assert citra.get(f"/api/v1/pengajuan/{pk}/timeline").status_code == 200


def test_an_unknown_rule_is_refused_when_the_definition_loads() -> None:

    raw = yaml.safe_load(FORM.replace("rule: four_eyes", "rule: empat_mata"))
    with pytest.raises(DefinitionErrors) as caught:
        parse_definition(raw, "pengajuan.yaml")
    assert "unknown rule 'empat_mata'; expected one of four_eyes, not_registrant" in str(caught.value)
