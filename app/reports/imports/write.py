"""Writing a checked plan: new records in bulk, changed ones through the ORM, all in the caller's transaction.

New records of a form without a workflow are inserted with one executemany (ids returned in
order) and their audit entries written beside them, in the shape the audit trail's flush hook
writes for a screen's save (`create`, field id -> [None, value]). Changed records, and new
records of a workflow form (whose first state is entered on flush), go through the ORM, so the
audit trail and the workflow hooks see them exactly as they see a screen's save.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Iterator
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from app.access.audit import AuditEntry, plain
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import input_fields
from app.office import utc_now

from .bulk import without_gc
from .validation import ADD, UPDATE, ImportTarget, Plan, RowResult, _chunks
from .values import each_distinct

INSERT_BATCH = 5000
# SQLite's page cache for the import's writes (KiB): the default 2 MB holds too few index pages
# for 100,000 inserts at scattered places of the form's indexes (NIK, programme + NIK), which are
# then read again and again; 64 MB keeps them (100,000 rows: 4.2 s -> 2.8 s).
IMPORT_CACHE_KIB = 65_536


@without_gc
def write_plan(target: ImportTarget, plan: Plan, user: tuple[int | None, str]) -> list[int]:
    """Add and update the plan's records (flushed, not committed); return the ids written."""
    added = [r for r in plan.rows if r.action == ADD]
    changed = [r for r in plan.rows if r.action == UPDATE]
    workflow = target.spec.workflow is not None
    with larger_cache(target.session):
        ids = _add_through_orm(target, added) if workflow else _add_in_bulk(target, added, user)
        return ids + _update(target, changed)


@contextlib.contextmanager
def larger_cache(session: Any) -> Iterator[None]:
    """On SQLite, a page cache of IMPORT_CACHE_KIB for the writes inside, the connection's own size restored after.

    Only this connection's cache grows, and only for these writes: the pooled connection goes
    back as it came. Restoring it before the commit loses nothing: SQLite keeps a transaction's
    changed pages in memory until it commits, whatever the cache's size.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    before = int(driver.execute("PRAGMA cache_size").fetchone()[0])
    driver.execute(f"PRAGMA cache_size={-IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size={before}")


def _written(target: ImportTarget) -> list[tuple[str, str]]:
    """(column, field name) of the fields an import writes (files are uploaded through the screen)."""
    return [(column_name(f), f.name) for f in input_fields(target.spec) if f.type not in ("file", "photo")]


def _columns(written: list[tuple[str, str]], r: RowResult) -> dict[str, Any]:
    values = r.values
    return {column: values.get(name) for column, name in written}


def _add_in_bulk(target: ImportTarget, rows: list[RowResult], user: tuple[int | None, str]) -> list[int]:
    table = target.table
    now = utc_now()
    audited = [(f.id, f.name) for f in target.spec.column_fields if f.type not in ("file", "photo") and not f.retired]
    written = _written(target)
    columns = [
        "id",
        *[c for c, _n in written],
        "created_on",
        "changed_on",
        "created_by_fk",
        "changed_by_fk",
        "region_code",
    ]
    columns += ["parent_id"] if target.spec.parent else []
    audit_columns = ["at", "user_id", "username", "form", "record_id", "action", "changes"]
    slug = target.spec.slug
    ids: list[int] = []
    for batch in _chunks(rows, INSERT_BATCH):
        inserted = _new_ids(target.session, table, len(batch))
        values = [r.values for r in batch]
        fields = field_columns(values, {name for _c, name in written} | {name for _id, name in audited})
        same = [now] * len(batch), [now] * len(batch), [user[0]] * len(batch), [user[0]] * len(batch)
        records = [inserted, *[fields[name] for _c, name in written], *same]
        records.append([r.region for r in batch])
        if target.spec.parent:
            records.append([r.parent_id for r in batch])
        bulk_insert(target.session, table, columns, records)
        changes = audit_changes(audited, values, fields)
        audit = [[now] * len(batch), [user[0]] * len(batch), [user[1]] * len(batch), [slug] * len(batch), inserted]
        audit += [["create"] * len(batch), changes]
        bulk_insert(target.session, AuditEntry.__table__, audit_columns, audit, json_text={"changes"})
        ids.extend(inserted)
    return ids


def field_columns(values: list[dict[str, Any]], names: Collection[str]) -> dict[str, list[Any]]:
    """{name: [each row's value of the field, None where it has none]}: rows of values as columns."""
    names = sorted(names)
    if not names:
        return {}
    try:
        rows = list(map(itemgetter(*names), values))  # every field in every row, the usual case
    except KeyError:
        return {name: [v.get(name) for v in values] for name in names}
    if len(names) == 1:
        return {names[0]: rows}
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True)) if rows else {n: [] for n in names}


