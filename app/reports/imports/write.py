"""Writing a checked plan: new records in bulk, changed ones through the ORM, all in the caller's transaction.

New records of a form without a workflow are inserted with one executemany (ids returned in
order) and their audit entries written beside them, in the shape the audit trail's flush hook
writes for a screen's save (`create`, field id -> [None, value]). Changed records, and new
records of a workflow form (whose first state is entered on flush), go through the ORM, so the
audit trail and the workflow hooks see them exactly as they see a screen's save.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.access.audit import AuditEntry, _plain
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import input_fields
from app.office import utc_now

from .validation import ADD, UPDATE, ImportTarget, Plan, RowResult, _chunks

INSERT_BATCH = 5000


def write_plan(target: ImportTarget, plan: Plan, user: tuple[int | None, str]) -> list[int]:
    """Add and update the plan's records (flushed, not committed); return the ids written."""
    added = [r for r in plan.rows if r.action == ADD]
    changed = [r for r in plan.rows if r.action == UPDATE]
    workflow = target.spec.workflow is not None
    ids = _add_through_orm(target, added) if workflow else _add_in_bulk(target, added, user)
    return ids + _update(target, changed)


def _columns(target: ImportTarget, r: RowResult) -> dict[str, Any]:
    return {column_name(f): r.values.get(f.name) for f in input_fields(target.spec) if f.type not in ("file", "photo")}


def _add_in_bulk(target: ImportTarget, rows: list[RowResult], user: tuple[int | None, str]) -> list[int]:
    table = target.table
    now = utc_now()
    stamp = {"created_on": now, "changed_on": now, "created_by_fk": user[0], "changed_by_fk": user[0]}
    fields = [f for f in target.spec.column_fields if f.type not in ("file", "photo") and not f.retired]
    ids: list[int] = []
    for batch in _chunks(rows, INSERT_BATCH):
        values = []
        for r in batch:
            row = _columns(target, r) | stamp | {"region_code": r.region}
            if target.spec.parent:
                row["parent_id"] = r.parent_id
            values.append(row)
        inserted = (
            target.session.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), values)
            .scalars()
            .all()
        )
        ids.extend(inserted)
        audit = []
        for record_id, r in zip(inserted, batch, strict=True):
            changes = {
                f.id: [None, _plain(r.values.get(f.name))] for f in fields if r.values.get(f.name) not in (None, "", [])
            }
            audit.append(
                {
                    "at": now,
                    "user_id": user[0],
                    "username": user[1],
                    "form": target.spec.slug,
                    "record_id": record_id,
                    "action": "create",
                    "changes": changes,
                }
            )
        target.session.execute(sa.insert(AuditEntry.__table__), audit)
    return ids


def _add_through_orm(target: ImportTarget, rows: list[RowResult]) -> list[int]:
    from app.views.generated import stamp

    items = []
    for r in rows:
        item = target.model()
        for column, value in _columns(target, r).items():
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
    for chunk in _chunks(list(by_id)):
        for item in target.session.execute(sa.select(model).where(model.id.in_(chunk))).scalars():
            r = by_id[item.id]
            for column, value in _columns(target, r).items():
                if column != target.spec.state_field and getattr(item, column) != value:
                    setattr(item, column, value)
            if target.spec.parent and r.parent_id is not None:
                item.parent_id = r.parent_id
            stamp(item, target.spec, is_new=False)
            item.region_code = r.region  # as stamp() would find it, without loading the owner again
        target.session.flush()
    return list(by_id)  # type: ignore[arg-type]
