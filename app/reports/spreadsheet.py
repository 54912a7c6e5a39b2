"""Spreadsheet exports of form records: typed, scoped, masked, and safe to open.

Any text cell starting with = + - @ (or a tab/carriage return) would be read as a formula by
Excel or LibreOffice, so an attacker's NIK field could run `=HYPERLINK(…)` on an office PC;
such text is written as a string with a leading apostrophe (`safe_cell`), in .xlsx and CSV alike.

`write_xlsx` streams a `Selection` (app/reports/selection.py) into a workbook written with
xlsxwriter's `constant_memory` (each row goes to disk as the next begins): numbers as numbers,
dates as dates, Rupiah with its format, NIK/No. KK/NIP as text (no digit lost), the header bold
and frozen, an autofilter, widths from each column's label and type (constant_memory cannot
measure afterwards), and a second sheet with who exported what, when, with which filters.

`write_csv` writes the same rows as UTF-8 with a byte order mark (so Excel reads the names
right), `,` or `;` between fields. With `;` (Excel in Indonesian locale, where `,` is the decimal
separator) decimals are written with a comma. Dates are ISO 8601 (2020-11-04, 2020-11-04 09:30):
Excel in Indonesian and English locales and LibreOffice all read that as a date, where
04-11-2020 is read as 11 April in an English-locale Excel. A CSV keeps every digit of a NIP,
but Excel opening a CSV turns long digit strings into numbers: the .xlsx export is for Excel.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import xlsxwriter
from flask_babel import gettext

from app.reports.pdf.formats import thousands
from app.reports.selection import DATE, DATETIME, IDENTITY, MONEY, NUMBER, Column, Selection
from app.views.labels import current_lang

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576 - 1  # Excel's rows per sheet, less the header
MIME_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME_CSV = "text/csv"
RUPIAH_FORMAT = '"Rp" #,##0'
Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000  # rows between progress reports


def safe_cell(value: Any) -> Any:
    """A value as a spreadsheet may hold it without evaluating it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def sheet_name(title: str, fallback: str = "Data") -> str:
    """A title as Excel accepts a sheet name: no []:*?/\\, no apostrophe at either end, 31 characters."""
    return re.sub(r"[\[\]:*?/\\]", "-", title)[:31].strip("'") or fallback


def _workbook(target: Any, in_memory: bool = False) -> xlsxwriter.Workbook:
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    return xlsxwriter.Workbook(target, {**options, "in_memory": True} if in_memory else options)


