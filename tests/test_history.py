"""Recipient history: one NIK across rosters, child tables and referrals, for those who may see them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import add_user, app_with_forms, login

PROGRAM = (
    "form: program\ntitle: Program\npermissions: {Petugas: [view]}\nfields: [{name: nama, type: text, label: Nama}]\n"
)
ROSTER = """
form: penerima
title: {id: Penerima Bantuan, en: Aid recipients}
permissions: {Petugas: [view]}
fields:
  - {name: program, type: reference, target: program, label: Program}
  - {name: nik, type: nik, label: NIK}
  - {name: nama, type: text, label: Nama}
"""
GROUP = """
form: kube
title: KUBE
fields:
  - {name: nama_kelompok, type: text, label: Nama kelompok}
  - {name: anggota, type: child, label: Anggota, fields: [{name: nama, type: text, label: Nama}, {name: nik, type: nik, label: NIK}]}
"""
NIK = "6309014507900001"


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, PROGRAM, ROSTER, GROUP)
    add_user(app, "petugas", "Petugas")
    return app


def test_one_nik_across_forms_and_child_tables(client: Any) -> None:
    program = client.post("/api/v1/program/", json={"nama": "Permakanan 2026"}).json["id"]
    client.post("/api/v1/penerima/", json={"program": program, "nik": NIK, "nama": "Siti"})
    group = client.post("/api/v1/kube/", json={"nama_kelompok": "KUBE Mawar"}).json["id"]
    client.post("/api/v1/kube__anggota/", json={"parent_id": group, "nama": "Siti", "nik": NIK})
    html = client.post("/riwayat/", data={"nik": NIK}).data.decode()
    assert "Penerima Bantuan" in html and "Permakanan 2026" in html
    assert "KUBE Mawar — Siti" in html
    assert "2 data ditemukan" in html or "2 record(s) found" in html


def test_a_malformed_nik_is_explained(client: Any) -> None:
    html = client.post("/riwayat/", data={"nik": "6309013102900001"}).data.decode()
    assert "NIK: tanggal lahir 31-02 tidak valid" in html


def test_only_forms_the_user_may_see(app: Any, client: Any) -> None:
    group = client.post("/api/v1/kube/", json={"nama_kelompok": "KUBE Mawar"}).json["id"]
    client.post("/api/v1/kube__anggota/", json={"parent_id": group, "nama": "Siti", "nik": NIK})
    officer = app.test_client()
    login(officer, "petugas")
    html = officer.post("/riwayat/", data={"nik": NIK}).data.decode()
    assert "KUBE Mawar" not in html
    assert officer.get("/riwayat/").status_code == 200
