"""The workflow at work on stored records: states, stays, timers and the timeline.

A record's state is a column of its form table (the workflow's state field), changed only here:

- `record_created`: a new record starts in the initial state: an Event "created" and its first
  stay. Records saved through the ORM (screens, API, grid) get it from the flush hook
  (`install_record_hooks`, installed by app/views/generated.py), in the same transaction as the
  record; the hook also keeps the open stay's region current when the record's region changes,
  and closes the open stay of a deleted record (its unfired timers go, the timeline stays).
- `take_transition`: one step of a user: checked (transitions.check_transition, and the values
  it writes by the engine's rules); refused, nothing is written; taken, the record gets the new
  state and the step's `set` values, the timeline an Event "transition" with the comment, the
  audit trail the changed fields, and the record a new stay (`enter_state`).
- `enter_state`: closes the open stay (left_at; its unfired timers deleted) and opens the next
  (seq + 1) with its deadline and one Timer row per ladder level (ladder.Ladder.timers), counted
  in the office's working-day calendar (holidays.py). Re-entering a state starts a new ladder.
- `refresh_stay_timers`: a stay's deadline and unfired timers computed again (holidays.recompute_due).

Times passed in are aware (UTC or any zone); the tables hold naive UTC. No Flask: the caller
says who acts (`Actor`) and which calendar counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.forms_engine.fieldtypes import Invalid, check, column_name, convert
from app.forms_engine.messages import N_, Message
from app.forms_engine.record import validate_values
from app.forms_engine.spec import FormSpec

from .calendar import WorkingCalendar
from .clock import aware
from .ladder import Ladder
from .models import event_table, stay_table, timer_table
from .spec import StateSpec, WorkflowSpec
from .transitions import check_transition, label, values_after

CREATED, TRANSITION, MOVED = "created", "transition", "moved"


@dataclass(frozen=True)
class Actor:
    """Who acts: a user's id and name (None: the system, e.g. a publish or the demo)."""

    id: int | None
    name: str | None


SYSTEM = Actor(None, "sistem")


def db_time(at: datetime) -> datetime:
    """An aware instant as the core tables store it: naive UTC."""
    return aware(at).replace(tzinfo=None)


def from_db(stored: datetime) -> datetime:
    """A stored (naive UTC) time as an aware UTC instant."""
    return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


def _workflow(spec: FormSpec) -> WorkflowSpec:
    if spec.workflow is None:
        raise ValueError(f"form {spec.slug!r} has no workflow")
    return spec.workflow


def _calendar(conn: sa.Connection, calendar: WorkingCalendar | None) -> WorkingCalendar:
    if calendar is not None:
        return calendar
    from .holidays import office_calendar  # it imports this module

    return office_calendar(conn)


def record_table(spec: FormSpec) -> sa.Table:
    """The form's table with its typed columns (for reading and writing one record)."""
    from app.forms_engine.tables import build_table

    return build_table(spec, sa.MetaData(), None)


# ---------------------------------------------------------------------------
# Stays and timers


def open_stay(conn: sa.Connection, form: str, record_id: int) -> sa.Row | None:
    """The record's current stay (None: it has none, e.g. its form has no workflow yet)."""
    s = stay_table
    return conn.execute(
        sa.select(s).where(s.c.form == form, s.c.record_id == record_id, s.c.left_at.is_(None)).order_by(s.c.id.desc())
    ).first()


def leave_state(conn: sa.Connection, form: str, record_id: int, at: datetime) -> sa.Row | None:
    """Close the record's open stay at `at`: its unfired timers are deleted (the sweep must not fire them)."""
    stay = open_stay(conn, form, record_id)
    if stay is None:
        return None
    conn.execute(timer_table.delete().where(timer_table.c.stay_id == stay.id, timer_table.c.fired_at.is_(None)))
    conn.execute(stay_table.update().where(stay_table.c.id == stay.id).values(left_at=db_time(at)))
    return stay


