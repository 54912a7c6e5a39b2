"""Printing a form's list: a dialog, then the PDF (at once, or as a background job when large).

`GET /forms/<form>/print/` with the list's own arguments (filters, order, quick search) shows the
dialog: which layout (the list as it stands, or a layout made for the form: a daftar hadir, an
aid roster), paper and orientation, the title's and details' values (found where the layout's
`values:` say, e.g. in the angkatan the list is filtered on, and editable), and the date by the
signature. `POST` prints: up to PRINT_INLINE_MAX_ROWS rows the PDF comes back at once, a larger
print runs in the scheduler process (`run_print`) and the user follows its progress on the
report job page. Every print is logged with its form, filters and row count.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import abort, current_app, redirect, request, send_file, url_for
from flask_babel import gettext

from app.access.personal import PURPOSE_REQUIRED, is_personal, log_access, may_reveal, stated_purpose
from app.extensions import db
from app.office import local_time, utc_now
from app.reports.export_views import list_address, queue_report, readable_view, run_report
from app.reports.layouts import LIST_LAYOUT, Choice, choices
from app.reports.pdf.layout import ORIENTATIONS, PAPERS, PrintLayout
from app.reports.printing import layout_values, pinned_records, write_roster
from app.reports.selection import Selection, list_selection, user_request
from app.views.labels import current_lang
from app.workflows.runtime.jobs import JobContext

JOB_KIND = "app.reports.print_views:run_print"
OWN_ARGS = ("layout",)  # the dialog's own address argument, not the list's
MIME_PDF = "application/pdf"
DATE_FORMATS = ("date", "long_date", "day_date")


def office_today() -> date:
    """Today in the office's time zone (the date by the signature)."""
    return local_time(utc_now()).date()  # type: ignore[union-attr]


def _list_args() -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.args.items(multi=True) if k not in OWN_ARGS]


def _chosen(view: Any) -> tuple[list[Choice], Choice]:
    available = choices(db.session, view.spec, list_fields(view))
    name = request.values.get("layout") or LIST_LAYOUT
    chosen = next((c for c in available if c.name == name), None)
    if chosen is None:
        abort(404)
    return available, chosen


def _as_printed(layout: PrintLayout, paper: str, orientation: str) -> PrintLayout:
    from dataclasses import replace

    return replace(layout, paper=paper, orientation=orientation)


def list_fields(view: Any, layout: PrintLayout | None = None) -> list[Any]:
    """The fields the list screen shows, in its order (the list's own print layout prints them);
    with a layout, the fields it prints."""
    by_name = {f.name: f for f in view.spec.fields}
    names = view.list_columns if layout is None else [n.split(".")[0] for n in layout.fields]
    return [by_name[name] for name in names if name in by_name]


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def print_dialog(view: Any) -> Any:
    """GET: the dialog; POST: the print (at once or queued)."""
    available, chosen = _chosen(view)
    selection = list_selection(view)
    can_reveal = may_reveal(view.spec) and any(is_personal(f) for f in list_fields(view, chosen.layout))
    today = office_today()
    layout = chosen.layout
    found = layout_values(layout, pinned_records(view), today) if layout is not None else {}
    errors: dict[str, str] = {}
    formats = {d.key: d.format for d in layout.details if d.key} if layout else {}
    if request.method == "POST" and layout is not None:
        paper = request.form.get("paper", layout.paper)
        orientation = request.form.get("orientation", layout.orientation)
        if paper not in PAPERS:
            errors["paper"] = gettext("Choose F4 or A4.")
        if orientation not in ORIENTATIONS:
            errors["orientation"] = gettext("Choose portrait or landscape.")
        signed_on = _parse_date(request.form.get("signed_on", ""))
        if signed_on is None:
            errors["signed_on"] = gettext("Enter the date by the signature (dd-mm-yyyy).")
        values: dict[str, Any] = {}
        for key in layout.value_keys:
            text = request.form.get(f"value-{key}", "").strip()[:300]
            if formats.get(key) in DATE_FORMATS and text:
                values[key] = _parse_date(text)
                if values[key] is None:
                    errors[f"value-{key}"] = gettext("Not a date.")
            else:
                values[key] = text
        purpose = None
        if can_reveal and request.form.get("reveal"):
            purpose = stated_purpose(request.form.get("purpose"))
            if purpose is None:
                errors["purpose"] = gettext(PURPOSE_REQUIRED)
        if not errors and signed_on is not None:
            if purpose is not None:
                selection = list_selection(view, reveal=True)
            printed = _as_printed(layout, paper, orientation)
            return _print(view, selection, chosen.name, printed, values, signed_on, purpose)
        found = values
    page = view.render_template(
        "simpul/print_dialog.html",
        title=gettext("Print"),
        form_title=view.spec.title.get(current_lang()),
        available=available,
        chosen=chosen,
        layout=layout,
        values=found,
        formats=formats,
        errors=errors,
        today=today,
        selection=selection,
        papers=tuple(PAPERS),
        list_url=list_address(view, OWN_ARGS),
        dialog_args=_list_args(),
        lang=current_lang(),
        can_reveal=can_reveal,
        reveal=bool(request.form.get("reveal")),
        purpose=request.form.get("purpose", ""),
    )
    return (page, 422) if errors else page


