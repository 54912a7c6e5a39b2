"""The database's own migrations (migrations/, Alembic through Flask-Migrate), loaded where they run.

Alembic with its templates and Mako cost a process about 9 MB. Web workers and the scheduler
(which runs export and import jobs) never migrate, so Flask-Migrate loads only when
`upgrade_database` runs (setup, tests, benchmarks) or a `flask db …` command is invoked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def init_migrations(app: Flask) -> None:
    """Give `app` Flask-Migrate: the configuration migrations/env.py reads."""
    if "migrate" in app.extensions:
        return
    from flask_migrate import Migrate

    from app.extensions import db

    Migrate(app, db, directory=str(MIGRATIONS_DIR))


def upgrade_database() -> None:
    """Bring the current app's database to the newest migration (inside an app context)."""
    from flask_migrate import upgrade

    init_migrations(current_app._get_current_object())  # type: ignore[attr-defined]
    upgrade(directory=str(MIGRATIONS_DIR))


class MigrationCommands(click.Group):
    """`flask db …`: Flask-Migrate's command group, loaded (with Alembic) only when it is invoked."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        from flask_migrate.cli import db as commands

        init_migrations((parent or click.get_current_context()).ensure_object(ScriptInfo).load_app())
        return commands.make_context(info_name, args, parent=parent, **extra)  # click runs the real group


migration_commands = MigrationCommands("db", help="Database migrations (Flask-Migrate).")
