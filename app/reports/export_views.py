"""Exports of a form's list as the user sees it: .xlsx, or CSV with `,` or `;`.

`GET /forms/<form>/export/?format=xlsx|csv&sep=,|;` plus the list's own arguments (filters, order,
quick search) answers at once up to EXPORT_INLINE_MAX_ROWS rows. A larger export is queued as a
background job (`run_export`, in the scheduler process) that rebuilds the same selection as the
same user; the user is sent to `/ekspor/<job>`, which refreshes itself until the file is ready
and then offers it. Every export writes the access log: the form, the filters, the row count and
the first record ids.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext
from markupsafe import Markup

from app.access.personal import log_access
from app.database import write_intent
from app.extensions import db
from app.office import local_time, local_timestamp, utc_now
from app.reports import files
from app.reports.selection import Selection, form_view, list_selection, user_request
from app.reports.spreadsheet import MIME_CSV, MIME_XLSX, ExportDetails, write_csv, write_xlsx
from app.views.labels import current_lang
from app.workflows.runtime.jobs import JobContext, enqueue_job
from app.workflows.runtime.models import DONE, FAILED, Job

JOB_KIND = "app.reports.export_views:run_export"
PRINT_JOB_KIND = "app.reports.print_views:run_print"
REPORT_KINDS = (JOB_KIND, PRINT_JOB_KIND)  # the jobs whose page and file ExportJobView serves
MIMETYPES = {"csv": MIME_CSV, "xlsx": MIME_XLSX, "pdf": "application/pdf"}
FORMATS = ("xlsx", "csv")
SEPARATORS = {"comma": ",", "semicolon": ";", ",": ",", ";": ";"}
OWN_ARGS = ("format", "sep")  # this module's arguments, not the list's


def export_format() -> tuple[str, str]:
    """(format, CSV separator) asked for in the address; .xlsx unless csv is named."""
    fmt = request.args.get("format", "xlsx").strip().lower()
    sep = SEPARATORS.get(request.args.get("sep", ",").strip().lower(), ",")
    return (fmt if fmt in FORMATS else "xlsx"), sep


def download_name(selection: Selection, fmt: str) -> str:
    """<form>-<office date and time>.<xlsx|csv>."""
    return f"{selection.spec.slug}-{local_time(utc_now()):%Y%m%d-%H%M}.{fmt}"


def _who() -> str:
    user = getattr(g, "user", None)
    if user is None:
        return gettext("system")
    full = f"{user.first_name or ''} {user.last_name or ''}".strip()
    return f"{full} ({user.username})" if full and full != user.username else user.username


def write_export(target: Any, selection: Selection, fmt: str, sep: str, progress: Any = None) -> int:
    """Write the selection to a binary file in the chosen format; return the rows written."""
    if fmt == "csv":
        return write_csv(target, selection, sep, progress)
    return write_xlsx(target, selection, ExportDetails(_who(), local_timestamp(utc_now())), progress)


def log_export(selection: Selection, fmt: str, rows: int) -> None:
    """The access-log entry of an export: the first record ids, the row count and the filters."""
    note = f"{gettext('Export')} {fmt}: {selection.description()}"
    log_access("export", selection.spec.slug, list(selection.logged_ids), rows, note[:500])


def export_response(view: Any) -> Any:
    """The list's records as a file now, or (above EXPORT_INLINE_MAX_ROWS) a queued job's page."""
    fmt, sep = export_format()
    selection = list_selection(view)
    if selection.count > int(current_app.config["EXPORT_INLINE_MAX_ROWS"]):
        return redirect(url_for("ExportJobView.status", job_id=_queue(view, fmt, sep)))
    buffer = io.BytesIO()
    rows = write_export(buffer, selection, fmt, sep)
    log_export(selection, fmt, rows)
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype=MIME_CSV if fmt == "csv" else MIME_XLSX,
        as_attachment=True,
        download_name=download_name(selection, fmt),
    )


def _queue(view: Any, fmt: str, sep: str) -> int:
    """Queue the export as a job carrying who asked and the list's address (its filters and order)."""
    return queue_report(view, JOB_KIND, OWN_ARGS, format=fmt, sep=sep)


def list_address(view: Any, own_args: tuple[str, ...]) -> str:
    """The view's list with this request's arguments but `own_args` (a report's own choices)."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in own_args]
    return url_for(f"{type(view).__name__}.list") + ("?" + urlencode(kept) if kept else "")


def queue_report(view: Any, kind: str, own_args: tuple[str, ...], **choices: Any) -> int:
    """Queue a report job (export, print) carrying who asked, the list's address and `choices`."""
    args = {
        "form": view.spec.slug,
        "title": view.spec.title.get(current_lang()),  # for its page
        "username": g.user.username,
        "url": list_address(view, own_args),
        "lang": current_lang(),
        **choices,
    }
    db.session.rollback()  # end the read; the job row is this request's only write
    with write_intent(True):
        job_id = enqueue_job(db.session, kind, args, created_by=g.user.username)
        db.session.commit()
    return job_id


