"""The periodic jobs the scheduler process runs: name → import path, interval from config.

APScheduler stores each as the same textual reference (`scheduler.run_periodic`) with the
job's name as its only argument, so its job store never holds a pickled function or object
of ours (nothing it could fail to unpickle and silently delete after an upgrade), and what a
name runs can change from one release to the next.

Other parts add theirs here, e.g. the workflow sweep:
`register_periodic("workflows.sweep", "app.workflows.sweep:run_sweep", "SCHEDULER_SWEEP_SECONDS")`
in this module's list below, so the scheduler process knows it when it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.workflows.runtime.lease import Clock


@dataclass(frozen=True)
class Periodic:
    """A periodic job: `target` ("package.module:function") is called with a `RunContext`."""

    name: str
    target: str
    seconds_key: str  # config key of its interval in seconds


@dataclass(frozen=True)
class RunContext:
    """What a periodic job gets: the app and engine, this scheduler's lease holder name and clock.

    `active()` turns False when the lease is lost or the process stops: a job checks it
    between units of work and returns (the next holder carries on where it stopped).
    """

    app: Any
    engine: sa.Engine
    holder: str
    clock: Clock
    active: Callable[[], bool]


PERIODIC: dict[str, Periodic] = {}


def register_periodic(name: str, target: str, seconds_key: str) -> None:
    """Add (or replace) a periodic job; takes effect when a scheduler next becomes active."""
    if ":" not in target:
        raise ValueError(f"{target!r}: expected 'package.module:function'")
    PERIODIC[name] = Periodic(name, target, seconds_key)


register_periodic("outbox.send", "app.workflows.runtime.mailer:send_outbox", "OUTBOX_SEND_SECONDS")
register_periodic("jobs.run", "app.workflows.runtime.jobs:run_queued_jobs", "JOB_POLL_SECONDS")
register_periodic("workflows.sweep", "app.workflows.sweep:run_sweep", "SCHEDULER_SWEEP_SECONDS")
