"""Two real scheduler processes (`flask simpul scheduler`) on one database: one runs the jobs, the
other stands by and takes over when the first is killed (SIGKILL), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.workflows.runtime.jobs import enqueue_job
from app.workflows.runtime.models import job_table, lease_table
from tests.conftest import ROOT

LEASE_SECONDS = 3
HEARTBEAT_SECONDS = 0.5


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll until `check()` is truthy; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


@contextlib.contextmanager
def scheduler_process(
    database_url: str, tmp_path: Path, name: str, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A `flask simpul scheduler` process with a short lease; killed at the end if still running."""
    env = {
        **os.environ,
        "SIMPUL_DATABASE_URL": database_url,
        "SIMPUL_SECRET_KEY": secrets.token_hex(16),
        "SIMPUL_UPLOAD_DIR": str(tmp_path / "uploads"),
        "SIMPUL_FORMS_DIR": str(tmp_path / "forms"),
        "SIMPUL_SCHEDULER_LEASE_SECONDS": str(LEASE_SECONDS),
        "SIMPUL_SCHEDULER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "SIMPUL_JOB_POLL_SECONDS": "0.2",
        "SIMPUL_OUTBOX_SEND_SECONDS": "0.5",
        **{f"SIMPUL_{key}": value for key, value in settings.items()},
    }
    log = (tmp_path / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app:create_app", "simpul", "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()


def _holder(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(lease_table.c.holder).where(lease_table.c.name == "scheduler")).scalar()


def _pid(holder: str | None) -> int | None:
    return int(holder.split(":")[-2]) if holder else None


def _enqueue(engine: sa.Engine, kind: str, **args: Any) -> int:
    with engine.begin() as conn:
        return enqueue_job(conn, kind, args, created_by="test")


def _jobs(engine: sa.Engine, ids: list[int]) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(job_table).where(job_table.c.id.in_(ids)).order_by(job_table.c.id)).all()


def _all_done(engine: sa.Engine, ids: list[int]) -> list[Any] | None:
    rows = _jobs(engine, ids)
    return rows if all(r.state == "done" for r in rows) else None


def test_one_scheduler_runs_jobs_and_the_other_takes_over_when_it_is_killed(
    empty_app: Any, database_url: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(database_url)
    try:
        with (
            scheduler_process(database_url, tmp_path, "first") as first,
            scheduler_process(database_url, tmp_path, "second") as second,
        ):
            holder = wait_for(lambda: _holder(engine), 60, "a scheduler holds the lease")
            active, standby = (first, second) if _pid(holder) == first.pid else (second, first)
            assert _pid(holder) == active.pid
            time.sleep(2 * HEARTBEAT_SECONDS)  # let the other start and try

            ids = [_enqueue(engine, "tests.runtime_jobs:count_to", n=3) for _ in range(6)]
            done = wait_for(lambda: _all_done(engine, ids), 60, "jobs done")
            assert {(r.holder, r.result["pid"], r.attempts) for r in done} == {(holder, active.pid, 1)}
            assert _holder(engine) == holder and standby.poll() is None

            slow = _enqueue(engine, "tests.runtime_jobs:slow_first", seconds=120)
            wait_for(lambda: _jobs(engine, [slow])[0].state == "running", 30, "the slow job started")
            active.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            active.wait(10)

            taken = wait_for(lambda: (_holder(engine) or holder) != holder and _holder(engine), 30, "takeover")
            took = time.monotonic() - killed_at
            assert _pid(taken) == standby.pid
            assert took < LEASE_SECONDS + 2 * HEARTBEAT_SECONDS + 2, took

            (row,) = wait_for(lambda: _all_done(engine, [slow]), 30, "the interrupted job done again")
            assert (row.holder, row.attempts, row.result["pid"]) == (taken, 2, standby.pid)
            later = [_enqueue(engine, "tests.runtime_jobs:count_to", n=1) for _ in range(3)]
            assert {r.holder for r in wait_for(lambda: _all_done(engine, later), 30, "later jobs")} == {taken}

            standby.send_signal(signal.SIGTERM)  # a clean stop gives the lease back
            assert standby.wait(30) == 0
            assert _holder(engine) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ctrl_c_stops_the_scheduler_and_gives_the_lease_back(empty_app: Any, database_url: str, tmp_path: Path) -> None:
    engine = sa.create_engine(database_url)
    try:
        with scheduler_process(database_url, tmp_path, "only") as process:
            wait_for(lambda: _holder(engine), 60, "the scheduler holds the lease")
            process.send_signal(signal.SIGINT)
            assert process.wait(30) == 0
        assert _holder(engine) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_scheduler_delivers_mail_once_the_smtp_server_is_up(
    empty_app: Any, database_url: str, tmp_path: Path
) -> None:
    from app.workflows.runtime.models import outbox_table
    from app.workflows.runtime.outbox import queue_mail
    from tests.postgres import free_port
    from tests.test_outbox import smtp_server

    port, engine = free_port(), sa.create_engine(database_url)

    def states() -> dict[str, int]:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(outbox_table.c.state, sa.func.count()).group_by(outbox_table.c.state))
            return dict(rows.all())

    try:
        with engine.begin() as conn:
            for i in range(20):
                queue_mail(conn, f"user{i}@example.org", f"Pesan {i}", "Isi")
        smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "OUTBOX_RETRY_SECONDS": "0.5"}
        with scheduler_process(database_url, tmp_path, "mailer", **smtp):
            wait_for(lambda: _holder(engine), 60, "the scheduler is active")
            time.sleep(3)  # several failed connection attempts, each backing off
            with engine.connect() as conn:
                attempts = conn.execute(sa.select(sa.func.min(outbox_table.c.attempts))).scalar()
            assert states() == {"queued": 20} and attempts >= 1
            with smtp_server(port) as inbox:
                wait_for(lambda: states() == {"sent": 20}, 60, "every message sent")
                time.sleep(2)  # and none sent twice afterwards
            assert sorted(inbox.subjects()) == sorted(f"Pesan {i}" for i in range(20))
    finally:
        engine.dispose()
