"""The field types a definition may use: column type, value conversion and checks.

Each type converts an incoming value (a string from a screen, a JSON value from the API,
or a stored value during a type-change dry run) into the Python value stored, raising
`Invalid` with a translatable message when it cannot. Conversion is total: any input gives
either a value that the column holds on SQLite and PostgreSQL alike, or `Invalid`, at a cost
bounded by the input's length (numbers are measured before they are built).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from .identity import ascii_digits, check_kk, check_nik, check_nip, normalise_phone
from .messages import N_, Message, shown
from .spec import FieldSpec
from .text import unstorable

REGION_LEVELS = {"provinsi": 1, "kabupaten": 2, "kecamatan": 3, "desa": 4}
REGION_CODE = re.compile(r"[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?\Z")
TRUE_WORDS = {"1", "true", "yes", "ya", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "tidak", "t", "n", "off"}

BIGINT = 2**63 - 1  # integer fields are BIGINT on both databases
MAX_RECORD_ID = 2**31 - 1  # ids, references and parent_id are INTEGER: 4 bytes on PostgreSQL
EXACT_DIGITS = 15  # SQLite keeps NUMERIC values as 8-byte floats: only 15 significant digits survive
EXACT_FLOAT = 2**53  # from here on a JSON number with a fraction may already have been rounded
NUMBER_CHARS = 64  # longer than any number a column holds: refused before it is parsed
_EXPONENT_LIMIT = 10**6  # written exponents are clamped to this: beyond every column, still cheap


class Invalid(Exception):
    """A value that cannot be stored in a field; carries the message to show."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.text)
        self.message = message


@dataclass(frozen=True)
class FieldType:
    """How one kind of field is stored and converted."""

    name: str
    options: frozenset[str]
    column: Callable[[FieldSpec], sa.types.TypeEngine] | None
    coerce: Callable[[FieldSpec, Any], Any]
    ordered: bool = False  # min/max apply to the value itself
    sized: bool = False  # min_length/max_length apply


# ---------------------------------------------------------------------------
# Text


def _text(field: FieldSpec, value: Any) -> str:
    if value.__class__ is str:  # the usual case, first
        text = value.strip()
    else:
        # Numbers may stand for text ("RT 5" sent as 5); true/false may not: they were stored as "False".
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise Invalid(Message(N_("must be text")))
        if (isinstance(value, float) and not math.isfinite(value)) or (
            isinstance(value, int) and value.bit_length() > 256
        ):
            raise Invalid(Message(N_("must be text")))
        text = value.strip() if isinstance(value, str) else str(value)
    if problem := unstorable(text):
        raise Invalid(problem)
    return text


# ---------------------------------------------------------------------------
# Numbers. The one rule for numbers written as text (README, "Field types"): a comma is the
# decimal separator and a dot groups thousands, as in Indonesian ("1.250.000,50"); a dot that
# cannot group thousands is a decimal point, as programs write ("3.25", "0.5", "1e3"). One
# separator followed by exactly three digits is read by the field: where it keeps fewer than
# three decimals "1.000" is one thousand and "1,000" is refused as ambiguous; where it keeps
# three or more, "1,000" is one and "1.000" is refused as ambiguous.

_POINT = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?")
_GROUPED = re.compile(r"([+-]?)([1-9][0-9]{0,2}(?:\.[0-9]{3})+)(?:,([0-9]+))?")
_COMMA = re.compile(r"([+-]?)([0-9]+),([0-9]+)")
_ONE_GROUP = re.compile(r"[+-]?([1-9][0-9]{0,2})([.,])([0-9]{3})")


def _not_a_number(scale: int) -> Invalid:
    return Invalid(Message(N_("must be a whole number") if scale == 0 else N_("must be a number")))


def _ambiguity(compact: str, scale: int) -> Invalid | None:
    """'1.000' or '1,000' where the field cannot tell thousands from decimals."""
    match = _ONE_GROUP.fullmatch(compact)
    if match is None:
        return None
    sign = compact[0] if compact[0] in "+-" else ""
    head, separator, tail = match.groups()
    if separator == "." and scale >= 3:
        decimals = f"{sign}{head},{tail}"
    elif separator == "," and scale < 3 and len(tail.rstrip("0")) <= scale:
        decimals = f"{sign}{head}" + (f",{tail.rstrip('0')}" if tail.rstrip("0") else "")
    else:
        return None
    return Invalid(
        Message(
            N_("'%(value)s' is ambiguous: write %(thousands)s for thousands or %(decimals)s for decimals"),
            {"value": compact, "thousands": f"{sign}{head}{tail}", "decimals": decimals},
        )
    )


