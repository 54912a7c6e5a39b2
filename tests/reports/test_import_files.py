"""Hostile uploads: a workbook that unpacks to gigabytes, or whose sheets span huge grids, is refused
before it is read."""

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


def far_cell(row: int, column: int, rows: int = 1) -> bytes:
    """A header, `rows` data rows, and one value at (row, column), 0-based: a few KB."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, ["Nama", "Desa"])
    for r in range(1, rows + 1):
        sheet.write_row(r, 0, [f"Warga {r}", "63.09.01.2001"])
    sheet.write_string(row, column, "x")
    book.close()
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("row", "column", "span"),
    [(1_048_575, 16_383, "1.048.576 rows and 16384 columns"), (1_048_575, 16, "1.048.576 rows and 17 columns"),
     (20_000, 1_000, "20.001 rows and 1001 columns"), (3_000, 2_000, "3.001 rows and 2001 columns")],
)  # fmt: skip
def test_a_sheet_whose_cells_span_a_huge_grid_is_refused_before_it_is_read(row: int, column: int, span: str) -> None:
    """One value far out would make the reader build a grid of up to 17 billion cells (the worker dies)."""
    data = far_cell(row, column)
    assert len(data) < 10_000
    with pytest.raises(ImportFileError) as refused:
        reading.read_table(data)
    assert refused.value.message.render() == (
        f"A sheet of the workbook spans {span}, more than can be read: remove what lies outside the table, "
        "or split it into smaller files."
    )


def test_cells_out_of_the_way_but_within_reach_are_read() -> None:
    table = reading.read_table(far_cell(3_000, 40, rows=3))  # AO3001: 3,001 x 41, read and trimmed to the header
    assert table.header == ["Nama", "Desa"] and [r[0] for r in table.rows] == ["Warga 1", "Warga 2", "Warga 3"]


def test_a_far_cell_in_a_sheet_kept_outside_xl_worksheets_is_found_too() -> None:
    """The workbook's relationships may put a sheet at any path: every part of the archive is looked at."""
    moved = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(far_cell(1_048_575, 16_383))) as source, zipfile.ZipFile(moved, "w") as target:
        for entry in source.infolist():
            data = source.read(entry).replace(b"worksheets/sheet1.xml", b"data/tabel.xml")
            target.writestr(entry.filename.replace("xl/worksheets/sheet1.xml", "xl/data/tabel.xml"), data)
    with zipfile.ZipFile(moved) as check:
        assert "xl/data/tabel.xml" in check.namelist()
    with pytest.raises(ImportFileError, match="spans"):
        reading.read_table(moved.getvalue())


def test_many_sheets_of_wide_empty_grids_are_not_read_one_after_another() -> None:
    """Each sheet within the limit, but each a grid of millions of empty cells: the sheets looked
    through for one holding rows share one budget (five sheets of 16 million cells took 18 s and 825 MB)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for n in range(20):
        sheet = book.add_worksheet(f"Lembar{n}")
        sheet.write_string(0, 0, "Nama" if n == 19 else " ")
        sheet.write_string(1_999, 2_899, " ")  # 2,000 x 2,900: just within a sheet's limit
    book.close()
    with pytest.raises(ImportFileError) as refused:
        reading.read_table(buffer.getvalue())
    assert refused.value.message.render() == (
        "The sheets of the workbook hold more cells than can be read: remove what lies outside the table, "
        "or split it into smaller files."
    )
    assert reading.MAX_CELL_AREA >= 2_000 * 2_900  # each sheet alone passes the check of its references
