"""Admin screens: the personal-data access log and the audit trail (read-only, Admin only)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext
from markupsafe import Markup, escape

from app.access.audit import AuditEntry
from app.access.personal import AccessLogEntry
from app.office import local_timestamp
from app.views.history_tab import change_rows

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


class AccessLogView(ModelView):
    """Who viewed, revealed, exported or printed personal data."""

    datamodel = SQLAInterface(AccessLogEntry)
    route_base = "/keamanan/log-akses"
    base_permissions = READ_ONLY
    list_title = show_title = lazy_gettext("Personal data access log")
    list_columns = ["at", "username", "action", "form", "row_count", "purpose", "address"]
    show_columns = ["at", "username", "action", "form", "record_ids", "row_count", "purpose", "address"]
    search_columns = ["at", "username", "action", "form", "purpose"]
    base_order = ("id", "desc")
    formatters_columns = {"at": local_timestamp}
    label_columns = {
        "at": lazy_gettext("Time"),
        "username": lazy_gettext("User"),
        "action": lazy_gettext("Action"),
        "form": lazy_gettext("Form"),
        "record_ids": lazy_gettext("Record ids"),
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
    list_columns = ["at", "username", "action", "form", "record_id"]
    show_columns = ["at", "username", "action", "form", "record_id", "changes_table"]
    search_columns = ["at", "username", "action", "form", "record_id"]
    base_order = ("id", "desc")
    formatters_columns = {"at": local_timestamp}
    label_columns = {
        **AccessLogView.label_columns,
        "record_id": lazy_gettext("Record id"),
        "changes_table": lazy_gettext("Changes"),
    }


# The record page reads columns as attributes; the rendered table is one (never the raw values).
AuditEntry.changes_table = property(_changes_table)  # type: ignore[attr-defined]


def register_admin_logs(appbuilder: Any) -> None:
    for view, name, label, icon in (
        (AccessLogView, "menu_log_akses", lazy_gettext("Personal data access log"), "fa-user-secret"),
        (AuditView, "menu_audit", lazy_gettext("Audit trail"), "fa-history"),
    ):
        appbuilder.add_view(view, name, label=label, icon=icon, category="Security")
