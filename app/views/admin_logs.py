"""Admin screens: the personal-data access log and the audit trail (read-only, Admin only)."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext
from markupsafe import Markup, escape

from app.access.audit import AuditEntry
from app.access.personal import AccessLogEntry
from app.office import local_timestamp
from app.views.history_tab import action_label, change_rows, record_title
from app.views.labels import current_lang

READ_ONLY = ["can_list", "can_show"]


def _changes_table(entry: AuditEntry) -> Markup:
    """The entry's changes as a before/after table; NIK and No. KK always masked here."""
    model = current_app.extensions.get("simpul_models", {}).get(entry.form)
    spec = getattr(model, "__spec__", None)
    rows = change_rows(spec, entry.changes)
    body = Markup("").join(
        Markup('<tr><td style="width: 30%">{}</td><td class="text-muted"><s>{}</s></td><td>{}</td></tr>').format(
            label, before, after
        )
        for label, before, after in rows
    )
    return (
        Markup('<table class="table table-condensed" style="margin: 0">{}</table>').format(body) if rows else escape("")
    )


ACCESS_ACTIONS = {
    "reveal": lazy_gettext("Personal data shown in full"),
    "export": lazy_gettext("Exported"),
    "print": lazy_gettext("Printed"),
    "import": lazy_gettext("Imported"),
    "search": lazy_gettext("Searched by NIK / No. KK"),
}


def form_title(slug: str) -> str:
    """A form's (or child table's) title in the reader's language; the recipient history by name."""
    if slug == "riwayat":
        return str(lazy_gettext("Recipient history"))
    model = current_app.extensions.get("simpul_models", {}).get(slug)
    if model is None:
        return slug
    spec = model.__spec__
    lang = current_lang()
    if spec.parent:
        parent = current_app.extensions["simpul_models"][spec.parent].__spec__
        return f"{parent.title.get(lang)} — {spec.title.get(lang)}"
    return spec.title.get(lang)


def _access_action(action: str) -> str:
    return str(ACCESS_ACTIONS.get(action, action))


def _record_titles(entry: AccessLogEntry) -> str:
    """The records an access touched, by title (at most 20 named)."""
    ids = json.loads(entry.record_ids) if entry.record_ids else []
    named = ", ".join(record_title(entry.form, i) for i in ids[:20])
    return named + (f" … (+{len(ids) - 20})" if len(ids) > 20 else "")


class AccessLogView(ModelView):
    """Who viewed, revealed, exported or printed personal data."""

    datamodel = SQLAInterface(AccessLogEntry)
    route_base = "/keamanan/log-akses"
    base_permissions = READ_ONLY
    list_title = show_title = lazy_gettext("Personal data access log")
    list_columns = ["at", "username", "action", "form", "row_count", "purpose", "address"]
    show_columns = ["at", "username", "action", "form", "records", "row_count", "purpose", "address"]
    search_columns = ["at", "username", "action", "form", "purpose"]
    base_order = ("id", "desc")
    formatters_columns = {"at": local_timestamp, "action": _access_action, "form": form_title}
    label_columns = {
        "at": lazy_gettext("Time"),
        "username": lazy_gettext("User"),
        "action": lazy_gettext("Action"),
        "form": lazy_gettext("Form"),
        "records": lazy_gettext("Records"),
        "row_count": lazy_gettext("Rows"),
        "purpose": lazy_gettext("Purpose"),
        "address": lazy_gettext("Address"),
    }


class AuditView(ModelView):
    """Every change of every record (each record page also shows its own)."""

    datamodel = SQLAInterface(AuditEntry)
    route_base = "/keamanan/audit"
    base_permissions = READ_ONLY
    list_title = show_title = lazy_gettext("Audit trail")
    list_columns = ["at", "username", "action", "form", "record"]
    show_columns = ["at", "username", "action", "form", "record", "changes_table"]
    search_columns = ["at", "username", "action", "form", "record_id"]
    base_order = ("id", "desc")
    formatters_columns = {"at": local_timestamp, "action": action_label, "form": form_title}
    label_columns = {
        **AccessLogView.label_columns,
        "record_id": lazy_gettext("Record id"),
        "record": lazy_gettext("Record"),
        "changes_table": lazy_gettext("Changes"),
    }


# FAB reads columns as attributes: the rendered forms of the raw ones (never the raw values).
AuditEntry.changes_table = property(_changes_table)  # type: ignore[attr-defined]
AuditEntry.record = property(lambda entry: record_title(entry.form, entry.record_id))  # type: ignore[attr-defined]
AccessLogEntry.records = property(_record_titles)  # type: ignore[attr-defined]


def register_admin_logs(appbuilder: Any) -> None:
    for view, name, label, icon in (
        (AccessLogView, "menu_log_akses", lazy_gettext("Personal data access log"), "fa-user-secret"),
        (AuditView, "menu_audit", lazy_gettext("Audit trail"), "fa-history"),
    ):
        appbuilder.add_view(view, name, label=label, icon=icon, category="Security")
