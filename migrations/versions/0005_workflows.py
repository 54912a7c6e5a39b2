"""Workflow engine: holidays, stays in a state, ladder timers, timeline events (app/workflows/models.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "simpul_holiday",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("region_code", sa.String(20), nullable=True),
        sa.Column("decree", sa.String(200), nullable=True),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("changed_on", sa.DateTime, nullable=True),
        sa.Column("changed_by", sa.String(256), nullable=True),
    )
    op.create_index("ix_simpul_holiday_day", "simpul_holiday", ["day"])
    op.create_table(
        "simpul_wf_stay",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("entered_at", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=True),
        sa.Column("left_at", sa.DateTime, nullable=True),
        sa.Column("entered_by", sa.Integer, nullable=True),
        sa.Column("region_code", sa.String(20), nullable=True),
        sa.UniqueConstraint("form", "record_id", "seq", name="uq_simpul_wf_stay_seq"),
    )
    op.create_index("ix_simpul_wf_stay_record", "simpul_wf_stay", ["form", "record_id", "left_at"])
    op.create_index("ix_simpul_wf_stay_open", "simpul_wf_stay", ["left_at", "due_at"])
    op.create_table(
        "simpul_wf_timer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("stay_id", sa.Integer, sa.ForeignKey("simpul_wf_stay.id", ondelete="CASCADE"), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("fired_at", sa.DateTime, nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("recipients", sa.Integer, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("stay_id", "level", name="uq_simpul_wf_timer_level"),
    )
    op.create_index(
        "ix_simpul_wf_timer_due",
        "simpul_wf_timer",
        ["due_at"],
        postgresql_where=sa.text("fired_at IS NULL"),
        sqlite_where=sa.text("fired_at IS NULL"),
    )
    op.create_table(
        "simpul_wf_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("username", sa.String(256), nullable=True),
        sa.Column("transition", sa.String(64), nullable=True),
        sa.Column("from_state", sa.String(64), nullable=True),
        sa.Column("to_state", sa.String(64), nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("stay_id", sa.Integer, nullable=True),
        sa.Column("level", sa.Integer, nullable=True),
    )
    op.create_index("ix_simpul_wf_event_record", "simpul_wf_event", ["form", "record_id", "id"])


def downgrade():
    op.drop_table("simpul_wf_event")
    op.drop_table("simpul_wf_timer")
    op.drop_table("simpul_wf_stay")
    op.drop_table("simpul_holiday")
