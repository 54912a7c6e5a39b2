"""The field types a definition may use: column type, value conversion and checks.

Each type converts an incoming value (a string from a screen, a JSON value from the API,
or a stored value during a type-change dry run) into the Python value stored, raising
`Invalid` with a translatable message when it cannot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from .identity import check_kk, check_nik, check_nip, normalise_phone
from .messages import N_, Message
from .spec import FieldSpec

REGION_LEVELS = {"provinsi": 1, "kabupaten": 2, "kecamatan": 3, "desa": 4}
REGION_CODE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
TRUE_WORDS = {"1", "true", "yes", "ya", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "tidak", "t", "n", "off"}


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


def _text(field: FieldSpec, value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise Invalid(Message(N_("must be text")))
    return str(value).strip()


def _integer(field: FieldSpec, value: Any) -> int:
    if isinstance(value, bool):
        raise Invalid(Message(N_("must be a whole number")))
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip().replace(" ", ""))
    except InvalidOperation:
        raise Invalid(Message(N_("must be a whole number"))) from None
    if number != number.to_integral_value():
        raise Invalid(Message(N_("must be a whole number")))
    return int(number)


def _decimal(field: FieldSpec, value: Any) -> Decimal:
    if isinstance(value, (bool, dict, list)):
        raise Invalid(Message(N_("must be a number")))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(Message(N_("must be a number"))) from None
    if not number.is_finite():
        raise Invalid(Message(N_("must be a number")))
    scale = field.scale if field.scale is not None else (2 if field.type == "money" else 4)
    if number != number.quantize(Decimal(1).scaleb(-scale)):
        raise Invalid(Message(N_("at most %(n)s digits after the decimal point"), {"n": scale}))
    return number


def _money(field: FieldSpec, value: Any) -> Decimal:
    # Rupiah as typed by people: "Rp 1.250.000" or "1.250.000,50".
    if isinstance(value, str):
        text = value.strip().removeprefix("Rp").strip()
        if re.fullmatch(r"\d{1,3}(\.\d{3})+(,\d+)?", text) or re.fullmatch(r"\d+,\d+", text):
            value = text.replace(".", "").replace(",", ".")
        else:
            value = text
    return _decimal(field, value)


def _date(field: FieldSpec, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise Invalid(Message(N_("must be a date (YYYY-MM-DD)")))


def _datetime(field: FieldSpec, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise Invalid(Message(N_("must be a date and time (YYYY-MM-DD HH:MM)"))) from None
    return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed


def _boolean(field: FieldSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid(Message(N_("must be yes or no")))


def _choice(field: FieldSpec, value: Any) -> str:
    text = _text(field, value)
    if text not in {c.value for c in field.choices}:
        raise Invalid(Message(N_("'%(value)s' is not one of the choices"), {"value": text}))
    return text


def _multichoice(field: FieldSpec, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in (part.strip() for part in value.split(",")) if v]
    if not isinstance(value, (list, tuple)):
        raise Invalid(Message(N_("must be a list of choices")))
    allowed = [c.value for c in field.choices]
    chosen = [_text(field, v) for v in value]
    for item in chosen:
        if item not in allowed:
            raise Invalid(Message(N_("'%(value)s' is not one of the choices"), {"value": item}))
    return [v for v in allowed if v in chosen]  # canonical order, no duplicates


def _email(field: FieldSpec, value: Any) -> str:
    text = _text(field, value)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid(Message(N_("'%(value)s' is not a valid e-mail address"), {"value": text})) from None


def _phone(field: FieldSpec, value: Any) -> str:
    text = _text(field, value)
    normalised = normalise_phone(text)
    if normalised is None:
        raise Invalid(Message(N_("'%(value)s' is not an Indonesian phone number"), {"value": text}))
    return normalised


def _identity_number(check_number: Callable[[str], Message | None]) -> Callable[[FieldSpec, Any], str]:
    """A converter for NIK, No. KK or NIP: digits without spaces, refused with the check's message."""

    def coerce(field: FieldSpec, value: Any) -> str:
        text = _text(field, value).replace(" ", "")
        problem = check_number(text)
        if problem:
            raise Invalid(problem)
        return text

    return coerce


def _region(field: FieldSpec, value: Any) -> str:
    text = _text(field, value)
    if not REGION_CODE.match(text):
        raise Invalid(Message(N_("'%(value)s' is not a region code (e.g. 63.09.01.2001)"), {"value": text}))
    if field.level and text.count(".") + 1 != REGION_LEVELS[field.level]:
        raise Invalid(Message(N_("must be a region code at level %(level)s"), {"level": field.level}))
    return text


def _reference(field: FieldSpec, value: Any) -> int:
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    return _integer(field, value)


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
    """Convert a value for `field` (None and "" mean empty), raising Invalid."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if field.type == "multichoice" and value == []:
        return None
    return FIELD_TYPES[field.type].coerce(field, value)


def check(field: FieldSpec, value: Any) -> Message | None:
    """Check a converted, non-empty value against the field's limits."""
    ftype = FIELD_TYPES[field.type]
    if ftype.ordered:
        if field.min is not None and value < convert(field, field.min):
            return Message(N_("must be at least %(min)s"), {"min": field.min})
        if field.max is not None and value > convert(field, field.max):
            return Message(N_("must be at most %(max)s"), {"max": field.max})
    if ftype.sized:
        if field.min_length is not None and len(value) < field.min_length:
            return Message(N_("must be at least %(n)s characters"), {"n": field.min_length})
        limit = field.max_length or (255 if field.type == "text" else None)
        if limit is not None and len(value) > limit:
            return Message(N_("must be at most %(n)s characters"), {"n": limit})
    if field.pattern and not re.fullmatch(field.pattern, value):
        if field.pattern_message:
            return Message(field.pattern_message.id, custom=field.pattern_message.as_dict())
        return Message(N_("has the wrong format"))
    if field.type in ("file", "photo") and field.accept and value:
        ext = value.rsplit(".", 1)[-1].lower()
        if ext not in field.accept:
            return Message(
                N_("file type .%(ext)s is not allowed (allowed: %(allowed)s)"),
                {"ext": ext, "allowed": ", ".join(field.accept)},
            )
    return None
