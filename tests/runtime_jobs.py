"""Job functions for the runtime tests (importable by a scheduler process as `tests.runtime_jobs:…`)."""

from __future__ import annotations

import os
import time
from typing import Any


def count_to(job: Any, n: int) -> dict[str, Any]:
    """Report progress n times; the result names the process that ran it."""
    for done in range(1, n + 1):
        job.progress(done, total=n, message=f"{done} of {n}")
    return {"counted": n, "pid": os.getpid()}


def explode(job: Any, nik: str) -> None:
    """Fail with a message that carries a NIK."""
    raise ValueError(f"record with NIK {nik} is broken")


def slow_first(job: Any, seconds: float) -> dict[str, Any]:
    """The first run sleeps (long enough to be killed in); a later run finishes at once."""
    if job.attempt == 1:
        time.sleep(seconds)
    return {"pid": os.getpid(), "attempt": job.attempt}


def run_queued_jobs(app: Any) -> None:
    """Run every queued job in this process, as the scheduler would (each must finish: done)."""
    from app.extensions import db
    from app.office import utc_now
    from app.workflows.runtime.jobs import claim_next_job, run_job

    with app.app_context():
        while (job := claim_next_job(db.engine, "test", utc_now())) is not None:
            assert run_job(db.engine, job, "test") == "done"
            db.session.remove()
