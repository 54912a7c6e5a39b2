"""Build SQLAlchemy tables and mapped classes from form specs (no Flask)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from .fieldtypes import FIELD_TYPES, column_name, region_code_type
from .spec import FieldSpec, FormSpec

MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names silently


def identifier(*parts: str) -> str:
    """A constraint or index name that fits PostgreSQL's identifier limit, deterministically."""
    name = "_".join(parts)
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER - 9]}_{digest}"


def all_tables(spec: FormSpec) -> list[FormSpec]:
    """The form and its child tables, parents first."""
    return [spec, *[f.child for f in spec.fields if f.child is not None]]


def field_column(table: str, field: FieldSpec, target_table: str | None) -> sa.Column:
    """The SQL column of one field (nullable: 'required' is enforced on input)."""
    sql_type = FIELD_TYPES[field.type].column(field)  # type: ignore[misc]
    args: list[Any] = []
    if field.type == "reference" and target_table:
        args.append(
            sa.ForeignKey(f"{target_table}.id", name=identifier("fk", table, column_name(field)), ondelete="RESTRICT")
        )
    return sa.Column(column_name(field), sql_type, *args, nullable=True)


def field_indexes(table: str, spec: FormSpec) -> list[sa.Index]:
    """Indexes a form's table should have: unique, indexed, references, filters, unique together."""
    indexes: list[sa.Index] = []
    for f in spec.column_fields:
        col = column_name(f)
        if f.unique and not f.retired:
            indexes.append(sa.Index(identifier("ux", table, col), col, unique=True))
        elif f.indexed or f.type in ("reference", "region"):
            indexes.append(sa.Index(identifier("ix", table, col), col))
    for group in spec.unique_together:
        cols = [column_name(spec.field(name)) for name in group]
        indexes.append(sa.Index(identifier("ux", table, *cols), *cols, unique=True))
    return indexes


def build_table(spec: FormSpec, metadata: sa.MetaData, user_table: sa.Table | None) -> sa.Table:
    """Define the table of one form (or child table) in `metadata`."""
    name = spec.table_name
    user_fk = (
        (lambda col: [sa.ForeignKey(user_table.c.id, name=identifier("fk", name, col))])
        if user_table is not None
        else (lambda col: [])
    )
    columns: list[Any] = [sa.Column("id", sa.Integer, primary_key=True)]
    if spec.parent:
        columns.append(
            sa.Column(
                "parent_id",
                sa.Integer,
                sa.ForeignKey(f"form_{spec.parent}.id", name=identifier("fk", name, "parent_id"), ondelete="CASCADE"),
                nullable=False,
                index=True,
            )
        )
    for f in spec.column_fields:
        target = f"form_{f.target}" if f.type == "reference" else None
        columns.append(field_column(name, f, target))
    columns += [
        sa.Column("region_code", region_code_type(), nullable=True),
        sa.Column("created_on", sa.DateTime, nullable=True),
        sa.Column("changed_on", sa.DateTime, nullable=True),
        sa.Column("created_by_fk", sa.Integer, *user_fk("created_by_fk"), nullable=True),
        sa.Column("changed_by_fk", sa.Integer, *user_fk("changed_by_fk"), nullable=True),
    ]
    table = sa.Table(name, metadata, *columns)
    table.append_constraint(sa.Index(identifier("ix", name, "region_code"), "region_code", "id"))
    for index in field_indexes(name, spec):
        table.append_constraint(index)
    return table


class FormRecord:
    """Base of the mapped classes generated for forms; `__spec__` holds the FormSpec."""

    __spec__: FormSpec
    id: int

    def __str__(self) -> str:
        spec = type(self).__spec__
        if spec.title_field:
            value = getattr(self, column_name(spec.field(spec.title_field)), None)
            if value not in (None, ""):
                return str(value)
        return f"#{self.id}"

    def __repr__(self) -> str:
        return f"<{type(self).__spec__.slug} {self.id}>"


def build_models(specs: Iterable[FormSpec], user_model: type | None = None) -> dict[str, type[FormRecord]]:
    """Map a class per form and child table, with relationships; keyed by slug."""
    registry = orm.registry(metadata=sa.MetaData())
    user_table = user_model.__table__ if user_model is not None else None  # type: ignore[attr-defined]
    tables: dict[str, tuple[FormSpec, sa.Table]] = {}
    for spec in specs:
        for part in all_tables(spec):
            tables[part.slug] = (part, build_table(part, registry.metadata, user_table))
    models: dict[str, type[FormRecord]] = {}
    for slug, (spec, table) in tables.items():
        models[slug] = type(f"Form_{slug}", (FormRecord,), {"__spec__": spec, "__table__": table})
    for slug, (spec, table) in tables.items():
        props: dict[str, Any] = {}
        for f in spec.column_fields:
            if f.type == "reference" and f.target in models:
                props[f.name] = orm.relationship(
                    models[f.target], foreign_keys=[table.c[column_name(f)]], lazy="joined" if f.in_list else "select"
                )
        if spec.parent:
            props["parent"] = orm.relationship(
                models[spec.parent], foreign_keys=[table.c.parent_id], back_populates=spec.slug.split("__", 1)[1]
            )
        for f in spec.fields:
            if f.child is not None and not f.retired:
                child_table = tables[f.child.slug][1]
                props[f.name] = orm.relationship(
                    models[f.child.slug],
                    foreign_keys=[child_table.c.parent_id],
                    cascade="all, delete-orphan",
                    passive_deletes=True,
                    order_by=child_table.c.id,
                    back_populates="parent",
                )
        if user_model is not None:
            props["created_by"] = orm.relationship(user_model, foreign_keys=[table.c.created_by_fk])
            props["changed_by"] = orm.relationship(user_model, foreign_keys=[table.c.changed_by_fk])
        registry.map_imperatively(models[slug], table, properties=props)
    return models
