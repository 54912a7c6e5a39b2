"""The shipped domain forms' rules, each refusal with its message (Bahasa Indonesia)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ROOT, app_with_forms

FORMS = [
    "kategori_pmks",
    "jenis_disabilitas",
    "jenis_psks",
    "program_bantuan",
    "penerima_bantuan",
    "puskesos",
    "bimtek",
    "bimtek_angkatan",
    "bimtek_peserta",
    "instansi",
    "rujukan",
]
SITI, BUDI, ANI = "6309014507900001", "6309010507900002", "6309015507900003"
KK = "6309010101200001"


@pytest.fixture
def app(empty_app: Any) -> Any:
    return app_with_forms(empty_app, *[(ROOT / "forms" / f"{f}.yaml").read_text(encoding="utf-8") for f in FORMS])


def post(client: Any, form: str, **body: Any) -> Any:
    return client.post(f"/api/v1/{form}/", json=body)


@pytest.fixture
def programme(client: Any) -> int:
    return post(
        client,
        "program_bantuan",
        nama="Permakanan Lansia 2026 Tahap I",
        jenis="permakanan",
        tahun=2026,
        sumber_anggaran="apbd",
        kuota=2,
    ).json["id"]


def line(client: Any, programme: int, nik: str, **extra: Any) -> Any:
    return post(client, "penerima_bantuan", program=programme, nik=nik, nama="Penerima", desa="63.09.01.2001", **extra)


def test_one_line_per_nik_per_programme_names_the_existing_line(client: Any, programme: int) -> None:
    first = line(client, programme, SITI).json["id"]
    refused = line(client, programme, SITI)
    assert refused.status_code == 422
    assert refused.json["message"]["program"] == [f"sudah dipakai bersama NIK oleh data #{first}"]


def test_same_family_card_needs_confirmation(client: Any, programme: int) -> None:
    first = line(client, programme, SITI, no_kk=KK).json["id"]
    flagged = line(client, programme, BUDI, no_kk=KK)
    assert flagged.json["warnings"]["no_kk"] == [
        f"No. KK yang sama (Program) sudah ada pada data #{first}; periksa sebelum menyimpan"
    ]
    assert line(client, programme, BUDI, no_kk=KK, confirm_warnings=True).status_code == 201


def test_lines_beyond_the_quota_are_refused(client: Any, programme: int) -> None:
    line(client, programme, SITI)
    line(client, programme, BUDI)
    assert line(client, programme, ANI).json["message"]["program"] == ["sudah penuh: seluruh 2 tempat sudah terisi"]


def test_distribution_status_needs_its_date_or_reason(client: Any, programme: int) -> None:
    assert line(client, programme, SITI, status_penyaluran="tersalurkan").json["message"]["tanggal_penyaluran"] == [
        "wajib diisi bila Status penyaluran = Tersalurkan"
    ]
    assert line(client, programme, SITI, status_penyaluran="gagal").json["message"]["alasan_gagal"] == [
        "wajib diisi bila Status penyaluran = Gagal"
    ]


def test_puskesos_rules(client: Any) -> None:
    refused = post(client, "puskesos", desa="63.09.01.2001", nama="Puskesos Hapalah", status="aktif")
    assert refused.json["message"]["sk_nomor"] == ["wajib diisi bila Status = Aktif"]
    assert refused.json["message"]["sk_tanggal"] == ["wajib diisi bila Status = Aktif"]
    first = post(
        client,
        "puskesos",
        desa="63.09.01.2001",
        nama="Puskesos Hapalah",
        status="terbentuk",
        sk_nomor="01/SK/2021",
        sk_tanggal="2021-03-15",
    ).json["id"]
    no_ketua = client.put(f"/api/v1/puskesos/{first}", json={"status": "aktif"})
    assert no_ketua.json["message"]["status"] == [
        "memerlukan paling sedikit 1 baris Pengurus dengan Jabatan = Ketua (sekarang 0)"
    ]
    assert post(client, "puskesos__pengurus", parent_id=first, nama="Budi", peran="ketua").status_code == 201
    second = post(client, "puskesos__pengurus", parent_id=first, nama="Ani", peran="ketua")
    assert second.json["message"]["peran"] == ["paling banyak 1 baris boleh Jabatan = Ketua"]
    assert client.put(f"/api/v1/puskesos/{first}", json={"status": "aktif"}).status_code == 200
    other = post(
        client,
        "puskesos",
        desa="63.09.01.2001",
        nama="Puskesos Lain",
        status="aktif",
        sk_nomor="02",
        sk_tanggal="2021-04-01",
    )
    assert other.json["message"]["desa"] == [
        f"Desa/kelurahan yang sama dengan Status = Aktif sudah dimiliki data #{first}"
    ]


def test_bimtek_capacity_and_once_per_event(client: Any) -> None:
    event = post(
        client,
        "bimtek",
        judul="Bimtek Puskesos",
        penyelenggara="Dinsos",
        tempat="Tanjung",
        tanggal_mulai="2020-11-04",
        tanggal_selesai="2020-11-05",
    ).json["id"]
    first, second = (
        post(
            client, "bimtek_angkatan", bimtek=event, nomor=n, nama=f"Angkatan {n}", tanggal="2020-11-04", kapasitas=1
        ).json["id"]
        for n in (1, 2)
    )
    assert post(client, "bimtek_peserta", angkatan=first, nama="Siti", nik=SITI, jenis_kelamin="P").status_code == 201
    full = post(client, "bimtek_peserta", angkatan=first, nama="Budi", nik=BUDI, jenis_kelamin="L")
    assert full.json["message"]["angkatan"] == ["sudah penuh: seluruh 1 tempat sudah terisi"]
    again = post(client, "bimtek_peserta", angkatan=second, nama="Siti", nik=SITI, jenis_kelamin="P")
    assert again.json["message"]["nik"] == ["sudah terdaftar pada Bimtek yang sama (data #1)"]


def test_nik_and_sex_mismatch_is_flagged_in_registration(client: Any) -> None:
    flagged = post(
        client,
        "rujukan",
        tanggal_registrasi="2026-11-20",
        nik=SITI,
        nama="Siti",
        jenis_kelamin="L",
        desa="63.09.01.2001",
        uraian="Belum punya BPJS",
        sumber="datang_langsung",
    )
    assert flagged.json["warnings"]["nik"] == [
        "NIK menunjukkan jenis kelamin Perempuan, tetapi Jenis kelamin diisi Laki-laki"
    ]
