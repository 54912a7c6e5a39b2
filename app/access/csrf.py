"""CSRF protection for every state-changing request, and which credential an API call uses.

Screens carry Flask-WTF's token in their forms; scripts calling the API with the browser's
session cookie send it in an `X-CSRFToken` header. An API call authenticated by a valid JWT
(`Authorization: Bearer …`) needs no token, and its cookies are ignored for that request:
the token's user is the caller, whoever the browser is signed in as. A Bearer header that
does not verify counts for nothing, so such a call with a session cookie needs the token as
any cookie call does. An API call with no cookie and no JWT has nothing to forge; it goes on
to be refused (401). Nor does the API login need a token: there is no session yet.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, current_app, flash, g, jsonify, redirect, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_wtf.csrf import CSRFError, CSRFProtect
from jwt import PyJWTError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
TOKENLESS_ENDPOINTS = frozenset({"SecurityApi.login", "SecurityApi.refresh"})
API_PREFIX = "/api/"


def jwt_user() -> Any | None:
    """The active user of a valid access JWT in the Authorization header, else None."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    try:
        verified = verify_jwt_in_request()
    except (JWTExtendedException, PyJWTError):
        return None  # forged, expired, a refresh token, or the account is gone or inactive
    if verified is None:  # OPTIONS: flask_jwt_extended verifies nothing, so there is no user
        return None
    return get_current_user()


class SessionUnlessJwt(SecureCookieSessionInterface):
    """Flask's cookie session, except for an API call a valid JWT authenticates.

    That call gets a blank session for its own length (FAB keeps the language in it), and its
    cookie is neither read nor written.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """A blank session, and the JWT's user as the request's, when a JWT signs the call in."""
        if request.path.startswith(API_PREFIX):
            user = jwt_user()
            if user is not None:
                g.simpul_jwt_user = user
                # Flask-Login's own way to set the request's user: it then reads no remember cookie
                # either, and FAB's g.user and permission checks see the JWT's user.
                app.login_manager._update_request_context_with_user(user)
                return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Save the cookie session, unless a JWT signed the call in."""
        if "simpul_jwt_user" not in g:
            super().save_session(app, session, response)


def carries_login_cookie() -> bool:
    """Whether the request has a cookie that could sign someone in (what a forged request rides on)."""
    config = current_app.config
    names = (config["SESSION_COOKIE_NAME"], config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    return any(name in request.cookies for name in names)


def init_csrf(app: Flask) -> None:
    """Check the token on every unsafe request (FAB exempts its API blueprints; Simpul does not)."""
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # decided here, for all blueprints alike
    # One per app: FAB exempts each API blueprint on it, and a process-wide one would keep every
    # app a live publish replaced (its blueprints, views, models) alive for ever.
    csrf = CSRFProtect(app)
    app.session_interface = SessionUnlessJwt()

    @app.before_request
    def check_csrf() -> None:
        if "simpul_jwt_user" in g or request.method in SAFE_METHODS or request.endpoint in TOKENLESS_ENDPOINTS:
            return
        if not app.config.get("WTF_CSRF_ENABLED", True):
            return
        if request.path.startswith(API_PREFIX) and not carries_login_cookie():
            return  # nothing to ride on; FAB refuses the call unauthenticated (401)
        csrf.protect()

    @app.errorhandler(CSRFError)
    def refused(error: CSRFError) -> Any:
        message = gettext("The form has expired or did not come from Simpul. Reload the page and try again.")
        if request.path.startswith(API_PREFIX):
            return jsonify(message=message), 400
        flash(message, "danger")
        return redirect(request.referrer or "/"), 303
