"""Serving under load while forms are published: gunicorn workers, a request loop, measurements.

Used by tests/test_live_publish.py, tests/test_live_soak.py and bench/live_publish_soak.py.
Everything is real: gunicorn worker processes serving `app.wsgi`, HTTP from client threads,
the database the workers use, /proc for memory and pg_stat_activity for connections.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import prison
import sqlalchemy as sa

from tests.postgres import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-only-secret-key-of-at-least-32-bytes"


def server_env(database_url: str, upload_dir: str, poll: float = 0.5) -> dict[str, str]:
    """Environment of a server or CLI process on `database_url`."""
    env = dict(os.environ)
    env.update(
        SIMPUL_DATABASE_URL=database_url,
        SIMPUL_SECRET_KEY=SECRET,
        SIMPUL_SCHEMA_POLL_SECONDS=str(poll),
        SIMPUL_UPLOAD_DIR=upload_dir,
        PYTHONPATH=str(ROOT),
        FLASK_APP="app:create_app",
    )
    return env


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, opener: Any = None
) -> tuple[int, bytes]:
    """One HTTP request; (status, body) whatever the status."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def api_token(base: str, username: str = "admin", password: str = "admin-pass") -> str:
    """A JWT from the API login."""
    status, body = http(
        "POST", f"{base}/api/v1/security/login", {"username": username, "password": password, "provider": "db"}
    )
    assert status == 200, body[:300]
    return json.loads(body)["access_token"]


def session_opener(base: str, username: str = "admin", password: str = "admin-pass") -> Any:
    """An opener holding a logged-in session cookie (the login form, with its CSRF token)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
    _, page = http("GET", f"{base}/login/", opener=opener)
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert token, page[:500]
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token.group(1)})
    request = urllib.request.Request(f"{base}/login/", data=form.encode(), method="POST")
    try:
        opener.open(request, timeout=30)
    except urllib.error.HTTPError as err:
        assert err.code in (302, 303), err.read()[:300]
    return opener


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Gunicorn:
    """A gunicorn master with `workers` worker processes serving app.wsgi on a free port."""

    env: dict[str, str]
    workers: int = 3
    base: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    _log_file: Any = None

    def start(self, log: Path) -> None:
        """Start and wait until every worker answers."""
        port = free_port()
        self.base, self.log, self._log_file = f"http://127.0.0.1:{port}", log, log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"127.0.0.1:{port}",
             "--timeout", "120", "app.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self._log_file,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if len(self.worker_pids()) == self.workers:
                with contextlib.suppress(OSError):
                    if http("GET", f"{self.base}/health")[0] == 200:
                        return
            assert self.process.poll() is None, f"gunicorn exited: {log.read_text()[-3000:]}"
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start: {log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop master and workers."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._log_file is not None:
            self._log_file.close()

    def worker_pids(self) -> list[int]:
        """Pids of the master's worker processes."""
        assert self.process is not None
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return sorted(int(pid) for pid in children.split())

    def rss_mb(self) -> dict[int, float]:
        """Resident memory of each worker, in MB."""
        found = {}
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        found[pid] = int(line.split()[1]) / 1024
        return found

    def versions(self) -> set[int]:
        """Schema versions reported by /health over several requests (spread over the workers)."""
        seen = set()
        for _ in range(4 * self.workers):
            status, body = http("GET", f"{self.base}/health")
            if status == 200:
                seen.add(json.loads(body)["schema_version"])
        return seen


@contextlib.contextmanager
def serving(env: dict[str, str], log: Path, workers: int = 3) -> Iterator[Gunicorn]:
    """A running gunicorn for the block."""
    server = Gunicorn(env, workers)
    try:
        server.start(log)
        yield server
    finally:
        server.stop()


@dataclass
class Failure:
    """A request that did not do what it should."""

    at: float
    kind: str
    status: int
    body: str


