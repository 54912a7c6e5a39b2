"""Screens (ModelView) and REST APIs (ModelRestApi) generated from published specs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import abort, current_app, flash, g, has_request_context, redirect, request, send_file, session, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.exceptions import DatabaseException, FABException
from flask_appbuilder.utils.base import is_safe_redirect_url
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from app.access.personal import (
    PURPOSE_REQUIRED,
    is_personal,
    log_access,
    mask,
    may_reveal,
    personal_fields,
    revealing,
    shown,
    stated_purpose,
)
from app.access.scope import record_region, visible
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.messages import N_, Message
from app.forms_engine.record import input_fields, validate_values
from app.forms_engine.spec import FieldSpec, FormSpec
from app.office import local_timestamp, utc_now
from app.reports.import_views import import_links
from app.uploads import upload_path
from app.views.form_fields import CONFIRM_FIELD, SpecFormWidget, build_form, record_tables
from app.views.grid import grid_page
from app.views.history_tab import change_history
from app.views.interface import FormInterface, order_keys
from app.views.labels import FORMATTED_TYPES, current_lang, format_value, lazy_text, render_message
from app.views.list_filters import PagedListWidget, RequestFilters, filter_panel
from app.views.openapi import DocumentedModelApi
from app.views.record_checks import check_for_user
from app.views.related import child_count, related_tabs, still_used_message
from app.views.schemas import input_schema, output_schema
from app.views.workflow_steps import WorkflowStepsApi, WorkflowStepsView, workflow_context
from app.workflows import service as workflow_service
from app.workflows.holidays import office_calendar

ACTION_PERMISSIONS = {
    "view": "can_read",
    "add": "can_add",
    "edit": "can_edit",
    "delete": "can_delete",
    "reveal": "can_reveal",
}
VIEW_METHODS = {
    "list": "read",
    "show": "read",
    "file": "read",
    "download": "read",
    "action": "read",
    "api": "read",
    "api_read": "read",
    "api_get": "read",
    "api_column_add": "add",
    "api_column_edit": "edit",
    "api_readvalues": "read",
    "add": "add",
    "edit": "edit",
    "delete": "delete",
    "action_post": "delete",
    "grid": "add",
    "reveal": "reveal",
    "export": "read",
    "print": "read",
    "step": "edit",  # a workflow step (app/views/workflow_steps.py)
}
API_METHODS = {
    "get_list": "read",
    "get": "read",
    "info": "read",
    "related": "read",
    "post": "add",
    "put": "edit",
    "delete": "delete",
    "step": "edit",  # a workflow step, and the record's timeline (app/views/workflow_steps.py)
    "timeline": "read",
}


def permission_view_name(spec: FormSpec) -> str:
    """The FAB view-menu name whose permissions guard a form (child tables share the parent's)."""
    return f"form_{spec.parent or spec.slug}"


def menu_name(spec: FormSpec) -> str:
    """The menu item's name (its menu_access permission); distinct from the view's name."""
    return f"menu_{spec.slug}"


def _user_id() -> int | None:
    user = getattr(g, "user", None)
    return getattr(user, "id", None)


def stamp(item: Any, spec: FormSpec, is_new: bool) -> None:
    """Fill the system columns: who and when, and the record's region code."""
    now = utc_now()
    if is_new:
        item.created_on = now
        item.created_by_fk = _user_id()
    item.changed_on = now
    item.changed_by_fk = _user_id()
    item.region_code = record_region(item)


def _actor() -> workflow_service.Actor | None:
    """Who saves a record, for its workflow timeline (app/workflows/service.py's flush hook)."""
    user = getattr(g, "user", None) if has_request_context() else None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return workflow_service.Actor(user.id, user.username)


def _office_calendar(conn: Any) -> Any:
    """The office's working days, as the settings record (or config) names its district and zone."""
    return office_calendar(conn, current_app.config["DISTRICT"], current_app.config.get("TIME_ZONE") or None)


def _file_link(field: FieldSpec) -> property:
    def link(self: Any) -> Markup:
        key = getattr(self, field.name, None)
        if not key:
            return Markup("")
        view = f"FormView_{type(self).__spec__.slug}"
        url = url_for(f"{view}.file", pk=self.id, field_name=field.name)
        if field.type == "photo":
            return Markup('<a href="{0}"><img src="{0}" style="max-height:80px" alt=""></a>').format(url)
        return Markup('<a href="{}"><i class="fa fa-paperclip"></i> {}</a>').format(url, escape(key.rsplit("/", 1)[-1]))

    return property(link)


def _display_columns(spec: FormSpec, model: Any, fields: tuple[FieldSpec, ...]) -> list[str]:
    columns = []
    for f in fields:
        if f.type in ("file", "photo"):
            name = f"{f.name}__link"
            if not hasattr(model, name):
                setattr(model, name, _file_link(f))
            columns.append(name)
        elif f.type != "child":
            columns.append(f.name if f.type == "reference" else column_name(f))
    return columns


def _labels(spec: FormSpec) -> dict[str, Any]:
    labels: dict[str, Any] = {"created_on": lazy_gettext("Created on"), "changed_on": lazy_gettext("Changed on")}
    for f in spec.live_fields:
        labels[f.name] = lazy_text(f.label)
        labels[column_name(f)] = lazy_text(f.label)
        labels[f"{f.name}__link"] = lazy_text(f.label)
    return labels


def _filter_columns(fields: tuple[FieldSpec, ...]) -> list[str]:
    """Columns offered in the filter panel of screens and API (`filter: true`)."""
    return [
        f.name if f.type == "reference" else column_name(f)
        for f in fields
        if f.in_filters and f.type not in ("file", "photo")
    ]


def _blank_if_none(value: Any) -> Any:
    """FAB would print None."""
    return "" if value is None else value


def _formatters(spec: FormSpec) -> dict[str, Any]:
    formatters = (
        {
            column_name(f): (lambda value, f=f: format_value(f, value))
            for f in spec.live_fields
            if f.type in FORMATTED_TYPES
        }
        | {
            column_name(f): _blank_if_none
            for f in spec.live_fields
            if f.type not in FORMATTED_TYPES and f.type not in ("reference", "child", "file", "photo")
        }
        | {column_name(f): (lambda value: _blank_if_none(shown(value))) for f in personal_fields(spec)}
        | {f.name: _blank_if_none for f in spec.live_fields if f.type == "reference"}
    )
    return formatters | {name: local_timestamp for name in ("created_on", "changed_on")}


class FormModelView(RequestFilters, ModelView):
    """Base of the generated screens."""

    spec: FormSpec
    show_template = "simpul/show.html"

    def __init__(self) -> None:
        super().__init__()
        self.order_columns = [c for c in self.order_columns if c not in self.datamodel.personal_columns]

    def create_blueprint(self, appbuilder: Any, endpoint: str | None = None, static_folder: str | None = None) -> Any:
        blueprint = super().create_blueprint(appbuilder, endpoint, static_folder)
        blueprint.before_request(_drop_bad_paging_args)
        return blueprint

    @expose("/show/<int:pk>", methods=["GET"])
    @has_access
    def show(self, pk: int) -> Any:
        """The record, its child tables, and its change history (personal data masked)."""
        widgets = self._show(pk)
        if not revealing():  # a reveal is a POST: never a page to come back to
            self.update_redirect()
        item = self.datamodel.get(pk, self._base_filters)
        can_edit = self.appbuilder.sm.has_access("can_edit", self.class_permission_name)
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self._title(N_("%(form)s: %(record)s"), pk),
            widgets=widgets,
            related_views=self._related_views,
            child_counts=[child_count(view.datamodel.obj, pk) for view in self._related_views],
            related_tabs=related_tabs(item) if item is not None else [],
            changes=change_history(self.spec, pk),
            can_reveal=bool(personal_fields(self.spec)) and may_reveal(self.spec),
            reveal_url=url_for(f"{type(self).__name__}.reveal", pk=pk),
            revealed=revealing(),
            can_edit=can_edit,
            workflow=workflow_context(self, item, can_edit),
            can_delete=self.appbuilder.sm.has_access("can_delete", self.class_permission_name),
            edit_url=url_for(f"{type(self).__name__}.edit", pk=pk),
            delete_url=url_for(f"{type(self).__name__}.delete", pk=pk),
        )

    @expose("/export/")
    @has_access
    def export(self) -> Any:
        """The records the user sees, with the list's filters and order, as .xlsx or CSV (NIK and
        No. KK masked); large ones as a background job. Logged (app/reports/export_views.py)."""
        from app.reports.export_views import export_response

        return export_response(self)

    @expose("/print/", methods=["GET", "POST"])
    @has_access
    def print(self) -> Any:
        """The list's records printed as a roster (PDF): a dialog (layout, paper, values), then the
        file at once or as a background job; NIK and No. KK masked; logged (app/reports/print_views.py)."""
        from app.reports.print_views import print_dialog

        return print_dialog(self)

    @expose("/list/")
    @has_access
    def list(self) -> Any:
        """The list; a singleton form (office settings) opens its one record instead, or its add page."""
        if self.spec.singleton:
            _count, rows = self.datamodel.query(
                self._base_filters, order_column="id", order_direction="asc", page=0, page_size=1
            )
            first = rows[0].id if rows else None
            name = type(self).__name__
            return redirect(url_for(f"{name}.show", pk=first) if first is not None else url_for(f"{name}.add"))
        try:
            widgets = self._list()  # reads this request's filters into self._filters (its own: RequestFilters)
        except FABException as exc:
            flash(f"An error occurred: {exc}", "warning")
            return redirect(self.get_redirect())
        return self.render_template(
            self.list_template,
            title=self.list_title,
            widgets=widgets,
            panel=filter_panel(self),
            import_links=import_links(self.spec),
        )

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self) -> Any:
        """FAB's add page, titled "Tambah <form>"."""
        widget = self._add()
        if not widget:
            return self.post_add_redirect()
        return self.render_template(self.add_template, title=self._title(N_("Add %(form)s")), widgets=widget)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk: Any) -> Any:
        """FAB's edit page, titled "Ubah <form>: <record>"."""
        widgets = self._edit(pk)
        if not widgets:
            return self.post_edit_redirect()
        return self.render_template(
            self.edit_template,
            title=self._title(N_("Edit %(form)s: %(record)s"), pk),
            widgets=widgets,
            related_views=self._related_views,
        )

    def _title(self, template: str, pk: Any = None) -> Markup:
        """A page title from the form's title and the record's (both escaped: admins and users wrote them)."""
        item = self.datamodel.get(pk, self._base_filters) if pk is not None else None
        return Markup(escape(gettext(template))) % {
            "form": self.spec.title.get(current_lang()),
            "record": str(item) if item is not None else f"#{pk}",
        }

    def post_add_redirect(self) -> Any:
        return redirect(self._came_from())

    def post_edit_redirect(self) -> Any:
        return redirect(self._came_from())

    def post_delete_redirect(self) -> Any:
        return redirect(self._came_from(skip=request.path.replace("/delete/", "/show/")))

    def _came_from(self, skip: str | None = None) -> str:
        """After a save, back where the user came from: the list with its filters, or a record's
        page (a child row added there); this form's list when the way back is unknown."""
        for url in reversed(session.get("page_history", [])):
            path = urlsplit(url).path
            if path != skip and (path.endswith("/list/") or "/show/" in path) and is_safe_redirect_url(url):
                return url
        return url_for(f"{type(self).__name__}.list")

    def prefill_form(self, form: Any, pk: Any) -> None:
        """The edit form shows NIK and No. KK masked to everyone (kept if left so); the record
        page's logged reveal is the only way to see them in full."""
        for f in personal_fields(self.spec):
            if f.name in form:
                form[f.name].data = mask(form[f.name].data)
        for f in input_fields(self.spec):  # as clerks write them, and as the engine reads them back
            value = form[f.name].data if f.name in form else None
            if value is not None and f.type in ("date", "datetime", "money"):
                form[f.name].data = format_value(f, value)

    @expose("/reveal/<int:pk>", methods=["POST"])
    @has_access
    def reveal(self, pk: int) -> Any:
        """Show the record with NIK and No. KK in full, once; the access is logged with its purpose."""
        if self.datamodel.get(pk, self._base_filters) is None or not personal_fields(self.spec):
            abort(404)
        purpose = stated_purpose(request.form.get("purpose"))
        if purpose is None:
            flash(gettext(PURPOSE_REQUIRED), "danger")
            return redirect(url_for(f"{type(self).__name__}.show", pk=pk))
        g.simpul_reveal = True
        log_access("reveal", self.spec.slug, [pk], 1, purpose)
        return self.show(pk)

    def pre_add(self, item: Any) -> None:
        stamp(item, self.spec, is_new=True)

    def pre_delete(self, item: Any) -> None:
        """Refuse, saying why, to delete a record other records still point to (FAB flashes it)."""
        message = still_used_message(item, db.session)
        if message is not None:
            raise StillUsed(message)

    def get_action_permission_name(self, name: str) -> str:
        """The permission of a list action; an action the form does not have answers 404."""
        if name not in self.actions:
            abort(404)
        return super().get_action_permission_name(name)

    @expose("/download/<string:filename>")
    @has_access
    def download(self, filename: str) -> Any:
        """FAB's own upload route; Simpul serves files through /file/ (scoped), never here."""
        abort(404)

    def pre_update(self, item: Any) -> None:
        stamp(item, self.spec, is_new=False)

    @expose("/grid/", methods=["GET", "POST"])
    @has_access
    def grid(self) -> Any:
        """Fill the form for every row of a group at once (forms that declare `grid:`)."""
        return grid_page(self)

    @expose("/file/<int:pk>/<field_name>")
    @has_access
    def file(self, pk: int, field_name: str) -> Any:
        """Serve an uploaded file of a record the user may see."""
        item = self.datamodel.get(pk, self._base_filters)
        try:
            field = self.spec.field(field_name)
        except KeyError:
            abort(404)
        if item is None or field.type not in ("file", "photo") or field.retired:
            abort(404)
        key = getattr(item, field.name, None)
        path = upload_path(key) if key else None
        if path is None:
            abort(404)
        return send_file(path, as_attachment=field.type == "file", download_name=path.name)


