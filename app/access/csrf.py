"""CSRF protection for every state-changing request.

Screens carry Flask-WTF's token in their forms; scripts calling the API with the browser's
session cookie send it in an `X-CSRFToken` header. API calls that authenticate with a JWT
(`Authorization: Bearer …`) carry no cookie an attacker's page could ride on, so they need
no token; nor does the API login, which has no session yet.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
TOKENLESS_ENDPOINTS = frozenset({"SecurityApi.login", "SecurityApi.refresh"})


def init_csrf(app: Flask) -> None:
    """Check the token on every unsafe request (FAB exempts its API blueprints; Simpul does not)."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # decided here, for all blueprints alike
    csrf.init_app(app)

    @app.before_request
    def check_csrf() -> None:
        if not app.config.get("WTF_CSRF_ENABLED", True) or request.method in SAFE_METHODS:
            return
        if request.endpoint in TOKENLESS_ENDPOINTS or request.headers.get("Authorization", "").startswith("Bearer "):
            return
        csrf.protect()

    @app.errorhandler(CSRFError)
    def refused(error: CSRFError) -> Any:
        message = gettext("The form has expired or did not come from Simpul. Reload the page and try again.")
        if request.path.startswith("/api/"):
            return jsonify(message=message), 400
        flash(message, "danger")
        return redirect(request.referrer or "/"), 303
