"""The login screen and the API's login for local and directory accounts: say why a login was refused."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import gettext
from flask_login import login_user
from werkzeug import Response

from app.access.login_guard import Refusal


class LoginRefused(Exception):
    """A login refused, with the message the user is shown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def remember_refusal(refused: LoginRefused) -> None:
    """Keep why this request's login was refused, for the API's answer (FAB's hook only returns None)."""
    g.simpul_login_refusal = refused.message


def refusal_message(refused: Refusal) -> str:
    """What a lockout or a throttled address is told."""
    if refused.reason == "locked":
        return gettext(
            "Too many failed logins for this account. Try again in %(minutes)s minutes, "
            "or ask an administrator to unlock it.",
            minutes=refused.minutes,
        )
    return gettext(
        "Too many failed logins from this address. Try again in %(minutes)s minutes.", minutes=refused.minutes
    )


class SimpulAuthView(AuthDBView):
    """The login screen for local and directory accounts; says why a login was refused."""

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self) -> Any:
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            try:
                user = self.appbuilder.sm.authenticate(form.username.data, form.password.data)
            except LoginRefused as refused:
                flash(refused.message, "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            login_user(user, remember=False)
            return redirect(next_url)
        return self.render_template(self.login_template, title=self.title, form=form, appbuilder=self.appbuilder)


class SimpulSecurityApi(SecurityApi):
    """FAB's /api/v1/security/ (JWT login, refresh); a refused login's 401 says why, as the screen does."""

    class_permission_name = SecurityApi.__name__

    def create_blueprint(self, appbuilder: Any, endpoint: str | None = None, static_folder: str | None = None) -> Any:
        """FAB's blueprint under FAB's name, so endpoints stay SecurityApi.login and SecurityApi.refresh."""
        return super().create_blueprint(appbuilder, endpoint or SecurityApi.__name__, static_folder)

    def response_401(self) -> Response:
        """401 with the refusal's message when a login was refused in this request."""
        message = g.pop("simpul_login_refusal", None)
        return self.response(401, message=message) if message else super().response_401()
