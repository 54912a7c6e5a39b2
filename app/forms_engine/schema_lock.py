"""The schema lock: requests hold it shared, a schema change (publish, retire) exclusively.

No request may run against a schema its app was not built for. A serving process holds the
lock shared for each request, from before its first query until its response is sent, and
reads the schema version under it (`SchemaLock.hold`); a publish holds it exclusively from
before its first statement until it commits (`schema_change`). So a publish waits for the
requests in flight, requests arriving meanwhile wait for the publish, and a request that then
finds a newer version is served by an app built for it (app/live.py). Nothing else is
needed: no request sees a renamed or retyped column, and no old app writes a value that the
new schema would refuse.

PostgreSQL: an advisory lock, per database. Requests take it shared at session level on a
connection of their own (it must outlast the request's transactions); the publish takes it
at transaction level, so its commit or rollback releases it. Waiters queue in order, so a
waiting publish is not starved by requests that keep arriving.

SQLite: flock() on two files beside the database (each hold opens its own descriptors). A publish
takes the turnstile exclusively (queueing behind another publish), then the gate; a request
passes the turnstile (shared, at once released) before taking the gate shared, so requests
that arrive behind a waiting publish queue behind it too. The publish takes both before its transaction begins: SQLite's
write lock comes after the schema lock, as in requests, so the two never wait on each other.

A publish waits at most `WAIT_SECONDS` for requests in flight, then gives up (LockTimeout),
so a stuck request cannot stall every other request behind a waiting publish for long. A
request that publishes (the form builder) must give up its own hold first, or it waits for itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from app.database import write_transaction  # SQLite's write lock up front (no Flask there)

from .store import schema_version

ADVISORY_KEY = 0x53_49_4D_50_55_4C  # "SIMPUL": one advisory lock id per database
WAIT_SECONDS = 30.0
_HELD = "simpul_schema_lock_held"  # Connection.info marker: this transaction holds the lock exclusively


class LockTimeout(Exception):
    """A schema change waited too long for the requests in flight; nothing was changed."""


@dataclass
class Hold:
    """A request's shared hold on the schema lock and the schema version read under it."""

    version: int
    release: Callable[[], None]


class SchemaLock:
    """A serving process's side of the lock: shared holds for requests, and the version."""

    def __init__(self, url: str | sa.URL) -> None:
        self.url = sa.make_url(url)
        if self.url.get_backend_name() == "postgresql":
            # Autocommit: the hold lives between the request's own transactions, never in one.
            self._engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        else:
            # pysqlite without Simpul's engine set-up: a SELECT opens no transaction, takes no write lock.
            self._engine = sa.create_engine(self.url)
        self._files = _LockFiles.beside(self.url)

    def version(self) -> int:
        """The published schema version, without holding the lock."""
        with self._engine.connect() as conn:
            return schema_version(conn)

    def hold(self) -> Hold:
        """Hold the lock shared (waiting while a schema change runs) and read the version under it."""
        if self._files is not None:
            release = self._files.shared()
            try:
                return Hold(self.version(), release)
            except BaseException:
                release()
                raise
        if self.url.get_backend_name() != "postgresql":
            return Hold(self.version(), lambda: None)  # in-memory SQLite: one process, nothing to share
        conn = self._engine.connect()
        try:
            conn.execute(sa.select(sa.func.pg_advisory_lock_shared(ADVISORY_KEY)))
            version = schema_version(conn)  # a new statement: sees a publish that committed while we waited
        except BaseException:
            conn.invalidate()  # the server drops the session's locks with it
            conn.close()
            raise

        def release() -> None:
            try:
                conn.execute(sa.select(sa.func.pg_advisory_unlock_shared(ADVISORY_KEY)))
            except sa.exc.DBAPIError:
                conn.invalidate()
            finally:
                conn.close()

        return Hold(version, release)

    def dispose(self) -> None:
        """Close the lock's own connections."""
        self._engine.dispose()


@contextlib.contextmanager
def schema_change(engine: sa.Engine, wait: float = WAIT_SECONDS) -> Iterator[sa.Connection]:
    """One transaction holding the schema lock exclusively: committed when the block ends, else rolled back."""
    files = _LockFiles.beside(engine.url)
    with files.exclusive(wait) if files is not None else contextlib.nullcontext(), write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            # Bounded wait for the requests in flight; the schema change itself may take its time.
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(wait * 1000)}")
            try:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_KEY)))
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                    raise LockTimeout(_timeout_message(wait)) from exc
                raise
            conn.exec_driver_sql("SET LOCAL lock_timeout = DEFAULT")
        conn.info[_HELD] = True  # on the pooled connection: taken off again before it goes back
        try:
            yield conn
        finally:
            conn.info.pop(_HELD, None)


def require_exclusive(conn: sa.Connection) -> None:
    """Refuse a schema change on a connection that is not inside `schema_change`."""
    if not conn.info.get(_HELD):
        raise RuntimeError("schema changes run inside schema_change(engine), which holds the schema lock")


def _timeout_message(wait: float) -> str:
    return f"requests kept the forms busy for {wait:.0f} s; nothing was changed, try again"


class _LockFiles:
    """SQLite's lock: flock() on a turnstile and a gate file beside the database."""

    def __init__(self, database: str) -> None:
        self.turnstile = f"{database}-schema-turnstile"
        self.gate = f"{database}-schema-lock"

    @classmethod
    def beside(cls, url: sa.URL) -> _LockFiles | None:
        """The lock files of a SQLite file database (None for PostgreSQL and in-memory SQLite)."""
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return cls(os.path.abspath(url.database))

    def _open(self, path: str) -> int:
        # Read-only is enough for flock(), so a server and a CLI run by another user share the files.
        return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def shared(self) -> Callable[[], None]:
        """Take the gate shared behind any waiting publish; return its release.

        Each hold opens its own descriptors and its release closes them (closing drops the lock):
        a threaded server runs each request on a new thread, so descriptors kept per thread leak.
        """
        turnstile = self._open(self.turnstile)
        try:
            fcntl.flock(turnstile, fcntl.LOCK_SH)
            gate = self._open(self.gate)
            try:
                fcntl.flock(gate, fcntl.LOCK_SH)
            except BaseException:
                os.close(gate)
                raise
        finally:
            os.close(turnstile)
        released = threading.Lock()

        def release() -> None:
            if released.acquire(blocking=False):  # once: a second close could hit a reused descriptor
                os.close(gate)

        return release

    @contextlib.contextmanager
    def exclusive(self, wait: float) -> Iterator[None]:
        """Hold turnstile and gate exclusively, waiting at most `wait` seconds for them."""
        turnstile, gate = self._open(self.turnstile), self._open(self.gate)
        try:
            # Requests pass the turnstile in a moment; only another publish holds it for long.
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LockTimeout(_timeout_message(wait)) from None
                    time.sleep(0.005)
            yield
        finally:
            os.close(gate)  # closing releases the locks
            os.close(turnstile)
