"""Report files made by background jobs (exports, later prints): where they are kept, who may
fetch them, and when they go.

A file lives under REPORT_DIR (default: `reports/` beside UPLOAD_DIR, so inside the instance
directory) named by its job: `<job id>-<name>`. The job row says who asked for it
(`created_by`); only that user, or an Admin, may download it. Files older than
REPORT_KEEP_DAYS are removed by the periodic job `reports.expire` in the scheduler process,
and their job's result says so.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.database import write_transaction
from app.workflows.runtime.models import DONE, job_table
from app.workflows.runtime.periodic import RunContext, register_periodic

DEFAULTS = {
    "REPORT_KEEP_DAYS": 7,  # days a report file is kept for its owner to download
    "REPORT_CLEAN_SECONDS": 3600,  # how often the scheduler removes expired report files
    "EXPORT_INLINE_MAX_ROWS": 5000,  # larger exports run as a background job
    "PRINT_INLINE_MAX_ROWS": 2000,  # larger prints run as a background job
}
EXPIRED = "expired"  # the job result's key once its file is gone
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def configure(config: Any) -> None:
    """Fill in the report settings config.py does not name (REPORT_DIR beside the uploads)."""
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)
    config.setdefault("REPORT_DIR", str(Path(config["UPLOAD_DIR"]).parent / "reports"))


def report_dir() -> Path:
    """The directory report files are written to (created, readable by the server's user only)."""
    path = Path(current_app.config["REPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def file_name(job_id: int, name: str) -> str:
    """The stored name of a job's file: its job number, then a safe version of the download name."""
    return f"{job_id}-{_UNSAFE.sub('_', name)[:120]}"


def stored_path(stored: str) -> Path | None:
    """The path of a stored report file, or None when the name is not one of ours or it is gone."""
    if not stored or "/" in stored or "\\" in stored or stored.startswith("."):
        return None
    path = report_dir() / stored
    return path if path.is_file() else None


def may_download(job: Any, user: Any) -> bool:
    """Only the user who asked for the file, or an Admin."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if job.created_by == user.username:
        return True
    return current_app.config["AUTH_ROLE_ADMIN"] in {role.name for role in user.roles}


def remove_expired(ctx: RunContext) -> int:
    """The periodic job: remove report files older than REPORT_KEEP_DAYS; mark their jobs expired."""
    with ctx.app.app_context():
        keep = timedelta(days=float(ctx.app.config["REPORT_KEEP_DAYS"]))
        return remove_files_before(ctx.engine, report_dir(), ctx.clock() - keep)


def remove_files_before(engine: sa.Engine, directory: Path, cutoff: datetime) -> int:
    """Remove the files of jobs finished before `cutoff` (and stray files older than it); return how many."""
    c = job_table.c
    removed = 0
    with engine.connect() as conn:
        old = conn.execute(
            sa.select(c.id, c.result).where(c.state == DONE, c.finished_at < cutoff, c.result.is_not(None))
        ).all()
    for job_id, result in old:
        if not isinstance(result, dict) or result.get(EXPIRED) or not result.get("file"):
            continue
        path = directory / str(result["file"])
        if path.is_file():
            path.unlink()
            removed += 1
        with write_transaction(engine) as conn:
            conn.execute(job_table.update().where(c.id == job_id).values(result={**result, EXPIRED: True}))
    oldest = cutoff.replace(tzinfo=UTC).timestamp()  # stored times are naive UTC
    for path in directory.iterdir():  # a partial file of a job that died while writing, or a stray one
        if path.is_file() and path.stat().st_mtime < oldest:
            path.unlink()
            removed += 1
    return removed


register_periodic("reports.expire", "app.reports.files:remove_expired", "REPORT_CLEAN_SECONDS")
