"""Access: users' region scope, login failures (lockout), audit trail and personal-data access log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _code() -> sa.types.TypeEngine:
    return sa.String(13).with_variant(sa.String(13, collation="C"), "postgresql")


def upgrade():
    # FAB creates ab_user itself (with this column on new installations); older ones get it here.
    inspector = sa.inspect(op.get_bind())
    if inspector.has_table("ab_user") and "region_scope" not in {c["name"] for c in inspector.get_columns("ab_user")}:
        op.add_column("ab_user", sa.Column("region_scope", _code(), nullable=True))
    op.create_table(
        "simpul_login_failure",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(256), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_simpul_login_failure_username", "simpul_login_failure", ["username", "at"])
    op.create_index("ix_simpul_login_failure_address", "simpul_login_failure", ["address", "at"])
    op.create_table(
        "simpul_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("username", sa.String(256), nullable=False),
        sa.Column("form", sa.String(120), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
    )
    op.create_index("ix_simpul_audit_record", "simpul_audit", ["form", "record_id", "id"])
    op.create_table(
        "simpul_access_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("username", sa.String(256), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("form", sa.String(120), nullable=False),
        sa.Column("record_ids", sa.Text, nullable=True),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("purpose", sa.String(500), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
    )
    op.create_index("ix_simpul_access_log_at", "simpul_access_log", ["at"])


def downgrade():
    op.drop_table("simpul_access_log")
    op.drop_table("simpul_audit")
    op.drop_table("simpul_login_failure")
