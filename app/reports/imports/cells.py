"""Spreadsheet cells as the engine's raw input, and what Excel may have done to them.

Excel keeps numbers as doubles with 15 significant digits: a 16-digit NIK typed into a number
cell is rounded (6309014507900001 becomes 6309014507900000, shown as 6,30901E+15), so its last
digit is lost for good. Such a cell is refused with a message saying so, never stored.
Whole-number doubles become ints (a reference id, "RT 5" in a text field); dates stay dates.
"""

from __future__ import annotations

import re
from typing import Any

from app.forms_engine.fieldtypes import Invalid
from app.forms_engine.messages import N_, Message
from app.forms_engine.spec import FieldSpec

EXCEL_DIGITS = 1e15  # from here on a double may have lost digits
DIGIT_TYPES = frozenset({"nik", "kk", "nip", "phone", "text", "longtext", "region", "choice"})
_SCIENTIFIC = re.compile(r"^\s*[0-9]+(?:[.,][0-9]+)?\s*[eE]\s*\+?\s*[0-9]+\s*$")
ROUNDED = N_(
    "was stored by Excel as a number and rounded (%(shown)s): its last digits are lost; "
    "format the column as Text and type the number again"
)


def raw_value(field: FieldSpec, value: Any) -> Any:
    """The cell as input for `field`; raises Invalid for a number Excel has rounded."""
    if isinstance(value, float):
        if field.type in DIGIT_TYPES and abs(value) >= EXCEL_DIGITS:
            raise Invalid(Message(ROUNDED, {"shown": f"{value:.5E}".replace(".", ",")}))
        if value.is_integer() and abs(value) < EXCEL_DIGITS:
            return int(value)
        return value
    if isinstance(value, str):
        if field.type in DIGIT_TYPES and ("e" in value or "E" in value) and _SCIENTIFIC.match(value):
            raise Invalid(Message(ROUNDED, {"shown": value.strip()}))
        return value
    return value
