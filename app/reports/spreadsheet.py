"""Spreadsheet exports of form records: scoped, masked, logged, and safe to open.

Any text cell starting with = + - @ (or a tab/carriage return) would be read as a formula by
Excel or LibreOffice, so an attacker's NIK field could run `=HYPERLINK(…)` on an office PC;
such text is written as a string with a leading apostrophe. Every export goes through this
module so the rule holds for all of them (later: PDF rosters, streamed exports).
"""

from __future__ import annotations

import io
import re
from typing import Any

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value as a spreadsheet may hold it without evaluating it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def workbook_bytes(title: str, header: list[str], rows: list[list[Any]]) -> bytes:
    """One sheet: a bold header and the rows, every text cell written as text (never a formula)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    # Excel refuses []:*?/\ in a sheet name (a form title like "Instansi / OPD"), and leading or
    # trailing apostrophes, and more than 31 characters.
    sheet = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", "-", title)[:31].strip("'") or "Data")
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
