"""Printed rosters (PDF): layouts declared as data (layout.py), rendered with reportlab (render.py).

Pure: imports nothing from Flask or SQLAlchemy; the print views and jobs are shells around it.
"""

from __future__ import annotations

from .layout import PrintLayout, check_fields, load_layout, parse_layout, shipped_layout, shipped_layouts
from .render import Letterhead, Printed, Signer, render_roster

__all__ = [
    "Letterhead",
    "PrintLayout",
    "Printed",
    "Signer",
    "check_fields",
    "load_layout",
    "parse_layout",
    "render_roster",
    "shipped_layout",
    "shipped_layouts",
]
