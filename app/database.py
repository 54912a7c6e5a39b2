"""Engine set-up that both databases need for correct transactions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def configure_engine(engine: sa.Engine) -> None:
    """SQLite: transactional DDL, foreign keys, WAL and a busy timeout for several workers."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin, so that
        # DDL is inside the transaction too (a failed publish leaves nothing behind).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")


def dispose_app(app: Any) -> None:
    """Close an app's session and connection pools (a replaced or throw-away app)."""
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
