"""Recipient history: every record of every form that holds a given NIK (the overlap view)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, make_response, request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.access.personal import log_access, mask
from app.access.scope import scoped
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.identity import check_nik
from app.forms_engine.tables import all_tables
from app.office import local_timestamp
from app.views.generated import permission_view_name
from app.views.labels import current_lang, format_value, lazy_text, render_message

MAX_PER_FORM = 200


@dataclass(frozen=True)
class Appearance:
    """One record holding the NIK."""

    form: str
    field: str
    title: str
    details: list[tuple[str, Any]]
    url: str
    created_on: str  # as shown: in the office's zone
    stored_on: Any  # for sorting


class RecipientHistoryView(BaseView):
    """/riwayat/: programmes, rosters, referrals and trainings a person appears in.

    The NIK is sent in the body of a POST, never in the URL, so it stays out of access logs,
    referrers and browser history; every search is logged, found or not.
    """

    route_base = "/riwayat"
    default_view = "search"
    class_permission_name = "RecipientHistory"
    method_permission_name = {"search": "read"}
    base_permissions = ["can_read"]

    @expose("/", methods=["GET", "POST"])
    @has_access
    def search(self) -> Any:
        nik = "".join((request.form.get("nik") or "").split()) if request.method == "POST" else ""
        problem = render_message(check_nik(nik)) if nik and check_nik(nik) else None
        found = [] if not nik or problem else self._appearances(nik)
        if nik and not problem:
            log_access("search", "riwayat", None, len(found))
        page = make_response(
            self.render_template("simpul/history.html", nik=nik, masked_nik=mask(nik), problem=problem, found=found)
        )
        page.headers["Cache-Control"] = "no-store"
        return page

    def _appearances(self, nik: str) -> list[Appearance]:
        specs = current_app.extensions.get("simpul_specs", {})
        models = current_app.extensions.get("simpul_models", {})
        sm = self.appbuilder.sm
        lang = current_lang()
        found: list[Appearance] = []
        for spec in specs.values():
            if not sm.has_access("can_read", permission_view_name(spec)):
                continue
            for part in all_tables(spec):
                model = models[part.slug]
                for f in part.live_fields:
                    if f.type != "nik":
                        continue
                    query = scoped(sa.select(model).where(getattr(model, column_name(f)) == nik), model)
                    query = query.limit(MAX_PER_FORM)
                    for record in db.session.execute(query).scalars():
                        found.append(self._appearance(spec, part, f.label.get(lang), record))
        return sorted(found, key=lambda a: (a.stored_on is not None, a.stored_on or 0), reverse=True)

    def _appearance(self, spec: Any, part: Any, field_label: str, record: Any) -> Appearance:
        top = record.parent if part.parent else record
        details = []
        for f in spec.live_fields:
            if f.type in ("reference", "choice", "date", "money", "region") and f.in_list:
                value = getattr(top, f.name if f.type == "reference" else column_name(f), None)
                if value not in (None, ""):
                    details.append(
                        (f.label.get(current_lang()), value if f.type == "reference" else format_value(f, value))
                    )
        url = url_for(f"FormView_{spec.slug}.show", pk=top.id)
        title = str(record) if not part.parent else f"{top} — {record}"
        return Appearance(
            str(lazy_text(spec.title)),
            field_label,
            title,
            details[:4],
            url,
            local_timestamp(top.created_on),
            top.created_on,
        )
