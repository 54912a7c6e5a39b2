"""A general job table for long work (exports, imports, …) run by the scheduler process.

A job is a row: `kind` is an import path ("package.module:function"), `args` a JSON object
passed as keyword arguments, and the function gets a `JobContext` first, to report progress:

    def export_roster(job: JobContext, form: str) -> dict:
        for done, chunk in enumerate(chunks, 1):
            job.progress(done, total=len(chunks), message=f"{form}: {done} of {len(chunks)}")
        return {"file": "…"}                      # stored as the job's JSON result

The scheduler runs queued jobs one at a time: a claim is a conditional UPDATE (state queued →
running, holder = this scheduler), so no job runs twice at once. A job whose process died is
left `running` with that holder's name; the next scheduler to take the lease queues it again
(at most JOB_MAX_ATTEMPTS runs in all, so a job that kills its process cannot loop for ever).
Jobs are written to be safe to run again from the start.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from werkzeug.utils import import_string

from app.access.redaction import redact
from app.database import write_transaction
from app.extensions import db
from app.office import utc_now
from app.workflows.runtime.lease import Clock
from app.workflows.runtime.models import DONE, FAILED, QUEUED, RUNNING, job_table
from app.workflows.runtime.periodic import RunContext

log = logging.getLogger(__name__)
_KIND = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
DEFAULT_MAX_ATTEMPTS = 2


class JobInterrupted(Exception):
    """The scheduler lost its lease or is stopping: the job stops; another scheduler runs it again."""


def enqueue_job(
    session: Any,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    created_by: str | None = None,
    run_after: datetime | None = None,
    now: datetime | None = None,
) -> int:
    """Queue a job inside the caller's transaction (a Session or Connection); return its id."""
    if not _KIND.match(kind):
        raise ValueError(f"{kind!r}: a job kind is an import path 'package.module:function'")
    args = dict(args or {})
    json.dumps(args)  # refuse what the JSON column could not hold, here rather than in the scheduler
    now = now or utc_now()
    inserted = session.execute(
        job_table.insert().values(
            kind=kind,
            args=args,
            state=QUEUED,
            progress=0,
            attempts=0,
            run_after=run_after or now,
            created_at=now,
            created_by=created_by,
        )
    )
    return int(inserted.inserted_primary_key[0])


@dataclass
class JobContext:
    """Handed to a job: its id and run number, progress reporting, whether to stop."""

    job_id: int
    attempt: int
    engine: sa.Engine
    holder: str
    clock: Clock = utc_now
    active: Any = field(default=lambda: True)

    def should_stop(self) -> bool:
        """True when the scheduler lost its lease or is stopping."""
        return not self.active()

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress (its own short transaction); raises JobInterrupted when the job must stop."""
        if self.should_stop():
            raise JobInterrupted(self.job_id)
        values: dict[str, Any] = {"progress": done}
        if total is not None:
            values["total"] = total
        if message is not None:
            values["message"] = redact(message)
        c = job_table.c
        with write_transaction(self.engine) as conn:
            updated = conn.execute(
                job_table.update().where(c.id == self.job_id, c.holder == self.holder, c.state == RUNNING),
                values,
            )
        if updated.rowcount != 1:  # queued again by the next scheduler: this run is over
            raise JobInterrupted(self.job_id)


def claim_next_job(engine: sa.Engine, holder: str, now: datetime) -> Any | None:
    """Take the oldest due queued job for `holder` (a conditional UPDATE); None when there is none."""
    c = job_table.c
    for _ in range(5):  # another claimer may win the row picked; then try the next one
        with write_transaction(engine) as conn:
            job_id = conn.execute(
                sa.select(c.id).where(c.state == QUEUED, c.run_after <= now).order_by(c.run_after, c.id).limit(1)
            ).scalar()
            if job_id is None:
                return None
            claimed = conn.execute(
                job_table.update()
                .where(c.id == job_id, c.state == QUEUED)
                .values(state=RUNNING, holder=holder, started_at=now, finished_at=None, attempts=c.attempts + 1)
            )
            if claimed.rowcount == 1:
                return conn.execute(sa.select(job_table).where(c.id == job_id)).one()
    return None


def _finish(engine: sa.Engine, job_id: int, holder: str, now: datetime, **values: Any) -> bool:
    c = job_table.c
    with write_transaction(engine) as conn:
        done = conn.execute(
            job_table.update()
            .where(c.id == job_id, c.holder == holder, c.state == RUNNING)
            .values(finished_at=now, **values)
        )
    return done.rowcount == 1


def run_job(engine: sa.Engine, job: Any, holder: str, clock: Clock = utc_now, active: Any = None) -> str:
    """Run a claimed job; record done (with its result) or failed (with the error). Returns the state."""
    context = JobContext(job.id, job.attempts, engine, holder, clock, active or (lambda: True))
    try:
        function = import_string(job.kind)
        result = function(context, **(job.args or {}))
        json.dumps(result)
    except JobInterrupted:
        log.warning("job %s (%s) interrupted; the next scheduler runs it again", job.id, job.kind)
        return RUNNING
    except Exception as exc:
        log.exception("job %s (%s) failed", job.id, job.kind)
        _finish(engine, job.id, holder, clock(), state=FAILED, message=redact(f"{type(exc).__name__}: {exc}")[:2000])
        return FAILED
    c = job_table.c
    _finish(
        engine,
        job.id,
        holder,
        clock(),
        state=DONE,
        result=result,
        progress=sa.case((c.total.is_not(None), c.total), else_=c.progress),
    )
    return DONE


def requeue_orphans(
    engine: sa.Engine, holder: str, now: datetime, max_attempts: int = DEFAULT_MAX_ATTEMPTS
) -> tuple[int, int]:
    """After taking the lease: queue again the jobs another (dead) scheduler left running.

    Only the lease holder runs jobs, so a running job of any other holder was interrupted. A
    job that has had `max_attempts` runs already is marked failed instead. Returns
    (queued again, failed).
    """
    c = job_table.c
    orphan = sa.and_(c.state == RUNNING, sa.or_(c.holder.is_(None), c.holder != holder))
    with write_transaction(engine) as conn:
        failed = conn.execute(
            job_table.update()
            .where(orphan, c.attempts >= max_attempts)
            .values(state=FAILED, finished_at=now, message="Interrupted too often (the scheduler stopped while it ran)")
        ).rowcount
        requeued = conn.execute(
            job_table.update()
            .where(orphan)
            .values(state=QUEUED, holder=None, message="Interrupted (the scheduler stopped); queued again")
        ).rowcount
    if requeued or failed:
        log.warning("jobs left running by a stopped scheduler: %s queued again, %s failed", requeued, failed)
    return requeued, failed


def run_queued_jobs(ctx: RunContext) -> int:
    """The periodic job runner: run due jobs one after the other while this scheduler is active."""
    ran = 0
    while ctx.active():
        job = claim_next_job(ctx.engine, ctx.holder, ctx.clock())
        if job is None:
            break
        try:
            run_job(ctx.engine, job, ctx.holder, ctx.clock, ctx.active)
        finally:
            db.session.remove()  # what the job loaded through the ORM is not kept for the next one
        ran += 1
    return ran
