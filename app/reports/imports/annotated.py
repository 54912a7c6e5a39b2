"""The uploaded table handed back with what is wrong: one added column, rows with errors highlighted.

Cells are written with their types (numbers, dates, text) at the rows and columns they had, so
the user corrects the same workbook and uploads it again; text that a spreadsheet would run as
a formula is written escaped (app/reports/spreadsheet.py `safe_cell`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

import xlsxwriter

from app.forms_engine.messages import Message
from app.reports.spreadsheet import safe_cell

from .reading import Table
from .validation import Plan

ERROR_COLUMN = "Keterangan kesalahan"  # the column's title in Bahasa Indonesia; English readers get theirs


def annotated_workbook(
    table: Table,
    plan: Plan,
    label: Callable[[str], str],
    render: Callable[[Message], str],
    column_title: str = ERROR_COLUMN,
    warning_prefix: str = "Peringatan",
) -> bytes:
    """The table as an xlsx with a last column naming, per row, each field and its problem."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    sheet = book.add_worksheet((table.sheet or "Data")[:31])
    bold = book.add_format({"bold": True})
    bad = book.add_format({"bg_color": "#F8D7DA"})
    bad_note = book.add_format({"bg_color": "#F8D7DA", "font_color": "#9C0006", "text_wrap": True})
    warn = book.add_format({"bg_color": "#FFF3CD"})
    warn_note = book.add_format({"bg_color": "#FFF3CD", "font_color": "#7F6000", "text_wrap": True})
    date_format = book.add_format({"num_format": "dd-mm-yyyy"})
    bad_date = book.add_format({"num_format": "dd-mm-yyyy", "bg_color": "#F8D7DA"})
    width = len(table.header)
    top = table.header_row - 1
    for col, title in enumerate(table.header):
        sheet.write_string(top, col, safe_cell(title), bold)
    sheet.write_string(top, width, column_title, bold)
    sheet.set_column(width, width, 70)
    results = {r.row: r for r in plan.rows}
    for cells, number in zip(table.rows, table.row_numbers, strict=True):
        result = results.get(number)
        notes = []
        if result is not None:
            for name, messages in result.errors.items():
                notes.extend(f"{label(name)}: {render(m)}" for m in messages)
            for name, messages in result.warnings.items():
                notes.extend(f"{warning_prefix} – {label(name)}: {render(m)}" for m in messages)
        failed = bool(result is not None and result.errors)
        cell_format = bad if failed else (warn if notes else None)
        for col, value in enumerate(cells):
            _write(sheet, number - 1, col, value, cell_format, bad_date if failed else date_format)
        if notes:
            sheet.write_string(number - 1, width, "; ".join(notes), bad_note if failed else warn_note)
    sheet.freeze_panes(top + 1, 0)
    book.close()
    return buffer.getvalue()


def _write(sheet: Any, row: int, col: int, value: Any, cell_format: Any, date_format: Any) -> None:
    if value is None or value == "":
        if cell_format is not None:
            sheet.write_blank(row, col, None, cell_format)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value, cell_format)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value, cell_format)
    elif isinstance(value, (date, datetime)):
        sheet.write_datetime(row, col, value, date_format)
    elif isinstance(value, time):
        sheet.write_string(row, col, value.strftime("%H:%M"), cell_format)
    else:
        sheet.write_string(row, col, safe_cell(str(value)), cell_format)
