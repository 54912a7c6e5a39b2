"""Marshmallow schemas generated from a spec: the REST API's output and its documented input.

Each output field is documented as what it sends (the OpenAPI spec is built from these
fields), so a client can trust the spec: decimals go out as strings, references as
{id, title}, and the system's timestamps are the office's local time with its offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, fields

from app.access.personal import PERSONAL_TYPES, shown
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import input_fields
from app.forms_engine.spec import FieldSpec, FormSpec
from app.office import local_time

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
WALL_CLOCK_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?$"

_DUMP: dict[str, Any] = {
    "text": fields.String,
    "longtext": fields.String,
    "email": fields.String,
    "phone": fields.String,
    "nik": fields.String,
    "kk": fields.String,
    "nip": fields.String,
    "region": fields.String,
    "choice": fields.String,
    "file": fields.String,
    "photo": fields.String,
    "integer": fields.Integer,
    "boolean": fields.Boolean,
    "date": fields.Date,
    "datetime": fields.DateTime,
}


class OfficeStamp(fields.DateTime):
    """A time Simpul records itself (stored as naive UTC), sent in the office's zone with its
    offset: 2026-12-01T20:15:00+08:00 for 12:15 UTC at a WITA office. The same instant as UTC,
    so any client reads it right; people reading the JSON see their own clock."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime):
            value = local_time(value)
        return super()._serialize(value, attr, obj, **kwargs)


class WallClock(fields.String):
    """A `datetime` field's value as it was entered, without an offset: 2026-05-20T08:30:00.

    Not a JSON Schema date-time (that needs an offset): the form records the local time of
    whatever happened, and the engine drops an offset a client sends.
    """

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value


def _reference(field: FieldSpec) -> fields.Field:
    def dump(obj: Any) -> Any:
        target = getattr(obj, field.name, None)
        return None if target is None else {"id": target.id, "title": str(target)}

    return fields.Function(
        dump,
        metadata={
            "description": f"{{id, title}} of a {field.target} record",
            "type": "object",
            "nullable": True,
            "properties": {"id": {"type": "integer"}, "title": {"type": "string"}},
            "required": ["id", "title"],
            "additionalProperties": False,
        },
    )


def _choices(field: FieldSpec, meta: dict[str, Any]) -> fields.Field:
    """A multichoice value: a list of its choices' values."""
    return fields.List(
        fields.String(metadata={"enum": [c.value for c in field.choices]}), allow_none=True, metadata=meta
    )


def _output(field: FieldSpec, meta: dict[str, Any]) -> fields.Field:
    """The field as GET, POST and PUT send it."""
    if field.type == "reference":
        return _reference(field)
    if field.type in PERSONAL_TYPES:
        column = column_name(field)
        meta |= {
            "description": meta["description"] + " (masked unless revealed: ?reveal=true, logged)",
            "type": "string",
            "nullable": True,
        }
        return fields.Function(lambda obj: shown(getattr(obj, column, None)), metadata=meta)
    if field.type in ("decimal", "money"):
        # Sent as a string so no digit is lost to a client's floating point.
        meta |= {"type": "string", "pattern": DECIMAL_PATTERN}
        return fields.Decimal(as_string=True, allow_none=True, metadata=meta)
    if field.type == "datetime":
        return WallClock(allow_none=True, metadata=meta | {"pattern": WALL_CLOCK_PATTERN})
    if field.type == "multichoice":
        return _choices(field, meta)
    return _DUMP[field.type](allow_none=True, metadata=meta)


def _input(field: FieldSpec, meta: dict[str, Any]) -> fields.Field:
    """The field as POST and PUT take it (the engine validates; this documents)."""
    if field.type == "reference":
        return fields.Integer(allow_none=True, metadata=meta | {"description": f"id of a {field.target} record"})
    if field.type in ("decimal", "money"):
        return fields.Decimal(as_string=True, allow_none=True, metadata=meta)
    if field.type == "multichoice":
        return _choices(field, meta)
    if field.type in ("file", "photo"):
        return fields.String(dump_only=True, metadata=meta)
    return _DUMP[field.type](allow_none=True, required=field.required, metadata=meta)


def _field(field: FieldSpec, for_input: bool) -> fields.Field:
    meta: dict[str, Any] = {"description": field.help.id if field.help else field.label.id}
    if field.type == "choice":
        meta["enum"] = [c.value for c in field.choices]
    return _input(field, meta) if for_input else _output(field, meta)


def output_schema(spec: FormSpec, models: dict[str, Any], with_children: bool = True) -> Schema:
    """What GET returns for a record: id, every live field, children, audit columns."""
    attrs: dict[str, Any] = {"id": fields.Integer(dump_only=True)}
    for f in input_fields(spec):
        attrs[f.name] = _field(f, for_input=False)
        if f.type not in ("reference", *PERSONAL_TYPES) and column_name(f) != f.name:
            attrs[f.name].data_key = f.name
    if spec.parent:
        attrs["parent_id"] = fields.Integer()
    if with_children:
        for child in spec.children:
            name = child.slug.split("__", 1)[1]
            attrs[name] = fields.List(fields.Nested(output_schema(child, models, with_children=False)), dump_only=True)
    attrs["region_code"] = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The region the record belongs to (who may see it); null on shared lists"},
    )
    for name, what in (("created_on", "Added"), ("changed_on", "Last changed")):
        attrs[name] = OfficeStamp(
            dump_only=True,
            allow_none=True,
            metadata={"description": f"{what} at, in the office's time zone with its offset (stored in UTC)"},
        )
    return Schema.from_dict(attrs, name=f"{spec.slug}_record")()


def input_schema(spec: FormSpec, partial: bool = False) -> Schema:
    """The documented body of POST and PUT (validation itself is the engine's)."""
    attrs: dict[str, Any] = {
        f.name: _field(f, for_input=True) for f in input_fields(spec) if f.name != spec.state_field
    }
    if spec.parent:
        attrs["parent_id"] = fields.Integer(required=True)
    name = f"{spec.slug}_{'put' if partial else 'post'}"
    return Schema.from_dict(attrs, name=name)(partial=partial)
