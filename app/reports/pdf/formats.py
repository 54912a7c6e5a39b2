"""Values as an Indonesian print writes them: Rupiah, numbers, dates in words (pure, no Flask).

app/views/labels.py has a `rupiah` for screens, but it lives in a Flask module; prints are
rendered outside a request (background jobs), so the print's own formatters live here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# What a layout's `format:` may say, for columns and details alike.
FORMATS = ("text", "rupiah", "number", "date", "long_date", "day_date")


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return amount if amount.is_finite() else None


def thousands(whole: int) -> str:
    """1250000 -> '1.250.000' (dot for thousands)."""
    return f"{whole:,}".replace(",", ".")


def number(value: Any) -> str:
    """A number with dot for thousands and comma for decimals ('1.250,5'); text that is no number as is."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    whole = int(abs(amount))
    fraction = abs(amount) - whole
    text = thousands(whole)
    if fraction:
        text += "," + format(fraction.normalize(), "f")[2:]
    return ("-" if amount < 0 else "") + text


def rupiah(value: Any) -> str:
    """Rp 1.250.000 (dot for thousands, comma for decimals; cents only when present)."""
    amount = _decimal(value)
    if amount is None:
        return "" if value is None else str(value)
    whole = int(abs(amount))
    cents = abs(amount) - whole
    text = thousands(whole)
    if cents:
        text += "," + f"{cents:.2f}"[2:]
    return ("-Rp " if amount < 0 else "Rp ") + text


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def short_date(value: Any) -> str:
    """04-11-2020, as lists show dates."""
    day = _as_date(value)
    if day is None:
        return "" if value is None else str(value)
    return day.strftime("%d-%m-%Y")


def long_date(value: Any, lang: str = "id") -> str:
    """4 November 2020: the month in words (Indonesian names unless lang is 'en')."""
    day = _as_date(value)
    if day is None:
        return "" if value is None else str(value)
    months = MONTHS_EN if lang == "en" else MONTHS
    return f"{day.day} {months[day.month - 1]} {day.year}"


def day_date(value: Any, lang: str = "id") -> str:
    """Rabu, 4 November 2020: as 'Hari/Tanggal' is filled in."""
    day = _as_date(value)
    if day is None:
        return "" if value is None else str(value)
    days = DAYS_EN if lang == "en" else DAYS
    return f"{days[day.weekday()]}, {long_date(day, lang)}"


def formatted(value: Any, fmt: str, lang: str = "id") -> str:
    """`value` written in one of FORMATS; empty for None; text as it is."""
    if value is None:
        return ""
    if fmt == "rupiah":
        return rupiah(value)
    if fmt == "number":
        return number(value)
    if fmt == "date":
        return short_date(value)
    if fmt == "long_date":
        return long_date(value, lang)
    if fmt == "day_date":
        return day_date(value, lang)
    return value if isinstance(value, str) else str(value)


def amount_of(value: Any) -> Decimal:
    """A cell's value as a Decimal for totals: empty or non-numeric counts as zero."""
    amount = _decimal(value) if value not in (None, "") else None
    return amount if amount is not None else Decimal(0)