def _read_number(text: str, scale: int) -> Decimal:
    """A number written as text, by the rule above; `scale`: decimals the field keeps."""
    if len(text) > 4 * NUMBER_CHARS:  # before any work on it, however much space it holds
        raise Invalid(Message(N_("is too long for a number")))
    compact = "".join(ascii_digits(text).split())
    if len(compact) > NUMBER_CHARS:
        raise Invalid(Message(N_("is too long for a number")))
    ambiguous = _ambiguity(compact, scale)
    if ambiguous is not None:
        raise ambiguous
    exponent = "0"
    if match := _GROUPED.fullmatch(compact):
        sign, whole, fraction = match[1], match[2].replace(".", ""), match[3]
    elif match := _COMMA.fullmatch(compact):
        sign, whole, fraction = match.groups()
    elif match := _POINT.fullmatch(compact):
        sign, whole, fraction, exponent = match[1], match[2], match[3], match[4] or "0"
    else:
        raise _not_a_number(scale)
    # Clamped, "1e1000000" still compares as too large, but nothing is ever built that big.
    power = max(-_EXPONENT_LIMIT, min(_EXPONENT_LIMIT, int(exponent)))
    return Decimal(f"{sign}{whole}.{fraction or '0'}E{power}")


def _number(value: Any, scale: int) -> Decimal:
    """Any input as a finite Decimal of bounded size (not yet checked against the column)."""
    if isinstance(value, str):
        return _read_number(value, scale)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise _not_a_number(scale)
    if isinstance(value, int):
        if value.bit_length() > 256:  # far beyond every column; not worth building exactly
            return Decimal(f"{'-' if value < 0 else ''}1E{_EXPONENT_LIMIT}")
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _not_a_number(scale)
        return Decimal(repr(value))  # the shortest text that reads back as this float
    if not value.is_finite():  # NaN, sNaN, Infinity
        raise _not_a_number(scale)
    return value


def _decimal_places(number: Decimal) -> int:
    """Decimals a number needs (trailing zeros do not count): 1.50 needs 1, 1E+3 none."""
    if number.is_zero():
        return 0
    _, digits, exponent = number.as_tuple()
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(int(exponent) + zeros))


def _within(number: Decimal | int, lowest: Decimal | int, highest: Decimal | int) -> None:
    """Refuse a number outside what the column holds, naming the bound."""
    if number < lowest:
        raise Invalid(Message(N_("must be at least %(min)s"), {"min": _plain(lowest)}))
    if number > highest:
        raise Invalid(Message(N_("must be at most %(max)s"), {"max": _plain(highest)}))


def _plain(number: Decimal | int) -> str:
    return format(number, "f") if isinstance(number, Decimal) else str(number)


def numeric_bounds(field: FieldSpec) -> tuple[int, Decimal]:
    """Decimals kept and the largest value a decimal or money field stores exactly on both databases."""
    bounds = field.compiled.numeric if field.type in ("decimal", "money") else None
    return bounds[:2] if bounds is not None else _numeric_bounds(field)


def _numeric_bounds(field: FieldSpec) -> tuple[int, Decimal]:
    column = FIELD_TYPES[field.type].column(field)  # type: ignore[misc]
    scale, digits = column.scale or 0, min(column.precision or EXACT_DIGITS, EXACT_DIGITS)  # type: ignore[attr-defined]
    return scale, Decimal(f"{'9' * digits}E-{scale}")


def _integer(field: FieldSpec, value: Any) -> int:
    if isinstance(value, float) and math.isfinite(value) and abs(value) >= EXACT_FLOAT:
        raise Invalid(
            Message(N_("is too large to be exact as a floating-point number; send it as a whole number or as text"))
        )
    number = _number(value, 0)
    if _decimal_places(number):
        raise Invalid(Message(N_("must be a whole number")))
    _within(number, -BIGINT - 1, BIGINT)
    return int(number)


def _decimal(field: FieldSpec, value: Any) -> Decimal:
    scale, largest, quantum = field.compiled.numeric  # type: ignore[misc]
    number = _number(value, scale)
    if _decimal_places(number) > scale:
        raise Invalid(Message(N_("at most %(n)s digits after the decimal point"), {"n": scale}))
    _within(number, -largest, largest)
    return (number if not number.is_zero() else Decimal(0)).quantize(quantum)


