"""The published forms inside an app, each built on its own.

A stored definition that cannot be built (it no longer loads after an upgrade, its models do
not map, its screens fail, or it refers to such a form) is left out and reported: in the log,
in `GET /health` and in `flask simpul forms list`. Every other form is served, so the server
and the command line still start, and the broken form can be fixed by publishing it again.

`check_forms_build` is a publish's proof, before it commits, that an app builds from the
definitions it is about to make live.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from app.database import dispose_app, write_intent
from app.forms_engine.loader import DefinitionError, DefinitionErrors
from app.forms_engine.messages import N_, Message
from app.forms_engine.spec import FormSpec
from app.forms_engine.store import published_specs, schema_version
from app.forms_engine.tables import build_usable_models

log = logging.getLogger(__name__)


def published_forms(engine: sa.Engine) -> tuple[dict[str, FormSpec], int, dict[str, str]]:
    """Published specs, the schema version they are of, and stored definitions that no longer load."""
    with write_intent(False), engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # One snapshot for specs and version: a publish committing meanwhile cannot mix them.
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        if not sa.inspect(conn).has_table("simpul_schema_state"):
            return {}, 0, {}
        problems: dict[str, str] = {}
        specs = published_specs(conn, problems=problems)
        return specs, schema_version(conn), problems


def register_usable_forms(appbuilder: Any, specs: Mapping[str, FormSpec]) -> tuple[dict[str, Any], dict[str, str]]:
    """Models, screens and API of every form that builds; return the models and the forms that did not."""
    from app.views.generated import register_form
    from app.views.menu import menu_order

    models, broken = build_usable_models(specs, appbuilder.sm.user_model)
    for slug in menu_order({slug: spec for slug, spec in specs.items() if slug not in broken}):
        try:
            register_form(appbuilder, specs[slug], models)
        except Exception as exc:  # one form's screens must not take the others down
            broken[slug] = f"{type(exc).__name__}: {exc}"
    return models, broken


def report_broken(app: Flask, broken: Mapping[str, str]) -> None:
    """Log each form left out; /health and `forms list` read them from the app."""
    app.extensions["simpul_broken_forms"] = dict(broken)
    for slug, why in sorted(broken.items()):
        log.error("form %s is not served: %s", slug, why)


def broken_forms(app: Flask) -> dict[str, str]:
    """Forms this app could not build (slug: why)."""
    return app.extensions.get("simpul_broken_forms", {})


def check_forms_build(specs: Mapping[str, FormSpec], changed: Collection[str]) -> Flask:
    """Build an app from `specs`, as every worker will, and return it (the caller disposes it).

    Raises DefinitionErrors for the forms that fail, except one that this publish does not
    change and that is already broken in the running app.
    """
    from app import create_app

    # Read-only: no tables or roles created, no permissions written (the publish holds the lock).
    app = create_app({**current_app.config, "FAB_CREATE_DB": False, "FAB_UPDATE_PERMS": False}, forms=specs)
    broken = broken_forms(app)
    already = broken_forms(current_app._get_current_object())  # type: ignore[attr-defined]
    errors = [
        DefinitionError(
            specs[slug].source or slug,
            "",
            Message(N_("the form cannot be served: %(error)s"), {"error": why}),
        )
        for slug, why in sorted(broken.items())
        if slug in changed or slug not in already
    ]
    if errors:
        dispose_app(app)
        raise DefinitionErrors(errors)
    return app
