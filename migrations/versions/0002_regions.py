"""Region master data (kode wilayah Kemendagri).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _code() -> sa.types.TypeEngine:
    # Bytewise order so a code prefix is an index range on any locale.
    return sa.String(13).with_variant(sa.String(13, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "simpul_region",
        sa.Column("code", _code(), primary_key=True),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("parent_code", _code(), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_index("ix_simpul_region_parent_code", "simpul_region", ["parent_code"])


def downgrade():
    op.drop_index("ix_simpul_region_parent_code", "simpul_region")
    op.drop_table("simpul_region")
