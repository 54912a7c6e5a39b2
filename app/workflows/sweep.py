"""The escalation sweep: a periodic job that fires each due ladder timer exactly once and queues its e-mails.

Every SCHEDULER_SWEEP_SECONDS the scheduler process (runtime/scheduler.py) runs `run_sweep`.
It walks the unfired timers that are due (`fired_at IS NULL AND due_at <= now`: the partial
index ix_simpul_wf_timer_due) of open stays (`left_at IS NULL`), oldest first, in batches:

1. **Prepare** (reads only, outside any write transaction): per timer, its form's published spec
   and workflow, the record's title (NIK masked) and region, the level's recipients
   (recipients.py), the rendered mail per recipient, in Bahasa Indonesia. A timer whose
   preparation fails (its record was deleted, its form no longer loads, …) is set aside.
2. **Write** the batch in one transaction: claim the timers with a conditional UPDATE
   (`SET fired_at = now … WHERE id IN (…) AND fired_at IS NULL AND its stay is open RETURNING id`;
   on SQLite that condition is read under the write lock, then the UPDATE: nobody else writes
   in between): a timer another sweep claimed first, or whose record left the state meanwhile,
   is not returned and nothing is written for it; then, for the claimed ones only, the outbox rows
   (`dedupe_key = wf:<timer>:<user>`, unique), the timeline events and the outcomes. Should the
   batch's transaction fail, it is rolled back and written again in halves, each half in its own
   transaction, halving again what fails, so one bad timer ends up retried alone and never holds
   up the others.
3. **Failures** (preparation or its own transaction) are counted on the timer (`attempts`,
   `last_error`, NIK masked) in a separate small transaction; at MAX_ATTEMPTS the timer is
   fired with outcome `failed` and is not tried again (visible on the overdue dashboard and
   in the table). The sweep goes on with the next timer.

`active()` is checked between batches: a scheduler that lost its lease stops, and the next
holder carries on from the rows still unfired.

**Exactly once.** A timer's claim (`fired_at`), its e-mails and its event are committed in one
transaction, and the claim only succeeds while `fired_at` is still NULL, so a sweep killed at
any point (SIGKILL included) has either committed all of a timer's work, which no later sweep
can claim again, or none of it, which the next sweep does. Each stay has its own timers (unique
per stay and level), so leaving and re-entering a state starts a fresh ladder.

Outcomes (`simpul_wf_timer.outcome`):
- `mailed`   a ladder level with recipients (their number in `recipients`);
- `nobody`   a ladder level whose role has nobody in the record's area: recorded and shown,
             never silently dropped;
- `overdue`  level 0, the deadline itself: the record is overdue (timeline and dashboard). The
             deadline mails nobody: the ladder's levels are what notify people, each naming
             who (and the first comes `after` working days later);
- `obsolete` a level (or state) the form's current workflow no longer has: fired, not mailed;
- `failed`   MAX_ATTEMPTS preparations or writes failed (`last_error` says why).

Every fired timer except obsolete and failed ones writes an event (kind `escalation`, its
`level` and `stay_id`; level 0 is the deadline) on the record's timeline.

**Performance.** A sweep of 10,000 due timers is a few statements per batch, not per timer
(bench/escalation_sweep.py: 1,000,000 referrals, 10,000 due). So the mails are inserted here
rather than through `outbox.queue_mail` one by one, with the same rules: subject and body
masked (`mask_identity_numbers`), held for the daily digest when the user chose it (the
preferences read once per batch), the row's `dedupe_key` unique. Per batch:
- reading: the due timers (an index range on due_at after the last batch), the records (one
  query per form), the preferences; the users who may be mailed once per sweep (recipients.py's
  Directory), each (role, area)'s recipients then found in memory;
- rendering: the template compiled once per sweep, with `outbox.render_mail`'s rules (the
  admin's wording when edited and renderable, else the default; Jinja's sandbox); wording of
  plain text and names is filled in by `str.format_map` rather than a Jinja render per mail;
- writing, on a thread of its own while the next batch is read and prepared (`_Pipeline`):
  SQLite: the claimable timers read under the write lock, then one statement per table over a
  JSON array of the rows (fire with outcomes, mails, events); PostgreSQL: claim and outcomes in
  one UPDATE over arrays, mails and events by COPY.

Forms published after the scheduler started are seen: the published specs are read from the
store whenever the schema version changed since the last sweep.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from jinja2 import ChainableUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.dialects import postgresql

from app.database import write_intent
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.identity import PERSONAL_TYPES, mask
from app.forms_engine.spec import FormSpec
from app.forms_engine.store import published_specs, schema_version
from app.workflows.calendar import WorkingCalendar
from app.workflows.holidays import load_calendar
from app.workflows.ladder import DEADLINE, waited_days
from app.workflows.models import event_table, stay_table, timer_table
from app.workflows.recipients import Directory, Recipient, area_for
from app.workflows.runtime.models import DIGEST, QUEUED, outbox_table, preference_table, template_table
from app.workflows.runtime.outbox import TEMPLATES, mask_identity_numbers
from app.workflows.runtime.periodic import RunContext
from app.workflows.spec import LadderLevel, WorkflowSpec

log = logging.getLogger(__name__)

MAILED, NOBODY, OVERDUE, OBSOLETE, FAILED = "mailed", "nobody", "overdue", "obsolete", "failed"
TEMPLATE = "escalation"
BATCH_SIZE = 500  # timers per batch: read, prepared and written together
MAX_ATTEMPTS = 5  # failed tries before a timer is given up (outcome "failed"); one try per sweep
_ERROR_LENGTH = 2000


def workflow_of(spec: FormSpec) -> WorkflowSpec | None:
    """The workflow of a published form (None: it has none)."""
    return getattr(spec, "workflow", None)


def dedupe_key(timer_id: int, user_id: int) -> str:
    """The outbox key of one escalation mail: one per (timer, recipient), ever."""
    return f"wf:{timer_id}:{user_id}"


class SweepError(Exception):
    """Why a timer cannot be prepared (its form, record or workflow); recorded on the timer."""


@dataclass
class SweepReport:
    """What one sweep did."""

    seen: int = 0  # due timers read
    fired: int = 0  # claimed and written by this sweep
    mailed: int = 0
    nobody: int = 0
    overdue: int = 0
    obsolete: int = 0
    mails: int = 0  # outbox rows queued (or held for a digest)
    errors: int = 0  # failed tries recorded (preparation or write)
    failed: int = 0  # timers given up at MAX_ATTEMPTS
    taken: int = 0  # prepared, but claimed elsewhere or left their state meanwhile
    batches: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(frozen=True)
class SweepSettings:
    """What a sweep needs from the installation (read from the app once per run)."""

    base_url: str
    district: str
    zone: str  # WIB, WITA, WIT or an IANA name
    whole_district_roles: frozenset[str]
    region_label: Callable[[str | None], str]
    batch_size: int = BATCH_SIZE
    max_attempts: int = MAX_ATTEMPTS

    @classmethod
    def from_app(cls, app: Any, **overrides: Any) -> SweepSettings:
        """From the app's config and office settings (inside an app context)."""
        from app.office import office_district, office_zone

        config = app.config
        names = app.extensions.get("simpul_region_names")
        values: dict[str, Any] = {
            "base_url": str(config.get("BASE_URL") or "http://127.0.0.1:8080"),
            "district": office_district(),
            "zone": office_zone(),
            "whole_district_roles": frozenset([*config["WHOLE_DISTRICT_ROLES"], config["AUTH_ROLE_ADMIN"]]),
            "region_label": (lambda code: region_text(names, code)) if names is not None else (lambda code: code or ""),
        }
        values.update(overrides)
        return cls(**values)


