"""Rosters in and out: printed PDF rosters (reportlab), spreadsheet exports (xlsxwriter, CSV) and
imports (python-calamine, CSV), each scoped to the user's area, masked and logged."""
