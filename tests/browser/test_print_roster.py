"""In Chromium at 1366 x 768, in Indonesian, on the shipped forms and demo data: a Dinsos clerk prints
the daftar hadir of an angkatan and an aid roster from the list screens, and exports a list.
The PDFs are read back and one page of each rendered (tests/artifacts/print/)."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pdfplumber
import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.browser.conftest import shot, sign_in
from tests.conftest import add_user, shipped_app

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "print"


@pytest.fixture(scope="module", params=["sqlite"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shipped_app(request, tmp_path_factory.mktemp("print-browser")) as app:
        app.config["WTF_CSRF_ENABLED"] = True
        add_user(app, "dinsos", "Dinsos")
        yield app


@pytest.fixture
def clerk(laptop: Any) -> Any:
    sign_in(laptop, "dinsos", lang="id")
    return laptop


def _pdf(download: Any, name: str) -> list[str]:
    """The downloaded PDF kept as an artifact, its first page rendered to PNG; its pages' text."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    download.save_as(str(path))
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(ARTIFACTS / name)], check=True)
    with pdfplumber.open(io.BytesIO(path.read_bytes())) as doc:
        return [page.extract_text() or "" for page in doc.pages]


def test_a_clerk_prints_the_daftar_hadir_of_an_angkatan(clerk: Any, app: Any) -> None:
    with app.app_context():
        angkatan, name = db.session.execute(sa.text("SELECT id, nama FROM form_bimtek_angkatan ORDER BY id")).first()
    clerk.goto(clerk.base + f"/forms/bimtek_peserta/list/?_flt_0_angkatan={angkatan}")
    with clerk.expect_navigation():
        clerk.click("a.simpul-print")
    with clerk.expect_navigation():
        clerk.select_option("#print-layout", "daftar_hadir_bimtek")
    assert clerk.input_value("#print-value-angkatan") == name
    assert clerk.input_value("#print-value-kegiatan")  # the angkatan's bimtek
    clerk.fill("#print-value-tanggal", "2020-11-04")
    shot(clerk, "print/dialog-daftar-hadir")
    with clerk.expect_download() as download:
        clerk.click("#print-submit")
    pages = _pdf(download.value, "daftar-hadir")
    assert "DAFTAR HADIR PESERTA" in pages[0] and "Rabu, 4 November 2020" in pages[0]
    assert f"Halaman {len(pages)} dari {len(pages)}" in pages[-1]


def test_a_clerk_prints_an_aid_roster_and_exports_the_list(clerk: Any, app: Any) -> None:
    clerk.goto(clerk.base + "/forms/penerima_bantuan/list/")
    with clerk.expect_navigation():
        clerk.click("a.simpul-print")
    with clerk.expect_navigation():
        clerk.select_option("#print-layout", "penyaluran_bantuan")
    clerk.fill("#print-value-lokasi", "Kantor Desa")
    shot(clerk, "print/dialog-penyaluran")
    with clerk.expect_download() as download:
        clerk.click("#print-submit")
    pages = _pdf(download.value, "penyaluran-bantuan")
    assert "DAFTAR PENYALURAN BANTUAN" in pages[0] and "Kantor Desa" in pages[0]
    assert "Mengetahui," in pages[-1]
    clerk.goto(clerk.base + "/forms/penerima_bantuan/list/")
    with clerk.expect_download() as download:
        clerk.click(".simpul-export > a")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).worksheets[0]
    assert sheet.max_row > 1 and download.value.suggested_filename.endswith(".xlsx")
