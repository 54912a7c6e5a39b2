"""Workflow runtime: the scheduler's lease and job store, general jobs, the e-mail outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    # One row per named lease (the scheduler's "scheduler"): who holds it and until when.
    op.create_table(
        "simpul_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("acquired_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    # APScheduler's SQLAlchemyJobStore table (its own layout; created here so migrations own it).
    op.create_table(
        "simpul_scheduler_job",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_simpul_scheduler_job_next_run_time", "simpul_scheduler_job", ["next_run_time"])
    op.create_table(
        "simpul_job",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(255), nullable=False),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("run_after", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("holder", sa.String(128), nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
    )
    op.create_index("ix_simpul_job_due", "simpul_job", ["state", "run_after", "id"])
    op.create_table(
        "simpul_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("to_addr", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(998), nullable=False),
        sa.Column("body_text", sa.Text, nullable=False),
        sa.Column("body_html", sa.Text, nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=True),
        sa.Column("dedupe_key", sa.String(255), nullable=True),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("digest_id", sa.Integer, nullable=True),
        sa.UniqueConstraint("dedupe_key", name="uq_simpul_outbox_dedupe_key"),
    )
    op.create_index("ix_simpul_outbox_due", "simpul_outbox", ["state", "next_attempt_at", "id"])
    op.create_index("ix_simpul_outbox_user", "simpul_outbox", ["user_id", "state"])
    op.create_table(
        "simpul_mail_preference",
        sa.Column("user_id", sa.Integer, primary_key=True),
        sa.Column("daily_digest", sa.Boolean, nullable=False),
        sa.Column("changed_on", sa.DateTime, nullable=False),
    )
    op.create_table(
        "simpul_mail_template",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("changed_on", sa.DateTime, nullable=True),
        sa.Column("changed_by", sa.String(256), nullable=True),
    )


def downgrade():
    op.drop_table("simpul_mail_template")
    op.drop_table("simpul_mail_preference")
    op.drop_table("simpul_outbox")
    op.drop_table("simpul_job")
    op.drop_table("simpul_scheduler_job")
    op.drop_table("simpul_lease")
