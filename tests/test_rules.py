"""Rules across fields and rows (declared in YAML), refused or flagged the same in API and screens."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from app.forms_engine.loader import DefinitionErrors, parse_definition
from tests.conftest import app_with_forms

ACARA = """
form: acara
title: Acara
fields: [{name: judul, type: text, label: Judul}]
"""
ANGKATAN = """
form: angkatan
title: Angkatan
fields:
  - {name: acara, type: reference, target: acara, label: Acara}
  - {name: nomor, type: integer, label: Nomor}
  - {name: kapasitas, type: integer, label: Kapasitas}
"""
PESERTA = """
form: peserta
title: Peserta
fields:
  - {name: nama, type: text, label: Nama}
  - {name: nik, type: nik, label: NIK}
  - {name: angkatan, type: reference, target: angkatan, label: Angkatan}
  - {name: tanggal_lahir, type: date, label: Tanggal lahir}
  - {name: jenis_kelamin, type: choice, label: Jenis kelamin, choices: [{value: L, label: Laki-laki}, {value: P, label: Perempuan}]}
  - {name: no_kk, type: text, label: No. KK}
rules:
  - {rule: capacity, reference: angkatan, limit: kapasitas}
  - {rule: unique_via, fields: [nik], via: angkatan, group: acara}
  - {rule: nik_consistent, nik: nik, birth_date: tanggal_lahir, sex: jenis_kelamin}
  - {rule: confirm_same, fields: [no_kk], within: [angkatan]}
"""
PUSKESOS = """
form: puskesos
title: Puskesos
fields:
  - {name: nama, type: text, label: Nama}
  - {name: desa, type: region, label: Desa}
  - {name: status, type: choice, label: Status, choices: [{value: direncanakan, label: Direncanakan}, {value: aktif, label: Aktif}]}
  - {name: sk_nomor, type: text, label: Nomor SK}
  - name: pengurus
    type: child
    label: Pengurus
    fields:
      - {name: nama, type: text, label: Nama}
      - {name: peran, type: choice, label: Peran, choices: [{value: ketua, label: Ketua}, {value: anggota, label: Anggota}]}
rules:
  - {rule: required_if, fields: [sk_nomor], when: {status: aktif}}
  - {rule: unique_when, fields: [desa], when: {status: aktif}}
  - {rule: child_count, child: pengurus, where: {peran: ketua}, max: 1, min: 1, when: {status: aktif}}