def _timer_rows(stay_id: int, state: StateSpec, calendar: WorkingCalendar, entered_at: datetime) -> list[dict]:
    return [
        {"stay_id": stay_id, "level": t.level, "due_at": db_time(t.at), "attempts": 0}
        for t in Ladder(state, calendar).timers(entered_at)
    ]


def enter_state(
    conn: sa.Connection,
    spec: FormSpec,
    record_id: int,
    state: str,
    at: datetime,
    user: Actor | None,
    region_code: str | None,
    *,
    calendar: WorkingCalendar | None = None,
) -> int:
    """Close the open stay and open the record's next one in `state` at `at`; return its id.

    Its deadline and timers come from the state's SLA and ladder in `calendar` (default: the
    office's, from the holiday table). The state column itself is the caller's to write.
    """
    workflow = _workflow(spec)
    target = workflow.state(state)
    if target is None:
        raise ValueError(f"{state!r} is not a state of {spec.slug!r}")
    calendar = _calendar(conn, calendar)
    at = aware(at, "at")
    leave_state(conn, spec.slug, record_id, at)
    s = stay_table
    seq = conn.execute(
        sa.select(sa.func.max(s.c.seq)).where(s.c.form == spec.slug, s.c.record_id == record_id)
    ).scalar()
    due = Ladder(target, calendar).due_at(at)
    stay_id = conn.execute(
        s.insert()
        .values(
            form=spec.slug,
            record_id=record_id,
            state=state,
            seq=(seq or 0) + 1,
            entered_at=db_time(at),
            due_at=db_time(due) if due is not None else None,
            left_at=None,
            entered_by=user.id if user else None,
            region_code=region_code,
        )
        .returning(s.c.id)
    ).scalar_one()
    timers = _timer_rows(stay_id, target, calendar, at)
    if timers:
        conn.execute(timer_table.insert(), timers)
    return stay_id


def refresh_stay_timers(
    conn: sa.Connection, stay: sa.Row, state: StateSpec, calendar: WorkingCalendar
) -> tuple[bool, int]:
    """A stay's deadline and unfired timers computed again; (deadline moved, timers added/moved/removed)."""
    entered = from_db(stay.entered_at)
    ladder = Ladder(state, calendar)
    due = ladder.due_at(entered)
    stored_due = db_time(due) if due is not None else None
    moved = stored_due != stay.due_at
    if moved:
        conn.execute(stay_table.update().where(stay_table.c.id == stay.id).values(due_at=stored_due))
    t = timer_table
    existing = {row.level: row for row in conn.execute(sa.select(t).where(t.c.stay_id == stay.id))}
    wanted = {timer.level: db_time(timer.at) for timer in ladder.timers(entered)}
    changed = 0
    for level, at in wanted.items():
        row = existing.get(level)
        if row is None:
            conn.execute(t.insert().values(stay_id=stay.id, level=level, due_at=at, attempts=0))
            changed += 1
        elif row.fired_at is None and row.due_at != at:
            conn.execute(t.update().where(t.c.id == row.id).values(due_at=at))
            changed += 1
    gone = [row.id for level, row in existing.items() if level not in wanted and row.fired_at is None]
    if gone:
        conn.execute(t.delete().where(t.c.id.in_(gone)))
        changed += len(gone)
    return moved, changed


def add_event(
    conn: sa.Connection,
    form: str,
    record_id: int,
    kind: str,
    at: datetime,
    user: Actor | None,
    *,
    transition: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    stay_id: int | None = None,
    level: int | None = None,
) -> int:
    """A line of the record's timeline; return its id."""
    return conn.execute(
        event_table.insert()
        .values(
            form=form,
            record_id=record_id,
            at=db_time(at),
            kind=kind,
            user_id=user.id if user else None,
            username=user.name if user else None,
            transition=transition,
            from_state=from_state,
            to_state=to_state,
            comment=comment,
            stay_id=stay_id,
            level=level,
        )
        .returning(event_table.c.id)
    ).scalar_one()


