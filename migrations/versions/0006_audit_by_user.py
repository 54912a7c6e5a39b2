"""Audit trail by user: the home page's "your recent changes" reads a user's latest entries.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_simpul_audit_user", "simpul_audit", ["user_id", "id"])


def downgrade():
    op.drop_index("ix_simpul_audit_user", table_name="simpul_audit")
