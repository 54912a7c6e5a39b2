"""Writing a checked plan: new records in bulk, changed ones through the ORM, all in the caller's transaction.

New records of a form without a workflow are inserted with one executemany (ids returned in
order) and their audit entries written beside them, in the shape the audit trail's flush hook
writes for a screen's save (`create`, field id -> [None, value]). Changed records, and new
records of a workflow form (whose first state is entered on flush), go through the ORM, so the
audit trail and the workflow hooks see them exactly as they see a screen's save.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from app.access.audit import AuditEntry, plain
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import input_fields
from app.office import utc_now

from .bulk import without_gc
from .validation import ADD, UPDATE, ImportTarget, Plan, RowResult, _chunks
from .values import memo_key

INSERT_BATCH = 5000


@without_gc
def write_plan(target: ImportTarget, plan: Plan, user: tuple[int | None, str]) -> list[int]:
    """Add and update the plan's records (flushed, not committed); return the ids written."""
    added = [r for r in plan.rows if r.action == ADD]
    changed = [r for r in plan.rows if r.action == UPDATE]
    workflow = target.spec.workflow is not None
    ids = _add_through_orm(target, added) if workflow else _add_in_bulk(target, added, user)
    return ids + _update(target, changed)


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
        same = [now] * len(batch), [now] * len(batch), [user[0]] * len(batch), [user[0]] * len(batch)
        records = [inserted, *[[v.get(name) for v in values] for _c, name in written], *same]
        records.append([r.region for r in batch])
        if target.spec.parent:
            records.append([r.parent_id for r in batch])
        bulk_insert(target.session, table, columns, records)
        changes = audit_changes(audited, values)
        audit = [[now] * len(batch), [user[0]] * len(batch), [user[1]] * len(batch), [slug] * len(batch), inserted]
        audit += [["create"] * len(batch), changes]
        bulk_insert(target.session, AuditEntry.__table__, audit_columns, audit, json_text={"changes"})
        ids.extend(inserted)
    return ids


def audit_changes(audited: list[tuple[str, str]], values: list[dict[str, Any]]) -> list[str]:
    """Each new record's audit `changes` as the JSON text SQLAlchemy writes for a screen's save.

    The trail's flush hook stores {field id: [None, plain(value)]} for every field holding a value
    (app/access/audit.py `_changes`), serialised by json.dumps. Here each field's part of that
    text is built once per distinct value (text, often unique, is simply encoded) and the parts
    are joined, giving the same text.
    """
    parts = []
    for key, name in audited:
        column = [v.get(name) for v in values]
        if column.count(None) == len(column):  # a field no row fills: no part
            continue
        head = f"{json.dumps(key)}: [null, "
        memo: dict[Any, str | None] = {}
        part: list[str | None] = []
        for value in column:
            if value is None:
                part.append(None)
            elif value.__class__ is str:
                part.append(f"{head}{_json_string(value)}]" if value else None)
            else:
                try:
                    found = memo.get(memo_key(value), _NOT_YET)
                except TypeError:  # a multichoice list
                    found = None if value in _EMPTY else f"{head}{json.dumps(plain(value))}]"
                if found is _NOT_YET:
                    found = memo[memo_key(value)] = None if value in _EMPTY else f"{head}{json.dumps(plain(value))}]"
                part.append(found)  # type: ignore[arg-type]
        parts.append(part)
    if not parts:
        return ["{}"] * len(values)
    return ["{" + ", ".join(filter(None, row)) + "}" for row in zip(*parts, strict=True)]


_NOT_YET = object()
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
    memo: dict[Any, Any] = {}
    out = []
    for value in column:
        if value is None and not binds_none:
            out.append(None)
            continue
        try:
            key = memo_key(value)
            found = memo.get(key, _NOT_YET)
        except TypeError:  # a list: processed every time
            out.append(process(value))
            continue
        if found is _NOT_YET:
            found = memo[key] = process(value)
        out.append(found)
    return out


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