# ---------------------------------------------------------------------------
# Records


def record_created(
    conn: sa.Connection,
    spec: FormSpec,
    record_id: int,
    region_code: str | None,
    at: datetime,
    user: Actor | None,
    *,
    calendar: WorkingCalendar | None = None,
) -> int:
    """A new record starts in the initial state: its state column, an Event "created", its first stay."""
    workflow = _workflow(spec)
    table = sa.table(spec.table_name, sa.column("id"), sa.column(workflow.state_field))
    state_column = table.c[workflow.state_field]
    conn.execute(
        table.update()
        .where(table.c.id == record_id, sa.or_(state_column.is_(None), state_column != workflow.initial))
        .values({workflow.state_field: workflow.initial})
    )
    stay_id = enter_state(conn, spec, record_id, workflow.initial, at, user, region_code, calendar=calendar)
    add_event(conn, spec.slug, record_id, CREATED, at, user, to_state=workflow.initial, stay_id=stay_id)
    return stay_id


def region_changed(conn: sa.Connection, form: str, record_id: int, region_code: str | None) -> None:
    """Keep the open stay's region (who is notified) with the record's."""
    s = stay_table
    conn.execute(
        s.update()
        .where(s.c.form == form, s.c.record_id == record_id, s.c.left_at.is_(None))
        .values(region_code=region_code)
    )


def record_deleted(conn: sa.Connection, form: str, record_id: int, at: datetime) -> None:
    """A deleted record leaves its state: no timer of it fires again (its timeline is kept)."""
    leave_state(conn, form, record_id, aware(at, "at"))


def take_transition(
    conn: sa.Connection,
    spec: FormSpec,
    record_id: int,
    name: str,
    user_roles: Iterable[str],
    user: Actor | None,
    values: Mapping[str, Any],
    comment: str | None,
    now: datetime,
    *,
    calendar: WorkingCalendar | None = None,
) -> list[Message]:
    """Take step `name` on a record; return why not (empty: taken). Refused, nothing is written.

    `values`: fields the user fills in with the step (e.g. alasan_penolakan), by field name,
    checked by the engine's value rules; the state field is not among them. Whether the record
    lies in the user's working area, and the form's record rules, are the caller's (web) checks.
    """
    workflow = _workflow(spec)
    now = aware(now, "now")
    if workflow.state_field in values:
        return [Message(N_("the state is changed by the workflow's steps only"))]
    table = record_table(spec)
    row = conn.execute(sa.select(table).where(table.c.id == record_id)).first()
    if row is None:
        return [Message(N_("no such record"))]
    fields = {f.name: f for f in spec.live_fields if f.type != "child"}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        return [Message(N_("'%(name)s' is not a field of this form"), {"name": n}) for n in unknown]
    clean, errors = validate_values(spec, values, partial=True)
    if errors:
        return [
            Message(N_("%(field)s: %(problem)s"), {"field": label(fields[field].label), "problem": message})
            for field, messages in errors.items()
            for message in messages
        ]
    stored = {f.name: row._mapping[column_name(f)] for f in fields.values()}
    current = stored.get(workflow.state_field)
    problems = check_transition(workflow, current, name, list(user_roles), {**stored, **clean}, comment)
    if problems:
        return problems
    transition = workflow.transition(name)
    assert transition is not None  # checked above
    writes = dict(clean)
    for field, raw in values_after(workflow, transition).items():
        try:
            value = convert(fields[field], raw)
            problem = check(fields[field], value) if value is not None else None
        except Invalid as exc:
            problem = exc.message
        if problem is not None:  # a value the definition check let through and the field no longer takes
            return [Message(N_("%(field)s: %(problem)s"), {"field": label(fields[field].label), "problem": problem})]
        writes[field] = value
    state_column = table.c[column_name(fields[workflow.state_field])]
    updated = conn.execute(
        table.update()
        .where(table.c.id == record_id, state_column == current)
        .values(
            {column_name(fields[k]): v for k, v in writes.items()}
            | {"changed_on": db_time(now), "changed_by_fk": user.id if user else None}
        )
    )
    if updated.rowcount != 1:  # another step was taken meanwhile
        return [Message(N_("the record was changed meanwhile; open it again"))]
    _audit(conn, spec, record_id, now, user, {k: (stored.get(k), v) for k, v in writes.items()})
    stay_id = enter_state(
        conn, spec, record_id, transition.target, now, user, row._mapping["region_code"], calendar=calendar
    )
    add_event(
        conn,
        spec.slug,
        record_id,
        TRANSITION,
        now,
        user,
        transition=name,
        from_state=current,
        to_state=transition.target,
        comment=comment.strip() if comment and comment.strip() else None,
        stay_id=stay_id,
    )
    return []


