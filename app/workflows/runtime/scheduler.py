"""The scheduler process (`flask simpul scheduler`): periodic jobs, the job table, the outbox.

Exactly one scheduler is active however many are started: each waits for the lease
"scheduler" (`lease.py`: a row with an expiry, SCHEDULER_LEASE_SECONDS, renewed every
SCHEDULER_HEARTBEAT_SECONDS) and starts APScheduler only while it holds it. When the active
one dies, its lease expires and a waiting one takes over within lease + heartbeat seconds
(40 s by default); one that stops cleanly releases the lease, so the takeover is immediate.
Web workers never run jobs: they only write rows (jobs, mail) that the scheduler picks up.

APScheduler 3 with a persistent SQLAlchemy job store (table `simpul_scheduler_job`), used so
that a run missed while no scheduler was up is made once when one starts. Its known traps:
- its job store cannot be shared by several running schedulers: only the lease holder
  opens it, and a holder that loses the lease shuts its APScheduler down. In the short moment
  a holder may not yet know it lost the lease, a periodic job could run twice; every job is
  idempotent and stops at its next unit of work (`RunContext.active()`);
- it silently deletes jobs it cannot unpickle: every stored job is the same textual
  reference (`run_periodic`) with a name as its one argument, and at each takeover the jobs
  are registered again from code (`periodic.py`) when missing or changed, so nothing of
  ours is ever lost to a failed unpickle (at worst one catch-up run);
- its default misfire grace of 1 s skips late runs: `misfire_grace_time=None` (run however
  late) with `coalesce=True` (many missed runs make one).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.utils import import_string

from app.database import configure_engine
from app.extensions import db
from app.office import utc_now
from app.workflows.runtime.jobs import requeue_orphans
from app.workflows.runtime.lease import Clock, HeldLease
from app.workflows.runtime.outbox import ensure_templates
from app.workflows.runtime.periodic import PERIODIC, RunContext

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
JOB_TABLE = "simpul_scheduler_job"
TRAMPOLINE = f"{__name__}:run_periodic"

_service: SchedulerService | None = None  # the one service of this process, for run_periodic


def run_periodic(name: str) -> None:
    """What APScheduler calls: run the periodic job `name` in an app context, while the lease holds."""
    service = _service
    if service is None or not service.active():
        return
    entry = PERIODIC.get(name)
    if entry is None:
        log.warning("periodic job %r is not registered (any more); skipped", name)
        return
    with service.app.app_context():
        try:
            import_string(entry.target)(service.run_context())
        except Exception:
            log.exception("periodic job %s failed; it runs again at its next time", name)
        finally:
            db.session.remove()


class SchedulerService:
    """One scheduler process: stand by for the lease, run APScheduler while holding it."""

    def __init__(self, app: Any, *, clock: Clock = utc_now, holder: str | None = None) -> None:
        self.app = app
        config = app.config
        self.heartbeat = float(config["SCHEDULER_HEARTBEAT_SECONDS"])
        with app.app_context():
            self.engine: sa.Engine = db.engine
        lease = HeldLease(self.engine, LEASE_NAME, timedelta(seconds=float(config["SCHEDULER_LEASE_SECONDS"])))
        lease.clock = clock
        if holder:
            lease.holder = holder
        self.lease = lease
        self.clock = clock
        self.stopping = threading.Event()
        self.scheduler: BackgroundScheduler | None = None

    @property
    def holder(self) -> str:
        """This process's name in the lease and in the rows it works on."""
        return self.lease.holder

    def active(self) -> bool:
        """Whether jobs may run now: the lease is held and the process is not stopping."""
        return not self.stopping.is_set() and self.lease.valid()

    def run_context(self) -> RunContext:
        """What a periodic job is handed."""
        return RunContext(self.app, self.engine, self.holder, self.clock, self.active)

    def stop(self) -> None:
        """Ask `run` to stop (signal handlers call this)."""
        self.stopping.set()

    def run(self) -> None:
        """Until `stop()`: wait for the lease, run the jobs while holding it, stand by again if it is lost."""
        global _service
        _service = self
        log.info("scheduler %s started; waiting for the lease", self.holder)
        try:
            while not self.stopping.is_set():
                try:
                    acquired = self.lease.acquire()
                except SQLAlchemyError as exc:
                    log.warning("scheduler %s: database unavailable: %s", self.holder, exc)
                    acquired = False
                if acquired:
                    self._hold()
                else:
                    self.stopping.wait(self.heartbeat)
        finally:
            _service = None
            log.info("scheduler %s stopped", self.holder)

    def _hold(self) -> None:
        """Active: start the jobs, renew the lease every heartbeat; stop the jobs when it is lost."""
        log.info("scheduler %s is active", self.holder)
        try:
            requeue_orphans(self.engine, self.holder, self.clock(), int(self.app.config.get("JOB_MAX_ATTEMPTS", 2)))
            ensure_templates(self.engine)
            self._start()
            while not self.stopping.wait(self.heartbeat):
                try:
                    held = self.lease.renew()
                except SQLAlchemyError as exc:  # keep going while the expiry we last wrote lasts
                    log.warning("scheduler %s: lease not renewed: %s", self.holder, exc)
                    held = self.lease.valid()
                if not held:
                    log.warning("scheduler %s lost the lease; standing by", self.holder)
                    break
        except SQLAlchemyError as exc:
            log.warning("scheduler %s: database unavailable while taking over: %s", self.holder, exc)
        finally:
            clean = self.stopping.is_set()
            self._shutdown(wait=clean)
            if clean and self.lease.expires_at is not None:
                try:
                    self.lease.release()
                except SQLAlchemyError:
                    log.warning("scheduler %s: lease not released (it expires by itself)", self.holder)

    def _start(self) -> None:
        config = self.app.config
        store_engine = sa.create_engine(self.engine.url)  # its own pool: the job store disposes it at shutdown
        configure_engine(store_engine)
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=store_engine, tablename=JOB_TABLE)},
            executors={"default": ThreadPoolExecutor(int(config.get("SCHEDULER_THREADS", 4)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        scheduler.start(paused=True)
        self.scheduler = scheduler
        sync_periodic_jobs(scheduler, config)
        scheduler.resume()

    def _shutdown(self, wait: bool) -> None:
        if self.scheduler is not None:
            scheduler, self.scheduler = self.scheduler, None
            try:
                scheduler.shutdown(wait=wait)
            except Exception:
                log.exception("scheduler %s: APScheduler did not shut down cleanly", self.holder)


def sync_periodic_jobs(scheduler: BackgroundScheduler, config: Any) -> None:
    """Make the stored jobs match the registry: add missing or changed ones, remove unknown ones.

    A stored job that matches is kept as it is, with its stored next run time: a run due
    while no scheduler was active is made once, at once (coalesced, no misfire limit).
    """
    for job in scheduler.get_jobs():
        if job.id not in PERIODIC:
            job.remove()
    for name, entry in PERIODIC.items():
        interval = timedelta(seconds=float(config[entry.seconds_key]))
        job = scheduler.get_job(name)
        if (
            job is not None
            and job.func_ref == TRAMPOLINE
            and tuple(job.args) == (name,)
            and isinstance(job.trigger, IntervalTrigger)
            and job.trigger.interval == interval
        ):
            continue
        scheduler.add_job(
            TRAMPOLINE,
            IntervalTrigger(seconds=interval.total_seconds()),
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
        )
