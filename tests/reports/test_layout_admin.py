"""Print layouts edited in the panel (app/reports/layout_admin.py): a change is checked against its
form and refused whole with located problems, serves the print dialog at once, and can be undone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.reports.pdf.layout import shipped_layouts
from tests.conftest import BACKENDS, add_user, login, shipped_app

URL = "/cetak/tata-letak/"


@pytest.fixture(scope="module", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shipped_app(request, tmp_path_factory.mktemp("layouts")) as app:
        add_user(app, "kepala", "Admin")
        add_user(app, "dinsos", "Dinsos")
        yield app


def _client(app: Any, user: str) -> Any:
    client = app.test_client()
    login(client, user)
    client.get("/lang/id")
    return client


def _stored(app: Any) -> int:
    with app.app_context():
        return db.session.execute(sa.text("SELECT count(*) FROM simpul_print_layout")).scalar_one()


def test_the_list_shows_every_shipped_layout_ready(app: Any) -> None:
    page = _client(app, "kepala").get(URL).get_data(as_text=True)
    for name in shipped_layouts():
        assert f'data-layout="{name}"' in page
    assert "Tidak cocok dengan formulirnya" not in page and page.count("Siap") >= len(shipped_layouts())


def test_only_the_admin_opens_the_layouts(app: Any) -> None:
    assert _client(app, "dinsos").get(URL).status_code == 403
    assert _client(app, "dinsos").post(URL + "puskesos_kecamatan", data={"definition": "x"}).status_code == 403


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            ("field: nama,", "field: nama_lengkap,"),
            "columns[2].field: formulir tidak memiliki isian &#39;nama_lengkap&#39; (baris 15)",
        ),
        (("paper: F4", "paper: [F4"), "YAML"),
        (("form: puskesos", "form: tidak_ada"), "form:"),
        (("width: 24, format: date", "width: lebar, format: date"), "columns[5].width"),
        (("kabupaten: kantor.kabupaten", "kabupaten: desa.nama"), "values.kabupaten"),
    ],
)
def test_a_bad_change_is_refused_whole_with_its_place(app: Any, change: tuple[str, str], problem: str) -> None:
    client = _client(app, "kepala")
    text = shipped_layouts()["puskesos_kecamatan"].read_text(encoding="utf-8")
    assert change[0] in text
    answer = client.post(URL + "puskesos_kecamatan", data={"definition": text.replace(*change, 1)})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Belum disimpan" in page
    assert problem in page, page[page.find("layout-problems") : page.find("layout-problems") + 800]
    assert _stored(app) == 0


def test_a_saved_change_serves_the_print_and_the_shipped_one_comes_back(app: Any) -> None:
    admin, clerk = _client(app, "kepala"), _client(app, "dinsos")
    text = shipped_layouts()["puskesos_kecamatan"].read_text(encoding="utf-8")
    changed = text.replace('id: "DAFTAR PUSKESOS\\n{kabupaten}"', 'id: "REKAP PUSKESOS\\n{kabupaten}"')
    assert changed != text
    answer = admin.post(URL + "puskesos_kecamatan", data={"definition": changed})
    assert answer.status_code == 302 and _stored(app) == 1
    assert "REKAP PUSKESOS" in clerk.get("/forms/puskesos/print/").get_data(as_text=True)
    assert admin.get(URL + "puskesos_kecamatan").get_data(as_text=True).count("REKAP PUSKESOS") == 1
    assert admin.post(URL + "puskesos_kecamatan/bawaan").status_code == 302
    assert _stored(app) == 0
    assert "REKAP PUSKESOS" not in clerk.get("/forms/puskesos/print/").get_data(as_text=True)


def test_a_new_layout_for_a_form(app: Any) -> None:
    admin = _client(app, "kepala")
    text = shipped_layouts()["puskesos_kecamatan"].read_text(encoding="utf-8")
    assert admin.post(URL + "baru", data={"name": "Bad Name", "definition": text}).status_code == 422
    assert admin.post(URL + "baru", data={"name": "puskesos_kecamatan", "definition": text}).status_code == 422
    assert (
        admin.post(URL + "baru", data={"name": "puskesos_a4", "definition": text.replace("F4", "A4")}).status_code
        == 302
    )
    assert 'value="puskesos_a4"' in admin.get("/forms/puskesos/print/").get_data(as_text=True)
    assert admin.post(URL + "puskesos_a4/bawaan").status_code == 302
    assert _stored(app) == 0
