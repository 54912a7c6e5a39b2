"""Bahasa Indonesia by default on every screen (FAB's strings and ours), English on request."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.extensions import db
from tests.conftest import ROOT, app_with_forms

I18N = ROOT / "app" / "i18n"
FORM = """
form: kegiatan
title: {id: Kegiatan, en: Activities}
category: {id: Bimtek, en: Training}
fields:
  - {name: judul, type: text, label: {id: Judul, en: Title}, required: true}
  - {name: jenis, type: choice, label: {id: Jenis, en: Kind}, choices: [{value: a, label: {id: Daring, en: Online}}]}
  - {name: peserta, type: integer, label: {id: Jumlah peserta, en: Participants}, min: 1}
"""
ENGLISH = [
    "Search",
    "Record Count",
    "No records found",
    ">Save<",
    ">Add<",
    "List Users",
    "Security",
    "Select Value",
    "Logout",
]


def _catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id}


@pytest.mark.parametrize(
    "catalog",
    ["simpul/id/LC_MESSAGES/messages.po", "fab/id/LC_MESSAGES/messages.po", "wtforms/id/LC_MESSAGES/wtforms.po"],
)
def test_catalogues_are_complete_and_compiled(catalog: str) -> None:
    messages = _catalog(I18N / catalog)
    assert messages and all(messages.values()), [k for k, v in messages.items() if not v]
    assert (I18N / catalog).with_suffix(".mo").exists(), "run `make translations`"


def test_every_string_in_the_code_is_in_the_catalogue() -> None:
    keywords = {"N_": None, "_": None, "gettext": None, "lazy_gettext": None}
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found = {m[2] for m in extract_from_dir(str(ROOT / "app"), method_map, keywords=keywords) if isinstance(m[2], str)}
    translated = _catalog(I18N / "simpul/id/LC_MESSAGES/messages.po")
    assert sorted(found - set(translated)) == [], "run `make extract` and translate the new strings"


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, FORM)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO form_kegiatan (judul, jenis, peserta) VALUES ('Bimtek Puskesos', 'a', 150)"))
    return app


# Every screen of the shipped forms and every security screen, in both languages: test_rendered_language.py
PAGES = [
    "/forms/kegiatan/list/",
    "/forms/kegiatan/add",
    "/forms/kegiatan/show/1",
    "/forms/kegiatan/edit/1",
    "/users/list/",
    "/roles/list/",
]


@pytest.mark.parametrize("page", PAGES)
def test_screens_speak_indonesian_by_default(client: Any, page: str) -> None:
    html = client.get(page).data.decode()
    visible = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert [word for word in ENGLISH if word in visible] == []
    assert "Keamanan" in visible


def test_labels_and_choices_follow_the_chosen_language(client: Any) -> None:
    assert "Judul" in client.get("/forms/kegiatan/list/").data.decode()
    client.get("/lang/en")
    html = client.get("/forms/kegiatan/list/").data.decode()
    assert "Title" in html and "Online" in html and "Search" in html


def test_api_errors_are_in_indonesian_by_default(client: Any) -> None:
    response = client.post("/api/v1/kegiatan/", json={"peserta": 0})
    assert response.json["message"] == {"judul": ["wajib diisi"], "peserta": ["paling kecil 1"]}
    response = client.post("/api/v1/kegiatan/?_l_=en", json={"peserta": 0})
    assert response.json["message"]["peserta"] == ["must be at least 1"]


def test_login_page_is_indonesian(empty_app: Any) -> None:
    html = empty_app.test_client().get("/login/").data.decode()
    assert "Masuk" in html and "Kata Sandi" in html
