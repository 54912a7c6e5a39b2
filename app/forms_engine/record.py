"""Validation of a record's values against its spec: the one rule set behind screens and API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from .fieldtypes import Invalid, check, column_name, convert
from .messages import N_, Message, RecordRef
from .rules import RuleContext, check_rules
from .spec import FieldSpec, FormSpec

Errors = dict[str, list[Message]]


def input_fields(spec: FormSpec) -> tuple[FieldSpec, ...]:
    """Fields a person fills in (live, with a column; files go through their own upload)."""
    return tuple(f for f in spec.live_fields if f.type != "child")


def validate_values(spec: FormSpec, data: Mapping[str, Any], partial: bool = False) -> tuple[dict[str, Any], Errors]:
    """Convert and check `data` (field name -> raw value); return (clean values, errors).

    With `partial`, fields absent from `data` are left alone (an API PUT of some fields).
    """
    clean: dict[str, Any] = {}
    errors: Errors = {}
    for f in input_fields(spec):
        if f.name not in data:
            if partial:
                continue
            if f.default is not None and f.type not in ("file", "photo"):
                clean[f.name] = convert(f, f.default)
                continue
        try:
            value = convert(f, data.get(f.name))
        except Invalid as exc:
            errors[f.name] = [exc.message]
            continue
        if value is None:
            if f.required:
                errors[f.name] = [Message(N_("is required"))]
            clean[f.name] = None
            continue
        problem = check(f, value)
        if problem is not None:
            errors[f.name] = [problem]
            continue
        clean[f.name] = value
    return clean, errors


def unique_conflicts(
    conn: sa.Connection | sa.orm.Session,
    table: sa.Table,
    spec: FormSpec,
    values: Mapping[str, Any],
    exclude_id: int | None,
) -> Errors:
    """Values that another record of the table already holds (unique and unique together)."""
    errors: Errors = {}
    groups = [(f.name,) for f in input_fields(spec) if f.unique] + list(spec.unique_together)
    for group in groups:
        if any(values.get(name) is None for name in group):
            continue
        conditions = [table.c[column_name(spec.field(name))] == values[name] for name in group]
        if exclude_id is not None:
            conditions.append(table.c.id != exclude_id)
        other = conn.execute(sa.select(table.c.id).where(*conditions).limit(1)).scalar()
        if other is not None:
            labels = ", ".join(spec.field(name).label.id for name in group[1:])
            record = RecordRef(spec.slug, other)
            message = (
                Message(N_("already used by %(record)s"), {"record": record})
                if len(group) == 1
                else Message(
                    N_("already used together with %(others)s by %(record)s"), {"record": record, "others": labels}
                )
            )
            errors.setdefault(group[0], []).append(message)
    return errors


def check_record(
    conn: Any,
    spec: FormSpec,
    tables: Mapping[str, sa.Table],
    specs: Mapping[str, FormSpec],
    values: Mapping[str, Any],
    record_id: int | None,
    parent_id: int | None = None,
    office_region: str | None = None,
    scope: str | None = None,
) -> tuple[Errors, Errors]:
    """Uniqueness and the form's rules against stored data: (errors, warnings)."""
    errors = unique_conflicts(conn, tables[spec.slug], spec, values, record_id)
    if spec.singleton and record_id is None:
        existing = conn.execute(sa.select(tables[spec.slug].c.id).limit(1)).scalar()
        if existing is not None:
            first = input_fields(spec)[0].name
            errors.setdefault(first, []).append(
                Message(
                    N_("only one record is kept in this form; edit %(record)s"),
                    {"record": RecordRef(spec.slug, existing)},
                )
            )
    context = RuleContext(
        conn,
        spec,
        tables,
        specs,
        values,
        record_id,
        parent_id,
        parent=specs.get(spec.parent) if spec.parent else None,
        office_region=office_region,
        scope=scope,
    )
    warnings: Errors = {}
    for finding in check_rules(context):
        (warnings if finding.warning else errors).setdefault(finding.field, []).append(finding.message)
    return errors, warnings
