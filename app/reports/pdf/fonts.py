"""The DejaVu fonts every print embeds (app/reports/fonts/, Bitstream Vera licence in LICENSE there).

reportlab's built-in Helvetica knows Latin-1 only; DejaVu covers Latin, Greek, Cyrillic and
Arabic letters, so any name prints (Arabic-script names unshaped, but never a failed print).
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
SANS = "DejaVuSans"
SANS_BOLD = "DejaVuSans-Bold"
SANS_ITALIC = "DejaVuSans-Oblique"
SANS_BOLD_ITALIC = "DejaVuSans-BoldOblique"
CONDENSED = "DejaVuSansCondensed"
CONDENSED_BOLD = "DejaVuSansCondensed-Bold"
_FILES = (SANS, SANS_BOLD, SANS_ITALIC, SANS_BOLD_ITALIC, CONDENSED, CONDENSED_BOLD)


def register_fonts() -> None:
    """Register the fonts with reportlab once per process (Paragraph's <b> and <i> map to them)."""
    if CONDENSED_BOLD in pdfmetrics.getRegisteredFontNames():
        return
    for name in _FILES:
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"{name}.ttf")))
    addMapping(SANS, 0, 0, SANS)
    addMapping(SANS, 1, 0, SANS_BOLD)
    addMapping(SANS, 0, 1, SANS_ITALIC)
    addMapping(SANS, 1, 1, SANS_BOLD_ITALIC)
    addMapping(CONDENSED, 0, 0, CONDENSED)
    addMapping(CONDENSED, 1, 0, CONDENSED_BOLD)
    addMapping(CONDENSED, 0, 1, CONDENSED)
    addMapping(CONDENSED, 1, 1, CONDENSED_BOLD)
