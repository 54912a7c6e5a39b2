"""Admin screens of the e-mail outbox: every message with its state and error, "send again" for
failed ones; the mail templates' wording (Admin only)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from app.office import local_timestamp, utc_now
from app.workflows.runtime.models import (
    DIGEST,
    DIGESTED,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    SENT,
    MailTemplate,
    OutboxMessage,
)
from app.workflows.runtime.outbox import TEMPLATES, check_template, resend

STATES = {
    QUEUED: lazy_gettext("Queued"),
    SENT: lazy_gettext("Sent"),
    FAILED: lazy_gettext("Failed"),
    DIGEST: lazy_gettext("Waiting for the daily digest"),
    DIGESTED: lazy_gettext("Sent in a daily digest"),
    RUNNING: lazy_gettext("Running"),
    DONE: lazy_gettext("Done"),
}


def state_label(state: str) -> str:
    """A message's or job's state in the reader's language."""
    return str(STATES.get(state, state))


def _text_block(text: str | None) -> Markup:
    return Markup('<pre style="white-space: pre-wrap; margin: 0">{}</pre>').format(text or "")


def _seconds_timestamp(stored: Any) -> str:
    return local_timestamp(stored, seconds=True)


class OutboxView(ModelView):
    """The outbox: what was sent, what waits (and why), what failed; failed ones can be sent again."""

    datamodel = SQLAInterface(OutboxMessage)
    route_base = "/keamanan/kotak-keluar"
    base_permissions = ["can_list", "can_show"]  # the action adds its own ("resend")
    list_title = show_title = lazy_gettext("Outbox")
    list_columns = ["created_at", "to_addr", "subject", "state", "attempts", "next_attempt_at", "last_error"]
    show_columns = [
        "created_at",
        "to_addr",
        "subject",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
        "body_text",
    ]
    search_columns = ["created_at", "to_addr", "subject", "state"]
    base_order = ("id", "desc")
    formatters_columns = {
        "created_at": _seconds_timestamp,
        "next_attempt_at": _seconds_timestamp,
        "sent_at": _seconds_timestamp,
        "state": state_label,
        "body_text": _text_block,
    }
    label_columns = {
        "created_at": lazy_gettext("Queued on"),
        "to_addr": lazy_gettext("To"),
        "subject": lazy_gettext("Subject"),
        "state": lazy_gettext("State"),
        "attempts": lazy_gettext("Attempts"),
        "next_attempt_at": lazy_gettext("Next attempt"),
        "sent_at": lazy_gettext("Sent on"),
        "last_error": lazy_gettext("Last error"),
        "body_text": lazy_gettext("Message"),
    }

    @action(
        "resend",
        lazy_gettext("Send again"),
        lazy_gettext("Send the failed messages among those chosen again?"),
        "fa-repeat",
    )
    def resend_action(self, items: Any) -> Any:
        """Queue the chosen failed messages again (others are left as they are)."""
        chosen = items if isinstance(items, list) else [items]
        session = self.datamodel.session
        count = resend(session, [item.id for item in chosen if item is not None], utc_now())
        session.commit()
        flash(gettext("Messages queued again: %(num)d", num=count), "success")
        self.update_redirect()
        return redirect(self.get_redirect())


class MailTemplateView(ModelView):
    """The wording of Simpul's e-mails (Jinja, Bahasa Indonesia); checked before it is saved."""

    datamodel = SQLAInterface(MailTemplate)
    route_base = "/keamanan/templat-surel"
    base_permissions = ["can_list", "can_show", "can_edit"]
    list_title = show_title = edit_title = lazy_gettext("E-mail templates")
    list_columns = ["name", "purpose", "subject", "changed_on", "changed_by"]
    show_columns = ["name", "purpose", "subject", "body_block", "changed_on", "changed_by"]
    edit_columns = ["subject", "body"]
    base_order = ("name", "asc")
    formatters_columns = {"changed_on": local_timestamp, "body_block": _text_block}
    label_columns = {
        "name": lazy_gettext("Name"),
        "purpose": lazy_gettext("Purpose"),
        "subject": lazy_gettext("Subject"),
        "body": lazy_gettext("Message"),
        "body_block": lazy_gettext("Message"),
        "changed_on": lazy_gettext("Changed on"),
        "changed_by": lazy_gettext("Changed by"),
    }
    description_columns = {
        "body": lazy_gettext("Jinja template text, e.g. {{ record }}; the names it may use are those of the default.")
    }

    def pre_update(self, item: MailTemplate) -> None:
        """Refuse wording that does not render (the message is shown on the form)."""
        problem = check_template(item.name, item.subject, item.body)
        if problem:
            raise ValueError(str(lazy_gettext("This template cannot be used: %(problem)s", problem=problem)))
        item.changed_on = utc_now()
        item.changed_by = g.user.username if getattr(g, "user", None) else None


MailTemplate.purpose = property(lambda t: TEMPLATES[t.name].description if t.name in TEMPLATES else "")  # type: ignore[attr-defined]
MailTemplate.body_block = property(lambda t: t.body)  # type: ignore[attr-defined]


def register_runtime_admin(appbuilder: Any) -> None:
    """The outbox, mail templates and jobs screens under Keamanan (Admin only); every user's mail choice."""
    from app.views.jobs_admin import JobView
    from app.views.mail_preference import MailPreferenceView

    appbuilder.add_view_no_menu(MailPreferenceView)

    for view, name, label, icon in (
        (OutboxView, "menu_kotak_keluar", lazy_gettext("Outbox"), "fa-envelope"),
        (MailTemplateView, "menu_templat_surel", lazy_gettext("E-mail templates"), "fa-file-text-o"),
        (JobView, "menu_tugas", lazy_gettext("Background jobs"), "fa-tasks"),
    ):
        appbuilder.add_view(view, name, label=label, icon=icon, category="Security")
