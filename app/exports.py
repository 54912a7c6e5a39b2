"""Moved to app/reports/spreadsheet.py; kept so code written against the old path still imports."""

from app.reports.spreadsheet import FORMULA_STARTS, safe_cell, workbook_bytes

__all__ = ["FORMULA_STARTS", "safe_cell", "workbook_bytes"]
