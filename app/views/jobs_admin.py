"""Admin screen of the background jobs (exports, imports, …) the scheduler process runs."""

from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext

from app.office import local_timestamp
from app.views.outbox_admin import state_label
from app.workflows.runtime.models import Job


def _progress(job: Job) -> str:
    if job.total:
        return f"{job.progress} / {job.total} ({100 * job.progress // job.total}%)"
    return str(job.progress or "")


class JobView(ModelView):
    """Every job with its state and progress (read-only)."""

    datamodel = SQLAInterface(Job)
    route_base = "/keamanan/tugas"
    base_permissions = ["can_list", "can_show"]
    list_title = show_title = lazy_gettext("Background jobs")
    list_columns = ["id", "kind", "state", "progress_text", "message", "created_by", "created_at", "finished_at"]
    show_columns = [
        "id",
        "kind",
        "args",
        "state",
        "progress_text",
        "message",
        "attempts",
        "created_by",
        "created_at",
        "run_after",
        "started_at",
        "finished_at",
        "holder",
        "result",
    ]
    search_columns = ["kind", "state", "created_by", "created_at"]
    base_order = ("id", "desc")
    formatters_columns = {
        "state": state_label,
        "created_at": local_timestamp,
        "run_after": local_timestamp,
        "started_at": local_timestamp,
        "finished_at": local_timestamp,
    }
    label_columns = {
        "id": lazy_gettext("Number"),
        "kind": lazy_gettext("Job"),
        "args": lazy_gettext("Arguments"),
        "state": lazy_gettext("State"),
        "progress_text": lazy_gettext("Progress"),
        "message": lazy_gettext("Message"),
        "attempts": lazy_gettext("Runs"),
        "created_by": lazy_gettext("Requested by"),
        "created_at": lazy_gettext("Requested on"),
        "run_after": lazy_gettext("Not before"),
        "started_at": lazy_gettext("Started on"),
        "finished_at": lazy_gettext("Finished on"),
        "holder": lazy_gettext("Scheduler"),
        "result": lazy_gettext("Result"),
    }


Job.progress_text = property(_progress)  # type: ignore[attr-defined]
