"""Import screens: upload an Excel/CSV file, confirm which column fills which field, import all rows or none.

    GET  /import/<slug>/                    the upload page
    POST /import/<slug>/                    upload (xlsx or CSV, checked by content; size limited)
    GET  /import/<slug>/<token>/            the mapping page: a field (or "ignore") per column
    POST /import/<slug>/<token>/            import now (small files) or as a background job (large)
    GET  /import/<slug>/<token>/annotated   the refused file back, with its problems per row
    GET  /import/job/<id>                   a background import's progress and result
    GET  /import/registry/                  a registry extract (DTKS/DTSEN) for a roster form
    POST /import/registry/                  apply it: registered or not, desil; who entered or left

Every route needs the form's `can_add` permission (`form_<form>`, as its add screen); rows that
update stored records need `can_edit` too, and so does a registry extract. Each import is logged
in the access log.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext

from app.access.personal import is_personal
from app.extensions import db
from app.forms_engine.identity import mask
from app.forms_engine.spec import FormSpec
from app.reports.imports.command import run_import, run_registry_import
from app.reports.imports.errors import ImportFileError
from app.reports.imports.job import JOB_KIND
from app.reports.imports.lookups import RecordNames
from app.reports.imports.mapping import PARENT, auto_mapping, importable_fields
from app.reports.imports.reading import Table, cell_text, read_table
from app.reports.imports.registry import extract_table, registry_profile
from app.reports.imports.storage import annotated_path, store_upload, upload_bytes, upload_meta
from app.reports.imports.validation import key_choices
from app.views.labels import current_lang, render_message
from app.workflows.runtime.jobs import enqueue_job
from app.workflows.runtime.models import job_table

INLINE_ROWS = 5000  # more rows than this run as a background job (config IMPORT_INLINE_ROWS)
MAX_BYTES = 10 * 1024 * 1024  # config IMPORT_MAX_BYTES; MAX_CONTENT_LENGTH bounds the request itself
PREVIEW_ROWS = 5


def import_permission(spec: FormSpec) -> tuple[str, str]:
    """The (permission, view-menu) a user needs to import into a form: the form's add permission."""
    from app.views.generated import permission_view_name

    return "can_add", permission_view_name(spec)


def import_links(spec: FormSpec) -> dict[str, str]:
    """The list screen's import links the signed-in user may follow: the import, and the registry
    extract when the form has the registry's fields and the user may edit it."""
    from app.views.generated import permission_view_name

    sm = current_app.appbuilder.sm
    links: dict[str, str] = {}
    if sm.has_access(*import_permission(spec)):
        links["import"] = url_for("ImportView.upload", slug=spec.slug)
    if registry_profile(spec) is not None and sm.has_access("can_edit", permission_view_name(spec)):
        links["registry"] = url_for("ImportView.registry")
    return links


