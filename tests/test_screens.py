"""Screens a clerk reads right: required fields marked, without the browser's own refusals."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import app_with_forms, login

FORM = """
form: catatan
title: Catatan
fields:
  - {name: isi, type: text, label: Isi, required: true}
  - {name: catatan, type: text, label: Keterangan}
"""


def test_required_fields_are_marked_and_checked_by_simpul(empty_app: Any) -> None:
    app = app_with_forms(empty_app, FORM)
    client = app.test_client()
    login(client)
    page = client.get("/forms/catatan/add").get_data(as_text=True)
    assert re.search(r'<label for="isi" control-label>\s*Isi\s*<strong style="color: red">&#42;</strong>', page)
    assert not re.search(r'<label for="catatan" control-label>\s*Keterangan\s*<strong', page)
    assert not re.search(r"<input[^>]*\brequired\b", page)  # the message is Simpul's, in Indonesian
    refused = client.post("/forms/catatan/add", data={"isi": ""}).get_data(as_text=True)
    assert "wajib diisi" in refused