def run_sweep(ctx: RunContext) -> SweepReport:
    """The periodic job (`workflows.sweep`): fire every due timer while the scheduler is active."""
    report = sweep_due(ctx.engine, SweepSettings.from_app(ctx.app), now=ctx.clock(), active=ctx.active)
    if report.fired or report.errors:
        log.info(
            "escalation sweep: %s fired (%s mailed, %s nobody, %s overdue, %s obsolete), %s mails, %s errors, %s failed",
            report.fired,
            report.mailed,
            report.nobody,
            report.overdue,
            report.obsolete,
            report.mails,
            report.errors,
            report.failed,
        )
    return report


# --- what a sweep reads ---------------------------------------------------------------------


class _PublishedForms:
    """The published specs, read again only when the schema version changed (per database)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, dict[str, FormSpec], dict[str, str]]] = {}

    def get(self, conn: sa.Connection) -> tuple[dict[str, FormSpec], dict[str, str]]:
        key = conn.engine.url.render_as_string(hide_password=True)
        version = schema_version(conn)
        with self._lock:
            cached = self._cache.get(key)
            if cached is None or cached[0] != version:
                problems: dict[str, str] = {}
                specs = published_specs(conn, problems=problems)
                cached = (version, specs, problems)
                self._cache[key] = cached
        return cached[1], cached[2]


published_forms = _PublishedForms()


def region_text(names: Any, code: str | None) -> str:
    """A region as a mail names it: "Desa Hapalah, Kecamatan Banua Lawas", "Kecamatan Banua Lawas"."""
    if not code:
        return ""
    parts = code.split(".")
    own = names.name(code) or code
    if len(parts) == 4:
        kind = "Kelurahan" if parts[3].startswith("1") else "Desa"
        kecamatan = names.name(".".join(parts[:3]))
        return f"{kind} {own}, Kecamatan {kecamatan}" if kecamatan else f"{kind} {own}"
    if len(parts) == 3:
        return f"Kecamatan {own}"
    return own


_sandbox = SandboxedEnvironment(undefined=ChainableUndefined, keep_trailing_newline=True, autoescape=False)
# What the sweep's context names: a template of only text and these names is joined directly.
CONTEXT_NAMES = frozenset({"recipient", "form", "record", "region", "state", "waited", "level", "link"})


class _Text:
    """One template text compiled once per sweep.

    Text made of literal parts and bare context names (`{{ record }}`: the default wording and most
    edits) is rendered with `str.format_map`, which writes each value as Jinja's output does (`str`
    of a text or a number); anything else (filters, tags, attributes, other names) is rendered by
    Jinja in its sandbox. A Jinja render builds a fresh context per call: most of the sweep's
    rendering time, when every mail was rendered so.
    """

    def __init__(self, source: str) -> None:
        tree = _sandbox.parse(source)
        self.template = _sandbox.from_string(tree)
        self.personal = "recipient" in meta.find_undeclared_variables(tree)
        self.plain = _plain_format(tree)  # a format string, or None: Jinja renders it

    def render(self, context: Mapping[str, Any], names: list[str]) -> list[str]:
        """The text per recipient name (rendered once when it does not name the recipient)."""
        if self.plain is None:
            if not self.personal:
                return [self.template.render(context)] * len(names)
            return [self.template.render({**context, "recipient": name}) for name in names]
        values = _Values(context)
        if not self.personal:
            return [self.plain.format_map(values)] * len(names)
        rendered = []
        for name in names:
            values["recipient"] = name
            rendered.append(self.plain.format_map(values))
        return rendered


class _Values(dict[str, Any]):
    """A context for `str.format_map`: a name it lacks renders empty, as with ChainableUndefined."""

    def __missing__(self, key: str) -> str:
        return ""


def _plain_format(tree: nodes.Template) -> str | None:
    """The template as a format string of literal text and bare context names, or None if it holds more."""
    parts: list[str] = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data.replace("{", "{{").replace("}", "}}"))
            elif isinstance(node, nodes.Name) and node.ctx == "load" and node.name in CONTEXT_NAMES:
                parts.append(f"{{{node.name}}}")
            else:
                return None
    return "".join(parts)


@dataclass(frozen=True)
class _Wording:
    """A template's subject and body compiled."""

    subject: _Text
    body: _Text

    @classmethod
    def compile(cls, subject: str, body: str) -> _Wording:
        return cls(_Text(subject), _Text(body))

    def render(self, context: Mapping[str, Any], names: list[str]) -> list[tuple[str, str]]:
        """(subject, body) per recipient name; the subject on one line, as `outbox.render_mail` makes it."""
        subjects = self.subject.render(context, names)
        if not self.subject.personal:  # one subject for all: tidied once
            subjects = [" ".join(subjects[0].split())] * len(names) if names else []
        else:
            subjects = [" ".join(subject.split()) for subject in subjects]
        return list(zip(subjects, self.body.render(context, names), strict=True))


