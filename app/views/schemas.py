"""Marshmallow schemas generated from a spec: the REST API's output and its documented input."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from app.access.personal import PERSONAL_TYPES, shown
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import input_fields
from app.forms_engine.spec import FieldSpec, FormSpec

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


def _reference(field: FieldSpec) -> fields.Field:
    def dump(obj: Any) -> Any:
        target = getattr(obj, field.name, None)
        return None if target is None else {"id": target.id, "title": str(target)}

    return fields.Function(dump, metadata={"description": f"{{id, title}} of a {field.target} record"})


def _field(field: FieldSpec, for_input: bool) -> fields.Field:
    meta = {"description": field.help.id if field.help else field.label.id}
    if field.type == "reference":
        return fields.Integer(allow_none=True, metadata=meta) if for_input else _reference(field)
    if field.type in ("decimal", "money"):
        return fields.Decimal(as_string=True, allow_none=True, metadata=meta)
    if field.type == "multichoice":
        return fields.List(fields.String(), allow_none=True, metadata=meta)
    if field.type == "choice":
        meta["enum"] = [c.value for c in field.choices]
    if field.type in ("file", "photo") and for_input:
        return fields.String(dump_only=True, metadata=meta)
    if field.type in PERSONAL_TYPES and not for_input:
        column = column_name(field)
        meta["description"] += " (masked unless revealed: ?reveal=true, logged)"
        return fields.Function(lambda obj: shown(getattr(obj, column, None)), metadata=meta)
    return _DUMP[field.type](allow_none=True, required=field.required and for_input, metadata=meta)


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
    attrs["region_code"] = fields.String(dump_only=True)
    attrs["created_on"] = fields.DateTime(dump_only=True)
    attrs["changed_on"] = fields.DateTime(dump_only=True)
    return Schema.from_dict(attrs, name=f"{spec.slug}_record")()


def input_schema(spec: FormSpec, partial: bool = False) -> Schema:
    """The documented body of POST and PUT (validation itself is the engine's)."""
    attrs: dict[str, Any] = {f.name: _field(f, for_input=True) for f in input_fields(spec)}
    if spec.parent:
        attrs["parent_id"] = fields.Integer(required=True)
    name = f"{spec.slug}_{'put' if partial else 'post'}"
    return Schema.from_dict(attrs, name=name)(partial=partial)