_RUPIAH = re.compile(r"\s*rp\.?", re.IGNORECASE)


def _money(field: FieldSpec, value: Any) -> Decimal:
    # Rupiah as typed by people: "Rp 1.250.000" or "Rp. 1.250.000,50".
    if isinstance(value, str) and (prefix := _RUPIAH.match(value)):
        value = value[prefix.end() :]
    return _decimal(field, value)


# ---------------------------------------------------------------------------
# Dates, yes/no, choices, identity numbers, regions, references, files

_DATE_CHARS = 40  # longer than any date or time we read


def _date(field: FieldSpec, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) and len(value) <= _DATE_CHARS else ""
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise Invalid(Message(N_("must be a date (YYYY-MM-DD)")))


def _datetime(field: FieldSpec, value: Any) -> datetime:
    if isinstance(value, datetime):  # the wall-clock time, as for "…+08:00" below: the column has no zone
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = value.strip() if isinstance(value, str) and len(value) <= _DATE_CHARS else ""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.replace("T", " "), fmt)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(Message(N_("must be a date and time (YYYY-MM-DD HH:MM)"))) from None
    return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed


def _boolean(field: FieldSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid(Message(N_("must be yes or no")))


def _choice(field: FieldSpec, value: Any) -> str:
    text = _text(field, value)
    if text not in field.compiled.choices:
        raise Invalid(Message(N_("'%(value)s' is not one of the choices"), {"value": shown(text)}))
    return text


def _multichoice(field: FieldSpec, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in (part.strip() for part in value.split(",")) if v]
    if not isinstance(value, (list, tuple)):
        raise Invalid(Message(N_("must be a list of choices")))
    chosen = [_choice(field, v) for v in value]
    return [v for v in field.compiled.choice_order if v in chosen]  # canonical order, no duplicates


def _email(field: FieldSpec, value: Any) -> str:
    text = _text(field, value)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid(Message(N_("'%(value)s' is not a valid e-mail address"), {"value": shown(text)})) from None


def _phone(field: FieldSpec, value: Any) -> str:
    text = _text(field, value)
    normalised = normalise_phone(text)
    if normalised is None:
        raise Invalid(Message(N_("'%(value)s' is not an Indonesian phone number"), {"value": shown(text)}))
    return normalised


class _Today:
    """Today's date as `date.today()` gives it, asking the clock's calendar once a day, not per value.

    Identity numbers hold dates that may not lie in the future; an import checks them by the
    hundred thousand, and reading the local date costs more than the rest of the check.
    """

    def __init__(self) -> None:
        self.day = date.min
        self.start = self.end = 0.0  # the day's first second and the next day's, as time.time() counts

    def __call__(self) -> date:
        now = time.time()
        if not self.start <= now < self.end:
            self.day = date.today()
            self.start = datetime.combine(self.day, datetime.min.time()).timestamp()
            self.end = datetime.combine(self.day + timedelta(days=1), datetime.min.time()).timestamp()
        return self.day


_today = _Today()


def _identity_number(check_number: Callable[[str, date], Message | None]) -> Callable[[FieldSpec, Any], str]:
    """A converter for NIK, No. KK or NIP: ASCII digits without spaces, refused with the check's message."""

    def coerce(field: FieldSpec, value: Any) -> str:
        if value.__class__ is str and value.isascii() and value.isdigit():
            text = value  # ASCII digits only, the usual input: left as they are by the conversion below
        else:
            # Full-width or Arabic-Indic digits become ASCII, so one number is stored (and unique) one way.
            text = "".join(ascii_digits(_text(field, value)).split())
        problem = check_number(text, _today())
        if problem:
            raise Invalid(problem)
        return text

    return coerce


def _region(field: FieldSpec, value: Any) -> str:
    text = ascii_digits(_text(field, value))
    if not REGION_CODE.match(text):
        raise Invalid(Message(N_("'%(value)s' is not a region code (e.g. 63.09.01.2001)"), {"value": shown(text)}))
    if field.level and text.count(".") + 1 != REGION_LEVELS[field.level]:
        raise Invalid(Message(N_("must be a region code at level %(level)s"), {"level": field.level}))
    return text


def record_id(value: Any) -> int | None:
    """An id as a path, `parent_id` or reference carries it (int or digits), or None when it cannot be one.

    Bounded: at most 10 digits are read, and ids past the INTEGER column never reach a query.
    """
    if isinstance(value, str) and 0 < len(value) <= 10 and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RECORD_ID:
        return None
    return value


def _reference(field: FieldSpec, value: Any) -> int:
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    found = record_id(value.strip() if isinstance(value, str) else value)
    if found is None:
        raise Invalid(Message(N_("must be a record number from 1 to %(max)s"), {"max": MAX_RECORD_ID}))
    return found


def _file(field: FieldSpec, value: Any) -> str:
    return _text(field, value)


def _not_a_column(field: FieldSpec, value: Any) -> Any:
    raise Invalid(Message(N_("cannot be converted")))


_TEXTUAL = frozenset({"min_length", "max_length", "pattern", "pattern_message"})
FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        FieldType("text", _TEXTUAL, lambda f: sa.String(f.max_length or 255), _text, sized=True),
        FieldType("longtext", _TEXTUAL, lambda f: sa.Text(), _text, sized=True),
        FieldType("integer", frozenset({"min", "max"}), lambda f: sa.BigInteger(), _integer, ordered=True),
        FieldType(
            "decimal",
            frozenset({"min", "max", "precision", "scale"}),
            lambda f: sa.Numeric(f.precision or 18, f.scale if f.scale is not None else 4),
            _decimal,
            ordered=True,
        ),
        FieldType("money", frozenset({"min", "max"}), lambda f: sa.Numeric(18, 2), _money, ordered=True),
        FieldType("date", frozenset({"min", "max"}), lambda f: sa.Date(), _date, ordered=True),
        FieldType("datetime", frozenset({"min", "max"}), lambda f: sa.DateTime(), _datetime, ordered=True),
        FieldType("boolean", frozenset(), lambda f: sa.Boolean(), _boolean),
        FieldType("choice", frozenset({"choices"}), lambda f: sa.String(64), _choice),
        FieldType("multichoice", frozenset({"choices"}), lambda f: sa.JSON(), _multichoice),
        FieldType("email", frozenset(), lambda f: sa.String(254), _email),
        FieldType("phone", frozenset(), lambda f: sa.String(20), _phone),
        FieldType("nik", frozenset(), lambda f: sa.String(16), _identity_number(check_nik)),
        FieldType("kk", frozenset(), lambda f: sa.String(16), _identity_number(check_kk)),
        FieldType("nip", frozenset(), lambda f: sa.String(18), _identity_number(check_nip)),
        FieldType("region", frozenset({"level", "within"}), lambda f: region_code_type(), _region),
        FieldType("reference", frozenset({"target"}), lambda f: sa.Integer(), _reference),
        FieldType("file", frozenset({"accept"}), lambda f: sa.String(255), _file),
        FieldType("photo", frozenset({"accept"}), lambda f: sa.String(255), _file),
        FieldType("child", frozenset({"fields", "title_field", "order_by", "unique_together"}), None, _not_a_column),
    )
}