def _audit(
    conn: sa.Connection,
    spec: FormSpec,
    record_id: int,
    at: datetime,
    user: Actor | None,
    changes: Mapping[str, tuple[Any, Any]],
) -> None:
    """The step's changed fields in the audit trail, as the ORM's writes are (app/access/audit.py)."""
    from app.access.audit import AuditEntry, plain

    found = {
        spec.field(name).id: [plain(before), plain(after)]
        for name, (before, after) in changes.items()
        if before != after
    }
    if found:
        conn.execute(
            sa.insert(AuditEntry.__table__).values(
                at=db_time(at),
                user_id=user.id if user else None,
                username=(user.name if user else None) or SYSTEM.name,
                form=spec.slug,
                record_id=record_id,
                action="update",
                changes=found,
            )
        )


# ---------------------------------------------------------------------------
# Records saved through the ORM (screens, API, grid): one flush hook for every session

_hooks: dict[str, Callable[..., Any]] = {}


def install_record_hooks(
    who: Callable[[], Actor | None], calendar_of: Callable[[sa.Connection], WorkingCalendar]
) -> None:
    """Give new records of workflow forms their first stay, and keep stays with their records, at each flush.

    `who` tells the acting user, `calendar_of` the office's calendar (both called at the flush).
    Listening once per process; apps rebuilt after a publish share the listener.
    """
    _hooks.update(who=who, calendar_of=calendar_of)
    if not sa.event.contains(orm.Session, "after_flush", _after_flush):
        sa.event.listen(orm.Session, "after_flush", _after_flush)


def _workflow_spec(obj: Any) -> FormSpec | None:
    spec = getattr(type(obj), "__spec__", None)
    return spec if isinstance(spec, FormSpec) and spec.workflow is not None else None


def _after_flush(session: orm.Session, _context: Any) -> None:
    created = [(s, o) for o in session.new if (s := _workflow_spec(o)) is not None and o.id is not None]
    deleted = [(s, o) for o in session.deleted if (s := _workflow_spec(o)) is not None and o.id is not None]
    moved = [
        (s, o)
        for o in session.dirty
        if (s := _workflow_spec(o)) is not None
        and "region_code" in sa.inspect(o).attrs
        and sa.inspect(o).attrs.region_code.history.has_changes()
    ]
    if not (created or deleted or moved):
        return
    conn = session.connection()
    now = datetime.now(UTC)
    user = _hooks["who"]() if "who" in _hooks else None
    calendar = _hooks["calendar_of"](conn) if created and "calendar_of" in _hooks else None
    for spec, obj in created:
        record_created(conn, spec, obj.id, obj.region_code, now, user, calendar=calendar)
    for spec, obj in moved:
        region_changed(conn, spec.slug, obj.id, obj.region_code)
    for spec, obj in deleted:
        record_deleted(conn, spec.slug, obj.id, now)


