"""Reading an uploaded table: xlsx through python-calamine, CSV with its encoding and delimiter found.

The kind of file is decided by its content, never by its name: an xlsx is a ZIP holding
`xl/workbook.xml`; anything else must decode as text and split into columns. The header is the
first row with any value; rows after it keep their spreadsheet row numbers, so messages and the
annotated workbook point at the row the user sees in Excel.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook

from app.forms_engine.messages import N_, Message
from app.reports.pdf.formats import thousands

from .bulk import without_gc
from .errors import ImportFileError

XLSX, CSV = "xlsx", "csv"
MAX_ROWS = 1_000_000
MAX_COLUMNS = 500
# An .xlsx is a zip of XML, about 10-15 times its size unpacked. A "zip bomb" of a few MB unpacks
# to gigabytes and would exhaust the server's memory while read: refused by its declared size
# (an entry larger than it declares is refused by the zip reader itself).
MAX_UNPACKED_BYTES = 400 * 1024 * 1024
# The reader holds a sheet as a full grid from A1 to its last cell (about 44 bytes a cell, empty or
# not): one value far out ("XFD1048576") in a 5 KB file makes a grid of 17 billion cells. Refused
# before reading by the cell references. A 10 MB upload (the default limit) holds about 2 million
# genuine cells (100,000 x 10 is 4.7 MB), 5 million of the densest (one digit each): 6 million
# leaves room and keeps a sheet's grid under ~300 MB. The sheets looked through for one holding
# rows share the same budget, so a workbook of many such sheets is not read sheet after sheet.
MAX_CELL_AREA = 6_000_000
_WIDE_COLUMN = re.compile(rb' r="([A-Z]{2,3})[0-9]')  # cells past column Z: none in most sheets
_NARROW_COLUMN = re.compile(rb' r="([A-Z])[0-9]')
_CHUNK = 4 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_BAD_TEXT_BYTES = set(range(0, 9)) | {11, 12} | set(range(14, 32)) - {27}


@dataclass
class Table:
    """A read table: its header, and each data row with its row number in the file (1-based)."""

    kind: str
    header: list[str]
    header_row: int
    rows: list[list[Any]]
    row_numbers: list[int]
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)  # every sheet of the workbook, in order


def file_kind(data: bytes) -> str:
    """'xlsx' or 'csv' from the bytes; refused when it is neither."""
    if data.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
                unpacked = sum(entry.file_size for entry in archive.infolist())
        except zipfile.BadZipFile as exc:
            raise ImportFileError(
                Message(N_("The file is damaged: it is neither an Excel workbook nor a CSV file."))
            ) from exc
        if "xl/workbook.xml" in names:
            if unpacked > MAX_UNPACKED_BYTES:
                raise ImportFileError(
                    Message(
                        N_("The workbook unpacks to more than %(n)s MB: split it into smaller files."),
                        {"n": MAX_UNPACKED_BYTES // (1024 * 1024)},
                    )
                )
            return XLSX
        raise ImportFileError(Message(N_("The file is not an Excel workbook (.xlsx) or a CSV file.")))
    if data.startswith((b"\xd0\xcf\x11\xe0",)):
        raise ImportFileError(
            Message(N_("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV and upload it again."))
        )
    head = data[:65536]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(Message(N_("The file is not an Excel workbook (.xlsx) or a CSV file.")))
    return CSV


@without_gc
def read_table(data: bytes, sheet: str | None = None, wanted: Callable[[Table], bool] | None = None) -> Table:
    """A CSV file, or one sheet of an xlsx as a Table: the sheet named; by default the first holding
    rows (with `wanted`: the first holding rows that it accepts, else the first holding rows)."""
    if not data.strip():
        raise ImportFileError(Message(N_("The file is empty.")))
    if file_kind(data) == CSV:
        return _table(CSV, "", _csv_rows(data))
    names, rows_of = _xlsx_sheets(data)
    if sheet is not None:
        if sheet not in names:
            raise ImportFileError(Message(N_("The workbook has no sheet named %(sheet)s."), {"sheet": sheet[:100]}))
        return _table(XLSX, sheet, rows_of(sheet), names)
    first, budget = None, MAX_CELL_AREA
    for name in names:
        rows = rows_of(name)
        budget -= sum(map(len, rows))
        if budget < 0:
            if first is not None:
                return first
            raise ImportFileError(
                Message(
                    N_(
                        "The sheets of the workbook hold more cells than can be read: remove what lies outside "
                        "the table, or split it into smaller files."
                    )
                )
            )
        if any(not _blank(v) for row in rows for v in row):
            table = _table(XLSX, name, rows, names)
            if wanted is None or wanted(table):
                return table
            first = first or table
    if first is not None:
        return first
    raise ImportFileError(Message(N_("The file has no rows.")))


def _xlsx_sheets(data: bytes) -> tuple[list[str], Callable[[str], list[list[Any]]]]:
    """A workbook's sheet names, and a reader of one sheet's cells (both refusing a damaged file)."""

    def unreadable(exc: Exception) -> ImportFileError:
        return ImportFileError(
            Message(N_("The Excel workbook could not be read (%(problem)s)."), {"problem": str(exc)[:200]})
        )

    _check_cell_area(data)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = list(book.sheet_names)
    except (CalamineError, ValueError, IndexError) as exc:
        raise unreadable(exc) from exc

    def rows_of(name: str) -> list[list[Any]]:
        try:
            return book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except (CalamineError, ValueError, IndexError) as exc:
            raise unreadable(exc) from exc

    return names, rows_of


def _check_cell_area(data: bytes) -> None:
    """Refuse a workbook with a sheet whose cells span more than MAX_CELL_AREA, judged from its XML.

    Every cell reference (`r="XFD1048576"`, in whatever order the attributes come) counts; to stay
    fast on genuine sheets one pass looks only at columns past Z and rows past 99,999, which is all
    that can exceed the limit in a sheet no wider than Z. A wide sheet gets a second pass over the
    rows that could exceed it at its width, a long one over its columns.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # Every part: the workbook's relationships may put a sheet at any path, not only xl/worksheets/.
        for entry in archive.infolist():
            wide, rows = _matches(archive, entry, _WIDE_COLUMN, _row_reference(6))
            columns = max(26, *map(_column_number, wide)) if wide else 26
            if MAX_CELL_AREA // columns < 100_000:  # rows of fewer digits can exceed it at this width
                (rows,) = _matches(archive, entry, _row_reference(len(str(MAX_CELL_AREA // columns))))
            top = max(map(int, rows), default=0)
            if top * columns > MAX_CELL_AREA and not wide:  # a long sheet no wider than Z: how wide exactly
                (narrow,) = _matches(archive, entry, _NARROW_COLUMN)
                columns = max(map(_column_number, narrow), default=1)
            if top * columns > MAX_CELL_AREA:
                raise ImportFileError(
                    Message(
                        N_(
                            "A sheet of the workbook spans %(rows)s rows and %(columns)s columns, more than can be "
                            "read: remove what lies outside the table, or split it into smaller files."
                        ),
                        {"rows": thousands(top), "columns": columns},
                    )
                )


def _row_reference(digits: int) -> re.Pattern[bytes]:
    """A row or cell reference whose row number has at least `digits` digits."""
    return re.compile(rb' r="[A-Z]{0,3}([0-9]{%d,7})"' % digits)


def _matches(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, *patterns: re.Pattern[bytes]) -> list[set[bytes]]:
    """The distinct matches of each pattern in an entry, read once in chunks (it may be hundreds of MB)."""
    found: list[set[bytes]] = [set() for _ in patterns]
    with archive.open(entry) as xml:
        tail = b""
        while chunk := xml.read(_CHUNK):
            text = tail + chunk
            for pattern, matches in zip(patterns, found, strict=True):
                matches.update(pattern.findall(text))
            tail = text[-32:]  # a reference cut by the chunk's end is found whole in the next
    return found


def _column_number(letters: bytes) -> int:
    """B"A" -> 1, b"Z" -> 26, b"AA" -> 27, b"XFD" -> 16384."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def decode_text(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Excel in an Indonesian or English Windows saves "CSV" in Windows-1252; its five undefined
    # bytes fall back to Latin-1 so no upload is refused for one odd character.
    return data.decode("cp1252", errors="strict") if _cp1252_ok(data) else data.decode("latin-1")


def _cp1252_ok(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def sniff_delimiter(text: str) -> str:
    """`,` `;` or tab: the one splitting the first lines into the most columns, the same on each."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in (",", ";", "\t"):
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        steady = sum(1 for n in counts if n == counts[0])
        score = (counts[0] if counts[0] > 1 else 0, steady)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_rows(data: bytes) -> list[list[Any]]:
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise ImportFileError(Message(N_("The text of the CSV file could not be read."))) from exc
    if any(ord(c) in _BAD_TEXT_BYTES for c in text[:65536]):
        raise ImportFileError(Message(N_("The file is not an Excel workbook (.xlsx) or a CSV file.")))
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text)))
    except csv.Error as exc:
        raise ImportFileError(
            Message(N_("The CSV file could not be read (%(problem)s)."), {"problem": str(exc)})
        ) from exc


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table(kind: str, sheet: str, rows: list[list[Any]], sheets: list[str] | None = None) -> Table:
    start = next((i for i, row in enumerate(rows) if any(not _blank(v) for v in row)), None)
    if start is None:
        raise ImportFileError(Message(N_("The file has no rows.")))
    header = [cell_text(v) for v in rows[start]]
    while header and not header[-1]:
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(Message(N_("The file has more than %(n)s columns."), {"n": MAX_COLUMNS}))
    width = len(header)
    data, numbers = [], []
    for index in range(start + 1, len(rows)):
        row = rows[index][:width]
        if all(_blank(v) for v in row):
            continue
        data.append(row + [""] * (width - len(row)))
        numbers.append(index + 1)
    if len(data) > MAX_ROWS:
        raise ImportFileError(Message(N_("The file has more than %(n)s rows."), {"n": thousands(MAX_ROWS)}))
    return Table(kind, header, start + 1, data, numbers, sheet, sheets or [])


def cell_text(value: Any) -> str:
    """A cell as the text a person reads in it (headers, messages)."""
    if value is None:
        return ""
    if isinstance(value, float) and abs(value) >= 1e15:
        return f"{value:.5E}".replace(".", ",")  # as Excel shows it: 6,30901E+15
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d-%m-%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return " ".join(str(value).split())
