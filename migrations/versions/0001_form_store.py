"""Form store: published definitions, their versions and the schema version.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "simpul_form",
        sa.Column("slug", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("retired", sa.Boolean, nullable=False),
        sa.Column("changed_on", sa.DateTime, nullable=False),
    )
    op.create_table(
        "simpul_form_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(40), sa.ForeignKey("simpul_form.slug"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("published_by", sa.String(256), nullable=False),
        sa.Column("published_on", sa.DateTime, nullable=False),
        sa.UniqueConstraint("slug", "version", name="uq_simpul_form_version_slug_version"),
    )
    op.create_table(
        "simpul_schema_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("changed_on", sa.DateTime, nullable=False),
    )
    op.execute("INSERT INTO simpul_schema_state (id, version, changed_on) VALUES (1, 0, CURRENT_TIMESTAMP)")


def downgrade():
    # Never drop published definitions: their history is the record of every change.
    raise RuntimeError("downgrading the form store would lose form history; restore a backup instead")