# Conversions a type change may attempt; anything else is refused at load time.
CONVERTIBLE: dict[str, frozenset[str]] = {
    "text": frozenset(
        {
            "longtext",
            "integer",
            "decimal",
            "money",
            "date",
            "datetime",
            "boolean",
            "choice",
            "email",
            "phone",
            "nik",
            "kk",
            "nip",
            "region",
        }
    ),
    "longtext": frozenset({"text"}),
    "integer": frozenset({"decimal", "money", "text", "longtext", "boolean"}),
    "decimal": frozenset({"integer", "money", "text", "longtext"}),
    "money": frozenset({"integer", "decimal", "text", "longtext"}),
    "date": frozenset({"datetime", "text", "longtext"}),
    "datetime": frozenset({"date", "text", "longtext"}),
    "boolean": frozenset({"integer", "text", "longtext"}),
    "choice": frozenset({"text", "longtext", "multichoice"}),
    "email": frozenset({"text", "longtext"}),
    "phone": frozenset({"text", "longtext"}),
    "nik": frozenset({"text", "longtext"}),
    "kk": frozenset({"text", "longtext"}),
    "nip": frozenset({"text", "longtext"}),
    "region": frozenset({"text", "longtext"}),
}

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
FILE_EXTENSIONS = ("pdf", "jpg", "jpeg", "png", "webp", "doc", "docx", "xls", "xlsx", "odt", "ods")


