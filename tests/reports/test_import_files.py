"""Hostile uploads: a workbook that unpacks to gigabytes is refused before it is read."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.reports.imports import reading
from app.reports.imports.errors import ImportFileError
from tests.reports import test_import as imports
from tests.reports.test_import import rows_of, signed_in, upload, workbook

app, programme = imports.app, imports.programme  # the import tests' fixtures: their app and a programme per test


def bomb(unpacked_mb: int) -> bytes:
    """A workbook whose one sheet is `unpacked_mb` MB of the same row: a few hundred KB zipped."""
    buffer = io.BytesIO()
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 1000
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="A" sheetId="1"/></sheets></workbook>')
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b"<worksheet><sheetData>")
            for _ in range(unpacked_mb * 1024 * 1024 // len(row) + 1):
                sheet.write(row)
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


def test_a_workbook_unpacking_to_too_much_is_refused_by_its_declared_size() -> None:
    data = bomb(450)
    assert len(data) < 2 * 1024 * 1024  # well under the 10 MB upload limit
    with pytest.raises(ImportFileError) as refused:
        reading.read_table(data)
    assert refused.value.message.text == "The workbook unpacks to more than %(n)s MB: split it into smaller files."
    assert refused.value.message.params == {"n": 400}


def test_the_upload_screen_names_the_problem_and_an_ordinary_workbook_passes(app: Any, programme: str) -> None:
    client = signed_in(app)
    # The body encoded here: the test client would spool a large one to a file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(bomb(450)), "bomb.xlsx")})
    sent = client.post("/import/penerima_uji/", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    page = sent.get_data(as_text=True)
    assert "Buku kerja ini jika dibuka berukuran lebih dari 400 MB" in page
    assert upload(client, workbook(rows_of(programme, 3))).status_code == 302