class _OwnSchemas:
    """Stands in for FAB's Model2SchemaConverter: a request naming its `columns` gets the form's
    own output schema cut down to them, never a schema built from the bare model, so masking and
    every other output rule hold whatever columns are asked for."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema

    def convert(self, columns: list[str], *args: Any, **kwargs: Any) -> Any:
        return type(self.schema)(only=[c for c in columns if c in self.schema.fields])


class FormApi(RequestFilters, DocumentedModelApi):
    """Base of the generated REST APIs: input is validated by the engine, as on screens."""

    spec: FormSpec
    allow_browser_login = True

    def __init__(self) -> None:
        super().__init__()
        self.model2schemaconverter = _OwnSchemas(self.show_model_schema)

    def _reveal_refused(self) -> Any:
        """None when the request may go on (masked, or revealed and to be logged), else the refusal.

        ?reveal=true needs the form's `reveal` permission and a stated ?purpose=.
        """
        if request.args.get("reveal", "").lower() not in ("1", "true", "yes"):
            return None
        if not personal_fields(self.spec) or not may_reveal(self.spec):
            return self.response_403()
        if stated_purpose(request.args.get("purpose")) is None:
            return self.response_400(message=gettext(PURPOSE_REQUIRED))
        g.simpul_reveal = True
        return None

    def get_headless(self, pk: Any, **kwargs: Any) -> Any:
        refused = self._reveal_refused()
        if refused is not None:
            return refused
        response = super().get_headless(pk, **kwargs)
        if revealing() and response.status_code == 200:
            log_access("reveal", self.spec.slug, [int(pk)], 1, stated_purpose(request.args.get("purpose")))
        return response

    def get_list_headless(self, **kwargs: Any) -> Any:
        refused = self._reveal_refused()
        if refused is not None:
            return refused
        response = super().get_list_headless(**kwargs)
        if revealing() and response.status_code == 200:
            ids = response.json.get("ids", [])
            log_access("reveal", self.spec.slug, ids, len(ids), stated_purpose(request.args.get("purpose")))
        return response

    def _parent_model(self) -> Any:
        return self.datamodel.obj.parent.property.mapper.class_

    def _errors_response(self, errors: dict[str, list[Any]], warnings: dict[str, list[Any]] | None = None) -> Any:
        def rendered(found: dict[str, list[Any]]) -> dict[str, list[str]]:
            return {name: [render_message(m) for m in messages] for name, messages in found.items()}

        if warnings:
            return self.response(422, message=rendered(errors), warnings=rendered(warnings))
        return self.response_422(message=rendered(errors))

    def _validated(
        self, data: Any, item: Any | None
    ) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, list[Any]]]:
        """(clean values, errors, unconfirmed warnings); a view instance serves many threads, so nothing is kept on it."""
        if not isinstance(data, dict):
            return {}, {"_schema": []}, {}
        raw = {}
        if item is not None:
            for f in input_fields(self.spec):
                raw[f.name] = getattr(item, column_name(f))
        for key, value in data.items():
            if key in raw or any(f.name == key for f in input_fields(self.spec)):
                raw[key] = value
        unknown = [k for k in data if k not in {f.name for f in input_fields(self.spec)} | {"parent_id", CONFIRM_FIELD}]
        clean, errors = validate_values(self.spec, raw)
        for key in unknown:
            errors[key] = [Message(N_("unknown field"))]
        for f in input_fields(self.spec):
            if (
                f.type in ("file", "photo")
                and f.name in data
                and (item is None or data[f.name] != getattr(item, f.name))
            ):
                errors[f.name] = [Message(N_("files are uploaded through the screen"))]
        state = self.spec.state_field  # changed by the workflow's steps only: sent back unchanged at most
        if state is not None and state in data:
            kept = getattr(item, state) if item is not None else self.spec.workflow.initial  # type: ignore[union-attr]
            if data[state] != kept:
                errors[state] = [Message(N_("the state is changed by the workflow's steps only"))]
        for f in input_fields(self.spec):
            if f.type == "reference" and clean.get(f.name) is not None and f.name in data:
                target = self.datamodel.get_related_model(f.name)
                if visible(target, clean[f.name], db.session) is None:
                    errors[f.name] = [Message(N_("no such record"))]
        parent_id = data.get("parent_id", getattr(item, "parent_id", None))
        if self.spec.parent and visible(self._parent_model(), parent_id, db.session) is None:
            # Before any rule runs: rules must not answer for a parent outside the user's area.
            errors["parent_id"] = [Message(N_("no such parent record"))]
        if errors:
            return clean, errors, {}
        errors, warnings = check_for_user(
            db.session, self.spec, self.tables, self.specs, clean, getattr(item, "id", None), parent_id
        )
        if warnings and not errors and data.get(CONFIRM_FIELD) is not True:
            return clean, {CONFIRM_FIELD: [Message(N_("needs true to save despite the warnings"))]}, warnings
        return clean, errors, {}

    def _save(self, item: Any, clean: dict[str, Any], data: dict[str, Any], is_new: bool) -> Any:
        for f in input_fields(self.spec):
            if f.name in clean and f.type not in ("file", "photo"):
                setattr(item, column_name(f), clean[f.name])
        if self.spec.parent:
            parent = visible(self._parent_model(), data.get("parent_id"), db.session)
            if parent is None:
                return self._errors_response({"parent_id": [Message(N_("no such parent record"))]})
            item.parent = parent
        stamp(item, self.spec, is_new=is_new)
        try:
            if is_new:
                db.session.add(item)
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            return self.response_422(message=str(exc.orig))
        db.session.refresh(item)
        return self.response(201 if is_new else 200, id=item.id, result=self.show_model_schema.dump(item))

    def delete_headless(self, pk: Any) -> Any:
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        message = still_used_message(item, db.session)
        if message is not None:
            return self.response_422(message=message)
        try:
            self.datamodel.delete(item)
        except DatabaseException:  # a reference added meanwhile: the foreign key refused
            return self.response_422(
                message=gettext("The record could not be deleted because other records still use it.")
            )
        return self.response(200, message="OK")

    def _json_body(self) -> tuple[Any, Any]:
        """(the request's JSON body, None), or (None, the 4xx answer): never a 500 for a bad body."""
        if not request.is_json:
            return None, self.response_400(message=gettext("The request body is not valid JSON."))
        try:
            return request.get_json(), None
        except RequestEntityTooLarge:
            return None, self.response(413, message=gettext("The request body is too large."))
        except (BadRequest, RecursionError, ValueError):
            return None, self.response_400(message=gettext("The request body is not valid JSON."))

    def post_headless(self) -> Any:
        data, refused = self._json_body()
        if refused is not None:
            return refused
        clean, errors, warnings = self._validated(data, None)
        if errors:
            return self._errors_response(errors, warnings)
        return self._save(self.datamodel.obj(), clean, data, is_new=True)

    def put_headless(self, pk: Any) -> Any:
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        data, refused = self._json_body()
        if refused is not None:
            return refused
        clean, errors, warnings = self._validated(data, item)
        if errors:
            return self._errors_response(errors, warnings)
        if self.spec.parent and "parent_id" not in data:
            data = {**data, "parent_id": item.parent_id}
        return self._save(item, clean, data, is_new=False)


MAX_PAGE, MAX_PAGE_SIZE = 1_000_000, 100


def _paging_arg_ok(name: str, value: str) -> bool:
    """FAB reads any argument containing page_ / psize_ with int(): only sane integers may pass."""
    if "psize_" in name:
        return value.isascii() and value.isdigit() and len(value) <= 3 and 1 <= int(value) <= MAX_PAGE_SIZE
    if "page_" in name:
        return value.isascii() and value.isdigit() and len(value) <= 7 and int(value) <= MAX_PAGE
    return True


def _drop_bad_paging_args() -> Any:
    """A list or record page asked for with a page number or size FAB cannot read: the same page without them."""
    bad = [name for name, value in request.args.items(multi=True) if not _paging_arg_ok(name, value)]
    if not bad:
        return None
    kept = [(name, value) for name, value in request.args.items(multi=True) if name not in bad]
    return redirect(request.path + ("?" + urlencode(kept) if kept else ""), 303)


class StillUsed(Exception):
    """A delete refused because other records point to the record (its message says which)."""


def build_view(spec: FormSpec, models: dict[str, Any], related: list[type] | None = None) -> type[FormModelView]:
    """The list/show/add/edit screens of one form or child table."""
    model = models[spec.slug]
    fields = input_fields(spec)
    form = build_form(spec, models, lambda: db.session)
    list_cols = _display_columns(spec, model, tuple(f for f in fields if f.in_list))
    show_cols = _display_columns(spec, model, fields)
    edit_cols = (
        [f.name for f in fields if f.name != spec.state_field] + (["parent"] if spec.parent else []) + [CONFIRM_FIELD]
    )
    attrs: dict[str, Any] = {
        "spec": spec,
        "tables": record_tables(models),
        "specs": {slug: m.__spec__ for slug, m in models.items()},
        "datamodel": FormInterface(model),
        "route_base": f"/forms/{spec.slug.replace('__', '/')}",
        "list_template": "simpul/list.html",
        "list_widget": PagedListWidget,
        "extra_args": {"grid_url": f"/forms/{spec.slug}/grid/" if spec.grid else None},
        "class_permission_name": permission_view_name(spec),
        "method_permission_name": VIEW_METHODS,
        "base_permissions": list(ACTION_PERMISSIONS.values()),
        "list_title": lazy_text(spec.title),
        "show_title": lazy_text(spec.title),
        "add_title": lazy_text(spec.title),
        "edit_title": lazy_text(spec.title),
        "list_columns": list_cols or ["id"],
        "show_columns": show_cols + ["created_on", "changed_on"],
        "add_columns": edit_cols,
        "edit_columns": edit_cols,
        "add_form": form,
        "edit_form": form,
        "add_widget": SpecFormWidget,
        "edit_widget": SpecFormWidget,
        "search_columns": _filter_columns(fields),
        "label_columns": _labels(spec),
        "description_columns": {f.name: lazy_text(f.help) for f in fields if f.help},
        "formatters_columns": _formatters(spec),
        "base_order": tuple(order_keys(spec)[0]),
        "page_size": 25,
        "related_views": related or [],
    }
    bases = (WorkflowStepsView, FormModelView) if spec.workflow is not None else (FormModelView,)
    return type(f"FormView_{spec.slug}", bases, attrs)


def build_api(spec: FormSpec, models: dict[str, Any]) -> type[FormApi]:
    """The REST API of one form or child table, under /api/v1/<slug>/."""
    model = models[spec.slug]
    fields = input_fields(spec)
    columns = [f.name for f in fields]
    attrs: dict[str, Any] = {
        "spec": spec,
        "tables": record_tables(models),
        "specs": {slug: m.__spec__ for slug, m in models.items()},
        "datamodel": FormInterface(model),
        "resource_name": spec.slug,
        "class_permission_name": permission_view_name(spec),
        "method_permission_name": API_METHODS,
        "base_permissions": list(ACTION_PERMISSIONS.values()),
        "openapi_spec_tag": spec.title.id,
        "list_columns": ["id", *columns],
        # Load in the list query everything the list schema writes out (else: a query per row).
        "list_select_columns": ["id", *columns, "region_code", "created_on", "changed_on"],
        "show_columns": ["id", *columns],
        "add_columns": [c for c in columns if c != spec.state_field],
        "edit_columns": [c for c in columns if c != spec.state_field],
        "order_columns": ["id", *[column_name(f) for f in fields if f.type != "multichoice" and not is_personal(f)]],
        "search_columns": _filter_columns(fields),
        "list_model_schema": output_schema(spec, models, with_children=False),
        "show_model_schema": output_schema(spec, models),
        "add_model_schema": input_schema(spec),
        "edit_model_schema": input_schema(spec, partial=True),
        "label_columns": {f.name: lazy_text(f.label) for f in fields},
        # FAB looks every description up in the catalogue; an empty one returns its header.
        "description_columns": {f.name: lazy_text(f.help or f.label) for f in fields},
        "list_title": lazy_text(spec.title),
        "show_title": lazy_text(spec.title),
        "add_title": lazy_text(spec.title),
        "edit_title": lazy_text(spec.title),
        "base_order": tuple(order_keys(spec)[0]),
        "page_size": 25,
    }
    bases = (WorkflowStepsApi, FormApi) if spec.workflow is not None else (FormApi,)
    return type(f"FormApi_{spec.slug}", bases, attrs)


def register_form(appbuilder: Any, spec: FormSpec, models: dict[str, Any]) -> None:
    """Add the menu entry, screens and API of one form (child tables as related views)."""
    if spec.workflow is not None:  # first stay of new records, stays kept with their records
        workflow_service.install_record_hooks(_actor, _office_calendar)
    # Every class is built before any is added, so a form that fails to build leaves nothing behind.
    children = [(build_view(child, models), build_api(child, models)) for child in spec.children]
    view = build_view(spec, models, related=[child_view for child_view, _ in children])
    api = build_api(spec, models)
    for child_view, child_api in children:
        appbuilder.add_view_no_menu(child_view)
        appbuilder.add_api(child_api)
    category = spec.category
    appbuilder.add_view(
        view,
        menu_name(spec),
        label=lazy_text(spec.title),
        icon=spec.icon,
        category=category.id if category else "",
        category_label=lazy_text(category) if category else "",
        category_icon="fa-folder-open-o" if category else "",
    )
    appbuilder.add_api(api)