def region_code_type() -> sa.types.TypeEngine:
    """Region codes sort bytewise ('.' before digits) so a prefix is an index range on any locale."""
    return sa.String(13).with_variant(sa.String(13, collation="C"), "postgresql")


def region_within(code: str | None, area: str) -> bool:
    """Whether a region code is the area itself or lies inside it (63.09.01.2001 in 63.09)."""
    return bool(code) and (code == area or code.startswith(area + "."))  # type: ignore[union-attr]


def region_range(column: Any, area: str) -> Any:
    """SQL for `region_within`: one index range, the area and every code under it ('.' < '/')."""
    return sa.and_(column >= area, column < area + "/")


def column_name(field: FieldSpec) -> str:
    """SQL column of a field: references store the target's id in `<name>_id`."""
    return f"{field.name}_id" if field.type == "reference" else field.name


def convert(field: FieldSpec, value: Any) -> Any:
    """Convert a value for `field` (None and "" mean empty), raising Invalid; never anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field.type == "multichoice" and value == []:
        return None
    return FIELD_TYPES[field.type].coerce(field, value)


def column_length(field: FieldSpec) -> int | None:
    """Characters the field's column holds (None: unlimited or not text)."""
    return field.compiled.length


def _column_length(field: FieldSpec) -> int | None:
    column = FIELD_TYPES[field.type].column
    sql_type = column(field) if column is not None else None
    return sql_type.length if isinstance(sql_type, sa.String) else None


def check(field: FieldSpec, value: Any) -> Message | None:
    """Check a converted, non-empty value against the field's limits."""
    return field.compiled.check(value)


UNSET: Any = object()  # a value refused: no stored value
_REQUIRED = Message(N_("is required"))
_NO_BOUND = object()  # no min (max) to compare with
_RECONVERT = object()  # a min (max) the field cannot read: converted at each check, raising as it always did


class CompiledField:
    """What converting and checking one field's values needs, derived once from its spec.

    Reached as `FieldSpec.compiled` (kept on the frozen spec): the column's type, the decimals and
    range of a number, the choices, the converted min and max and the compiled pattern are worked
    out the first time they are needed instead of for every value.
    """

    def __init__(self, field: FieldSpec) -> None:
        ftype = FIELD_TYPES[field.type]
        self.field = field
        self.ftype = ftype
        self.coerce = ftype.coerce
        self.multichoice = field.type == "multichoice"
        self.choice_order = tuple(c.value for c in field.choices)
        self.choices = frozenset(self.choice_order)
        self.missing = (None, _REQUIRED if field.required else None)
        self._numeric: tuple[int, Decimal, Decimal] | None = None
        self._length: Any = _NO_BOUND
        self._limited = False

    @property
    def numeric(self) -> tuple[int, Decimal, Decimal]:
        """A decimal or money field's (decimals kept, largest value, the quantum of its decimals)."""
        if self._numeric is None:
            scale, largest = _numeric_bounds(self.field)
            self._numeric = (scale, largest, Decimal(f"1E-{scale}"))
        return self._numeric

    @property
    def length(self) -> int | None:
        """Characters the field's column holds (None: unlimited or not text)."""
        if self._length is _NO_BOUND:
            self._length = _column_length(self.field)
        return self._length  # type: ignore[no-any-return]

    def _derive_limits(self) -> None:
        # Derived at the first check, not at construction: converting min and max needs `numeric`.
        field, ftype = self.field, self.ftype
        self.lowest = _bound(field, field.min) if ftype.ordered and field.min is not None else _NO_BOUND
        self.highest = _bound(field, field.max) if ftype.ordered and field.max is not None else _NO_BOUND
        self.min_chars = field.min_length if ftype.sized else None
        limits = [n for n in (field.max_length if ftype.sized else None, self.length) if n is not None]
        self.max_chars = min(limits) if limits else None
        self.pattern = _pattern(field.pattern) if field.pattern else None
        self.accept = field.accept if field.type in ("file", "photo") and field.accept else None
        self._limited = True

    def convert(self, value: Any) -> Any:
        """`convert(field, value)`."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if self.multichoice and value == []:
            return None
        return self.coerce(self.field, value)

    def check(self, value: Any) -> Message | None:
        """`check(field, value)`: a converted, non-empty value against the field's limits."""
        if not self._limited:
            self._derive_limits()
        field = self.field
        if self.lowest is not _NO_BOUND:
            lowest = convert(field, field.min) if self.lowest is _RECONVERT else self.lowest
            if value < lowest:
                return Message(N_("must be at least %(min)s"), {"min": field.min})
        if self.highest is not _NO_BOUND:
            highest = convert(field, field.max) if self.highest is _RECONVERT else self.highest
            if value > highest:
                return Message(N_("must be at most %(max)s"), {"max": field.max})
        if isinstance(value, str):
            if self.min_chars is not None and len(value) < self.min_chars:
                return Message(N_("must be at least %(n)s characters"), {"n": self.min_chars})
            if self.max_chars is not None and len(value) > self.max_chars:
                return Message(N_("must be at most %(n)s characters"), {"n": self.max_chars})
        if self.pattern is not None and not self.pattern.fullmatch(value):
            if field.pattern_message:
                return Message(field.pattern_message.id, custom=field.pattern_message.as_dict())
            return Message(N_("has the wrong format"))
        if self.accept is not None and value:
            ext = value.rsplit(".", 1)[-1].lower()
            if ext not in self.accept:
                return Message(
                    N_("file type .%(ext)s is not allowed (allowed: %(allowed)s)"),
                    {"ext": shown(ext), "allowed": ", ".join(self.accept)},
                )
        return None

    def judge(self, raw: Any) -> tuple[Any, Message | None]:
        """A raw value as `validate_values` takes it: (the value stored, or UNSET; the problem, or None).

        An empty value is (None, "is required") for a required field, (None, None) otherwise.
        """
        if raw is None or (isinstance(raw, str) and not raw.strip()) or (self.multichoice and raw == []):
            return self.missing
        try:
            value = self.coerce(self.field, raw)
        except Invalid as exc:
            return UNSET, exc.message
        if value is None:
            return self.missing
        problem = self.check(value)
        return (value, None) if problem is None else (UNSET, problem)


