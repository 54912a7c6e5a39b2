"""Structural checks of Indonesian identity numbers and phone numbers (pure)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from .messages import N_, Message

# ASCII only: Python's \d also matches full-width and Arabic-Indic digits, which would store one
# number in several spellings and slip past unique checks. Callers convert with ascii_digits first.
_DIGITS16 = re.compile(r"[0-9]{16}\Z")


def ascii_digits(text: str) -> str:
    """Text with every Unicode decimal digit (full-width ６, Arabic-Indic ٦, …) written as ASCII."""
    if text.isascii():
        return text
    return "".join(str(d) if (d := unicodedata.decimal(ch, None)) is not None else ch for ch in text)


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


class _DateDigits:
    """Whether the DDMMYY digits of a NIK or No. KK encode a date `_birth_date` accepts, remembered per digits.

    A file of 100,000 NIKs holds a few thousand birth dates: each is worked out once (for the
    `today` asked about), not once per number. At most DATE_DIGITS answers are kept per day.
    """

    def __init__(self, woman_adds_40: bool) -> None:
        self.woman_adds_40 = woman_adds_40
        self.memo: tuple[date | None, dict[str, bool]] = (None, {})

    def __call__(self, digits: str, today: date) -> bool:
        """Whether `digits` (six ASCII digits) encode a date on or before `today`."""
        memo = self.memo  # one read: another thread may start another day's memo meanwhile
        if memo[0] != today:
            memo = self.memo = (today, {})
        known = memo[1]
        found = known.get(digits)
        if found is None:
            day, month, yy = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
            if self.woman_adds_40 and day > 40:
                day -= 40
            found = _birth_date(day, month, yy, today) is not None
            if len(known) < DATE_DIGITS:
                known[digits] = found
        return found


DATE_DIGITS = 1 << 16  # every day of a century, for both sexes, fits with room to spare
_nik_date = _DateDigits(woman_adds_40=True)
_kk_date = _DateDigits(woman_adds_40=False)


def nik_birth(nik: str, today: date | None = None) -> tuple[date | None, str]:
    """Birth date (None when not a real date) and sex ('female'/'male') encoded in a 16-digit NIK."""
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "female" if day > 40 else "male"
    return _birth_date(day - 40 if day > 40 else day, month, yy, today or date.today()), sex


def check_nik(value: str, today: date | None = None) -> Message | None:
    """Return the problem with a NIK (PPKKCC DDMMYY SSSS), or None when it is well formed."""
    if not _DIGITS16.match(value):
        return Message(N_("NIK must be exactly 16 digits"))
    if not _nik_date(value[6:12], today or date.today()):
        day = int(value[6:8])
        shown = day - 40 if day > 40 else day
        return Message(N_("NIK: birth date %(date)s is not valid"), {"date": f"{shown:02d}-{value[8:10]}"})
    if value[12:] == "0000":
        return Message(N_("NIK: serial number 0000 is not valid"))
    return None


_DIGITS18 = re.compile(r"[0-9]{18}\Z")


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def check_kk(value: str, today: date | None = None) -> Message | None:
    """Return the problem with a family card number (region 6, issue date DDMMYY, serial 4)."""
    if not _DIGITS16.match(value):
        return Message(N_("No. KK must be exactly 16 digits"))
    if not _kk_date(value[6:12], today or date.today()):
        return Message(N_("No. KK: issue date %(date)s is not valid"), {"date": f"{value[6:8]}-{value[8:10]}"})
    if value[12:] == "0000":
        return Message(N_("No. KK: serial number 0000 is not valid"))
    return None


def check_nip(value: str, today: date | None = None) -> Message | None:
    """Return the problem with a civil-servant number (birth YYYYMMDD, TMT YYYYMM, sex, serial 3)."""
    if not _DIGITS18.match(value):
        return Message(N_("NIP must be exactly 18 digits"))
    today = today or date.today()
    born_y, born_m, born_d = int(value[0:4]), int(value[4:6]), int(value[6:8])
    if not _real_date(born_y, born_m, born_d) or date(born_y, born_m, born_d) > today:
        return Message(N_("NIP: birth date %(date)s is not valid"), {"date": f"{value[6:8]}-{value[4:6]}-{value[0:4]}"})
    tmt_y, tmt_m = int(value[8:12]), int(value[12:14])
    if not 1 <= tmt_m <= 12 or (tmt_y, tmt_m) <= (born_y, born_m) or tmt_y > today.year:
        return Message(N_("NIP: start of service %(tmt)s is not valid"), {"tmt": f"{value[12:14]}-{value[8:12]}"})
    if value[14] not in "12":
        return Message(N_("NIP: the sex digit must be 1 (male) or 2 (female), not %(digit)s"), {"digit": value[14]})
    if value[15:] == "000":
        return Message(N_("NIP: serial number 000 is not valid"))
    return None


_PHONE_CHARS = re.compile(r"[\s\-().]")


def normalise_phone(value: str) -> str | None:
    """Return an Indonesian phone number as +62…, or None when it is not one."""
    digits = _PHONE_CHARS.sub("", ascii_digits(value))
    if digits.startswith("+62"):
        rest = digits[3:]
    elif digits.startswith("62"):
        rest = digits[2:]
    elif digits.startswith("0"):
        rest = digits[1:]
    else:
        return None
    if not (rest.isascii() and rest.isdigit()) or not 8 <= len(rest) <= 13 or rest.startswith("0"):
        return None
    return "+62" + rest


# Field types whose values are personal data (UU 27/2022): masked wherever they are shown, even
# as a record's title; app/access/personal.py decides who may see them in full.
PERSONAL_TYPES = frozenset({"nik", "kk"})


def mask(value: Any) -> Any:
    """6309********0001: the region and the serial stay, the birth date and the rest do not."""
    if not value:
        return value
    text = str(value)
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]
