"""`flask simpul scheduler`: the process that runs periodic jobs, the job table and the outbox."""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler until stopped (Ctrl-C, SIGTERM); a second one started waits as a standby."""
    from app.access import redaction
    from app.workflows.runtime.scheduler import SchedulerService

    app_logger = current_app.logger  # the "app" logger, with Flask's handler on stderr
    app_logger.setLevel(logging.INFO)
    apscheduler_logger = logging.getLogger("apscheduler")
    if not apscheduler_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s in %(name)s: %(message)s"))
        apscheduler_logger.addHandler(handler)
    apscheduler_logger.setLevel(logging.WARNING)  # not a line per run
    redaction.install(app_logger, apscheduler_logger)

    service = SchedulerService(current_app._get_current_object())  # type: ignore[attr-defined]

    def stop(signum: int, frame: Any) -> None:
        service.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service.run()
