"""Declarative base of Simpul's own core tables (created by the Alembic migrations)."""

from sqlalchemy.orm import DeclarativeBase

from app.forms_engine.store import metadata


class CoreModel(DeclarativeBase):
    """Mapped classes over `simpul_*` core tables (login failures, audit, access log)."""

    metadata = metadata