@dataclass
class _Template:
    """The escalation template compiled once per sweep: the admin's wording if it renders, else the default."""

    wording: _Wording
    default: _Wording | None = None  # set when `wording` is an admin's

    @classmethod
    def load(cls, conn: sa.Connection) -> _Template:
        default = TEMPLATES[TEMPLATE]
        compiled_default = _Wording.compile(default.subject, default.body)
        c = template_table.c
        stored = conn.execute(sa.select(c.subject, c.body, c.changed_by).where(c.name == TEMPLATE)).first()
        if stored is not None and stored.changed_by is not None:  # as outbox.render_mail: unedited rows follow the code
            try:
                return cls(_Wording.compile(stored.subject, stored.body), compiled_default)
            except TemplateError:
                log.exception("mail template %s as edited does not compile; the default is used", TEMPLATE)
        return cls(compiled_default)

    def render(self, context: Mapping[str, Any], names: list[str]) -> list[tuple[str, str]]:
        try:
            return self.wording.render(context, names)
        except TemplateError:
            if self.default is None:
                raise
            log.exception("mail template %s as edited does not render; the default is used", TEMPLATE)
            return self.default.render(context, names)


@dataclass
class _Due:
    """A due timer with its stay."""

    id: int
    stay_id: int
    level: int
    due_at: datetime
    attempts: int
    form: str
    record_id: int
    state: str
    entered_at: datetime
    region_code: str | None


# An outbox row as the sweep writes it, in OUTBOX_COLUMNS order (times added by the writer).
OUTBOX_COLUMNS = ("to_addr", "subject", "body_text", "state", "dedupe_key", "user_id")
EVENT_COLUMNS = ("form", "record_id", "at", "kind", "stay_id", "level")