"""
NIK_SITI = "6309014507900001"  # 5 July 1990, female


@pytest.fixture
def app(empty_app: Any) -> Any:
    return app_with_forms(empty_app, ACARA, ANGKATAN, PESERTA, PUSKESOS)


def post(client: Any, form: str, **body: Any) -> Any:
    return client.post(f"/api/v1/{form}/?_l_=en", json=body)


@pytest.fixture
def batch(client: Any) -> dict[str, int]:
    acara = post(client, "acara", judul="Bimtek Puskesos 2020").json["id"]
    first = post(client, "angkatan", acara=acara, nomor=1, kapasitas=2).json["id"]
    second = post(client, "angkatan", acara=acara, nomor=2, kapasitas=2).json["id"]
    return {"acara": acara, "first": first, "second": second}


def test_capacity_of_the_referenced_record(client: Any, batch: dict[str, int]) -> None:
    assert post(client, "peserta", nama="A", angkatan=batch["first"]).status_code == 201
    assert post(client, "peserta", nama="B", angkatan=batch["first"]).status_code == 201
    refused = post(client, "peserta", nama="C", angkatan=batch["first"])
    assert refused.status_code == 422
    assert refused.json["message"] == {"angkatan": ["is full: all 2 places are taken"]}


def test_one_person_once_per_event_across_batches(client: Any, batch: dict[str, int]) -> None:
    assert post(client, "peserta", nama="Siti", nik=NIK_SITI, angkatan=batch["first"]).status_code == 201
    refused = post(client, "peserta", nama="Siti", nik=NIK_SITI, angkatan=batch["second"])
    assert refused.json["message"]["nik"] == ["already registered for the same Acara (record #1)"]


def test_nik_mismatch_with_birth_date_and_sex_needs_confirmation(client: Any, batch: dict[str, int]) -> None:
    body = {
        "nama": "Siti",
        "nik": NIK_SITI,
        "angkatan": batch["first"],
        "tanggal_lahir": "1990-07-06",
        "jenis_kelamin": "L",
    }
    flagged = post(client, "peserta", **body)
    assert flagged.status_code == 422
    assert flagged.json["warnings"]["nik"] == [
        "NIK encodes birth date 05-07-1990 but Tanggal lahir is 06-07-1990",
        "NIK encodes sex Perempuan but Jenis kelamin is Laki-laki",
    ]
    assert post(client, "peserta", **body, confirm_warnings=True).status_code == 201


def test_same_family_card_in_the_same_batch_is_flagged_not_refused(client: Any, batch: dict[str, int]) -> None:
    assert post(client, "peserta", nama="Ayah", no_kk="6309011234560001", angkatan=batch["first"]).status_code == 201
    flagged = post(client, "peserta", nama="Ibu", no_kk="6309011234560001", angkatan=batch["first"])
    assert flagged.json["warnings"] == {
        "no_kk": ["the same No. KK (Angkatan) is already in record #1; check before saving"]
    }
    assert post(client, "peserta", nama="Ibu", no_kk="6309011234560001", angkatan=batch["second"]).status_code == 201


def test_required_if_and_unique_when(client: Any) -> None:
    refused = post(client, "puskesos", nama="Puskesos Agung", desa="63.09.01.2001", status="aktif")
    assert refused.json["message"]["sk_nomor"] == ["is required when Status = Aktif"]
    assert (
        post(client, "puskesos", nama="Puskesos Agung", desa="63.09.01.2001", status="direncanakan").status_code == 201
    )
    assert (
        post(client, "puskesos", nama="Puskesos Baru", desa="63.09.01.2001", status="direncanakan").status_code == 201
    )


def test_one_active_puskesos_per_desa_and_exactly_one_ketua(client: Any) -> None:
    first = post(client, "puskesos", nama="P1", desa="63.09.01.2001", status="direncanakan").json["id"]
    refused = client.put(f"/api/v1/puskesos/{first}?_l_=en", json={"status": "aktif", "sk_nomor": "SK 1/2020"})
    assert refused.json["message"]["status"] == ["needs at least 1 Pengurus rows with Peran = Ketua (now 0)"]
    assert post(client, "puskesos__pengurus", parent_id=first, nama="Budi", peran="ketua").status_code == 201
    second_ketua = post(client, "puskesos__pengurus", parent_id=first, nama="Ani", peran="ketua")
    assert second_ketua.json["message"]["peran"] == ["at most 1 rows may have Peran = Ketua"]
    assert client.put(f"/api/v1/puskesos/{first}", json={"status": "aktif", "sk_nomor": "SK 1/2020"}).status_code == 200
    other = post(client, "puskesos", nama="P2", desa="63.09.01.2001", status="aktif", sk_nomor="SK 2")
    assert other.json["message"]["desa"][0] == "the same Desa with Status = Aktif is already held by record #1"


def test_rules_apply_on_the_screen_too(client: Any, batch: dict[str, int]) -> None:
    client.get("/lang/en")
    for name in ("A", "B"):
        client.post("/forms/peserta/add", data={"nama": name, "angkatan": str(batch["first"])})
    html = client.post("/forms/peserta/add", data={"nama": "C", "angkatan": str(batch["first"])}).data.decode()
    assert "is full: all 2 places are taken" in html


def test_warnings_on_the_screen_need_the_confirmation_box(client: Any, batch: dict[str, int]) -> None:
    client.get("/lang/en")
    form = {"nama": "Siti", "nik": NIK_SITI, "angkatan": str(batch["first"]), "jenis_kelamin": "L"}
    html = client.post("/forms/peserta/add", data=form).data.decode()
    assert "Warning: NIK encodes sex Perempuan but Jenis kelamin is Laki-laki" in html
    assert client.post("/forms/peserta/add", data=form | {"confirm_warnings": "y"}).status_code == 302


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("{rule: nope}", "rules[0].rule: unknown rule 'nope'"),
        ("{rule: required_if, fields: [x], when: {status: aktif}}", "rules[0].fields: 'x' is not a field of this form"),
        (
            "{rule: required_if, fields: [sk_nomor], when: {status: hidup}}",
            "rules[0].when.status: 'hidup' is not one of the choices",
        ),
        (
            "{rule: capacity, reference: nama, limit: kapasitas}",
            "rules[0].reference: 'nama' must be a field of type reference",
        ),
        (
            "{rule: child_count, child: pengurus, where: {jabatan: ketua}, max: 1}",
            "rules[0].where: 'jabatan' is not a field of this form",
        ),
    ],
)
def test_rule_definitions_are_checked_at_load(rule: str, problem: str) -> None:
    data = yaml.safe_load(PUSKESOS)
    data["rules"] = [yaml.safe_load(rule)]
    with pytest.raises(DefinitionErrors) as caught:
        parse_definition(data, "forms/puskesos.yaml")
    assert any(problem in str(e) for e in caught.value.errors), [str(e) for e in caught.value.errors]
