"""A named lease: one process at a time may act under a name, and another takes over when it dies.

A row per name holds the holder and an expiry. The holder renews it (its heartbeat) well
before it expires; anyone may take it once it has expired. Both steps are one conditional
statement in a write transaction, so they are atomic on both databases:

- first use: `INSERT … ON CONFLICT DO NOTHING` (two racing inserts: one row, one winner);
- later: `UPDATE … WHERE name = :name AND (holder = :me OR expires_at < :now)`. On PostgreSQL
  a racing UPDATE waits for the row lock and re-checks the condition on the new row (no
  match: it lost); on SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE,
  `app.database.write_transaction`), so the two run one after the other.

A PostgreSQL advisory lock would need a connection held open for the holder's life and does
not exist on SQLite; a lease row works on both and shows who holds it (the jobs screen, tests).

Times come from an injectable clock (`Clock`, naive UTC). Processes compare their own clocks
with the stored expiry, so hosts sharing a database need synchronised clocks (NTP); the TTL
(30 s by default) is far above usual skew.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.database import write_transaction
from app.office import utc_now
from app.workflows.runtime.models import lease_table

Clock = Callable[[], datetime]


def new_holder_id() -> str:
    """A name for this process that no other process (here or on another host) will use."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _insert(engine: sa.Engine) -> sa.Insert:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(lease_table)


def acquire(engine: sa.Engine, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take or keep the lease `name` for `holder` until now + ttl; False when another holds it."""
    c = lease_table.c
    with write_transaction(engine) as conn:
        first = (
            _insert(engine)
            .values(name=name, holder=holder, acquired_at=now, heartbeat_at=now, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        if conn.execute(first).rowcount == 1:
            return True
        taken = conn.execute(
            lease_table.update()
            .where(c.name == name, sa.or_(c.holder == holder, c.expires_at < now))
            .values(
                holder=holder,
                acquired_at=sa.case((c.holder == holder, c.acquired_at), else_=now),
                heartbeat_at=now,
                expires_at=now + ttl,
            )
        )
        return taken.rowcount == 1


def renew(engine: sa.Engine, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Extend the lease while `holder` still has it; False once another took it over."""
    c = lease_table.c
    with write_transaction(engine) as conn:
        renewed = conn.execute(
            lease_table.update()
            .where(c.name == name, c.holder == holder)
            .values(heartbeat_at=now, expires_at=now + ttl)
        )
        return renewed.rowcount == 1


def release(engine: sa.Engine, name: str, holder: str) -> None:
    """Give the lease up (a clean stop), so a waiting process need not wait for the expiry."""
    c = lease_table.c
    with write_transaction(engine) as conn:
        conn.execute(lease_table.delete().where(c.name == name, c.holder == holder))


def current_holder(conn: sa.Connection, name: str, now: datetime) -> str | None:
    """Who holds the lease `name` at `now` (None: nobody, or it expired)."""
    c = lease_table.c
    return conn.execute(sa.select(c.holder).where(c.name == name, c.expires_at >= now)).scalar()


@dataclass
class HeldLease:
    """One process's view of a lease it tries to hold: acquire, renew, and whether it may still act.

    `valid()` answers from memory (no query): the lease is ours until the expiry we last
    wrote, less a safety margin, so work stops before another process may take over.
    """

    engine: sa.Engine
    name: str
    ttl: timedelta
    holder: str = field(default_factory=new_holder_id)
    clock: Clock = utc_now
    expires_at: datetime | None = None

    def acquire(self) -> bool:
        """Take the lease (or keep it); remembers the new expiry."""
        now = self.clock()
        if acquire(self.engine, self.name, self.holder, self.ttl, now):
            self.expires_at = now + self.ttl
            return True
        self.expires_at = None
        return False

    def renew(self) -> bool:
        """The heartbeat: extend the lease; False (and invalid at once) when it was taken over."""
        now = self.clock()
        if renew(self.engine, self.name, self.holder, self.ttl, now):
            self.expires_at = now + self.ttl
            return True
        self.expires_at = None
        return False

    def release(self) -> None:
        """Give it up."""
        self.expires_at = None
        release(self.engine, self.name, self.holder)

    def valid(self) -> bool:
        """Whether this process may still act: before the remembered expiry, less a fifth of the TTL."""
        return self.expires_at is not None and self.clock() < self.expires_at - self.ttl / 5