def audit_changes(
    audited: list[tuple[str, str]], values: list[dict[str, Any]], columns: dict[str, list[Any]] | None = None
) -> list[str]:
    """Each new record's audit `changes` as the JSON text SQLAlchemy writes for a screen's save.

    The trail's flush hook stores {field id: [None, plain(value)]} for every field holding a value
    (app/access/audit.py `_changes`), serialised by json.dumps. Here each field's part of that
    text is built once per distinct value and the parts are joined, giving the same text.
    `columns`: the fields' values as `field_columns` gives them, when the caller has them.
    """
    if columns is None:
        columns = field_columns(values, {name for _key, name in audited})
    parts = []
    for key, name in audited:
        column = columns[name]
        if column.count(None) == len(column):  # a field no row fills: no part
            continue
        head = f"{json.dumps(key)}: [null, "

        def part(value: Any, head: str = head) -> str | None:
            if value.__class__ is str:
                return f"{head}{_json_string(value)}]" if value else None
            return None if value in _EMPTY else f"{head}{json.dumps(plain(value))}]"

        parts.append(each_distinct(column, part))
    if not parts:
        return ["{}"] * len(values)
    return ["{" + ", ".join(filter(None, row)) + "}" for row in zip(*parts, strict=True)]


_EMPTY = (None, "", [])  # values the audit trail leaves out
_json_string = json.encoder.encode_basestring_ascii  # json.dumps of a str (its C encoder)


def bulk_insert(
    session: Any, table: sa.Table, columns: list[str], values: list[list[Any]], json_text: Collection[str] = ()
) -> None:
    """Insert rows, given column by column, in the session's transaction through the driver.

    COPY on PostgreSQL, one executemany on SQLite. Values are bound by the columns' own SQLAlchemy
    types as SQLAlchemy binds them on each database (JSON as its text, dates as SQLite stores
    them), so they read back exactly as rows inserted through SQLAlchemy, without the generic
    per-row parameter handling of an SQLAlchemy executemany, which costs more than the driver's
    work here. Columns named in `json_text` already hold their JSON text.
    """
    connection = session.connection()
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    types = [table.c[name].type for name in columns]
    bound = []
    for name, sql_type, column in zip(columns, types, values, strict=True):
        if name in json_text:
            bound.append(column)
        elif dialect.name == "postgresql":
            # JSON as its text; None too, as JSON null, the way SQLAlchemy's JSON type binds it.
            as_json = isinstance(sql_type, sa.JSON) and not sql_type.none_as_null
            bound.append([json.dumps(v) for v in column] if as_json else column)
        else:
            process = sql_type._cached_bind_processor(dialect)
            binds_none = isinstance(sql_type, sa.JSON) and not sql_type.none_as_null
            bound.append(_processed(column, process, binds_none) if process is not None else column)
    rows = zip(*bound, strict=True)
    if dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    driver.cursor().executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows)


def _processed(column: list[Any], process: Any, binds_none: bool) -> list[Any]:
    """A column's values through its bind processor, each distinct value once (None as the type binds it)."""

    def bound(value: Any) -> Any:
        return None if value is None and not binds_none else process(value)

    return each_distinct(column, bound)


def _new_ids(session: Any, table: sa.Table, count: int) -> list[int]:
    """Ids for `count` new rows, taken before inserting them in one executemany.

    RETURNING in input order would make SQLAlchemy insert one row per statement on a table without
    a sentinel column (every form table), ten times slower. PostgreSQL hands out the numbers from
    the id's sequence; SQLite, whose import transaction holds the database's one write lock
    (BEGIN IMMEDIATE), continues after the highest id. The primary key refuses any clash.
    """
    if session.get_bind().dialect.name == "postgresql":
        # The sequence named once (not per row), the numbers back as one array: ten times faster.
        sequence = session.execute(sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name})
        numbers = sa.text("SELECT array_agg(nextval(CAST(:sequence AS regclass))) FROM generate_series(1, :n)")
        return sorted(session.execute(numbers, {"sequence": sequence.scalar(), "n": count}).scalar() or ())
    highest = session.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    return list(range(highest + 1, highest + 1 + count))


def _add_through_orm(target: ImportTarget, rows: list[RowResult]) -> list[int]:
    from app.views.generated import stamp

    items = []
    written = _written(target)
    for r in rows:
        item = target.model()
        for column, value in _columns(written, r).items():
            if column != target.spec.state_field:
                setattr(item, column, value)
        if target.spec.parent:
            item.parent_id = r.parent_id
        stamp(item, target.spec, is_new=True)
        item.region_code = r.region  # a pending row's parent relationship is not loaded yet
        items.append(item)
    target.session.add_all(items)
    target.session.flush()
    return [item.id for item in items]


def _update(target: ImportTarget, rows: list[RowResult]) -> list[int]:
    from app.views.generated import stamp

    by_id = {r.record_id: r for r in rows}
    model = target.model
    written = _written(target)
    for chunk in _chunks(list(by_id)):
        for item in target.session.execute(sa.select(model).where(model.id.in_(chunk))).scalars():
            r = by_id[item.id]
            for column, value in _columns(written, r).items():
                if column != target.spec.state_field and getattr(item, column) != value:
                    setattr(item, column, value)
            if target.spec.parent and r.parent_id is not None:
                item.parent_id = r.parent_id
            stamp(item, target.spec, is_new=False)
            item.region_code = r.region  # as stamp() would find it, without loading the owner again
        target.session.flush()
    return list(by_id)  # type: ignore[arg-type]