def run_export(
    job: JobContext,
    form: str,
    username: str,
    url: str,
    lang: str,
    format: str = "xlsx",
    sep: str = ",",
    title: str = "",
) -> dict[str, Any]:
    """The background job: the same export, rebuilt as `username` from the list's address."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with user_request(app, username, url, lang):
        selection = list_selection(readable_view(app, form, username))

        def write(out: Any, progress: Any) -> int:
            return write_export(out, selection, format, sep, progress)

        result = run_report(
            job, selection, download_name(selection, format), write, lambda n: log_export(selection, format, n)
        )
    return {**result, "format": format}


def readable_view(app: Any, form: str, username: str) -> Any:
    """The form's list view, if the job's user may still read the form (else PermissionError)."""
    from app.views.generated import permission_view_name

    view = form_view(form)
    if not app.appbuilder.sm.has_access("can_read", permission_view_name(view.spec)):
        raise PermissionError(f"{username} may no longer read {form}")
    return view


def run_report(
    job: JobContext,
    selection: Selection,
    name: str,
    write: Callable[[Any, Callable[[int], None]], int],
    log: Callable[[int], None],
) -> dict[str, Any]:
    """A report job's common part: write the file whole or not at all, log it, report its rows.

    Called inside `user_request`; `write(out, progress)` writes the file and returns its rows."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    total = selection.count
    job.progress(0, total=total, message=gettext("%(form)s: starting", form=selection.title))
    stored = files.file_name(job.job_id, name)
    directory = files.report_dir()
    handle, partial = tempfile.mkstemp(dir=directory, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as out:

            def progress(done: int) -> None:
                job.progress(done, total=max(total, done))

            rows = write(out, progress)
        os.replace(partial, directory / stored)  # whole or not at all
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    log(rows)
    response = app.process_response(app.response_class(""))  # writes the access log as a request does
    if response.status_code >= 500:
        (directory / stored).unlink(missing_ok=True)
        raise RuntimeError("the access log could not be written; the file was removed")
    job.progress(rows, total=rows)
    return {"file": stored, "name": name, "rows": rows}


class ExportJobView(BaseView):
    """A queued export's page and its download: the signed-in user's own jobs (or any, for Admin)."""

    route_base = "/ekspor"
    default_view = "status"

    def _job(self, job_id: int) -> Job:
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            abort(redirect(self.appbuilder.get_url_for_login))
        job = db.session.get(Job, job_id)
        if job is None or job.kind not in REPORT_KINDS or not files.may_download(job, user):
            abort(404)  # another user's export is not told to exist
        return job

    @expose("/<int:job_id>")
    def status(self, job_id: int) -> Any:
        """Progress while the job runs (the page reloads itself), then the download link."""
        job = self._job(job_id)
        result = job.result if isinstance(job.result, dict) else {}
        ready = job.state == DONE and not result.get(files.EXPIRED)
        running = job.state not in (DONE, FAILED)
        percent = 100 * job.progress // job.total if job.total else 0
        return self.render_template(
            "simpul/export_status.html",
            job=job,
            args=job.args or {},
            running=running,
            ready=ready,
            expired=bool(result.get(files.EXPIRED)),
            failed=job.state == FAILED,
            result=result,
            percent=percent,
            requested=local_timestamp(job.created_at),
            keep_days=current_app.config["REPORT_KEEP_DAYS"],
            download_url=url_for(".download", job_id=job.id),
            title=Markup.escape(gettext("Print") if job.kind == PRINT_JOB_KIND else gettext("Export")),
        )

    @expose("/<int:job_id>/unduh")
    def download(self, job_id: int) -> Any:
        """The finished file, for its owner (or an Admin) until it expires."""
        job = self._job(job_id)
        result = job.result if isinstance(job.result, dict) else {}
        path = files.stored_path(str(result.get("file") or "")) if job.state == DONE else None
        if path is None or result.get(files.EXPIRED):
            abort(404)
        mimetype = MIMETYPES.get(str(result.get("format")), MIME_XLSX)
        return send_file(path, mimetype=mimetype, as_attachment=True, download_name=str(result.get("name")))


def register_export_views(appbuilder: Any, specs: dict[str, Any]) -> None:
    """Add the export screens (the form lists' export route lives on each list view)."""
    files.configure(current_app.config)
    appbuilder.add_view_no_menu(ExportJobView)
