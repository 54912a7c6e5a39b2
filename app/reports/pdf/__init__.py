"""Printed rosters (PDF): layouts declared as data (layout.py), rendered with reportlab (render.py).

Pure: imports nothing from Flask or SQLAlchemy; the print views and jobs are shells around it.
Importing the package does not load reportlab (about 5 MB in every process): render.py is
imported where a roster is drawn.
"""

from __future__ import annotations

from .layout import PrintLayout, check_fields, load_layout, parse_layout, shipped_layout, shipped_layouts

__all__ = [
    "PrintLayout",
    "check_fields",
    "load_layout",
    "parse_layout",
    "shipped_layout",
    "shipped_layouts",
]
