"""The audit trail, access log and change history read as people speak: action names, form and
record titles, labels, choice labels and dates as on screens; never ids, slugs or a Python dict."""

from __future__ import annotations

from typing import Any

from tests.conftest import add_user, app_with_forms, login

PROGRAM = """
form: program
title: {id: Program Bantuan, en: Aid programme}
permissions: {Petugas: [view, add, edit]}
fields:
  - {name: nama, type: text, label: Nama}
"""
LINE = """
form: penerima
title: {id: Penerima Bantuan, en: Aid recipient}
permissions: {Petugas: [view, add, edit, reveal]}
fields:
  - {name: nama, type: text, label: Nama}
  - {name: nik, type: nik, label: NIK}
  - {name: program, type: reference, target: program, label: Program}
  - {name: tanggal, type: date, label: Tanggal salur}
  - {name: status, type: choice, label: Status, choices: [{value: salur, label: Tersalurkan}, {value: belum, label: Belum}]}
"""


def test_logs_name_actions_forms_records_and_values(empty_app: Any) -> None:
    app = app_with_forms(empty_app, PROGRAM, LINE)
    add_user(app, "petugas", "Petugas")
    petugas = app.test_client()
    login(petugas, "petugas")
    first = petugas.post("/api/v1/program/", json={"nama": "Sembako 2026"}).json["id"]
    second = petugas.post("/api/v1/program/", json={"nama": "PKH 2026"}).json["id"]
    pk = petugas.post(
        "/api/v1/penerima/",
        json={"nama": "Siti", "nik": "6309014507900001", "program": first, "tanggal": "2026-11-04", "status": "belum"},
    ).json["id"]
    petugas.put(f"/api/v1/penerima/{pk}", json={"program": second, "status": "salur"})
    petugas.post(f"/forms/penerima/reveal/{pk}", data={"purpose": "verifikasi data"})
    history = petugas.get(f"/forms/penerima/show/{pk}").get_data(as_text=True)
    assert "Sembako 2026" in history and "PKH 2026" in history and "Tersalurkan" in history
    assert "04-11-2026" in history and "2026-11-04" not in history
    admin = app.test_client()
    login(admin)
    audit = admin.get("/keamanan/audit/list/").get_data(as_text=True)
    assert "Diubah" in audit and "Dibuat" in audit and "Penerima Bantuan" in audit and f"#{pk} Siti" in audit
    assert ">update<" not in audit and ">penerima<" not in audit
    entry = admin.get("/keamanan/audit/show/4").get_data(as_text=True)  # the update of the roster line
    assert "PKH 2026" in entry and "Tersalurkan" in entry and "{" not in entry.split("Jejak audit")[-1][:2000]
    access = admin.get("/keamanan/log-akses/list/").get_data(as_text=True)
    assert "Data pribadi ditampilkan lengkap" in access and "Penerima Bantuan" in access and ">reveal<" not in access
    shown = admin.get("/keamanan/log-akses/show/1").get_data(as_text=True)
    assert f"#{pk} Siti" in shown and "verifikasi data" in shown
