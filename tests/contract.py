"""The API against its own OpenAPI spec: a real server, a JWT, a schemathesis run.

Shared by tests/test_api_contract.py (a bounded run in CI) and bench/api_fuzz.py (the long
run). The database is served by gunicorn in its own process, configured as in production
(CSRF on, errors answered, not raised), so schemathesis sends real HTTP from this process
while the server works in another. Schemathesis runs as its CLI would (its engine: the
coverage phase's edge values, then generated cases) over every generated form API and the
region API, with a deterministic seed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema
from schemathesis.engine.statistic import Statistic

from tests.live_load import Gunicorn, api_token, server_env, serving

SPEC_PATH = "/api/v1/_openapi"
# Every generated form API and the region API; not FAB's login, menu or the spec itself.
FUZZED_PATHS = r"^/api/v1/(?!security/|menu/|_openapi)"
FORM_READS = r"^GET /api/v1/(?!security/|menu/|_openapi|wilayah/)"  # by label: method and path at once
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "ignored_auth",  # a call without a valid JWT is refused (401), never served
)
# Requests in flight at once (client threads, server processes): the two cores both work.
WORKERS = 2
FUZZ_USER = "kontrak"  # an Admin account: every operation is allowed, so every one is reached
FUZZ_PASSWORD = "kontrak-pass"


@contextlib.contextmanager
def api_server(database_url: str, upload_dir: str, log: Path, workers: int = WORKERS) -> Iterator[Gunicorn]:
    """gunicorn serving the database on a free loopback port, as `make run` would."""
    with serving(server_env(database_url, upload_dir), log, workers=workers) as server:
        yield server


def fuzz_token(base_url: str) -> str:
    """The fuzzing Admin's access JWT, from POST /api/v1/security/login."""
    return api_token(base_url, FUZZ_USER, FUZZ_PASSWORD)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Finding:
    """One distinct problem: where, what kind, the details, and a request that shows it."""

    operation: str
    kind: str
    detail: str
    reproduce: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.kind}\n{self.detail.strip()}\n  {self.reproduce}"


@dataclass
class FuzzReport:
    """What a run did and found."""

    operations: int = 0
    cases: int = 0
    cases_by_phase: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    seconds_by_phase: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def by_kind(self) -> Counter[str]:
        """How many distinct findings of each kind."""
        return Counter(f.kind for f in self.findings)


def fuzz(
    base_url: str,
    token: str,
    *,
    max_examples: int,
    seed: int = 20261201,
    max_time: int | None = None,
    shrink: bool = False,
    paths: str = FUZZED_PATHS,
    read_coverage: bool = True,
) -> FuzzReport:
    """Run schemathesis over the API at `base_url` with the JWT; each failed check or error is a finding.

    `read_coverage=False` leaves the forms' GET operations to the generated cases: their coverage
    cases are mostly FAB's one `q` parser, 18 times over (about 60% of all cases), so a bounded
    run spends its time on the writes, where every field type is stored.
    """
    headers = {"Authorization": f"Bearer {token}"}
    settings: dict[str, Any] = {
        "base-url": base_url,
        "request-timeout": 60,
        "continue-on-failure": True,  # one failure must not hide the cases after it
        "seed": seed,
        "cache": {"enabled": False},  # nothing learnt in one run steers the next, nor is written here
        "workers": WORKERS,
        "headers": headers,
        "generation": {
            "max-examples": max_examples,
            "deterministic": True,  # the same cases on every run (Hypothesis' derandomize)
            "database": "none",
            "no-shrink": not shrink,
        },
        # FAB's spec has no links between operations for a stateful run to follow.
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False} | {name: {"enabled": True} for name in CHECKS},
        # Every operation outside `paths` is switched off.
        "operations": [{"exclude-path-regex": paths, "enabled": False}],
    }
    if max_time is not None:
        settings["max-time"] = max_time
    if not read_coverage:
        settings["operations"].append({"include-name-regex": FORM_READS, "phases": {"coverage": {"enabled": False}}})
    config = schemathesis.Config.from_dict(settings)
    schema = schemathesis.openapi.from_url(base_url + SPEC_PATH, config=config, headers=headers)
    report = FuzzReport(operations=len(list(schema.get_all_operations())))
    statistic = Statistic()
    started = phase_started = time.perf_counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            statistic.on_scenario_finished(event.recorder)
            report.cases_by_phase[event.phase.value] += len(event.recorder.cases)
        elif isinstance(event, events.PhaseStarted):
            phase_started = time.perf_counter()
        elif isinstance(event, events.PhaseFinished) and event.phase.is_enabled:
            report.seconds_by_phase[event.phase.name.value] = time.perf_counter() - phase_started
        elif isinstance(event, events.NonFatalError):
            if isinstance(event.value, SystemError) and "recursion depth mismatch" in str(event.value):
                # CPython 3.11's AST recursion check tripping inside the fuzzer's own case generation
                # (no request was sent): the fuzzer's fault, not an answer of Simpul's.
                continue
            kind = f"error: {type(event.value).__name__}"
            report.findings.append(Finding(event.label, kind, str(event.value), event.info.code_sample or ""))
        elif isinstance(event, events.FatalError):
            raise event.exception
    report.seconds = time.perf_counter() - started
    report.cases = statistic.total_cases
    for operation, groups in statistic.failures.items():
        for group in groups.values():
            for failure in group.failures:
                report.findings.append(Finding(operation, failure.title, failure.message, group.code_sample or ""))
    return report
