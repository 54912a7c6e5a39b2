"""Tables of the workflow engine (created by migration 0005) as mapped classes.

A record's current state is a column of its own form table (the workflow's `state_field`). Around it:

- a **stay** is one period a record spends in one state (entered_at .. left_at); re-entering a state
  starts a new stay, hence a new ladder;
- a **timer** is one moment of a stay's ladder (level 0: the deadline itself; 1..n: the ladder's
  levels), stored when the stay starts and recomputed when the calendar changes; the sweep fires
  each one once (`fired_at` set in the same transaction as its e-mails), so (stay, level) is unique;
  a stay's unfired timers are deleted when the record leaves the state;
- an **event** is a line of the record's timeline: a transition with its comment, an escalation,
  a move by a publish;
- a **holiday** is a day off on the working-day calendar (national, cuti bersama, local), seeded
  from the `holidays` package and corrected by admins (with the decree).

All times are naive UTC, as everywhere in Simpul's core tables.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core_model import CoreModel


class Holiday(CoreModel):
    """A day off: national, cuti bersama or local (of a region), with the decree that sets it."""

    __tablename__ = "simpul_holiday"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))  # national | cuti_bersama | local
    region_code: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)  # a local holiday's area
    decree: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    source: Mapped[str] = mapped_column(sa.String(10))  # seed | admin
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)  # a seeded day a decree moved: inactive
    changed_on: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    changed_by: Mapped[str | None] = mapped_column(sa.String(256), nullable=True)

    __table_args__ = (sa.Index("ix_simpul_holiday_day", "day"),)

    def __repr__(self) -> str:
        return f"{self.day.isoformat()} {self.name}"


class Stay(CoreModel):
    """One period a record spends in one state of its form's workflow."""

    __tablename__ = "simpul_wf_stay"
    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(sa.String(64))
    record_id: Mapped[int] = mapped_column(sa.Integer)
    state: Mapped[str] = mapped_column(sa.String(64))
    seq: Mapped[int] = mapped_column(sa.Integer)  # 1 for the record's first stay, then 2, 3, …
    entered_at: Mapped[datetime] = mapped_column(sa.DateTime)
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)  # None: no SLA
    left_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    entered_by: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    region_code: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)  # the record's, kept current

    __table_args__ = (
        sa.UniqueConstraint("form", "record_id", "seq", name="uq_simpul_wf_stay_seq"),
        sa.Index("ix_simpul_wf_stay_record", "form", "record_id", "left_at"),
        sa.Index("ix_simpul_wf_stay_open", "left_at", "due_at"),
    )


class Timer(CoreModel):
    """One moment of a stay's ladder; fired once by the sweep."""

    __tablename__ = "simpul_wf_timer"
    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(sa.ForeignKey("simpul_wf_stay.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(sa.Integer)  # 0: the deadline; 1..n: the ladder's levels
    due_at: Mapped[datetime] = mapped_column(sa.DateTime)
    fired_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)  # mailed | nobody | failed
    recipients: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)

    __table_args__ = (
        sa.UniqueConstraint("stay_id", "level", name="uq_simpul_wf_timer_level"),
        # the sweep's query: unfired timers that are due (a partial index on both databases)
        sa.Index(
            "ix_simpul_wf_timer_due",
            "due_at",
            postgresql_where=sa.text("fired_at IS NULL"),
            sqlite_where=sa.text("fired_at IS NULL"),
        ),
    )


class Event(CoreModel):
    """A line of a record's timeline: a transition (with its comment), an escalation, a move."""

    __tablename__ = "simpul_wf_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(sa.String(64))
    record_id: Mapped[int] = mapped_column(sa.Integer)
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    kind: Mapped[str] = mapped_column(sa.String(20))  # transition | escalation | moved | created
    user_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    username: Mapped[str | None] = mapped_column(sa.String(256), nullable=True)
    transition: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    from_state: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    to_state: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    stay_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    level: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    __table_args__ = (sa.Index("ix_simpul_wf_event_record", "form", "record_id", "id"),)


holiday_table = Holiday.__table__
stay_table = Stay.__table__
timer_table = Timer.__table__
event_table = Event.__table__
