"""Engine set-up that both databases need for correct transactions.

SQLite lets one connection write at a time. A transaction that began with a plain (deferred)
BEGIN, read, and then writes cannot wait for the write lock: SQLite answers "database is
locked" at once rather than risk a deadlock, however long the busy timeout. So work that
writes takes the lock up front (BEGIN IMMEDIATE), which does wait; reads stay deferred and,
with WAL, run beside the writer. What counts as writing: requests with an unsafe HTTP method
(`begin_immediately_for_unsafe_methods`) and `write_transaction` blocks (commands, publishes,
jobs). Not the rest of a command: an ORM session that reloads after its commit stays in a new
transaction until the command ends, and holding the lock that long would stall every writer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa

# Long enough to queue behind a publish that rewrites a big table; a writer that waits this
# long still fails with "database is locked" rather than hang its worker for ever.
BUSY_TIMEOUT_MS = 30_000

_write_intent: ContextVar[bool] = ContextVar("simpul_write_intent", default=False)
# Connections of this thread that took the write lock. While one is in its transaction, another
# connection of the same thread (e.g. a cache loading beside the request's session) begins
# deferred: waiting for the lock, it would wait for itself.
_lock_holders = threading.local()


@contextmanager
def write_intent(writes: bool) -> Iterator[None]:
    """Within this block, SQLite transactions take the write lock up front (True) or not (False)."""
    token = _write_intent.set(writes)
    try:
        yield
    finally:
        _write_intent.reset(token)


def _another_holds_write_lock(beginning: Any) -> bool:
    """Whether another connection of this thread holds the write lock (forgetting those that let go)."""
    holders = []
    for holder in getattr(_lock_holders, "connections", []):
        with suppress(sqlite3.ProgrammingError):  # closed since
            if holder is not beginning and holder.in_transaction:
                holders.append(holder)
    _lock_holders.connections = holders
    return bool(holders)


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """`engine.begin()` that, on SQLite, takes the write lock before its first statement."""
    with engine.connect() as conn:
        with write_intent(True):  # this connection's BEGIN only, not other connections' meanwhile
            transaction = conn.begin()
        with transaction:
            yield conn


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def begin_immediately_for_unsafe_methods(wsgi_app: WSGIApp, safe_methods: frozenset[str]) -> WSGIApp:
    """WSGI middleware: a request that may write (POST, PUT, PATCH, DELETE) takes the lock up front."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Set before Flask runs anything: the login loader's first query opens the transaction.
        with write_intent(environ.get("REQUEST_METHOD", "GET").upper() not in safe_methods):
            return wsgi_app(environ, start_response)

    return middleware


def configure_engine(engine: sa.Engine) -> None:
    """SQLite: transactional DDL, foreign keys, WAL, a busy timeout, writers that lock up front."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin, so that
        # DDL is inside the transaction too (a failed publish leaves nothing behind).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        another_holds_it = _another_holds_write_lock(dbapi_connection)  # always: forgets this one's last turn
        if _write_intent.get() and not another_holds_it:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits up to the busy timeout for the lock
            _lock_holders.connections.append(dbapi_connection)
        else:
            conn.exec_driver_sql("BEGIN")

    @sa.event.listens_for(engine, "commit")
    @sa.event.listens_for(engine, "rollback")
    def _released(conn: sa.Connection) -> None:
        # A connection that let go of the lock goes back to the pool; another thread may open a read
        # on it, which must not count as this thread's writer (its next write would begin deferred).
        holders = getattr(_lock_holders, "connections", [])
        with suppress(ValueError, sa.exc.SQLAlchemyError):  # not a holder; or invalidated meanwhile
            holders.remove(conn.connection.dbapi_connection)


def dispose_app(app: Any) -> None:
    """Close an app's session and connection pools (a replaced or throw-away app)."""
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
