"""Concurrent writers through several worker processes: no "database is locked", nothing lost or doubled.

A real gunicorn with two worker processes (run.py's default) serves the shipped forms from one database. Twenty
threads sign in at once (API login, or the login screen with its CSRF token) and add records:
half through the REST API with a JWT, half through the add screen. Every request must succeed
and every record must be stored exactly once. SQLite's default set-up used to refuse a third of
these writes: a transaction that read first cannot wait for the write lock, so it fails at once.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.access.csrf import SAFE_METHODS
from app.database import begin_immediately_for_unsafe_methods, configure_engine, write_intent, write_transaction
from tests.conftest import ROOT, add_user
from tests.postgres import free_port

WORKERS = 2
WRITERS = 20
RECORDS_EACH = 3
PASSWORD = "admin-pass"
FORM = "instansi"  # shipped master list; `nama` is unique, so a record stored twice is refused
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a redirect as it is: a screen's successful save answers 302."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    """A client with its own cookie jar (one signed-in user agent per writer)."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)


def _call(
    opener: urllib.request.OpenerDirector,
    url: str,
    *,
    form: dict[str, str] | None = None,
    body: Any = None,
    token: str | None = None,
) -> tuple[int, str]:
    """One HTTP request; status and body text (errors included)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        with opener.open(urllib.request.Request(url, data=data, headers=headers), timeout=120) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def _csrf(opener: urllib.request.OpenerDirector, url: str) -> str:
    status, page = _call(opener, url)
    match = _CSRF.search(page)
    assert status == 200 and match, (url, status, page[:300])
    return match.group(1)


def _api_writer(base: str, names: list[str]) -> list[str]:
    """Sign in through the API, then POST each record with the JWT; return what went wrong."""
    opener = _opener()
    status, text = _call(
        opener, f"{base}/api/v1/security/login", body={"username": "admin", "password": PASSWORD, "provider": "db"}
    )
    if status != 200:
        return [f"API login: {status} {text[:200]}"]
    token = json.loads(text)["access_token"]
    problems = []
    for name in names:
        status, text = _call(opener, f"{base}/api/v1/{FORM}/", body={"nama": name, "jenis": "opd"}, token=token)
        if status != 201:
            problems.append(f"API add {name}: {status} {text[:200]}")
    return problems


def _screen_writer(base: str, names: list[str]) -> list[str]:
    """Sign in on the login screen, then save each record on the add screen; return what went wrong."""
    opener = _opener()
    login = {"username": "admin", "password": PASSWORD, "csrf_token": _csrf(opener, f"{base}/login/")}
    status, text = _call(opener, f"{base}/login/", form=login)
    if status != 302:
        return [f"screen login: {status} {text[:200]}"]
    problems = []
    for name in names:
        form = {"nama": name, "jenis": "opd", "aktif": "y", "csrf_token": _csrf(opener, f"{base}/forms/{FORM}/add")}
        status, text = _call(opener, f"{base}/forms/{FORM}/add", form=form)
        if status != 302:  # FAB answers a failed save with the form again (200) and a flashed error
            problems.append(f"screen add {name}: {status} {text[:200]}")
    return problems


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited"
        try:
            if _call(_opener(), f"{base}/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"no answer from {base} in {seconds} s")


@pytest.fixture
def server(empty_app: Any, tmp_path: Path) -> Iterator[str]:
    """gunicorn with WORKERS processes on the test database, the shipped forms published by the CLI."""
    config = empty_app.test_config
    env = dict(
        os.environ,
        SIMPUL_DATABASE_URL=config["DATABASE_URL"],
        SIMPUL_SECRET_KEY=config["SECRET_KEY"],
        SIMPUL_UPLOAD_DIR=config["UPLOAD_DIR"],
        PYTHONPATH=str(ROOT),
    )
    publish = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "app:create_app",
        "simpul",
        "forms",
        "publish",
        str(ROOT / "forms"),
    ]
    published = subprocess.run(publish, cwd=ROOT, env=env, capture_output=True, text=True)
    assert published.returncode == 0, published.stderr[-2000:]
    add_user(empty_app, "admin", "Admin", password=PASSWORD)
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")  # read it when the test fails
    command = [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "app.wsgi:application"]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, 60)
        yield base
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def test_twenty_concurrent_writers_store_every_record_once(empty_app: Any, server: str) -> None:
    start = threading.Barrier(WRITERS)
    problems: list[str] = []
    expected: list[str] = []

    def writer(number: int) -> None:
        names = [f"Instansi {number:02d}-{i}" for i in range(RECORDS_EACH)]
        expected.extend(names)
        start.wait()
        write = _api_writer if number % 2 else _screen_writer
        try:
            problems.extend(write(server, names))
        except Exception as exc:  # a writer that dies must fail the test, not vanish
            problems.append(f"writer {number}: {exc!r}")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not problems, f"{len(problems)} failed:\n" + "\n".join(problems)
    engine = sa.create_engine(empty_app.test_config["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text(f"SELECT nama FROM form_{FORM}")).scalars().all()
    finally:
        engine.dispose()
    assert sorted(stored) == sorted(expected)
    assert len(expected) == WRITERS * RECORDS_EACH


# --------------------------------------------------------------------------- one process, two connections


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """Simpul's SQLite engine on a file with one table."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    configure_engine(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield engine
    engine.dispose()


