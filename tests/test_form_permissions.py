"""A definition's per-role permissions decide who sees the menu, screens and API of a form."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import add_user, app_with_forms, login

FORM = """
form: laporan
title: Laporan
permissions:
  Pembaca: [view]
  Petugas: [view, add, edit]
fields: [{name: judul, type: text, label: Judul}]
"""


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, FORM)
    for username, role in [("baca", "Pembaca"), ("tugas", "Petugas"), ("lain", "Tamu")]:
        add_user(app, username, role)
    return app


def as_user(app: Any, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def test_view_only_role_reads_but_cannot_write(app: Any, client: Any) -> None:
    record = client.post("/api/v1/laporan/", json={"judul": "Bulanan"}).json["id"]
    reader = as_user(app, "baca")
    assert reader.get("/api/v1/laporan/").status_code == 200
    assert "Laporan" in reader.get("/").data.decode()
    assert reader.post("/api/v1/laporan/", json={"judul": "x"}).status_code == 403
    assert reader.put(f"/api/v1/laporan/{record}", json={"judul": "x"}).status_code == 403
    assert reader.delete(f"/api/v1/laporan/{record}").status_code == 403
    assert reader.get("/forms/laporan/add").status_code == 403


def test_role_with_add_and_edit_but_not_delete(app: Any, client: Any) -> None:
    officer = as_user(app, "tugas")
    record = officer.post("/api/v1/laporan/", json={"judul": "Bulanan"}).json["id"]
    assert officer.put(f"/api/v1/laporan/{record}", json={"judul": "Triwulan"}).status_code == 200
    assert officer.delete(f"/api/v1/laporan/{record}").status_code == 403


def test_role_not_named_has_no_access_and_no_menu(app: Any) -> None:
    other = as_user(app, "lain")
    assert other.get("/api/v1/laporan/").status_code == 403
    assert "/forms/laporan/list/" not in other.get("/").data.decode()
