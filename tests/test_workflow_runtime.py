"""The scheduler's lease and the general job table, with an injected clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.workflows.runtime import lease
from app.workflows.runtime.jobs import claim_next_job, enqueue_job, requeue_orphans, run_job, run_queued_jobs
from app.workflows.runtime.lease import HeldLease
from app.workflows.runtime.models import job_table, lease_table
from app.workflows.runtime.periodic import RunContext

T0 = datetime(2026, 11, 26, 1, 0, 0)
TTL = timedelta(seconds=30)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def engine(empty_app: Any) -> Any:
    with empty_app.app_context():
        yield db.engine


def test_one_holder_at_a_time(engine: Any) -> None:
    assert lease.acquire(engine, "scheduler", "a", TTL, T0)
    assert not lease.acquire(engine, "scheduler", "b", TTL, T0 + timedelta(seconds=29))
    assert lease.acquire(engine, "scheduler", "a", TTL, T0 + timedelta(seconds=29))  # a keeps it


def test_an_expired_lease_is_taken_over_and_the_old_holder_knows(engine: Any) -> None:
    assert lease.acquire(engine, "scheduler", "a", TTL, T0)
    assert lease.acquire(engine, "scheduler", "b", TTL, T0 + timedelta(seconds=31))
    assert not lease.renew(engine, "scheduler", "a", TTL, T0 + timedelta(seconds=32))
    with engine.connect() as conn:
        assert lease.current_holder(conn, "scheduler", T0 + timedelta(seconds=32)) == "b"


def test_renewal_keeps_the_lease_past_its_first_expiry(engine: Any) -> None:
    assert lease.acquire(engine, "scheduler", "a", TTL, T0)
    for second in (10, 20, 30, 40):
        assert lease.renew(engine, "scheduler", "a", TTL, T0 + timedelta(seconds=second))
    assert not lease.acquire(engine, "scheduler", "b", TTL, T0 + timedelta(seconds=60))


def test_release_lets_the_next_one_in_at_once(engine: Any) -> None:
    assert lease.acquire(engine, "scheduler", "a", TTL, T0)
    lease.release(engine, "scheduler", "a")
    assert lease.acquire(engine, "scheduler", "b", TTL, T0 + timedelta(seconds=1))


def test_held_lease_is_valid_only_well_before_its_expiry(engine: Any) -> None:
    clock = FakeClock()
    held = HeldLease(engine, "scheduler", TTL, holder="a", clock=clock)
    assert held.acquire() and held.valid()
    clock.advance(23)
    assert held.valid()
    clock.advance(2)  # within the last fifth of the TTL: stop before another may take over
    assert not held.valid()
    assert held.renew() and held.valid()


def _race(engine: Any, now: datetime, contenders: int = 8) -> list[str]:
    """Names of the contenders that got the lease when all try at once."""
    winners: list[str] = []
    barrier = threading.Barrier(contenders)

    def contend(name: str) -> None:
        barrier.wait()
        if lease.acquire(engine, "race", name, TTL, now):
            winners.append(name)

    threads = [threading.Thread(target=contend, args=(f"p{i}",)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return winners


def test_racing_processes_get_one_winner(engine: Any) -> None:
    """Eight threads at once, first on a missing row (INSERT race), then on an expired one (UPDATE race)."""
    assert len(_race(engine, T0)) == 1
    assert len(_race(engine, T0 + timedelta(minutes=5))) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(lease_table)).scalar() == 1


def _enqueue(engine: Any, kind: str, **args: Any) -> int:
    with engine.begin() as conn:
        return enqueue_job(conn, kind, args, created_by="test", now=T0)


def _job(engine: Any, job_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(job_table).where(job_table.c.id == job_id)).one()


def test_a_job_runs_with_progress_and_keeps_its_result(engine: Any) -> None:
    job_id = _enqueue(engine, "tests.runtime_jobs:count_to", n=3)
    job = claim_next_job(engine, "a", T0)
    assert job.id == job_id and job.attempts == 1
    assert run_job(engine, job, "a", FakeClock()) == "done"
    row = _job(engine, job_id)
    assert (row.state, row.progress, row.total, row.message, row.result["counted"]) == ("done", 3, 3, "3 of 3", 3)
    assert row.holder == "a" and row.finished_at == T0


def test_a_failing_job_is_failed_with_its_error_and_no_nik(engine: Any) -> None:
    job_id = _enqueue(engine, "tests.runtime_jobs:explode", nik="6309014507900001")
    assert run_job(engine, claim_next_job(engine, "a", T0), "a") == "failed"
    row = _job(engine, job_id)
    assert row.state == "failed"
    assert "is broken" in row.message and "6309014507900001" not in row.message and "6309********0001" in row.message


def test_a_job_kind_must_be_an_import_path(engine: Any) -> None:
    with pytest.raises(ValueError), engine.begin() as conn:
        enqueue_job(conn, "os.system('rm -rf /')")


def test_a_job_waits_for_its_time(engine: Any) -> None:
    with engine.begin() as conn:
        enqueue_job(conn, "tests.runtime_jobs:count_to", {"n": 1}, run_after=T0 + timedelta(hours=1), now=T0)
    assert claim_next_job(engine, "a", T0) is None
    assert claim_next_job(engine, "a", T0 + timedelta(hours=1)) is not None


def test_a_claim_is_exclusive(engine: Any) -> None:
    for _ in range(3):
        _enqueue(engine, "tests.runtime_jobs:count_to", n=1)
    claimed: list[int] = []
    barrier = threading.Barrier(6)

    def claim(holder: str) -> None:
        barrier.wait()
        job = claim_next_job(engine, holder, T0)
        if job is not None:
            claimed.append(job.id)

    threads = [threading.Thread(target=claim, args=(f"h{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed)) == 3


def test_a_crashed_job_is_queued_again_once_then_failed(engine: Any) -> None:
    job_id = _enqueue(engine, "tests.runtime_jobs:count_to", n=1)
    claim_next_job(engine, "dead-1", T0)  # its scheduler dies while it runs
    assert requeue_orphans(engine, "b", T0, max_attempts=2) == (1, 0)
    assert _job(engine, job_id).state == "queued"
    assert claim_next_job(engine, "dead-2", T0).attempts == 2  # and dies again
    assert requeue_orphans(engine, "c", T0, max_attempts=2) == (0, 1)
    row = _job(engine, job_id)
    assert row.state == "failed" and "Interrupted" in row.message


def test_the_new_holder_does_not_requeue_its_own_running_job(engine: Any) -> None:
    job_id = _enqueue(engine, "tests.runtime_jobs:count_to", n=1)
    claim_next_job(engine, "b", T0)
    assert requeue_orphans(engine, "b", T0) == (0, 0)
    assert _job(engine, job_id).state == "running"


def test_a_job_of_a_lost_lease_stops_and_records_nothing(engine: Any) -> None:
    job_id = _enqueue(engine, "tests.runtime_jobs:count_to", n=5)
    job = claim_next_job(engine, "a", T0)
    requeue_orphans(engine, "b", T0)  # b took over meanwhile
    assert run_job(engine, job, "a") == "running"  # its first progress report finds the job taken back
    assert _job(engine, job_id).state == "queued"


def test_the_runner_runs_queued_jobs_while_active(empty_app: Any, engine: Any) -> None:
    ids = [_enqueue(engine, "tests.runtime_jobs:count_to", n=2) for _ in range(3)]
    ctx = RunContext(empty_app, engine, "a", FakeClock(), lambda: True)
    assert run_queued_jobs(ctx) == 3
    assert {_job(engine, i).state for i in ids} == {"done"}
    stopped = RunContext(empty_app, engine, "a", FakeClock(), lambda: False)
    _enqueue(engine, "tests.runtime_jobs:count_to", n=2)
    assert run_queued_jobs(stopped) == 0


def test_the_jobs_screen_shows_progress(empty_app: Any, engine: Any) -> None:
    from tests.conftest import add_user, login

    job_id = _enqueue(engine, "tests.runtime_jobs:count_to", n=4)
    with engine.begin() as conn:
        conn.execute(job_table.update().values(state="running", progress=1, total=4, message="1 of 4"))
    add_user(empty_app, "admin", "Admin")
    client = empty_app.test_client()
    login(client)
    page = client.get("/keamanan/tugas/list/").get_data(as_text=True)
    assert "tests.runtime_jobs:count_to" in page and "1 / 4 (25%)" in page and "1 of 4" in page
    assert client.get(f"/keamanan/tugas/show/{job_id}").status_code == 200