def _write_lock_is_free(engine: sa.Engine) -> bool:
    """Whether another connection could start writing now (asked without waiting)."""
    other = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


def test_a_write_transaction_takes_the_write_lock_before_its_first_read(sqlite_engine: sa.Engine) -> None:
    with write_transaction(sqlite_engine) as conn:
        conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
        assert not _write_lock_is_free(sqlite_engine)  # its later write cannot be refused
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    assert _write_lock_is_free(sqlite_engine)
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1


def test_other_transactions_stay_deferred_beside_a_writer(sqlite_engine: sa.Engine) -> None:
    with sqlite_engine.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
        assert _write_lock_is_free(sqlite_engine)


def test_a_second_connection_beside_the_lock_holder_does_not_wait_for_it(sqlite_engine: sa.Engine) -> None:
    with write_intent(True), sqlite_engine.connect() as holder, sqlite_engine.connect() as beside:
        holder.exec_driver_sql("INSERT INTO t VALUES (1)")
        started = time.monotonic()
        assert beside.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        assert time.monotonic() - started < 1
        holder.commit()
        beside.rollback()
        # The lock was given back: the next transaction takes it up front again.
        holder.exec_driver_sql("SELECT 1")
        assert not _write_lock_is_free(sqlite_engine)


@pytest.mark.parametrize(("method", "locks"), [("POST", True), ("DELETE", True), ("GET", False), ("HEAD", False)])
def test_requests_with_unsafe_methods_take_the_lock_up_front(
    sqlite_engine: sa.Engine, method: str, locks: bool
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with sqlite_engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
            return [b"locked" if not _write_lock_is_free(sqlite_engine) else b"free"]

    wrapped = begin_immediately_for_unsafe_methods(app, SAFE_METHODS)
    with write_intent(not locks):  # the opposite outside, so only the request's method decides
        assert wrapped({"REQUEST_METHOD": method}, lambda *a: None) == [b"locked" if locks else b"free"]


def test_a_pooled_connection_read_by_another_thread_is_not_this_threads_writer(tmp_path: Path) -> None:
    # Thread 1 writes on connection A and gives it back; thread 2 opens a read on A. Thread 1's next
    # write (on B) must still take the lock up front: it used to count A as its own lock holder,
    # begin deferred, and fail at once with "database is locked" when thread 2 held a snapshot.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=2, max_overflow=0)
    configure_engine(engine)
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    first = engine.connect()
    with write_intent(True):
        first.begin()
    first.exec_driver_sql("INSERT INTO t VALUES (1)")
    first.commit()
    first.close()  # A goes back to the pool, still listed before the fix
    reading, done = threading.Event(), threading.Event()

    def reader() -> None:
        with engine.connect() as conn:  # takes A
            conn.begin()
            conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
            reading.set()
            done.wait(10)

    thread = threading.Thread(target=reader)
    thread.start()
    assert reading.wait(10)
    try:
        with write_transaction(engine) as conn:  # B: BEGIN IMMEDIATE, not a deferred BEGIN
            other = sqlite3.connect(tmp_path / "pool.db", timeout=0, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # B holds the write lock before its first statement
            other.close()
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    finally:
        done.set()
        thread.join()
        engine.dispose()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
