"""Print layouts edited in the panel (app/reports/layouts.py): a stored layout replaces the shipped
one of the same name, or adds one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "simpul_print_layout",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("changed_on", sa.DateTime, nullable=False),
        sa.Column("changed_by", sa.String(256), nullable=True),
    )


def downgrade():
    op.drop_table("simpul_print_layout")