@dataclass
class LoadReport:
    """What the request loop did."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    created: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (nama, umur) as sent

    @property
    def total(self) -> int:
        """Requests made."""
        return sum(self.counts.values())


class RequestLoop:
    """Client threads creating, reading and listing records of one form, and its list screen."""

    def __init__(self, base: str, form: str, threads: int = 3, pause: float = 0.01) -> None:
        self.base, self.form, self.pause = base, form, pause
        self.report = LoadReport()
        self._token = api_token(base)
        self._screen = session_opener(base)
        self._stop = threading.Event()
        self._mutex = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> RequestLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def _run(self, number: int) -> None:
        auth = {"Authorization": f"Bearer {self._token}"}
        api = f"{self.base}/api/v1/{self.form}/"
        last, n = None, 0
        while not self._stop.is_set():
            n += 1
            kind = ("create", "read", "list", "screen")[n % 4]
            try:
                if kind == "create":
                    nama, umur = f"w{number}-{n}", str(17 + n % 60)
                    status, body = http("POST", api, {"nama": nama, "umur": umur}, auth)
                    ok = status == 201
                    if ok:
                        last = json.loads(body)["id"]
                        with self._mutex:
                            self.report.created[last] = (nama, umur)
                elif kind == "read":
                    if last is None:
                        continue
                    status, body = http("GET", f"{api}{last}", headers=auth)
                    ok = status == 200 and json.loads(body)["result"]["nama"].startswith(f"w{number}-")
                elif kind == "list":
                    q = prison.dumps({"page_size": 10, "order_column": "id", "order_direction": "desc"})
                    status, body = http("GET", f"{api}?q={q}", headers=auth)
                    ok = status == 200 and len(json.loads(body)["result"]) > 0
                else:
                    status, body = http("GET", f"{self.base}/forms/{self.form}/list/", opener=self._screen)
                    ok = status == 200
            except Exception as exc:  # a dropped connection is a failure to report
                status, body, ok = 0, repr(exc).encode(), False
            with self._mutex:
                self.report.counts[kind] += 1
                if not ok:
                    self.report.failures.append(Failure(time.time(), kind, status, body[:400].decode(errors="replace")))
            time.sleep(self.pause)


def stored(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the database, outside any app."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def execute(database_url: str, sql: str) -> None:
    """Run one statement on the database and commit, outside any app."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


def _flocks(path: str) -> list[list[str]]:
    """flock() entries of /proc/locks on a file: each [id, ("->",) FLOCK, ADVISORY, mode, pid, dev:inode, …]."""
    try:
        inode = str(os.stat(path).st_ino)
    except FileNotFoundError:
        return []
    entries = [line.split() for line in Path("/proc/locks").read_text().splitlines()]
    return [e for e in entries if "FLOCK" in e and e[-3].rsplit(":", 1)[-1] == inode]


def publish_in_progress(database_url: str) -> bool:
    """Whether a publish holds the schema lock exclusively now (see app/forms_engine/schema_lock.py)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return any("->" not in e and "WRITE" in e for e in _flocks(f"{url.database}-schema-lock"))
    return _advisory(database_url, granted=True) > 0


def publishes_waiting(database_url: str) -> int:
    """How many publishes wait for the schema lock now (for requests in flight or another publish)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return _advisory(database_url, granted=False)
    turnstile = _flocks(f"{url.database}-schema-turnstile")
    queued = sum("->" in e and "WRITE" in e for e in turnstile)
    # The one past the turnstile polls the gate until the requests in flight let go of it.
    polling = any("->" not in e and "WRITE" in e for e in turnstile) and not publish_in_progress(database_url)
    return queued + polling


def _advisory(database_url: str, granted: bool) -> int:
    return stored(
        database_url,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' "
        f"AND granted = {granted} AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )[0][0]


def schema_version_of(database_url: str) -> int:
    """The published schema version stored in the database."""
    return stored(database_url, "SELECT version FROM simpul_schema_state WHERE id = 1")[0][0]


def lost_values(database_url: str, report: LoadReport, table: str, umur_column: str = "umur") -> list[str]:
    """Records the loop created whose stored values differ from what it sent (or that are gone)."""
    rows = {row[0]: row[1:] for row in stored(database_url, f"SELECT id, nama, {umur_column} FROM {table}")}
    problems = []
    for record_id, (nama, umur) in sorted(report.created.items()):
        found = rows.get(record_id)
        if found is None or found[0] != nama or found[1] is None or float(found[1]) != float(umur):
            problems.append(f"#{record_id}: sent {(nama, umur)}, stored {found}")
    return problems


def connection_count(database_url: str) -> int:
    """Connections open to a PostgreSQL database (this probe's own not counted)."""
    url = sa.make_url(database_url)
    return stored(
        database_url,
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{url.database}' AND pid <> pg_backend_pid()",
    )[0][0]


def wait_for(condition: Callable[[], bool], seconds: float, what: str, every: float = 0.2) -> float:
    """Poll until `condition` holds; return how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with contextlib.suppress(OSError):
            if condition():
                return time.monotonic() - started
        time.sleep(every)
    raise AssertionError(f"{what}: not within {seconds} s")
