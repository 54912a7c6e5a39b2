"""Simpul: a low-code form and workflow server for Indonesian social-welfare offices."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext

from app import speedups
from app.access.secret_key import settle_secret_key
from app.database import begin_immediately_for_unsafe_methods, configure_engine
from app.extensions import db
from app.forms_engine.spec import FormSpec

log = logging.getLogger(__name__)
APP_DIR = Path(__file__).resolve().parent


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Defaults from config.py, then SIMPUL_CONFIG file, then SIMPUL_* variables, then tests'."""
    app.config.from_object("config")
    config_file = os.environ.get("SIMPUL_CONFIG")
    if config_file:
        app.config.from_pyfile(os.path.abspath(config_file))
    app.config.from_prefixed_env("SIMPUL")
    if test_config:
        app.config.update(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    settle_secret_key(app.config, Path(app.instance_path))
    if app.config["HTTPS"]:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(APP_DIR / "i18n" / d) for d in ("fab", "simpul"))
    app.config["FAB_SECURITY_MANAGER_CLASS"] = "app.access.security.SimpulSecurityManager"


def create_app(test_config: dict[str, Any] | None = None, forms: Mapping[str, FormSpec] | None = None) -> Flask:
    """Build the app with a screen and API for every published form (or for `forms`, a publish's check)."""
    app = Flask(__name__, instance_path=str(APP_DIR.parent / "instance"))
    load_config(app, test_config)
    speedups.install()
    if app.config["PROXY_FIX_X_FOR"] or app.config["PROXY_FIX_X_PROTO"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=app.config["PROXY_FIX_X_PROTO"]
        )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    from app.access import audit, redaction
    from app.access.csrf import SAFE_METHODS, init_csrf
    from app.access.headers import init_headers
    from app.access.personal import init_access_log
    from app.views.errors import init_error_pages

    init_csrf(app)
    app.wsgi_app = begin_immediately_for_unsafe_methods(app.wsgi_app, SAFE_METHODS)  # type: ignore[method-assign]
    init_headers(app)
    init_error_pages(app)
    init_access_log(app)
    redaction.install(app.logger)
    audit.install()
    from app.i18n_setup import init_i18n
    from app.views.home import SimpulIndexView

    with app.app_context():
        configure_engine(db.engine)
        appbuilder = AppBuilder(indexview=SimpulIndexView, base_template="simpul/base.html")
        appbuilder.init_app(app, db.session)
        init_i18n(app)
        from app.regions.api import RegionApi
        from app.regions.names import RegionNames

        app.extensions["simpul_region_names"] = RegionNames(db.engine)
        from app.views.admin_logs import register_admin_logs

        register_admin_logs(appbuilder)
        from app.views.outbox_admin import register_runtime_admin

        register_runtime_admin(appbuilder)  # outbox, mail templates, jobs
        appbuilder.add_api(RegionApi)
        from app.form_building import published_forms, register_usable_forms, report_broken

        specs, version, broken = published_forms(db.engine) if forms is None else (dict(forms), None, {})
        app.config["SIMPUL_SCHEMA_VERSION"] = version
        models, unbuilt = register_usable_forms(appbuilder, specs)
        broken.update(unbuilt)
        report_broken(app, broken)
        app.extensions["simpul_specs"] = {slug: spec for slug, spec in specs.items() if slug not in broken}
        app.extensions["simpul_models"] = models
        if specs:
            from app.views.history import RecipientHistoryView

            appbuilder.add_view(
                RecipientHistoryView,
                "menu_riwayat",
                label=lazy_gettext("Recipient history"),
                icon="fa-history",
                category="Bantuan Sosial",
                category_label=lazy_gettext("Social aid"),
            )
        from app.views.holidays_admin import register_holidays_admin
        from app.views.workflow_dashboard import register_overdue_screen

        register_overdue_screen(appbuilder, app.extensions["simpul_specs"])
        from app.reports.export_views import register_export_views
        from app.reports.import_views import register_import_views

        register_export_views(appbuilder, app.extensions["simpul_specs"])
        register_import_views(appbuilder, app.extensions["simpul_specs"])
        register_holidays_admin(appbuilder)
        from app.reports.layout_admin import register_layout_admin

        register_layout_admin(appbuilder)
        from app.views.menu import finish_menu

        finish_menu(appbuilder)
        from app.cli import simpul_cli
        from app.migrations import migration_commands

        app.cli.add_command(simpul_cli)
        app.cli.add_command(migration_commands)  # `flask db …`: Alembic loads only when one runs

    @app.get("/health")
    def health() -> dict[str, Any]:
        """For load balancers and tests: which schema version this process serves, and forms it cannot."""
        unserved = app.extensions["simpul_broken_forms"]
        return {
            "status": "degraded" if unserved else "ok",
            "schema_version": app.config["SIMPUL_SCHEMA_VERSION"],
            "pid": os.getpid(),
            "broken_forms": unserved,
        }

    return app
