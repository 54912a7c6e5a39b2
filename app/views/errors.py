"""Error pages: 403, 404, 405 and 500 answer in the app's layout and the reader's language, with a
way back; API paths keep answering JSON."""

from __future__ import annotations

import logging
from typing import Any

import prison
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_appbuilder.api import ModelRestApi
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError

from app.forms_engine.messages import shown
from app.forms_engine.text import unstorable

log = logging.getLogger(__name__)

PAGES = {
    400: (
        "fa-exclamation-circle",
        lazy_gettext("The address cannot be read"),
        lazy_gettext("Open the page again from the menu."),
    ),
    403: ("fa-lock", lazy_gettext("Access denied"), lazy_gettext("Your role may not open this page.")),
    404: (
        "fa-question-circle",
        lazy_gettext("Page not found"),
        lazy_gettext("The page or record does not exist, or lies outside your working area."),
    ),
    405: ("fa-ban", lazy_gettext("Not possible here"), lazy_gettext("This page cannot be used this way.")),
    500: (
        "fa-exclamation-triangle",
        lazy_gettext("Something went wrong"),
        lazy_gettext("The error has been recorded. Try again, or tell the administrator if it keeps happening."),
    ),
}


def _answer(code: int, detail: str | None = None) -> Any:
    icon, title, explanation = PAGES[code]
    if request.path.startswith("/api/"):
        return jsonify(message=detail or str(title)), code
    if detail:
        explanation = f"{detail} {explanation}"
    if "user" not in g:  # answered before FAB's own before_request set it (the menu needs it)
        g.user = current_user
    try:
        page = render_template(
            "simpul/error.html",
            code=code,
            icon=icon,
            title=title,
            explanation=explanation,
            appbuilder=_appbuilder(),
        )
    except Exception:  # the layout itself failed (e.g. the database is down): a bare page still says it
        log.exception("error page %s could not be rendered in the layout", code)
        page = f"<h1>{code}</h1><p>{title}</p><p><a href='/'>{gettext('Home page')}</a></p>"
    return page, code


def _appbuilder() -> Any:
    from flask import current_app

    return current_app.appbuilder


def init_error_pages(app: Flask) -> None:
    """Answer 403, 404, 405 and unexpected errors with Simpul's pages."""

    @app.before_request
    def unstorable_address() -> Any:
        """A NUL or other control character in the query string is refused, naming the parameter:
        PostgreSQL refuses NUL in any text, so a filter, search or purpose holding one failed."""
        for key, value in request.args.items(multi=True):
            if problem := unstorable(key) or unstorable(value):
                return _answer(400, f"{shown(key)}: {problem.render(gettext)}")
        return None

    @app.before_request
    def unreadable_query() -> Any:
        """FAB's @rison answers 500 when prison raises anything but its ParserException ("1e+5")."""
        view = current_app.view_functions.get(request.endpoint or "")
        q = request.args.get("q") if isinstance(getattr(view, "__self__", None), ModelRestApi) else None
        if q is None:
            return None
        try:
            prison.loads(q)
        except Exception:
            return jsonify(message=gettext("The request body is not valid JSON.")), 400
        return None

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if error.code in PAGES:
            return _answer(error.code)  # type: ignore[arg-type]
        return error

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> Any:
        return _answer(500)
