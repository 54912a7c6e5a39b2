"""Structural checks of Indonesian identity numbers and phone numbers (pure)."""

from __future__ import annotations

import re
from datetime import date

from .messages import N_, Message

_DIGITS16 = re.compile(r"^\d{16}$")


def _birth_date(day: int, month: int, yy: int, today: date) -> date | None:
    """Resolve a two-digit year to the latest century that is not in the future."""
    for century in (2000, 1900):
        try:
            born = date(century + yy, month, day)
        except ValueError:
            return None
        if born <= today:
            return born
    return None


def check_nik(value: str, today: date | None = None) -> Message | None:
    """Return the problem with a NIK (PPKKCC DDMMYY SSSS), or None when it is well formed."""
    if not _DIGITS16.match(value):
        return Message(N_("NIK must be exactly 16 digits"))
    day, month, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if day > 40:
        day -= 40
    if _birth_date(day, month, yy, today or date.today()) is None:
        return Message(
            N_("NIK: birth date %(date)s is not valid"),
            {"date": f"{value[6:8]}-{value[8:10]}"},
        )
    if value[12:] == "0000":
        return Message(N_("NIK: serial number 0000 is not valid"))
    return None


_PHONE_CHARS = re.compile(r"[\s\-().]")


def normalise_phone(value: str) -> str | None:
    """Return an Indonesian phone number as +62…, or None when it is not one."""
    digits = _PHONE_CHARS.sub("", value)
    if digits.startswith("+62"):
        rest = digits[3:]
    elif digits.startswith("62"):
        rest = digits[2:]
    elif digits.startswith("0"):
        rest = digits[1:]
    else:
        return None
    if not rest.isdigit() or not 8 <= len(rest) <= 13 or rest.startswith("0"):
        return None
    return "+62" + rest