def _print(
    view: Any,
    selection: Selection,
    name: str,
    layout: PrintLayout,
    values: dict[str, Any],
    signed_on: date,
    purpose: str | None,
) -> Any:
    if selection.count > int(current_app.config["PRINT_INLINE_MAX_ROWS"]):
        job_id = _queue(view, name, layout, values, signed_on, purpose)
        return redirect(url_for("ExportJobView.status", job_id=job_id))
    buffer = io.BytesIO()
    grouped = in_groups(selection, layout)
    printed = write_roster(buffer, grouped, layout, values, signed_on, current_lang())
    log_print(grouped, name, printed.rows, purpose)
    buffer.seek(0)
    response = send_file(buffer, mimetype=MIME_PDF, as_attachment=True, download_name=download_name(view, name))
    response.headers["Cache-Control"] = "no-store"  # personal data: not kept by the browser
    return response


def download_name(view: Any, layout: str) -> str:
    """<form>-<layout>-<office date and time>.pdf."""
    return f"{view.spec.slug}-{layout}-{local_time(utc_now()):%Y%m%d-%H%M}.pdf"


def log_print(selection: Selection, layout: str, rows: int, purpose: str | None = None) -> None:
    """The access-log entry of a print: the first record ids, the row count, the layout and filters,
    and the purpose when NIK and No. KK were printed in full."""
    note = f"{gettext('Print')} {layout}: {selection.description()}"
    if purpose is not None:
        note = f"{gettext('NIK and No. KK in full')}: {purpose}. {note}"
    log_access("print", selection.spec.slug, list(selection.logged_ids), rows, note[:500])


def _queue(
    view: Any, name: str, layout: PrintLayout, values: dict[str, Any], signed_on: date, purpose: str | None
) -> int:
    """Queue the print as a job carrying who asked, the list's address and the dialog's choices."""
    return queue_report(
        view,
        JOB_KIND,
        OWN_ARGS,
        layout=name,
        paper=layout.paper,
        orientation=layout.orientation,
        values={k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()},
        signed_on=signed_on.isoformat(),
        purpose=purpose,
        format="pdf",
    )


def in_groups(selection: Selection, layout: PrintLayout) -> Selection:
    """The selection ordered by the layout's group field first (each desa one run), if it groups."""
    return selection.grouped_by(layout.group_by.field.split(".")[0]) if layout.group_by else selection


def run_print(
    job: JobContext,
    form: str,
    username: str,
    url: str,
    lang: str,
    layout: str,
    paper: str,
    orientation: str,
    values: dict[str, Any],
    signed_on: str,
    purpose: str | None = None,
    title: str = "",
    format: str = "pdf",
) -> dict[str, Any]:
    """The background job: the same print, rebuilt as `username` from the list's address."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with user_request(app, username, url, lang):
        view = readable_view(app, form, username)
        chosen = next((c for c in choices(db.session, view.spec, list_fields(view)) if c.name == layout), None)
        if chosen is None or chosen.layout is None:
            raise LookupError(f"layout {layout!r} of {form} is gone or no longer fits the form")
        printed_layout = _as_printed(chosen.layout, paper, orientation)
        formats = {d.key: d.format for d in printed_layout.details if d.key}
        filled = {k: (_parse_date(v) if formats.get(k) in DATE_FORMATS and v else v) for k, v in values.items()}
        if purpose is not None and not may_reveal(view.spec):
            raise PermissionError(f"{username} may no longer see NIK and No. KK of {form} in full")
        selection = in_groups(list_selection(view, reveal=purpose is not None), printed_layout)

        def write(out: Any, progress: Any) -> int:
            return write_roster(
                out, selection, printed_layout, filled, date.fromisoformat(signed_on), lang, progress
            ).rows

        result = run_report(
            job, selection, download_name(view, layout), write, lambda n: log_print(selection, layout, n)
        )
    return {**result, "format": "pdf"}
