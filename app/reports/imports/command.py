"""One import as one unit of work: read, check every row, then write all rows or none.

`run_import` runs inside a request of the importing user (the screen's, or the one a background
job rebuilds), so the user's working area, permissions and language hold as on the screens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import gettext

from app.access.personal import log_access
from app.access.scope import current_scope
from app.extensions import db
from app.forms_engine.messages import N_
from app.office import office_district
from app.views.labels import current_lang, render_message
from app.views.record_checks import hide_unseen

from .annotated import annotated_workbook
from .errors import ImportFileError
from .mapping import PARENT, checked_mapping
from .reading import Table, read_table
from .storage import store_annotated, upload_bytes
from .validation import ADD, SAME, UPDATE, ImportTarget, Plan, field_label, plan_import
from .write import write_plan

CHANGED_MEANWHILE = N_(
    "Another user saved a record with the same key while the file was being checked. "
    "Nothing was imported: import the file again."
)
SHOWN_PROBLEMS = 50  # on the result screen; the annotated workbook has them all
DONE, REFUSED, CONFIRM, FAILED = "done", "errors", "warnings", "failed"


def import_target(slug: str, key: Sequence[str] = (), parent_id: int | None = None) -> ImportTarget:
    """The form a user imports into, with their area and whether they may change stored records."""
    from app.views.generated import permission_view_name

    models = current_app.extensions["simpul_models"]
    spec = models[slug].__spec__
    may_update = current_app.appbuilder.sm.has_access("can_edit", permission_view_name(spec))
    return ImportTarget(db.session, spec, models, current_scope(), office_district(), tuple(key), parent_id, may_update)


def run_import(
    token: str,
    slug: str,
    mapping: Sequence[str | None],
    key: Sequence[str] = (),
    parent_id: int | None = None,
    confirm_warnings: bool = False,
    progress: Callable[[int, int | None, str | None], None] | None = None,
    sheet: str | None = None,
    table: Table | None = None,
) -> dict[str, Any]:
    """Import an uploaded file (of a workbook, `sheet`) into a form; return what happened (JSON-able).

    `table`: the upload already read (a job reads it first to report its size).
    """
    try:
        table = table or read_table(upload_bytes(token), sheet)
    except ImportFileError as exc:
        return {"state": FAILED, "message": render_message(exc.message)}
    one_import_at_a_time(slug)
    target = import_target(slug, key, parent_id)
    mapping = checked_mapping(target.spec, table.header, mapping)
    total = len(table.rows)
    if progress is not None:
        progress(0, total, gettext("Checking rows"))
    plan = plan_import(target, table, mapping, (lambda done: progress(done, total, None)) if progress else None)
    counts = {
        "rows": total,
        "added": plan.count(ADD),
        "updated": plan.count(UPDATE),
        "unchanged": plan.count(SAME),
        "failed_rows": len(plan.failed),
        "warned_rows": len(plan.warned),
    }
    if plan.failed or (plan.warned and not confirm_warnings):
        db.session.rollback()
        problems = _render(target, plan, table)
        store_annotated(token, problems["workbook"])
        log_access("import", slug, [], 0, _summary(counts, refused=True))
        state = REFUSED if plan.failed else CONFIRM
        return {"state": state, **counts, "problems": problems["shown"]}
    user = getattr(g, "user", None)
    try:
        ids = write_plan(target, plan, (getattr(user, "id", None), getattr(user, "username", None) or "sistem"))
        db.session.commit()
    except (sa.exc.IntegrityError, db.engine.dialect.loaded_dbapi.IntegrityError):
        # A record with the same key saved from a screen or the API after the rows were checked
        # (the bulk write goes through the driver: its own error, not SQLAlchemy's).
        db.session.rollback()
        log_access("import", slug, [], 0, _summary(counts, refused=True))
        return {"state": FAILED, "message": gettext(CHANGED_MEANWHILE)}
    log_access("import", slug, ids, len(ids), _summary(counts, refused=False))
    if progress is not None:
        progress(total, total, gettext("Done"))
    return {"state": DONE, **counts}


def one_import_at_a_time(slug: str) -> None:
    """Wait for any other import into this form to finish, so this one checks against its rows.

    PostgreSQL: a lock held until this transaction ends. SQLite needs none: an import's transaction
    holds the database's one write lock from its first statement.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"simpul-import:{slug}"})


