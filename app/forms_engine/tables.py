"""Build SQLAlchemy tables and mapped classes from form specs (no Flask)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from .fieldtypes import FIELD_TYPES, column_name, region_code_type
from .identity import PERSONAL_TYPES, mask
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
            field = spec.field(spec.title_field)
            value = getattr(self, column_name(field), None)
            if value not in (None, ""):
                return mask(value) if field.type in PERSONAL_TYPES else str(value)
        return f"#{self.id}"

    def __repr__(self) -> str:
        return f"<{type(self).__spec__.slug} {self.id}>"


def build_models(specs: Iterable[FormSpec], user_model: type | None = None) -> dict[str, type[FormRecord]]:
    """Map a class per form and child table, with relationships; keyed by slug. Raises if one does not map.

    The classes live in a registry of their own, which nothing process-wide refers to, so an
    app that is replaced (live publish) takes its classes with it. That is why there is no
    relationship to the user model (FAB's, process-wide): SQLAlchemy would record every such
    relationship on the user mapper and its registry, and keep each rebuilt app's classes for ever.
    """
    registry = orm.registry(metadata=sa.MetaData())
    user_table = user_model.__table__ if user_model is not None else None  # type: ignore[attr-defined]
    tables: dict[str, tuple[FormSpec, sa.Table]] = {}
    owners: dict[str, FieldSpec] = {}  # child table slug -> its live child field in the parent
    for spec in specs:
        for part in all_tables(spec):
            tables[part.slug] = (part, build_table(part, registry.metadata, user_table))
        owners.update({f.child.slug: f for f in spec.live_fields if f.child is not None})
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
            # The rows of a retired child field stay, but its parent has no attribute for them.
            owner = owners.get(slug)
            props["parent"] = orm.relationship(
                models[spec.parent], foreign_keys=[table.c.parent_id], back_populates=owner.name if owner else None
            )
        for f in spec.live_fields:
            if f.child is not None:
                child_table = tables[f.child.slug][1]
                props[f.name] = orm.relationship(
                    models[f.child.slug],
                    foreign_keys=[child_table.c.parent_id],
                    cascade="all, delete-orphan",
                    passive_deletes=True,
                    order_by=child_table.c.id,
                    back_populates="parent",
                )
        registry.map_imperatively(models[slug], table, properties=props)
    try:
        registry.configure()  # now, not at the first query of some request
    except Exception:
        registry.dispose()
        raise
    return models


def referenced_forms(spec: FormSpec) -> set[str]:
    """Forms that the live reference fields of a form (and of its child tables) point to."""
    return {f.target for part in (spec, *spec.children) for f in part.live_fields if f.type == "reference" and f.target}


def build_usable_models(
    specs: Mapping[str, FormSpec], user_model: type | None = None
) -> tuple[dict[str, type[FormRecord]], dict[str, str]]:
    """Models of every form that maps, and why each other form does not (one broken form spares the rest)."""
    usable, broken = dict(specs), {}
    while True:
        _drop_missing_targets(usable, broken)
        try:
            return build_models(usable.values(), user_model), broken
        except Exception as exc:  # whatever SQLAlchemy raises, find the forms behind it
            failing = {slug: _mapping_error(usable, slug, user_model) for slug in usable}
            culprits = {slug: error for slug, error in failing.items() if error}
            for slug in culprits or usable:  # not isolable: none of them maps
                broken[slug] = culprits.get(slug) or f"{type(exc).__name__}: {exc}"
                usable.pop(slug)


def _drop_missing_targets(usable: dict[str, FormSpec], broken: dict[str, str]) -> None:
    """Leave out forms that refer to a form that is missing or broken, until none does."""
    while True:
        missing = {
            slug: sorted(referenced_forms(spec) - usable.keys() - {slug})
            for slug, spec in usable.items()
            if referenced_forms(spec) - usable.keys() - {slug}
        }
        if not missing:
            return
        for slug, targets in missing.items():
            broken[slug] = f"refers to form(s) {', '.join(targets)}, which cannot be served"
            usable.pop(slug)


def _mapping_error(specs: Mapping[str, FormSpec], slug: str, user_model: type | None) -> str:
    """Why a form and the forms it refers to (transitively) do not map; empty when they do."""
    wanted, todo = set(), [slug]
    while todo:
        current = todo.pop()
        if current in specs and current not in wanted:
            wanted.add(current)
            todo += referenced_forms(specs[current])
    try:
        build_models([specs[s] for s in sorted(wanted)], user_model)
    except Exception as exc:  # reported to the admin, the form left out
        return f"{type(exc).__name__}: {exc}"
    return ""
