"""Core tables where published definitions live (created by the Alembic migrations)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from .loader import DefinitionErrors, parse_definition
from .spec import FormSpec

metadata = sa.MetaData()

form_table = sa.Table(
    "simpul_form",
    metadata,
    sa.Column("slug", sa.String(40), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("retired", sa.Boolean, nullable=False, default=False),
    sa.Column("changed_on", sa.DateTime, nullable=False),
)

form_version_table = sa.Table(
    "simpul_form_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(40), sa.ForeignKey("simpul_form.slug"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("changes", sa.Text, nullable=False),
    sa.Column("published_by", sa.String(256), nullable=False),
    sa.Column("published_on", sa.DateTime, nullable=False),
    sa.UniqueConstraint("slug", "version", name="uq_simpul_form_version_slug_version"),
)

# One row: bumped on every publish so every worker process knows to rebuild its app.
schema_state_table = sa.Table(
    "simpul_schema_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("changed_on", sa.DateTime, nullable=False),
)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a definition")


def dump_json(data: Any) -> str:
    """JSON text for definitions and change lists (dates and decimals as strings)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=_json_default)


def schema_version(conn: sa.Connection) -> int:
    """The published schema version (0 before anything was published)."""
    return conn.execute(sa.select(schema_state_table.c.version).where(schema_state_table.c.id == 1)).scalar() or 0


def published_versions(conn: sa.Connection) -> dict[str, int]:
    """The current version of every published form (retired ones too), keyed by slug."""
    return {row.slug: row.version for row in conn.execute(sa.select(form_table.c.slug, form_table.c.version))}


def published_specs(
    conn: sa.Connection, include_retired: bool = False, problems: dict[str, str] | None = None
) -> dict[str, FormSpec]:
    """The current published spec of every form, keyed by slug.

    With `problems`, a stored definition that no longer loads (say, after an upgrade made a
    rule stricter) is reported there (slug: why) and left out, so the other forms keep working.
    """
    query = (
        sa.select(
            form_table.c.slug, form_table.c.retired, form_version_table.c.definition, form_version_table.c.version
        )
        .join(
            form_version_table,
            sa.and_(
                form_version_table.c.slug == form_table.c.slug, form_version_table.c.version == form_table.c.version
            ),
        )
        .order_by(form_table.c.slug)
    )
    specs: dict[str, FormSpec] = {}
    for row in conn.execute(query):
        if row.retired and not include_retired:
            continue
        try:
            specs[row.slug] = parse_definition(json.loads(row.definition), f"{row.slug} v{row.version}")
        except DefinitionErrors as exc:
            if problems is None:
                raise
            problems[row.slug] = "; ".join(str(error) for error in exc.errors)
    return specs


def form_history(conn: sa.Connection, slug: str) -> list[sa.Row]:
    """Every published version of a form, oldest first."""
    query = (
        sa.select(form_version_table).where(form_version_table.c.slug == slug).order_by(form_version_table.c.version)
    )
    return list(conn.execute(query))
