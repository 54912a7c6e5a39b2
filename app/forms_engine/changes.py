"""Schema evolution of form tables: plan, dry run over stored rows, apply. Never drops data.

- a new field adds a column; a renamed field (same id) renames its column;
- a removed field is retired: hidden, its column and values kept, restorable;
- a type change converts every stored value in Python first; if any would not convert the
  change is refused with those rows. Applied, the old column is kept as a backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .fieldtypes import Invalid, check, column_name, convert_stored
from .messages import N_, Message
from .spec import FieldSpec, FormSpec
from .tables import all_tables, build_table, field_column, field_indexes, identifier

if TYPE_CHECKING:
    from alembic.operations import Operations

BATCH = 1000
MAX_REPORTED = 50


@dataclass(frozen=True)
class Change:
    """One step of a schema change, described for the version history."""

    kind: str  # create_table, add, rename, retire, restore, convert, index, drop_index, edit
    table: str
    field_id: str = ""
    old: FieldSpec | None = None
    new: FieldSpec | None = None

    def describe(self) -> str:
        """One line for `forms history` and the version record."""
        name = self.new.name if self.new else (self.old.name if self.old else "")
        if self.kind == "rename":
            return f"{self.table}: rename {self.old.name} -> {self.new.name}"  # type: ignore[union-attr]
        if self.kind == "convert":
            return f"{self.table}: change {name} from {self.old.type} to {self.new.type}"  # type: ignore[union-attr]
        return f"{self.table}: {self.kind.replace('_', ' ')} {name}".rstrip()


@dataclass(frozen=True)
class RowProblem:
    """A stored row that blocks a change: its id, the value and why."""

    table: str
    field: str
    row_id: int | None
    value: Any
    message: Message

    def render(self, gettext: Any = None, lang: str = "en") -> str:
        """`table.field row 12: 'abc': must be a whole number`."""
        where = f"{self.table}.{self.field}" + (f" row {self.row_id}" if self.row_id is not None else "")
        return f"{where}: {self.value!r}: {self.message.render(gettext, lang)}"


class ChangeRefused(Exception):
    """A change that would lose or break stored data; nothing was changed."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("\n".join(p.render() for p in problems))
        self.problems = problems


@dataclass
class Plan:
    """The changes for one form and the specs they go between."""

    old: FormSpec | None
    new: FormSpec
    changes: list[Change] = field(default_factory=list)


def _column_type(f: FieldSpec, dialect: sa.Dialect) -> str:
    return str(field_column("t", f, None).type.compile(dialect=dialect))


def plan_changes(old: FormSpec | None, new: FormSpec, dialect: sa.Dialect) -> Plan:
    """Work out what changing `old` (None: a new form) into `new` does to the tables."""
    plan = Plan(old, new)
    if old is None:
        plan.changes = [Change("create_table", part.table_name) for part in all_tables(new)]
        return plan
    old_parts = {p.slug: p for p in all_tables(old)}
    for part in all_tables(new):
        before = old_parts.get(part.slug)
        if before is None:
            plan.changes.append(Change("create_table", part.table_name))
            continue
        for f in part.column_fields:
            prev = before.field_by_id(f.id)
            table = part.table_name
            if prev is None:
                plan.changes.append(Change("add", table, f.id, None, f))
                continue
            if prev.name != f.name:
                plan.changes.append(Change("rename", table, f.id, prev, f))
            if prev.type != f.type or _column_type(prev, dialect) != _column_type(f, dialect):
                plan.changes.append(Change("convert", table, f.id, prev, f))
            elif _limits(prev) != _limits(f) and not f.retired:
                plan.changes.append(Change("check", table, f.id, prev, f))
            if f.retired and not prev.retired:
                plan.changes.append(Change("retire", table, f.id, prev, f))
            elif prev.retired and not f.retired:
                plan.changes.append(Change("restore", table, f.id, prev, f))
            elif prev != f and not any(c.field_id == f.id and c.table == table for c in plan.changes):
                plan.changes.append(Change("edit", table, f.id, prev, f))
        if _index_names(before) != _index_names(part):
            plan.changes.append(Change("index", part.table_name))
    if _table_options(old) != _table_options(new) and not plan.changes:
        plan.changes.append(Change("edit", new.table_name))
    return plan


def _limits(f: FieldSpec) -> tuple[Any, ...]:
    return (f.min, f.max, f.min_length, f.max_length, f.pattern, f.choices, f.level, f.accept)


def _table_options(spec: FormSpec) -> tuple[Any, ...]:
    return (
        spec.title,
        spec.category,
        spec.description,
        spec.icon,
        spec.title_field,
        spec.order_by,
        spec.permissions,
        spec.region_field,
    )


