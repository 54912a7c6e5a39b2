"""Validation of a record's values against its spec: the one rule set behind screens and API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from .fieldtypes import UNSET, Invalid, column_name, convert
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
    return spec.validator(data, partial)


_NO_DEFAULT = object()
_EACH_TIME = object()  # a default converted at every use (a list, or one the field cannot read)


class Validator:
    """`validate_values` for one form: its input fields' judges, and their defaults converted once.

    Built once per form spec (`FormSpec.validator`). Screens, API, grid, workflow steps and the
    import all go through it; the import also calls the per-field `judges` on whole columns.
    """

    def __init__(self, spec: FormSpec) -> None:
        self.fields = input_fields(spec)
        self.judges = {f.name: f.compiled.judge for f in self.fields}
        self._steps = tuple((f, f.name, f.compiled.judge, _default(f), f.compiled.missing) for f in self.fields)

    def __call__(
        self,
        data: Mapping[str, Any],
        partial: bool = False,
        judged: Mapping[str, tuple[Any, Message | None]] | None = None,
    ) -> tuple[dict[str, Any], Errors]:
        """(clean values, errors) of `data`, as `validate_values`.

        `judged`: fields whose raw value the caller has already put through `judges` (the import
        judges each distinct cell of a column once), with that answer; they count as in `data`.
        """
        clean: dict[str, Any] = {}
        errors: Errors = {}
        for f, name, judge, default, missing in self._steps:
            if judged is not None and name in judged:
                value, problem = judged[name]
            elif name in data:
                value, problem = judge(data[name])
            elif partial:
                continue
            elif default is not _NO_DEFAULT:
                clean[name] = convert(f, f.default) if default is _EACH_TIME else default
                continue
            else:
                value, problem = missing
            if problem is not None:
                errors[name] = [problem]
            if value is not UNSET:
                clean[name] = value
        return clean, errors


def _default(f: FieldSpec) -> Any:
    """A field's default as stored, when it has one (files have none)."""
    if f.default is None or f.type in ("file", "photo"):
        return _NO_DEFAULT
    try:
        value = convert(f, f.default)
    except Invalid:
        return _EACH_TIME  # raises at each use, as it always did
    return _EACH_TIME if isinstance(value, (list, dict)) else value  # each record its own list


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