def _summary(counts: dict[str, Any], refused: bool) -> str:
    """The access log's note of an import (its row counts)."""
    if refused:
        return (
            f"impor ditolak: {counts['rows']} baris, {counts['failed_rows']} salah, {counts['warned_rows']} peringatan"
        )
    return (
        f"impor: {counts['rows']} baris, {counts['added']} baru, {counts['updated']} diubah, {counts['unchanged']} sama"
    )


def _render(target: ImportTarget, plan: Plan, table: Table) -> dict[str, Any]:
    """Problems in the user's language: the first ones for the screen, all in the annotated workbook."""
    lang = current_lang()
    parent_label = gettext("Parent record")
    for r in plan.rows:
        if r.errors:
            r.errors = hide_unseen(r.errors, db.session)
        if r.warnings:
            r.warnings = hide_unseen(r.warnings, db.session)

    def label(name: str) -> str:
        return field_label(target.spec, name, lang, parent_label)

    shown = []
    for r in plan.rows:
        for found, warning in ((r.errors, False), (r.warnings, True)):
            for name, messages in found.items():
                for m in messages:
                    if len(shown) < SHOWN_PROBLEMS:
                        shown.append(
                            {"row": r.row, "field": label(name), "message": render_message(m), "warning": warning}
                        )
    workbook = annotated_workbook(
        table,
        plan,
        label,
        render_message,
        column_title=gettext("Error description"),
        warning_prefix=gettext("Warning"),
    )
    return {"shown": shown, "workbook": workbook}


SHOWN_PERSONS = 200  # of those who entered or left, on the screen


def run_registry_import(
    token: str,
    slug: str,
    progress: Callable[[int, int | None, str | None], None] | None = None,
    table: Table | None = None,
) -> dict[str, Any]:
    """Apply a registry extract (DTKS/DTSEN) to a roster form's lines in the user's area; all or nothing.

    `table`: the upload already read (a job reads it first to report its size).
    """
    from app.forms_engine.identity import mask

    from .registry import apply_extract, extract_table, read_extract, registry_profile

    try:
        table = table or extract_table(upload_bytes(token))
    except ImportFileError as exc:
        return {"state": FAILED, "message": render_message(exc.message)}
    model = current_app.extensions["simpul_models"][slug]
    spec = model.__spec__
    profile = registry_profile(spec)
    if profile is None:
        return {"state": FAILED, "message": gettext("This form has no registry fields.")}
    total = len(table.rows)
    sheet_read = table.sheet if len(table.sheets) > 1 else None  # named when the workbook has a choice
    if progress is not None:
        progress(0, total, gettext("Checking rows"))
    one_import_at_a_time(slug)
    persons, plan = read_extract(table, spec, profile)
    if plan.failed:
        db.session.rollback()
        target = import_target(slug)
        problems = _render(target, plan, table)
        store_annotated(token, problems["workbook"])
        log_access("import", slug, [], 0, f"registri ditolak: {total} baris, {len(plan.failed)} salah")
        return {
            "state": REFUSED,
            "rows": total,
            "failed_rows": len(plan.failed),
            "warned_rows": 0,
            "problems": problems["shown"],
            "sheet": sheet_read,
        }
    report = apply_extract(db.session, model, profile, persons, current_scope(), total)
    db.session.commit()
    names = current_app.extensions.get("simpul_region_names")
    label = names.label if names is not None else (lambda code: code or "")
    summary = (
        f"registri DTKS/DTSEN: {total} baris; {len(report.entered)} masuk, {len(report.left)} keluar, "
        f"{len(report.changed_ids)} data diubah"
    )
    log_access("import", slug, report.changed_ids, len(report.changed_ids), summary)
    if progress is not None:
        progress(total, total, gettext("Done"))
    return {
        "state": DONE,
        "profile": "registry",
        "sheet": sheet_read,
        "rows": total,
        "matched_lines": report.matched_lines,
        "changed": len(report.changed_ids),
        "entered_count": len(report.entered),
        "left_count": len(report.left),
        "entered": [[mask(n), name, label(d)] for n, name, d in report.entered[:SHOWN_PERSONS]],
        "left": [[mask(n), name, label(d)] for n, name, d in report.left[:SHOWN_PERSONS]],
        "per_desa": [
            [label(code), counts["entered"], counts["left"], counts["registered"], counts["not_registered"]]
            for code, counts in sorted(report.per_desa.items())
        ],
    }


__all__ = ["PARENT", "import_target", "run_import", "run_registry_import"]