def _index_names(spec: FormSpec) -> set[str]:
    return {ix.name for ix in field_indexes(spec.table_name, spec)}  # type: ignore[misc]


def _rows(conn: sa.Connection, table: str, column: str) -> Any:
    t = sa.table(table, sa.column("id"), sa.column(column))
    last = 0
    while True:
        batch = conn.execute(
            sa.select(t.c.id, t.c[column]).where(t.c.id > last, t.c[column].is_not(None)).order_by(t.c.id).limit(BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def dry_run(conn: sa.Connection, plan: Plan) -> list[RowProblem]:
    """Every stored row that the plan could not carry over, without changing anything."""
    problems: list[RowProblem] = []
    for change in plan.changes:
        if change.kind in ("convert", "check", "restore") and change.new is not None and change.old is not None:
            column = column_name(change.old)
            for row_id, value in _rows(conn, change.table, column):
                try:
                    converted = convert_stored(change.old, change.new, value)
                    problem = check(change.new, converted) if converted is not None else None
                except Invalid as exc:
                    problem = exc.message
                if problem is not None:
                    problems.append(RowProblem(change.table, change.new.name, row_id, value, problem))
                    if len(problems) >= MAX_REPORTED:
                        return problems
    if plan.old is not None:
        problems += _duplicates(conn, plan)
    return problems


def _duplicates(conn: sa.Connection, plan: Plan) -> list[RowProblem]:
    """Rows that would break a new unique rule (unique field or unique together)."""
    problems: list[RowProblem] = []
    old_parts = {p.slug: p for p in all_tables(plan.old)}  # type: ignore[arg-type]
    for part in all_tables(plan.new):
        before = old_parts.get(part.slug)
        if before is None:
            continue
        old_groups = {tuple(sorted(c.id for c in (before.field(n) for n in g))) for g in before.unique_together}
        old_groups |= {(f.id,) for f in before.column_fields if f.unique}
        groups = [tuple(part.field(n) for n in g) for g in part.unique_together]
        groups += [(f,) for f in part.column_fields if f.unique and not f.retired]
        converted = {c.field_id for c in plan.changes if c.kind == "convert" and c.table == part.table_name}
        for group in groups:
            if any(f.id in converted for f in group):  # "1.000" and "1000" are one integer: compare converted
                pairs = [(before.field_by_id(f.id) or f, f) for f in group]
                problems += _converted_duplicates(conn, part.table_name, pairs, converted)
                continue
            if tuple(sorted(f.id for f in group)) in old_groups:
                continue
            old_cols = [column_name(before.field_by_id(f.id) or f) for f in group]
            t = sa.table(part.table_name, *[sa.column(c) for c in old_cols])
            cols = [t.c[c] for c in old_cols]
            query = (
                sa.select(*cols, sa.func.count())
                .where(*[c.is_not(None) for c in cols])
                .group_by(*cols)
                .having(sa.func.count() > 1)
                .limit(MAX_REPORTED)
            )
            for row in conn.execute(query):
                problems.append(
                    RowProblem(
                        part.table_name,
                        "+".join(f.name for f in group),
                        None,
                        tuple(row[:-1]) if len(group) > 1 else row[0],
                        Message(N_("%(n)s rows share this value; it must be unique"), {"n": row[-1]}),
                    )
                )
    return problems


def _converted_duplicates(
    conn: sa.Connection, table: str, pairs: list[tuple[FieldSpec, FieldSpec]], converted: set[str]
) -> list[RowProblem]:
    """Rows of a unique group whose values become equal once converted (the unique index would fail)."""
    t = sa.table(table, sa.column("id"), *[sa.column(column_name(old)) for old, _ in pairs])
    rows: dict[tuple[Any, ...], list[int]] = {}
    for row_id, *stored in conn.execute(sa.select(*t.c).order_by(t.c.id)):
        try:
            key = tuple(
                convert_stored(old, new, value) if new.id in converted else value
                for (old, new), value in zip(pairs, stored, strict=True)
            )
        except Invalid:
            continue  # refused by the conversion already
        if None not in key:
            rows.setdefault(key, []).append(row_id)
    return [
        RowProblem(
            table,
            "+".join(new.name for _, new in pairs),
            ids[-1],
            key if len(key) > 1 else key[0],
            Message(N_("%(n)s rows share this value; it must be unique"), {"n": len(ids)}),
        )
        for key, ids in rows.items()
        if len(ids) > 1
    ][:MAX_REPORTED]


def apply_plan(conn: sa.Connection, plan: Plan, version: int, user_table: sa.Table | None) -> list[str]:
    """Carry out a plan inside the caller's transaction; return notes for the history."""
    from alembic.migration import MigrationContext  # Alembic loads where a publish runs (about 9 MB)
    from alembic.operations import Operations

    ops = Operations(MigrationContext.configure(conn))
    notes: list[str] = []
    parts = {p.slug: p for p in all_tables(plan.new)}
    created = {c.table for c in plan.changes if c.kind == "create_table"}
    for part in parts.values():
        if part.table_name in created:
            metadata = sa.MetaData()
            users = user_table.to_metadata(metadata) if user_table is not None else None
            for target in _reference_targets(part) | ({f"form_{part.parent}"} if part.parent else set()):
                sa.Table(target, metadata, sa.Column("id", sa.Integer, primary_key=True))
            build_table(part, metadata, users).create(conn)
            notes.append(f"create table {part.table_name}")
    quote = conn.dialect.identifier_preparer.quote
    for change in plan.changes:
        if change.table in created or change.kind in ("create_table", "index", "check", "edit"):
            continue
        old, new = change.old, change.new
        if change.kind == "add" and new is not None:
            target = f"form_{new.target}" if new.type == "reference" else None
            ops.add_column(change.table, field_column(change.table, new, target))
            notes.append(f"{change.table}: add column {column_name(new)}")
        elif change.kind == "rename" and old is not None and new is not None:
            _drop_indexes_on(ops, conn, change.table, column_name(old))
            conn.execute(
                sa.text(
                    f"ALTER TABLE {quote(change.table)} RENAME COLUMN {quote(column_name(old))} TO {quote(column_name(new))}"
                )
            )
            notes.append(f"{change.table}: rename column {column_name(old)} -> {column_name(new)}")
        elif change.kind == "convert" and old is not None and new is not None:
            notes.append(_convert_column(conn, ops, change.table, old, new, version))
        elif change.kind in ("retire", "restore") and new is not None:
            notes.append(f"{change.table}: {change.kind} {column_name(new)} (column and values kept)")
    for part in parts.values():
        if part.table_name not in created:
            _sync_indexes(ops, conn, part)
    return notes


def _reference_targets(part: FormSpec) -> set[str]:
    return {f"form_{f.target}" for f in part.column_fields if f.type == "reference"}


def _existing_indexes(conn: sa.Connection, table: str) -> dict[str, list[str]]:
    inspector = sa.inspect(conn)
    return {ix["name"]: list(ix["column_names"]) for ix in inspector.get_indexes(table) if ix.get("name")}


def _drop_indexes_on(ops: Operations, conn: sa.Connection, table: str, column: str) -> None:
    for name, columns in _existing_indexes(conn, table).items():
        if column in columns:
            ops.drop_index(name, table_name=table)


def _sync_indexes(ops: Operations, conn: sa.Connection, part: FormSpec) -> None:
    """Create the indexes the spec wants and drop generated ones it no longer wants."""
    existing = _existing_indexes(conn, part.table_name)
    wanted = {ix.name: ix for ix in field_indexes(part.table_name, part)}
    for name, _columns in existing.items():
        generated = name.startswith(("ix_", "ux_")) and name != identifier("ix", part.table_name, "region_code")
        if generated and name not in wanted and name != identifier("ix", part.table_name, "parent_id"):
            ops.drop_index(name, table_name=part.table_name)
    for name, index in wanted.items():
        if name not in existing:
            ops.create_index(
                name,
                part.table_name,
                [c if isinstance(c, str) else c.name for c in index.expressions],
                unique=index.unique,
            )


def _convert_column(
    conn: sa.Connection, ops: Operations, table: str, old: FieldSpec, new: FieldSpec, version: int
) -> str:
    """Copy converted values into a new column; keep the old one as `_old_<name>_v<N>`."""
    # A rename in the same plan has already moved the column to its new name.
    old_col, new_col = column_name(new) if old.name != new.name else column_name(old), column_name(new)
    staging = f"_new_{new_col}"[:63]
    backup = identifier("_old", old_col, f"v{version}")
    column = field_column(table, new, None)
    column.name = staging
    ops.add_column(table, column)
    t = sa.table(table, sa.column("id"), sa.column(staging, column.type))
    rows = _rows(conn, table, old_col)
    values = [{"row_id": row_id, "value": convert_stored(old, new, value)} for row_id, value in rows]
    for start in range(0, len(values), BATCH):
        conn.execute(
            t.update().where(t.c.id == sa.bindparam("row_id")).values({staging: sa.bindparam("value")}),
            values[start : start + BATCH],
        )
    _drop_indexes_on(ops, conn, table, old_col)
    quote = conn.dialect.identifier_preparer.quote
    conn.execute(sa.text(f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(old_col)} TO {quote(backup)}"))
    conn.execute(sa.text(f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(staging)} TO {quote(new_col)}"))
    return f"{table}: convert {old_col} {old.type} -> {new.type}; old values kept in column {backup}"
