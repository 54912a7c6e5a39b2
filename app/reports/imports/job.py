"""Large imports as background jobs: run in the scheduler process as the user who uploaded.

The job rebuilds the user's request: a test request context with the user logged in (flask_login),
so their working area, permissions and language apply exactly as on the screen, and the access
log is written by the same after-request hook a screen's import uses.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import current_app, g
from flask_babel import force_locale
from flask_login import login_user

from app.database import write_intent
from app.extensions import db

from .errors import ImportFileError
from .reading import read_table
from .storage import upload_bytes

JOB_KIND = "app.reports.imports.job:import_job"


def import_job(
    job: Any,
    token: str,
    slug: str,
    mapping: list[str | None],
    user_id: int,
    key: list[str] | None = None,
    parent_id: int | None = None,
    confirm_warnings: bool = False,
    lang: str = "id",
    profile: str | None = None,
    sheet: str | None = None,
) -> dict[str, Any]:
    """Run `run_import` (or, for profile "registry", `run_registry_import`) for a queued upload."""
    from .command import run_import, run_registry_import
    from .registry import extract_table

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    sqlite = db.engine.dialect.name == "sqlite"
    table = None
    if sqlite:  # before the import's transaction takes SQLite's one write lock (see below)
        with suppress(ImportFileError):  # an unreadable file: the import reports it as on the screen
            data = upload_bytes(token)
            table = extract_table(data) if profile == "registry" else read_table(data, sheet)  # handed on
            job.progress(0, total=len(table.rows))
    with write_intent(sqlite), app.test_request_context("/import/job"):
        user = db.session.get(app.appbuilder.sm.user_model, user_id)
        if user is None or not user.is_active:
            return {"state": "failed", "message": "the user who uploaded the file is no longer active"}
        login_user(user)
        g.user = user

        def progress(done: int, total: int | None, message: str | None) -> None:
            # On SQLite the import holds the write lock from its first read (so its checks and
            # writes see one state): a progress row written beside it would wait for it.
            if not sqlite:
                job.progress(done, total=total, message=message)

        with force_locale(lang):
            if profile == "registry":
                result = run_registry_import(token, slug, progress, table=table)
            else:
                result = run_import(
                    token, slug, mapping, key or (), parent_id, confirm_warnings, progress, sheet, table=table
                )
            app.process_response(app.response_class())  # writes the access log, as after a screen's request
    return result
