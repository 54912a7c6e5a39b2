"""Writing a checked plan: new records in bulk, changed ones through the ORM, all in the caller's transaction.

New records of a form without a workflow are inserted with one executemany (ids returned in
order) and their audit entries written beside them, in the shape the audit trail's flush hook
writes for a screen's save (`create`, field id -> [None, value]). Changed records, and new
records of a workflow form (whose first state is entered on flush), go through the ORM, so the
audit trail and the workflow hooks see them exactly as they see a screen's save.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from app.access.audit import AuditEntry, plain
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import input_fields
from app.office import utc_now

from .bulk import without_gc
from .validation import ADD, UPDATE, ImportTarget, Plan, RowResult, _chunks

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
    stamp = (now, now, user[0], user[0])
    empty = (None, "", [])
    slug = target.spec.slug
    ids: list[int] = []
    for batch in _chunks(rows, INSERT_BATCH):
        inserted = _new_ids(target.session, table, len(batch))
        records, audit = [], []
        for record_id, r in zip(inserted, batch, strict=True):
            values = r.values
            row = (record_id, *[values.get(name) for _c, name in written], *stamp, r.region)
            records.append((*row, r.parent_id) if target.spec.parent else row)
            changes = {key: [None, plain(values[name])] for key, name in audited if values.get(name) not in empty}
            audit.append((now, user[0], user[1], slug, record_id, "create", changes))
        bulk_insert(target.session, table, columns, records)
        bulk_insert(target.session, AuditEntry.__table__, audit_columns, audit)
        ids.extend(inserted)
    return ids


def bulk_insert(session: Any, table: sa.Table, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert rows in the session's transaction through the driver: COPY on PostgreSQL, executemany on SQLite.

    Values are bound by the columns' own SQLAlchemy types (JSON as its text, dates as SQLite
    stores them), so they read back exactly as rows inserted through SQLAlchemy; the generic
    per-row parameter handling of an SQLAlchemy executemany, which costs more than the driver's
    work here, is skipped.
    """
    connection = session.connection()
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    types = [table.c[name].type for name in columns]
    if dialect.name == "postgresql":
        # JSON as its text; None too, as JSON null, the way SQLAlchemy's JSON type binds it.
        as_json = {i for i, t in enumerate(types) if isinstance(t, sa.JSON) and not t.none_as_null}
        with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                if as_json:
                    row = tuple(json.dumps(v) if i in as_json else v for i, v in enumerate(row))
                copy.write_row(row)
        return
    processors = [
        (i, p, isinstance(t, sa.JSON) and not t.none_as_null)
        for i, t in enumerate(types)
        if (p := t.bind_processor(dialect)) is not None
    ]
    bound = []
    for row in rows:
        values = list(row)
        for i, process, binds_none in processors:
            if values[i] is not None or binds_none:
                values[i] = process(values[i])
        bound.append(values)
    marks = ", ".join("?" * len(columns))
    driver.cursor().executemany(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", bound)


def _new_ids(session: Any, table: sa.Table, count: int) -> list[int]:
    """Ids for `count` new rows, taken before inserting them in one executemany.

    RETURNING in input order would make SQLAlchemy insert one row per statement on a table without
    a sentinel column (every form table), ten times slower. PostgreSQL hands out the numbers from
    the id's sequence; SQLite, whose import transaction holds the database's one write lock
    (BEGIN IMMEDIATE), continues after the highest id. The primary key refuses any clash.
    """
    if session.get_bind().dialect.name == "postgresql":
        numbers = sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
        return list(session.execute(numbers, {"table": table.name, "n": count}).scalars())
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