def workbook_bytes(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    """One small sheet in memory: a bold header and the rows, text always as text (never a formula)."""
    buffer = io.BytesIO()
    book = _workbook(buffer, in_memory=True)
    sheet = book.add_worksheet(sheet_name(title))
    bold = book.add_format({"bold": True})
    for col, name in enumerate(header):
        sheet.write_string(0, col, safe_cell(str(name)), bold)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                sheet.write_string(r, col, safe_cell(str(value)))
            else:
                sheet.write_number(r, col, value)
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


@dataclass(frozen=True)
class ExportDetails:
    """Who exported, when (office local time, as text with its zone) and for what: the details sheet."""

    user: str
    when: str


# Widths in characters: a kind's usual value, widened to the label; text by its field's length.
_WIDTH = {NUMBER: 12, MONEY: 16, DATE: 12, DATETIME: 17, IDENTITY: 21}
_TEXT_WIDTH, _MAX_WIDTH = 24, 50


def column_width(column: Column) -> float:
    """A sensible width from the label and the column's kind (values cannot be measured first)."""
    if column.kind in _WIDTH:
        width = _WIDTH[column.kind]
    elif column.field.type == "longtext":
        width = _MAX_WIDTH
    else:
        width = min(max(column.max_length or _TEXT_WIDTH, 8), _TEXT_WIDTH + 6)
    return float(min(max(width, len(column.label) + 3), _MAX_WIDTH))


def write_xlsx(target: Any, selection: Selection, details: ExportDetails, progress: Progress | None = None) -> int:
    """Stream the selection into an .xlsx file (a path or binary file); return the rows written.

    Rows past Excel's limit of a sheet continue on the next one ("Title (2)", …), each with the header.
    """
    book = xlsxwriter.Workbook(
        target,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    header = book.add_format({"bold": True, "bg_color": "#F2F2F2", "bottom": 1, "text_wrap": True, "valign": "top"})
    formats = {
        DATE: book.add_format({"num_format": "dd-mm-yyyy"}),
        DATETIME: book.add_format({"num_format": "dd-mm-yyyy hh:mm"}),
        MONEY: book.add_format({"num_format": RUPIAH_FORMAT}),
        IDENTITY: book.add_format({"num_format": "@"}),  # text: a clerk's edit keeps it text too
    }
    columns = selection.columns

    def data_sheet(number: int) -> tuple[Any, list[Callable[[int, int, Any], Any]]]:
        sheet = book.add_worksheet(numbered_sheet_name(selection.title, number))
        for col, column in enumerate(columns):
            sheet.set_column(col, col, column_width(column), formats.get(column.kind))
            sheet.write_string(0, col, safe_cell(column.label), header)
        sheet.freeze_panes(1, 0)
        return sheet, [_cell_writer(sheet, column.kind, formats.get(column.kind)) for column in columns]

    def finish(sheet: Any, rows: int) -> None:
        if columns:
            sheet.autofilter(0, 0, max(rows, 1), len(columns) - 1)

    sheets = 1
    sheet, writers = data_sheet(sheets)
    row = total = 0
    for _id, values in selection.rows():
        if row == XLSX_MAX_ROWS:
            finish(sheet, row)
            sheets += 1
            sheet, writers = data_sheet(sheets)
            row = 0
        row += 1
        total += 1
        for col, value in enumerate(values):
            if value is not None and value != "":
                writers[col](row, col, value)
        if progress is not None and total % PROGRESS_EVERY == 0:
            progress(total)
    finish(sheet, row)
    _details_sheet(book, selection, details, total, sheets)
    book.close()
    return total


def numbered_sheet_name(title: str, number: int) -> str:
    """The name of the `number`th sheet of a title's rows: the title, then "Title (2)", "Title (3)", …"""
    if number == 1:
        return sheet_name(title)
    suffix = f" ({number})"
    return sheet_name(title)[: 31 - len(suffix)] + suffix


def _cell_writer(sheet: Any, kind: str, fmt: Any) -> Callable[[int, int, Any], Any]:
    """The one call that writes a value of this kind (chosen once per column, not per cell)."""
    write_string, write_number = sheet.write_string, sheet.write_number
    if kind in (NUMBER, MONEY):

        def number(row: int, col: int, value: Any) -> Any:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return write_number(row, col, value, fmt)
            if isinstance(value, Decimal):
                return write_number(row, col, float(value), fmt)
            return write_string(row, col, safe_cell(str(value)))

        return number
    if kind in (DATE, DATETIME):
        write_datetime = sheet.write_datetime

        def when(row: int, col: int, value: Any) -> Any:
            if isinstance(value, (date, datetime)):
                return write_datetime(row, col, value, fmt)
            return write_string(row, col, safe_cell(str(value)))

        return when
    if kind == IDENTITY:
        return lambda row, col, value: write_string(row, col, safe_cell(str(value)), fmt)

    def text(row: int, col: int, value: Any) -> Any:
        return write_string(row, col, safe_cell(value if isinstance(value, str) else str(value)))

    return text


def details_lines(selection: Selection, details: ExportDetails, rows: int) -> list[tuple[str, str]]:
    """(label, value) lines telling who exported what: the details sheet, and print headers too."""
    lines = [
        (gettext("Form"), selection.title),
        (gettext("Exported by"), details.user),
        (gettext("Exported on"), details.when),
        (gettext("Rows"), _count(rows)),
        (gettext("Working area"), selection.area or gettext("all regions")),
        (gettext("Order"), selection.order),
    ]
    if selection.filters:
        lines += [(gettext("Filter: %(name)s", name=note.label), note.text) for note in selection.filters]
    else:
        lines.append((gettext("Filters"), gettext("no filter")))
    lines.append((gettext("NIK and No. KK"), gettext("masked")))
    return lines


def _count(number: int) -> str:
    """A count with the thousands separated as the user's language does: 1.048.575 / 1,048,575."""
    return thousands(number) if current_lang() == "id" else f"{number:,}"


def _details_sheet(book: Any, selection: Selection, details: ExportDetails, rows: int, sheets: int) -> None:
    name = sheet_name(gettext("Export details"), "Details")
    taken = {numbered_sheet_name(selection.title, n).casefold() for n in range(1, sheets + 1)}
    sheet = book.add_worksheet(name if name.casefold() not in taken else name[:25] + " (ket)")
    bold = book.add_format({"bold": True, "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 70, wrap)
    lines = details_lines(selection, details, rows)
    if sheets > 1:
        note = gettext(
            "%(sheets)s sheets: Excel holds %(rows)s rows per sheet.", sheets=sheets, rows=_count(XLSX_MAX_ROWS)
        )
        lines.append((gettext("Note"), note))
    for r, (label, value) in enumerate(lines):
        sheet.write_string(r, 0, safe_cell(label), bold)
        sheet.write_string(r, 1, safe_cell(value), wrap)


def _csv_value(kind: str, value: Any, decimal_comma: bool) -> Any:
    if value is None:
        return ""
    if kind in (NUMBER, MONEY) and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        # Decimal('2.5000') as 2.5: the digits the value has, never an exponent.
        text = format(value.normalize(), "f") if isinstance(value, Decimal) else repr(value)
        return text.replace(".", ",") if decimal_comma else text
    if kind == DATETIME and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if kind == DATE and isinstance(value, date):
        return value.isoformat()
    return safe_cell(value if isinstance(value, str) else str(value))


def write_csv(target: IO[bytes], selection: Selection, delimiter: str = ",", progress: Progress | None = None) -> int:
    """Stream the selection as CSV (UTF-8 with BOM, `,` or `;`) into a binary file; return the rows."""
    if delimiter not in (",", ";"):
        raise ValueError(f"{delimiter!r}: a CSV export is separated by ',' or ';'")
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="", write_through=False)
    try:
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([safe_cell(c.label) for c in selection.columns])
        kinds = [c.kind for c in selection.columns]
        comma = delimiter == ";"
        row = 0
        for _id, values in selection.rows():
            writer.writerow([_csv_value(k, v, comma) for k, v in zip(kinds, values, strict=True)])
            row += 1
            if progress is not None and row % PROGRESS_EVERY == 0:
                progress(row)
        text.flush()
    finally:
        text.detach()  # the caller owns the binary file
    return row