class ImportView(BaseView):
    """Imports into any form or child table the user may add records to."""

    route_base = "/import"
    default_view = "upload"

    def _spec(self, slug: str) -> FormSpec:
        """The form, when the signed-in user may import into it (else 404 / login)."""
        model = current_app.extensions.get("simpul_models", {}).get(slug)
        if model is None or model.__spec__.singleton:
            abort(404)
        spec = model.__spec__
        if not self.appbuilder.sm.has_access(*import_permission(spec)):
            abort(403)
        return spec

    def _own_upload(self, slug: str, token: str) -> dict[str, Any]:
        meta = upload_meta(token)
        if meta is None or meta["form"] != slug or meta["user_id"] != g.user.id:
            abort(404)
        return meta

    def _signed_in(self) -> bool:
        user = getattr(g, "user", None)
        return user is not None and user.is_authenticated

    @expose("/<slug>/", methods=["GET", "POST"])
    def upload(self, slug: str) -> Any:
        """The upload page; a POST keeps the file and opens its mapping page."""
        if not self._signed_in():
            return redirect(self.appbuilder.get_url_for_login)
        spec = self._spec(slug)
        lang = current_lang()
        if request.method == "POST":
            problem = self._take_upload(slug)
            if isinstance(problem, str):
                flash(problem, "danger")
            else:
                return redirect(url_for(".mapping", slug=slug, token=problem[0]))
        return self.render_template(
            "simpul/import_upload.html",
            title=gettext("Import into %(form)s", form=spec.title.get(lang)),
            fields=[(f.label.get(lang), f.required, f.type) for f in importable_fields(spec)],
            list_url=self._list_url(spec),
            max_mb=self._max_bytes() // (1024 * 1024),
        )

    def _max_bytes(self) -> int:
        return int(current_app.config.get("IMPORT_MAX_BYTES", MAX_BYTES))

    def _take_upload(self, slug: str, reader: Callable[[bytes], Table] = read_table) -> str | tuple[str, Table]:
        """The stored upload's token and its table as `reader` reads it, or the problem to show."""
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return gettext("Choose a file to import.")
        with upload.stream:  # a large upload is spooled to a temporary file: closed once read
            data = upload.read(self._max_bytes() + 1)
        if len(data) > self._max_bytes():
            return gettext("The file is larger than %(n)s MB.", n=self._max_bytes() // (1024 * 1024))
        try:
            table = reader(data)
        except ImportFileError as exc:
            return render_message(exc.message)
        return store_upload(data, upload.filename, slug, g.user.id, table.kind), table

    def _queue(self, slug: str, token: str, lang: str, **args: Any) -> Any:
        """Queue a large import as a background job of this user; its progress page."""
        job_id = enqueue_job(
            db.session,
            JOB_KIND,
            {"token": token, "slug": slug, "user_id": g.user.id, "lang": lang, "mapping": [], **args},
            created_by=g.user.username,
        )
        db.session.commit()
        return redirect(url_for(".job", job_id=job_id))

    def _inline_rows(self) -> int:
        return int(current_app.config.get("IMPORT_INLINE_ROWS", INLINE_ROWS))

    def _list_url(self, spec: FormSpec) -> str:
        slug = spec.parent or spec.slug
        return f"/forms/{slug}/list/"

    @expose("/<slug>/<token>/", methods=["GET", "POST"])
    def mapping(self, slug: str, token: str) -> Any:
        """The mapping page; a POST imports (at once, or queued as a job for a large file)."""
        if not self._signed_in():
            return redirect(self.appbuilder.get_url_for_login)
        spec = self._spec(slug)
        meta = self._own_upload(slug, token)
        sheet = request.values.get("sheet") or None  # a workbook's sheet; by default the first with rows
        try:
            table = read_table(upload_bytes(token), sheet)
        except ImportFileError as exc:
            flash(render_message(exc.message), "danger")
            return redirect(url_for(".upload", slug=slug))
        lang = current_lang()
        parent_label = self._parent_label(spec, lang)
        result = None
        chosen = auto_mapping(spec, table.header, parent_label)
        if request.method == "POST":
            chosen = [request.form.get(f"column-{i}") or None for i in range(len(table.header))]
            key = [k for k in (request.form.get("key") or "").split(",") if k]
            if key and tuple(key) not in key_choices(spec):
                key = []
            parent_id = request.form.get("parent_id", type=int)
            confirm = request.form.get("confirm_warnings") == "1"
            if len(table.rows) > self._inline_rows():
                return self._queue(
                    slug,
                    token,
                    lang,
                    mapping=chosen,
                    key=key,
                    parent_id=parent_id,
                    confirm_warnings=confirm,
                    sheet=table.sheet or None,
                )
            result = run_import(token, slug, chosen, key, parent_id, confirm, sheet=table.sheet or None, table=table)
        keys = key_choices(spec)
        return self.render_template(
            "simpul/import_mapping.html",
            title=gettext("Import into %(form)s", form=spec.title.get(lang)),
            filename=meta["filename"],
            sheet=table.sheet,
            sheets=table.sheets,
            header=table.header,
            preview=_preview(spec, table.rows[:PREVIEW_ROWS], chosen),
            rows=len(table.rows),
            chosen=chosen,
            fields=[(f.name, f.label.get(lang), f.required) for f in importable_fields(spec)]
            + ([(PARENT, parent_label, True)] if spec.parent else []),
            keys=[(",".join(k), " + ".join(spec.field(n).label.get(lang) for n in k)) for k in keys],
            key=request.form.get("key", ",".join(keys[0]) if keys else "")
            if request.method == "POST"
            else (",".join(keys[0]) if keys else ""),
            parents=self._parents(spec) if spec.parent else None,
            parent_id=request.form.get("parent_id", type=int),
            result=result,
            annotated_url=url_for(".annotated", slug=slug, token=token),
            list_url=self._list_url(spec),
        )

    def _parent_label(self, spec: FormSpec, lang: str) -> str:
        if not spec.parent:
            return ""
        models = current_app.extensions["simpul_models"]
        return models[spec.parent].__spec__.title.get(lang)

    def _parents(self, spec: FormSpec) -> list[tuple[int, str]]:
        """Parent records the user may see, for the screen's parent choice (first 500 by title)."""
        from app.access.scope import current_scope, scope_clause

        models = current_app.extensions["simpul_models"]
        parent = models[spec.parent]
        names = RecordNames(db.session, parent, scope_clause(parent, current_scope()))
        titled = {v: k for k, v in names.by_title.items() if v is not None}
        return sorted(((i, titled.get(i, f"#{i}")) for i in names.ids), key=lambda p: p[1])[:500]

    @expose("/registry/", methods=["GET", "POST"])
    def registry(self) -> Any:
        """A registry extract (DTKS/DTSEN) applied to a roster form: at once, or as a job when large."""
        if not self._signed_in():
            return redirect(self.appbuilder.get_url_for_login)
        from app.views.generated import permission_view_name

        lang = current_lang()
        models = current_app.extensions.get("simpul_models", {})
        forms = [
            (slug, model.__spec__.title.get(lang))
            for slug, model in models.items()
            if registry_profile(model.__spec__) is not None
            and self.appbuilder.sm.has_access("can_edit", permission_view_name(model.__spec__))
        ]
        if not forms:
            abort(403)
        result, slug, token = None, request.form.get("form") or forms[0][0], ""
        if request.method == "POST":
            if slug not in dict(forms):
                abort(403)
            taken = self._take_upload(slug, extract_table)
            if isinstance(taken, str):
                flash(taken, "danger")
            else:
                token, table = taken
                if len(table.rows) > self._inline_rows():
                    return self._queue(slug, token, lang, profile="registry")
                result = run_registry_import(token, slug, table=table)
        return self.render_template(
            "simpul/import_registry.html",
            title=gettext("Registry extract (DTKS/DTSEN)"),
            forms=forms,
            form=slug,
            result=result,
            annotated_url=url_for(".annotated", slug=slug, token=token) if token else "",
            max_mb=self._max_bytes() // (1024 * 1024),
        )

    @expose("/<slug>/<token>/annotated")
    def annotated(self, slug: str, token: str) -> Any:
        """The refused file with its problems (only for the user who uploaded it)."""
        if not self._signed_in():
            return redirect(self.appbuilder.get_url_for_login)
        self._spec(slug)
        meta = self._own_upload(slug, token)
        path = annotated_path(token)
        if path is None:
            abort(404)
        stem = meta["filename"].rsplit(".", 1)[0] or slug
        response = send_file(
            io.BytesIO(path.read_bytes()),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            as_attachment=True,
            download_name=f"{stem}-{gettext('errors')}.xlsx",
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/job/<int:job_id>")
    def job(self, job_id: int) -> Any:
        """A background import's progress (the page reloads itself) and, when done, its result."""
        if not self._signed_in():
            return redirect(self.appbuilder.get_url_for_login)
        row = db.session.execute(sa.select(job_table).where(job_table.c.id == job_id)).one_or_none()
        if row is None or row.kind != JOB_KIND or row.created_by != g.user.username:
            abort(404)
        args = row.args or {}
        spec = self._spec(args.get("slug", ""))
        return self.render_template(
            "simpul/import_job.html",
            title=gettext("Import into %(form)s", form=spec.title.get(current_lang())),
            job=row,
            result=row.result,
            annotated_url=url_for(".annotated", slug=spec.slug, token=args.get("token", "")),
            mapping_url=url_for(".mapping", slug=spec.slug, token=args.get("token", "")),
            list_url=self._list_url(spec),
        )


def _preview(spec: FormSpec, rows: list[list[Any]], chosen: list[str | None]) -> list[list[str]]:
    """The first rows as read, NIK and No. KK masked like everywhere else on the screens."""
    personal = {f.name for f in importable_fields(spec) if is_personal(f)}
    return [[mask(cell_text(v)) if chosen[i] in personal else cell_text(v) for i, v in enumerate(row)] for row in rows]


def register_import_views(appbuilder: Any, specs: dict[str, Any]) -> None:
    """Add the import screens (one view for every form; each route checks the form's permission)."""
    appbuilder.add_view_no_menu(ImportView)