def _bound(field: FieldSpec, bound: Any) -> Any:
    """A field's min or max as a value of the field, converted once."""
    try:
        return convert(field, bound)
    except Invalid:
        return _RECONVERT


class _Pattern:
    """A pattern the re module cannot compile: matched as before, so it fails as before."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern

    def fullmatch(self, value: Any) -> Any:
        return re.fullmatch(self.text, value)


def _pattern(pattern: str) -> re.Pattern[str] | _Pattern:
    try:
        return re.compile(pattern)
    except (re.error, TypeError, RecursionError, OverflowError):
        return _Pattern(pattern)


def convert_stored(old: FieldSpec, new: FieldSpec, value: Any) -> Any:
    """Convert a value stored under `old`, as the database driver returns it, for `new` (a type change).

    The stored value is first read as `old` keeps it, so that SQLite (text dates, REAL numbers,
    0/1, JSON text) and PostgreSQL give the same result, then converted like any input: the dry
    run and the apply both call this, and refuse or write exactly the same values.
    """
    return convert(new, _as_input(_stored(old, value), new))


def _stored(old: FieldSpec, raw: Any) -> Any:
    """A raw stored value as the Python value of the old type; left as it is when it is not one."""
    if old.type in ("decimal", "money") and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:  # SQLite's REAL 1250000.0 is the 1250000.00 PostgreSQL returns
            return convert(old, raw)
        except Invalid:
            return raw
    if old.type == "boolean" and isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and old.type in ("date", "datetime", "multichoice"):
        reader = {"date": date.fromisoformat, "datetime": datetime.fromisoformat, "multichoice": json.loads}
        try:
            return reader[old.type](raw)
        except (ValueError, RecursionError):
            return raw
    return raw


_TEXT_TARGETS = frozenset(
    {"text", "longtext", "choice", "email", "phone", "nik", "kk", "nip", "region", "file", "photo"}
)


def _as_input(value: Any, new: FieldSpec) -> Any:
    """A stored value written as the new type expects it: text for text fields, 1/0 for numbers."""
    if new.type in _TEXT_TARGETS and not isinstance(value, str):
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        if isinstance(value, (date, int, float)):
            return value.isoformat() if isinstance(value, date) else str(value)
        return value
    if isinstance(value, bool) and new.type in ("integer", "decimal", "money"):
        return int(value)
    return value
