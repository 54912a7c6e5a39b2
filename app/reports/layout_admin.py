"""The panel's print layouts (Admin): every layout of every form, shipped or written here, and an
editor for its YAML. A save is checked as a shipped file is (YAML, the layout's keys, its form's
fields) and refused whole with every problem located by line; "restore" drops the stored text so
the shipped layout serves again. Stored layouts are served at once: the print dialog reads them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext, lazy_gettext

from app.extensions import db
from app.forms_engine.loader import DefinitionErrors
from app.forms_engine.messages import N_, Message
from app.forms_engine.names import is_name
from app.office import utc_now
from app.reports.layouts import NAME_LENGTH, StoredLayout, definition_text, field_types, form_of, read_stored
from app.reports.pdf.layout import shipped_layouts
from app.views.labels import current_lang, render_message
from app.views.workflow_dashboard import guarded

LAYOUTS_VIEW = "PrintLayouts"  # its permission name (Admin only: no role is given it)
MAX_DEFINITION = 64 * 1024


def _spec(slug: str | None) -> Any:
    return current_app.extensions.get("simpul_specs", {}).get(slug or "")


def check_definition(name: str, text: str) -> tuple[str | None, list[str]]:
    """(the form it prints, problems in the reader's language): a layout as the panel saves it."""
    if len(text.encode("utf-8")) > MAX_DEFINITION:
        return None, [gettext("At most %(num)s bytes.", num=MAX_DEFINITION)]
    form = form_of(text)
    spec = _spec(form)
    if spec is None:
        return None, [render_message(Message(N_("form: names no published form; write the form it prints")))]
    try:
        read_stored({"name": name, "definition": text}, field_types(spec))
    except DefinitionErrors as exc:
        return form, [e.render(gettext, current_lang()) for e in exc.errors]
    return form, []


class PrintLayoutsView(BaseView):
    """Print layouts: list, edit, add, restore the shipped one."""

    route_base = "/cetak/tata-letak"
    default_view = "list"
    class_permission_name = LAYOUTS_VIEW
    base_permissions = ["can_read", "can_edit"]
    title = lazy_gettext("Print layouts")

    @expose("/")
    @guarded("can_read", LAYOUTS_VIEW)
    def list(self) -> Any:
        stored = {row.name: row for row in db.session.scalars(sa.select(StoredLayout))}
        shipped = shipped_layouts()
        rows = []
        for name in sorted(set(stored) | set(shipped)):
            text = stored[name].definition if name in stored else shipped[name].read_text(encoding="utf-8")
            form, problems = check_definition(name, text)
            spec = _spec(form)
            rows.append(
                {
                    "name": name,
                    "form": spec.title.get(current_lang()) if spec else (form or "—"),
                    "stored": name in stored,
                    "shipped": name in shipped,
                    "problems": problems,
                    "changed": stored.get(name),
                }
            )
        db.session.rollback()
        return self.render_template(
            "simpul/print_layouts.html",
            title=gettext("Print layouts"),
            rows=rows,
            can_edit=self.appbuilder.sm.has_access("can_edit", LAYOUTS_VIEW),
        )

    @expose("/<name>", methods=["GET", "POST"])
    @guarded("can_edit", LAYOUTS_VIEW)
    def edit(self, name: str) -> Any:
        text = definition_text(db.session, name)
        if text is None:
            abort(404)
        if request.method != "POST":
            return self._form(name, text, [], new=False)
        return self._save(name, request.form.get("definition", ""), new=False)

    @expose("/baru", methods=["GET", "POST"])
    @guarded("can_edit", LAYOUTS_VIEW)
    def add(self) -> Any:
        if request.method != "POST":
            template = shipped_layouts().get("puskesos_kecamatan")
            return self._form("", template.read_text(encoding="utf-8") if template else "", [], new=True)
        name = request.form.get("name", "").strip()
        text = request.form.get("definition", "")
        if not is_name(name) or len(name) > NAME_LENGTH:
            return self._form(name, text, [gettext("The name: a-z, 0-9 and _, starting with a letter.")], new=True)
        if definition_text(db.session, name) is not None:
            return self._form(name, text, [gettext("A layout with this name exists: open it to change it.")], new=True)
        return self._save(name, text, new=True)

    @expose("/<name>/bawaan", methods=["POST"])
    @guarded("can_edit", LAYOUTS_VIEW)
    def restore(self, name: str) -> Any:
        row = db.session.scalar(sa.select(StoredLayout).where(StoredLayout.name == name))
        if row is None:
            abort(404)
        db.session.delete(row)
        db.session.commit()
        shipped = name in shipped_layouts()
        flash(
            gettext("The shipped layout '%(name)s' is used again.", name=name)
            if shipped
            else gettext("The layout '%(name)s' was deleted.", name=name),
            "success",
        )
        return redirect(url_for(".list"))

    def _save(self, name: str, text: str, new: bool) -> Any:
        text = text.replace("\r\n", "\n")
        form, problems = check_definition(name, text)
        if problems or form is None:
            return self._form(name, text, problems, new=new)
        row = db.session.scalar(sa.select(StoredLayout).where(StoredLayout.name == name))
        if row is None:
            row = StoredLayout(name=name)
            db.session.add(row)
        row.form, row.definition = form, text
        row.changed_on = utc_now()
        row.changed_by = getattr(g.get("user"), "username", None)
        db.session.commit()
        flash(gettext("The layout '%(name)s' is saved; prints use it from now on.", name=name), "success")
        return redirect(url_for(".list"))

    def _form(self, name: str, text: str, problems: list[str], new: bool) -> Any:
        page = self.render_template(
            "simpul/print_layout_form.html",
            title=gettext("New print layout") if new else gettext("Print layout %(name)s", name=name),
            name=name,
            text=text,
            problems=problems,
            new=new,
            shipped=name in shipped_layouts(),
            stored=db.session.scalar(sa.select(StoredLayout.id).where(StoredLayout.name == name)) is not None,
        )
        return (page, 422) if problems else page


def register_layout_admin(appbuilder: Any) -> None:
    """The print layouts screen under Keamanan (Admin only)."""
    appbuilder.add_view(
        PrintLayoutsView, "menu_tata_letak", label=lazy_gettext("Print layouts"), icon="fa-print", category="Security"
    )