@dataclass
class _Prepared:
    """What a claimed timer writes: its outcome, the mails and whether an event goes on the timeline."""

    due: _Due
    outcome: str
    mails: list[tuple[str, str, str, str, str, int]] = field(default_factory=list)  # OUTBOX_COLUMNS
    note: str | None = None  # why obsolete

    @property
    def event(self) -> bool:
        return self.outcome in (MAILED, NOBODY, OVERDUE)


@dataclass(frozen=True)
class _Step:
    """A (form, state, level) of the published workflow as the sweep needs it, looked up once."""

    state_label: str
    level: LadderLevel | None  # None: the deadline, or a level the workflow no longer has
    note: str | None = None  # why the level is obsolete


class _Sweep:
    """One run of the sweep over a database."""

    def __init__(self, engine: sa.Engine, settings: SweepSettings, now: datetime) -> None:
        self.engine = engine
        self.settings = settings
        self.now = now  # naive UTC, as stored
        self.instant = now.replace(tzinfo=UTC)
        self.report = SweepReport()
        self.specs: dict[str, FormSpec] = {}
        self.problems: dict[str, str] = {}
        self.template: _Template | None = None
        self.calendar: WorkingCalendar | None = None
        self.directory: Directory | None = None
        self.recipients: dict[tuple[str, str, str | None], list[Recipient]] = {}
        self.digest_users: set[int] = set()
        self.waited: dict[date, str] = {}
        self.regions: dict[str | None, str] = {}
        self.steps: dict[tuple[str, str, int], _Step] = {}
        self.writer = _PostgresWriter(now) if engine.dialect.name == "postgresql" else _SqliteWriter(now, engine)
        self.write_conn: sa.Connection | None = None  # the writer thread's (`transaction`)

    # reading

    def due(self, conn: sa.Connection, after: tuple[datetime, int] | None) -> list[_Due]:
        t, s = timer_table.c, stay_table.c
        query = (
            sa.select(
                t.id,
                t.stay_id,
                t.level,
                t.due_at,
                t.attempts,
                s.form,
                s.record_id,
                s.state,
                s.entered_at,
                s.region_code,
            )
            .select_from(_due_join())
            .where(t.fired_at.is_(None), t.due_at <= self.now, s.left_at.is_(None))
            .order_by(t.due_at, t.id)
            .limit(self.settings.batch_size)
        )
        if after is not None:  # after the last batch; `due_at >=` bounds the index range (an OR alone does not)
            query = query.where(t.due_at >= after[0], sa.or_(t.due_at > after[0], t.id > after[1]))
        return [_Due(*row) for row in conn.execute(query)]

    def start_batch(self, conn: sa.Connection) -> None:
        """Per batch: the published forms (when the schema changed), digest choices; per sweep: template,
        calendar, the users who may be mailed."""
        specs, problems = published_forms.get(conn)
        if specs is not self.specs:
            self.specs, self.steps = specs, {}
        self.problems = dict(problems)  # this batch's own: a table unreadable now must not stick to the cache
        p = preference_table.c
        self.digest_users = set(conn.execute(sa.select(p.user_id).where(p.daily_digest.is_(True))).scalars())
        if self.template is None:
            self.template = _Template.load(conn)
        if self.calendar is None:
            self.calendar = load_calendar(conn, self.settings.zone, self.settings.district)
        if self.directory is None:
            self.directory = Directory.load(conn, self.settings.district, self.settings.whole_district_roles)

    def records(self, conn: sa.Connection, batch: list[_Due]) -> dict[tuple[str, int], tuple[str, str | None]]:
        """(form, id) -> (title, region_code) of the batch's records that exist, one query per form."""
        found: dict[tuple[str, int], tuple[str, str | None]] = {}
        by_form: dict[str, set[int]] = defaultdict(set)
        for due in batch:
            if due.form in self.specs:
                by_form[due.form].add(due.record_id)
        for slug, ids in by_form.items():
            spec = self.specs[slug]
            title_field = spec.field(spec.title_field) if spec.title_field else None
            columns = [sa.column("id"), sa.column("region_code")]
            if title_field is not None:
                columns.append(sa.column(column_name(title_field)))
            table = sa.table(spec.table_name, *columns)
            try:
                with conn.begin_nested():  # on PostgreSQL an error would end the whole read transaction
                    rows = conn.execute(sa.select(*table.c).where(self.writer.among(table.c.id, ids))).all()
            except sa.exc.DBAPIError as exc:  # its table is missing or unreadable: those timers fail
                self.problems.setdefault(slug, f"{type(exc).__name__}: {exc.orig}")
                continue
            for row in rows:
                found[(slug, row[0])] = (
                    mask_identity_numbers(
                        _title(spec, title_field, row[2] if title_field is not None else None, row[0])
                    ),
                    row[1],
                )
        return found

    def recipients_of(self, level: LadderLevel, region_code: str | None) -> list[Recipient]:
        area = area_for(level.region_level, region_code, self.settings.district)
        key = (level.role, level.region_level, area)
        if key not in self.recipients:
            assert self.directory is not None
            self.recipients[key] = self.directory.recipients(level.role, level.region_level, region_code)
        return self.recipients[key]

    def step(self, spec: FormSpec, due: _Due) -> _Step:
        """The state's label and the ladder level of a timer (cached per form, state and level)."""
        key = (due.form, due.state, due.level)
        if key not in self.steps:
            workflow = workflow_of(spec)
            state = workflow.state(due.state) if workflow is not None else None
            label = state.label.id if state is not None else due.state
            level = next((lv for lv in state.ladder if lv.number == due.level), None) if state is not None else None
            note = None
            if level is None and due.level != DEADLINE:
                where = f"state {due.state!r}" if state is not None else f"the workflow of {due.form!r}"
                note = f"level {due.level} is no longer in {where}"
            self.steps[key] = _Step(label, level, note)
        return self.steps[key]

    def region(self, code: str | None) -> str:
        if code not in self.regions:
            self.regions[code] = self.settings.region_label(code)
        return self.regions[code]

    def waited_text(self, entered_at: datetime) -> str:
        assert self.calendar is not None
        entered = entered_at.replace(tzinfo=UTC)
        day = self.calendar.local_date(entered)
        if day not in self.waited:  # the count depends on the day of entry only
            self.waited[day] = f"{waited_days(self.calendar, entered, self.instant)} hari kerja"
        return self.waited[day]

    def prepare(self, due: _Due, records: Mapping[tuple[str, int], tuple[str, str | None]]) -> _Prepared:
        spec = self.specs.get(due.form)
        if spec is None:
            problem = self.problems.get(due.form)
            raise SweepError(
                f"form {due.form!r} cannot be loaded: {problem}" if problem else f"form {due.form!r} is not published"
            )
        if due.form in self.problems:
            raise SweepError(f"form {due.form!r} cannot be read: {self.problems[due.form]}")
        record = records.get((due.form, due.record_id))
        if record is None:
            raise SweepError(f"record #{due.record_id} of form {due.form!r} no longer exists")
        if due.level == DEADLINE:
            return _Prepared(due, OVERDUE)
        step = self.step(spec, due)
        if step.level is None:
            return _Prepared(due, OBSOLETE, note=step.note)
        title, region_code = record
        region_code = region_code or due.region_code
        people = self.recipients_of(step.level, region_code)
        if not people:
            return _Prepared(due, NOBODY)
        assert self.template is not None
        context = {
            "form": spec.title.id,
            "record": title,  # masked once when read, so that the mails rarely need masking again
            "region": self.region(region_code),
            "state": step.state_label,
            "waited": self.waited_text(due.entered_at),
            "level": due.level,
            "link": f"{self.settings.base_url.rstrip('/')}/forms/{due.form.replace('__', '/')}/show/{due.record_id}",
        }
        rendered = self.template.render(context, [person.name for person in people])
        digest = self.digest_users
        return _Prepared(
            due,
            MAILED,
            [
                (
                    person.email,
                    mask_identity_numbers(subject)[:998],
                    mask_identity_numbers(body),
                    DIGEST if person.id in digest else QUEUED,
                    dedupe_key(due.id, person.id),
                    person.id,
                )
                for person, (subject, body) in zip(people, rendered, strict=True)
            ],
        )

    # writing (on the writer thread)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A write transaction (on SQLite BEGIN IMMEDIATE, as `write_transaction`) on the writer's connection.

        One connection for all of a sweep's writes: app/database.py tells the write transactions
        of a thread from its other connections by the connections the thread wrote on before, and
        a pooled one that another thread has in a read transaction since would count as this
        thread's, leaving this transaction deferred (and its first write "database is locked").
        """
        if self.write_conn is None:
            self.write_conn = self.engine.connect()
        with write_intent(True):  # this BEGIN only
            transaction = self.write_conn.begin()
        with transaction:
            yield self.write_conn

    def close_writer(self) -> None:
        if self.write_conn is not None:
            self.write_conn.close()
            self.write_conn = None

    def write(self, prepared: list[_Prepared], *, bulk: bool = True) -> None:
        """Claim and write `prepared` in one transaction; those claimed elsewhere are skipped."""
        with self.transaction() as conn:
            claimed = self.writer.claim(conn, prepared)
            mine = [p for p in prepared if p.due.id in claimed]
            if mine:
                self.writer.write(conn, mine, bulk=bulk)
        report = self.report
        report.fired += len(mine)
        report.taken += len(prepared) - len(mine)
        for p in mine:
            report.count(p.outcome)
            report.mails += len(p.mails)

    def record_failures(self, failures: list[tuple[_Due, str]]) -> None:
        """Count each failed try on its timer; at max_attempts it is fired as `failed`."""
        if not failures:
            return
        t = timer_table.c
        limit = self.settings.max_attempts
        given_up = t.attempts + 1 >= limit
        with self.transaction() as conn:
            conn.execute(
                timer_table.update()
                .where(t.id == sa.bindparam("timer_id"), t.fired_at.is_(None))
                .values(
                    attempts=t.attempts + 1,
                    last_error=sa.bindparam("error"),
                    fired_at=sa.case((given_up, self.now), else_=None),
                    outcome=sa.case((given_up, FAILED), else_=None),
                ),
                [{"timer_id": due.id, "error": error} for due, error in failures],
            )
        for due, error in failures:
            self.report.errors += 1
            self.report.failed += due.attempts + 1 >= limit
            log.warning(
                "escalation timer %s (%s #%s level %s) failed: %s", due.id, due.form, due.record_id, due.level, error
            )

    # the run

    def prepare_batch(
        self, rows: list[_Due], records: Mapping[tuple[str, int], tuple[str, str | None]]
    ) -> tuple[list[_Prepared], list[tuple[_Due, str]]]:
        """Each timer prepared, or set aside with the reason it cannot be."""
        prepared: list[_Prepared] = []
        failures: list[tuple[_Due, str]] = []
        for due in rows:
            try:
                prepared.append(self.prepare(due, records))
            except Exception as exc:
                failures.append((due, _error_text(exc)))
        return prepared, failures

    def write_batch(self, prepared: list[_Prepared], failures: list[tuple[_Due, str]]) -> None:
        """Write a prepared batch and record its failures (on the writer thread)."""
        if prepared:
            self.write_parts(prepared, failures)
        self.record_failures(failures)
        self.report.batches += 1

    def write_parts(self, prepared: list[_Prepared], failures: list[tuple[_Due, str]]) -> None:
        """Write `prepared` in one transaction, or in halves while that fails: a failing timer ends up alone.

        A bad timer among 500 costs about 2 × 9 extra transactions, not 500 (one per timer).
        """
        try:
            self.write(prepared, bulk=len(prepared) > 1)
        except Exception as exc:
            if len(prepared) == 1:
                failures.append((prepared[0].due, _error_text(exc)))
                return
            log.info("escalation sweep: %s timers did not commit together; writing them in halves", len(prepared))
            half = len(prepared) // 2
            self.write_parts(prepared[:half], failures)
            self.write_parts(prepared[half:], failures)

    def run(self, active: Callable[[], bool]) -> SweepReport:
        after: tuple[datetime, int] | None = None
        with _Pipeline(self.write_batch, self.close_writer) as pipeline:
            while active():
                with write_intent(False), self.engine.connect() as conn:
                    rows = self.due(conn, after)
                    if not rows:
                        break
                    self.start_batch(conn)
                    records = self.records(conn, rows)
                self.report.seen += len(rows)
                after = (rows[-1].due_at, rows[-1].id)
                pipeline.put(*self.prepare_batch(rows, records))
                if len(rows) < self.settings.batch_size:
                    break
        return self.report


class _Pipeline:
    """Batches written on a thread of their own while the next one is read and prepared.

    The sweep's time is about half the database's (claims, inserts, commits: on PostgreSQL in the
    server, on SQLite in this process's C code and the disk) and half Python's (reading rows,
    rendering mails); the two overlap here, as the drivers give up Python's lock while the
    database works (the writers keep to one statement per table for that: an executemany on SQLite
    would take the lock back at every row). One batch waits at most: `put` blocks while the
    writer is busy with the one before. Each batch is still written in its own transactions
    (write_batch), so a crash leaves what it left without the thread. The writer's error is
    raised by `put` or on leaving the block; batches after an error are not written.
    """

    def __init__(
        self, write: Callable[[list[_Prepared], list[tuple[_Due, str]]], None], finish: Callable[[], None]
    ) -> None:
        self.write, self.finish = write, finish  # `finish`: on the writer thread, after the last batch
        self.pending: queue.Queue[tuple[list[_Prepared], list[tuple[_Due, str]]] | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="escalation-writer", daemon=True)

    def __enter__(self) -> _Pipeline:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            while (item := self.pending.get()) is not None:
                if self.error is None:
                    try:
                        self.write(*item)
                    except BaseException as exc:  # noqa: BLE001 - raised in the sweep's thread
                        self.error = exc
        finally:
            self.finish()

    def put(self, prepared: list[_Prepared], failures: list[tuple[_Due, str]]) -> None:
        if self.error is not None:
            raise self.error
        self.pending.put((prepared, failures))

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        self.pending.put(None)
        self.thread.join()
        if self.error is not None and value is None:
            raise self.error


# --- how a batch is written, per database ----------------------------------------------------


def _event_row(p: _Prepared, now: datetime) -> tuple[Any, ...]:
    return (p.due.form, p.due.record_id, now, "escalation", p.due.stay_id, p.due.level)


def _json_rows(rows: Any) -> str:
    """Rows as one JSON array of arrays: a single parameter that SQLite's json_each() reads back."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def _json_columns(count: int) -> str:
    return ", ".join(f"json_extract(value, '$[{i}]')" for i in range(count))


class _SqliteWriter:
    """SQLite: each table written by one statement over a JSON array of its rows (json_each).

    One statement is one step in SQLite, so the driver gives up Python's lock once per statement
    rather than once per row (an executemany does, and a writer thread then waits for the
    preparing one at every row), and the rows cross from Python as one text. The claim is a read
    of the batch's claimable timers under the write lock (BEGIN IMMEDIATE: nobody else writes until
    this transaction ends), then one UPDATE that fires them with their outcomes.
    """

    OUTBOX = (
        f"INSERT INTO {outbox_table.name} ({', '.join((*OUTBOX_COLUMNS, 'attempts', 'next_attempt_at', 'created_at'))}) "
        f"SELECT {_json_columns(len(OUTBOX_COLUMNS))}, 0, :now, :now FROM json_each(:rows) WHERE true "
        "ON CONFLICT (dedupe_key) DO NOTHING"  # the WHERE: SQLite's parser needs it before ON CONFLICT
    )
    EVENTS = (
        f"INSERT INTO {event_table.name} ({', '.join(EVENT_COLUMNS)}) "
        "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), :now, 'escalation', "
        "json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(:rows)"
    )
    CLAIMABLE = (
        f"SELECT json_group_array(t.id) FROM json_each(:ids) AS j JOIN {timer_table.name} AS t ON t.id = j.value "
        f"WHERE t.fired_at IS NULL AND EXISTS (SELECT 1 FROM {stay_table.name} AS s "
        "WHERE s.id = t.stay_id AND s.left_at IS NULL)"
    )
    FIRE = (
        f"UPDATE {timer_table.name} SET fired_at = :now, outcome = json_extract(v.value, '$[1]'), "
        "recipients = json_extract(v.value, '$[2]'), attempts = attempts + 1, "
        "last_error = json_extract(v.value, '$[3]') "
        f"FROM json_each(:rows) AS v WHERE {timer_table.name}.id = json_extract(v.value, '$[0]') "
        f"AND {timer_table.name}.fired_at IS NULL"
    )

    def __init__(self, now: datetime, engine: sa.Engine) -> None:
        self.now = now
        to_text = sa.DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        self.stored_now = to_text(now) if to_text is not None else now

    def among(self, column: sa.ColumnElement[int], ids: set[int]) -> sa.ColumnElement[bool]:
        """`column IN ids` with the ids as one JSON parameter (500 parameters cost SQLAlchemy more)."""
        listed = sa.text("SELECT value FROM json_each(:ids)").bindparams(ids=_json_rows(sorted(ids)))
        return column.in_(listed.columns(sa.column("value", sa.Integer)))

    def claim(self, conn: sa.Connection, prepared: list[_Prepared]) -> set[int]:
        """The ids of `prepared` this transaction may fire: unfired, of an open stay (fired by `write`)."""
        found = conn.exec_driver_sql(self.CLAIMABLE, {"ids": _json_rows([p.due.id for p in prepared])}).scalar()
        return set(json.loads(found or "[]"))

    def write(self, conn: sa.Connection, mine: list[_Prepared], *, bulk: bool = True) -> None:
        """Fire the claimed timers with their outcomes; their mails (a key queued before is skipped) and events."""
        now = self.stored_now
        fire = [(p.due.id, p.outcome, len(p.mails), p.note) for p in mine]
        conn.exec_driver_sql(self.FIRE, {"now": now, "rows": _json_rows(fire)})
        mails = [mail for p in mine for mail in p.mails]
        if mails:
            conn.exec_driver_sql(self.OUTBOX, {"now": now, "rows": _json_rows(mails)})
        events = [(p.due.form, p.due.record_id, p.due.stay_id, p.due.level) for p in mine if p.event]
        if events:
            conn.exec_driver_sql(self.EVENTS, {"now": now, "rows": _json_rows(events)})


class _PostgresWriter:
    """PostgreSQL: claim and outcome in one UPDATE over arrays, then the mails and events by COPY.

    A statement's parameters cost psycopg time per value (an `IN` list of 500 ids, an executemany of
    thousands of rows); arrays are a few parameters whatever their length, and COPY streams rows
    without statements. COPY has no ON CONFLICT: a mail whose key was queued before (none can be, as
    only this claim queues a timer's mails, and ids are never reused on PostgreSQL) fails the batch,
    which is then written in halves down to that timer alone, written with INSERT … ON CONFLICT DO
    NOTHING (`bulk=False`): its other mails go out, as they would have without COPY.
    """

    CLAIM = sa.text(
        f"""
        UPDATE {timer_table.name} AS t
        SET fired_at = :now, outcome = v.outcome, recipients = v.recipients, attempts = t.attempts + 1,
            last_error = v.note
        FROM unnest(CAST(:ids AS integer[]), CAST(:outcomes AS varchar[]), CAST(:counts AS integer[]),
                    CAST(:notes AS text[])) AS v(id, outcome, recipients, note)
        WHERE t.id = v.id AND t.fired_at IS NULL
          AND EXISTS (SELECT 1 FROM {stay_table.name} AS s WHERE s.id = t.stay_id AND s.left_at IS NULL)
        RETURNING t.id
        """
    )

    def __init__(self, now: datetime) -> None:
        self.now = now

    def among(self, column: sa.ColumnElement[int], ids: set[int]) -> sa.ColumnElement[bool]:
        return column == sa.any_(sa.bindparam("ids", sorted(ids), type_=postgresql.ARRAY(sa.Integer)))

    def claim(self, conn: sa.Connection, prepared: list[_Prepared]) -> set[int]:
        """Claim `prepared` and set each one's outcome: the ids claimed (unfired, of an open stay)."""
        return set(
            conn.execute(
                self.CLAIM,
                {
                    "now": self.now,
                    "ids": [p.due.id for p in prepared],
                    "outcomes": [p.outcome for p in prepared],
                    "counts": [len(p.mails) for p in prepared],
                    "notes": [p.note for p in prepared],
                },
            ).scalars()
        )

    def write(self, conn: sa.Connection, mine: list[_Prepared], *, bulk: bool = True) -> None:
        """The claimed timers' mails and events (their outcomes were set by the claim)."""
        now = self.now
        mails = [(*mail, 0, now, now) for p in mine for mail in p.mails]
        events = [_event_row(p, now) for p in mine if p.event]
        columns = (*OUTBOX_COLUMNS, "attempts", "next_attempt_at", "created_at")
        if not bulk:
            if mails:
                conn.execute(
                    postgresql.insert(outbox_table).on_conflict_do_nothing(index_elements=["dedupe_key"]),
                    [dict(zip(columns, mail, strict=True)) for mail in mails],
                )
            if events:
                conn.execute(event_table.insert(), [dict(zip(EVENT_COLUMNS, row, strict=True)) for row in events])
            return
        with conn.connection.driver_connection.cursor() as cursor:
            for table, names, rows in ((outbox_table, columns, mails), (event_table, EVENT_COLUMNS, events)):
                if rows:
                    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)


