"""Tables of the runtime (created by migration 0004) as mapped classes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core_model import CoreModel

# Job and outbox states (stored as text).
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
SENT = "sent"
DIGEST = "digest"  # waiting for its recipient's daily digest
DIGESTED = "digested"  # went out inside digest `digest_id`


class Lease(CoreModel):
    """A named lease: `holder` may act alone until `expires_at` (renewed by its heartbeat)."""

    __tablename__ = "simpul_lease"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(128))
    acquired_at: Mapped[datetime] = mapped_column(sa.DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(sa.DateTime)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime)


class Job(CoreModel):
    """A long job (export, import, …) run by the scheduler process: `kind` is an import path."""

    __tablename__ = "simpul_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(255))
    args: Mapped[Any] = mapped_column(sa.JSON)
    state: Mapped[str] = mapped_column(sa.String(10))
    progress: Mapped[int] = mapped_column(sa.Integer, default=0)
    total: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    message: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(sa.DateTime)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    created_by: Mapped[str | None] = mapped_column(sa.String(256), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    holder: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    result: Mapped[Any] = mapped_column(sa.JSON, nullable=True)

    __table_args__ = (sa.Index("ix_simpul_job_due", "state", "run_after", "id"),)


class OutboxMessage(CoreModel):
    """One e-mail: queued until the sender delivers it (sent) or gives up (failed)."""

    __tablename__ = "simpul_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    to_addr: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(998))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    state: Mapped[str] = mapped_column(sa.String(10))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    user_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    digest_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    __table_args__ = (
        sa.UniqueConstraint("dedupe_key", name="uq_simpul_outbox_dedupe_key"),
        sa.Index("ix_simpul_outbox_due", "state", "next_attempt_at", "id"),
        sa.Index("ix_simpul_outbox_user", "user_id", "state"),
    )

    def __repr__(self) -> str:
        return f"{self.to_addr}: {self.subject}"


class MailPreference(CoreModel):
    """A user's choice: one daily digest instead of one mail per item."""

    __tablename__ = "simpul_mail_preference"
    user_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    daily_digest: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    changed_on: Mapped[datetime] = mapped_column(sa.DateTime)


class MailTemplate(CoreModel):
    """An admin's wording of a mail template (Jinja); the default lives in code (outbox.TEMPLATES)."""

    __tablename__ = "simpul_mail_template"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    changed_on: Mapped[datetime | None] = mapped_column(sa.DateTime, nullable=True)
    changed_by: Mapped[str | None] = mapped_column(sa.String(256), nullable=True)

    def __repr__(self) -> str:
        return self.name


lease_table = Lease.__table__
job_table = Job.__table__
outbox_table = OutboxMessage.__table__
preference_table = MailPreference.__table__
template_table = MailTemplate.__table__