# ---------------------------------------------------------------------------
# A publish: records into the states of a new workflow version (app/forms_engine/publish.py)


def describe_moves(moves: Mapping[str | None, str], counts: Mapping[str | None, int], table: str) -> list[str]:
    """One line per move of a publish, for its notes (and its dry run's)."""
    return [
        f"{table}: {counts.get(old, 0)} record(s) {'without a state' if old is None else f'in {old}'} -> {new}"
        for old, new in sorted(moves.items(), key=lambda item: item[0] or "")
    ]


def workflow_published(
    conn: sa.Connection,
    old: FormSpec | None,
    new: FormSpec,
    counts: Mapping[str | None, int],
    now: datetime,
    *,
    calendar: WorkingCalendar | None = None,
    user: Actor | None = SYSTEM,
) -> list[str]:
    """After a publish's DDL: move records as `state_moves` says, each with a new stay and an Event "moved".

    A workflow new to the form puts every record without a state in the initial state, and gives
    records already in a state (a workflow put back) a stay there. A workflow left out closes the
    open stays (the state column stays, retired, with its values). A changed workflow gets the
    open stays' deadlines and timers computed again (a changed SLA or ladder). Returns notes.
    """
    from .definition import state_moves
    from .holidays import recompute_due

    now = aware(now, "now")
    s = stay_table
    if new.workflow is None:
        stays = [row.id for row in conn.execute(sa.select(s.c.id).where(s.c.form == new.slug, s.c.left_at.is_(None)))]
        for stay_id in stays:
            conn.execute(timer_table.delete().where(timer_table.c.stay_id == stay_id, timer_table.c.fired_at.is_(None)))
        if stays:
            conn.execute(s.update().where(s.c.id.in_(stays)).values(left_at=db_time(now)))
        return [f"{new.table_name}: workflow removed; {len(stays)} open stay(s) closed"] if stays else []
    workflow = new.workflow
    calendar = _calendar(conn, calendar)
    table = sa.table(new.table_name, sa.column("id"), sa.column(workflow.state_field), sa.column("region_code"))
    column = table.c[workflow.state_field]
    moves = state_moves(workflow, counts)
    for before, target in sorted(moves.items(), key=lambda item: item[0] or ""):
        where = column.is_(None) if before is None else column == before
        rows = conn.execute(sa.select(table.c.id, table.c.region_code).where(where).order_by(table.c.id)).all()
        conn.execute(table.update().where(where).values({workflow.state_field: target}))
        for row in rows:
            stay_id = enter_state(conn, new, row.id, target, now, user, row.region_code, calendar=calendar)
            add_event(conn, new.slug, row.id, MOVED, now, user, from_state=before, to_state=target, stay_id=stay_id)
    notes = describe_moves(moves, counts, new.table_name)
    if old is None or old.workflow is None:  # put back: records in a state that stays get a stay there
        stayless = conn.execute(
            sa.select(table.c.id, column, table.c.region_code)
            .where(
                column.in_(workflow.state_names),
                ~sa.exists().where(s.c.form == new.slug, s.c.record_id == table.c.id, s.c.left_at.is_(None)),
            )
            .order_by(table.c.id)
        ).all()
        for row in stayless:
            state = row._mapping[workflow.state_field]
            stay_id = enter_state(conn, new, row.id, state, now, user, row.region_code, calendar=calendar)
            add_event(conn, new.slug, row.id, MOVED, now, user, from_state=state, to_state=state, stay_id=stay_id)
        if stayless:
            notes.append(f"{new.table_name}: {len(stayless)} record(s) get a stay in their state")
    elif old.workflow != workflow:
        done = recompute_due(conn, calendar, now, {new.slug: new})
        if done.stays or done.timers:
            notes.append(f"{new.table_name}: deadlines of {done.stays} open stay(s), {done.timers} timer(s) recomputed")
    return notes