def _title(spec: FormSpec, title_field: Any, value: Any, record_id: int) -> str:
    """A record's title as its mapped class names it (FormRecord.__str__): NIK and KK masked."""
    if title_field is not None and value not in (None, ""):
        return str(mask(value)) if title_field.type in PERSONAL_TYPES else str(value)
    return f"#{record_id}"


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, SweepError) else str(exc)
    return mask_identity_numbers(text)[:_ERROR_LENGTH]


def sweep_due(
    engine: sa.Engine,
    settings: SweepSettings,
    *,
    now: datetime,
    active: Callable[[], bool] = lambda: True,
) -> SweepReport:
    """Fire every timer due by `now` (naive UTC) of an open stay, batch by batch while `active()`."""
    return _Sweep(engine, settings, now).run(active)


def _due_join() -> sa.Join:
    """Timers LEFT JOIN their stays: the due timers drive the query, through the partial index.

    With an inner join and no statistics (SQLite never gathers them on its own) SQLite walks every
    open stay (ix_simpul_wf_stay_open: left_at IS NULL) and looks up its timers: a full scan of a
    million stays per batch. It never reorders a LEFT JOIN, and `left_at IS NULL` does not turn it
    into an inner one (every timer has its stay: a foreign key), so the plan is the index range
    of due timers in due order, each stay by its primary key. PostgreSQL plans it alike.
    """
    return timer_table.join(stay_table, stay_table.c.id == timer_table.c.stay_id, isouter=True)


def due_timer_ids(conn: sa.Connection, now: datetime, limit: int | None = None) -> list[int]:
    """The ids of the timers a sweep at `now` finds (the raw indexed query; for checks and the benchmark)."""
    t, s = timer_table.c, stay_table.c
    query = (
        sa.select(t.id)
        .select_from(_due_join())
        .where(t.fired_at.is_(None), t.due_at <= now, s.left_at.is_(None))
        .order_by(t.due_at, t.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query).scalars())
