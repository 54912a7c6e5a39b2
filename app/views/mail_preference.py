"""Each signed-in user's own choice: one mail per item, or one daily digest (`/surel/preferensi`)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext

from app.extensions import db
from app.office import office_zone
from app.workflows.runtime.outbox import set_daily_digest, wants_digest


class MailPreferenceView(BaseView):
    """Every account's own setting, so it needs no role permission: only a signed-in user."""

    route_base = "/surel"
    default_view = "preference"

    @expose("/preferensi", methods=["GET", "POST"])
    def preference(self) -> Any:
        """Show the choice; a POST (with the CSRF token every form carries) saves it."""
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        if request.method == "POST":
            set_daily_digest(db.session, user.id, request.form.get("daily_digest") == "1")
            db.session.commit()
            flash(gettext("Your e-mail choice is saved."), "success")
            return redirect(url_for(".preference"))
        return self.render_template(
            "simpul/mail_preference.html",
            daily=wants_digest(db.session, user.id),
            hour=f"{int(current_app.config.get('MAIL_DIGEST_HOUR', 7)):02d}.00 {office_zone()}",
        )
