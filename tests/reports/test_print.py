"""Printing a form's list from the screens (app/reports/print_views.py), on the shipped forms and
demo data: the dialog offers the list's own layout and the form's ready ones, fills a daftar hadir's
values from the angkatan the list is filtered on, prints the user's area only with NIK masked,
groups an aid roster per desa, logs every print, and sends a large print to a background job."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pdfplumber
import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import BACKENDS, add_user, login, shipped_app
from tests.runtime_jobs import run_queued_jobs

KECAMATAN = "63.09.01"


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shipped_app(request, tmp_path_factory.mktemp("print")) as app:
        add_user(app, "dinsos", "Dinsos")
        add_user(app, "camat", "Kecamatan", region_scope=KECAMATAN)
        add_user(app, "pembaca", "Viewer", region_scope=KECAMATAN)
        yield app


def _client(app: Any, user: str) -> Any:
    client = app.test_client()
    login(client, user)
    client.get("/lang/id")
    return client


def _text(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [page.extract_text() or "" for page in doc.pages]


def _scalar(app: Any, sql: str, **params: Any) -> Any:
    with app.app_context():
        return db.session.execute(sa.text(sql), params).scalar()


def test_the_dialog_offers_the_list_and_the_forms_layouts(app: Any) -> None:
    page = _client(app, "dinsos").get("/forms/penerima_bantuan/print/").get_data(as_text=True)
    assert 'value="daftar"' in page and 'value="penyaluran_bantuan"' in page
    assert 'value="daftar_hadir_bimtek"' not in page  # another form's layout
    assert "Cetak PDF" in page and "Kertas" in page


def test_a_daftar_hadir_takes_its_values_from_the_filtered_angkatan(app: Any) -> None:
    angkatan = _scalar(app, "SELECT min(id) FROM form_bimtek_angkatan")
    name = _scalar(app, "SELECT nama FROM form_bimtek_angkatan WHERE id = :id", id=angkatan)
    judul = _scalar(
        app,
        "SELECT b.judul FROM form_bimtek b JOIN form_bimtek_angkatan a ON a.bimtek_id = b.id WHERE a.id = :id",
        id=angkatan,
    )
    client = _client(app, "dinsos")
    url = f"/forms/bimtek_peserta/print/?_flt_0_angkatan={angkatan}&layout=daftar_hadir_bimtek"
    page = client.get(url).get_data(as_text=True)
    assert f'value="{name}"' in page and judul in page
    kabupaten = client.get("/forms/puskesos/print/?layout=puskesos_kecamatan").get_data(as_text=True)
    assert 'value="Kabupaten Tabalong"' in kabupaten or 'value="Tabalong"' in kabupaten
    answer = client.post(
        url,
        data={
            "layout": "daftar_hadir_bimtek",
            "paper": "F4",
            "orientation": "portrait",
            "value-kegiatan": judul,
            "value-angkatan": name,
            "value-tanggal": "2020-11-04",
            "value-tempat": "Aula Dinas Sosial",
            "signed_on": "2020-11-04",
        },
    )
    assert answer.status_code == 200 and answer.mimetype == "application/pdf", answer.get_data(as_text=True)[:500]
    pages = _text(answer.data)
    whole = "\n".join(pages)
    assert "DAFTAR HADIR PESERTA" in whole and "Rabu, 4 November 2020" in whole and "Aula Dinas Sosial" in whole
    people = _scalar(app, "SELECT count(*) FROM form_bimtek_peserta WHERE angkatan_id = :id", id=angkatan)
    assert people > 0
    assert all(re.search(rf"Halaman {i} dari {len(pages)}", text) for i, text in enumerate(pages, 1))
    logged = _scalar(app, "SELECT row_count FROM simpul_access_log WHERE action = 'print' ORDER BY id DESC LIMIT 1")
    assert logged == people


def test_an_aid_roster_prints_the_users_area_grouped_by_desa_with_nik_masked(app: Any) -> None:
    client = _client(app, "camat")
    answer = client.post(
        "/forms/penerima_bantuan/print/?layout=penyaluran_bantuan",
        data={"layout": "penyaluran_bantuan", "paper": "A4", "orientation": "landscape", "signed_on": "2026-12-01"},
    )
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    with pdfplumber.open(io.BytesIO(answer.data)) as doc:
        width, height = doc.pages[0].width, doc.pages[0].height
        whole = "\n".join(page.extract_text() or "" for page in doc.pages)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape
    assert not re.search(r"\b\d{16}\b", whole)  # every NIK masked
    assert re.search(r"\d{4}\*{8}\d{4}", whole)
    outside = _scalar(
        app, "SELECT nama FROM form_penerima_bantuan WHERE desa NOT LIKE :k ORDER BY id LIMIT 1", k=KECAMATAN + ".%"
    )
    inside = _scalar(
        app, "SELECT nama FROM form_penerima_bantuan WHERE desa LIKE :k ORDER BY id LIMIT 1", k=KECAMATAN + ".%"
    )
    assert inside and inside in whole.replace("\n", " ")
    assert outside is None or outside not in whole
    assert "Jumlah" in whole or "Total" in whole


def test_bad_dialog_input_is_named_and_nothing_printed(app: Any) -> None:
    client = _client(app, "dinsos")
    answer = client.post(
        "/forms/puskesos/print/?layout=puskesos_kecamatan",
        data={"layout": "puskesos_kecamatan", "paper": "B5", "orientation": "diagonal", "signed_on": "kemarin"},
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and answer.mimetype == "text/html"
    assert "Pilih F4 atau A4." in page and "Pilih tegak atau mendatar." in page and "Isikan tanggal" in page
    assert client.get("/forms/puskesos/print/?layout=tidak_ada").status_code == 404


def test_a_large_print_runs_as_a_job_for_its_owner(app: Any) -> None:

    app.config["PRINT_INLINE_MAX_ROWS"] = 1
    try:
        client = _client(app, "dinsos")
        answer = client.post(
            "/forms/puskesos/print/?layout=puskesos_kecamatan",
            data={"layout": "puskesos_kecamatan", "paper": "F4", "orientation": "landscape", "signed_on": "2026-12-01"},
        )
    finally:
        app.config["PRINT_INLINE_MAX_ROWS"] = 2000
    assert answer.status_code == 302 and "/ekspor/" in answer.location
    run_queued_jobs(app)
    status = client.get(answer.location).get_data(as_text=True)
    assert "Cetak" in status and "export-download" in status
    with client.get(answer.location + "/unduh") as download:
        assert download.mimetype == "application/pdf" and "DAFTAR PUSKESOS" in "\n".join(_text(download.data))
    assert _client(app, "camat").get(answer.location + "/unduh").status_code == 404


def test_the_list_offers_print_export_and_the_imports_the_user_may_use(app: Any) -> None:
    dinsos = _client(app, "dinsos").get("/forms/penerima_bantuan/list/").get_data(as_text=True)
    for link in ("simpul-print", "simpul-export", "simpul-import", "simpul-registry"):
        assert link in dinsos
    assert 'href="/import/penerima_bantuan/"' in dinsos
    viewer = _client(app, "pembaca").get("/forms/penerima_bantuan/list/").get_data(as_text=True)
    assert "simpul-print" in viewer and "simpul-import" not in viewer and "simpul-registry" not in viewer
    puskesos = _client(app, "dinsos").get("/forms/puskesos/list/").get_data(as_text=True)
    assert "simpul-registry" not in puskesos  # no registry fields


def test_every_shipped_lists_own_layout_prints(app: Any) -> None:
    client = _client(app, "dinsos")
    specs = app.extensions["simpul_specs"]
    printed = []
    for slug, spec in sorted(specs.items()):
        if spec.singleton:
            continue
        url = f"/forms/{slug.replace('__', '/')}/print/"
        if client.get(url).status_code != 200:
            continue  # a form the role may not read
        answer = client.post(
            url, data={"layout": "daftar", "paper": "F4", "orientation": "landscape", "signed_on": "2026-12-01"}
        )
        assert answer.status_code == 200 and answer.mimetype == "application/pdf", (slug, answer.status_code)
        first = _text(answer.data)[0]
        assert spec.title.id.upper() in first, slug
        printed.append(slug)
    assert len(printed) >= 10, printed


def test_a_role_with_the_reveal_permission_prints_nik_in_full_with_a_purpose(app: Any) -> None:
    url = "/forms/penerima_bantuan/print/?layout=penyaluran_bantuan"
    data = {"layout": "penyaluran_bantuan", "paper": "F4", "orientation": "landscape", "signed_on": "2026-12-01"}
    camat = _client(app, "camat")  # Kecamatan: no reveal permission on the aid rosters
    assert "print-reveal" not in camat.get(url).get_data(as_text=True)
    masked = camat.post(url, data={**data, "reveal": "1", "purpose": "verifikasi penyaluran"})
    assert not re.search(r"\b\d{16}\b", "\n".join(_text(masked.data)))  # the box is not there: ignored
    verifikator = _client(app, "dinsos")  # Dinsos: view and reveal
    assert "print-reveal" in verifikator.get(url).get_data(as_text=True)
    refused = verifikator.post(url, data={**data, "reveal": "1", "purpose": " "})
    assert refused.status_code == 422 and "paling sedikit 5 karakter" in refused.get_data(as_text=True)
    full = verifikator.post(url, data={**data, "reveal": "1", "purpose": "verifikasi penyaluran"})
    assert full.mimetype == "application/pdf" and re.search(r"\b\d{16}\b", "\n".join(_text(full.data)))
    note = _scalar(app, "SELECT purpose FROM simpul_access_log WHERE action = 'print' ORDER BY id DESC LIMIT 1")
    assert note.startswith("NIK dan No. KK lengkap: verifikasi penyaluran.")
    plain = verifikator.post(url, data=data)  # without the box: masked as for everyone
    assert not re.search(r"\b\d{16}\b", "\n".join(_text(plain.data)))


def test_a_layout_value_never_reads_a_referenced_record_outside_the_users_area(app: Any) -> None:
    """values: follow references (angkatan.bimtek.judul); a record on the way outside the area gives nothing."""
    from app.reports.printing import _follow
    from app.reports.selection import user_request

    outside = _scalar(
        app, "SELECT id FROM form_bimtek_peserta WHERE desa NOT LIKE :k ORDER BY id LIMIT 1", k=KECAMATAN + ".%"
    )
    name = _scalar(app, "SELECT nama FROM form_bimtek_peserta WHERE id = :id", id=outside)
    with app.app_context():
        models = app.extensions["simpul_models"]
        attendance = models["bimtek_kehadiran"]
        # An attendance row counted in the clerk's kecamatan whose participant has since moved away.
        row = attendance(peserta_id=outside, tanggal=date(2026, 1, 5), status="hadir")
        row.region_code = f"{KECAMATAN}.2001"
        db.session.add(row)
        db.session.commit()
        row_id = row.id
    for user, expected in (("dinsos", name), ("camat", None)):
        with user_request(app, user, "/forms/bimtek_kehadiran/print/", "id"):
            record = db.session.get(app.extensions["simpul_models"]["bimtek_kehadiran"], row_id)
            assert _follow(record, ["peserta", "nama"]) == expected
            db.session.rollback()
