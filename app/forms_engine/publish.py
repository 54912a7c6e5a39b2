"""Publish form definitions: one transaction that validates, dry-runs, migrates and versions.

A definition that is invalid, a change that would lose stored data, a form that another
publish changed since this one was prepared (`based_on`), or a set of forms from which no
working app can be built (`verify`) publishes nothing: the previous version stays live. On
success the schema version is bumped. The publish runs inside `schema_change`, holding the
schema lock exclusively, so no request runs while the tables change, and every request after
it is served by an app built for the new version (see schema_lock.py and app/live.py).

A form with a `workflow:` keeps its records in states: a version that removes a state still
holding records is refused (naming how many) unless its `moved:` says where they go; in the
same transaction as the DDL, records are moved (app/workflows/service.py: a new stay and an
Event "moved" each), a workflow new to a form puts its records in the initial state, and a
changed ladder gets the open stays' timers computed again. The dry run reports the moves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .changes import ChangeRefused, Plan, RowProblem, apply_plan, dry_run, plan_changes
from .fieldtypes import column_name
from .loader import DefinitionError, DefinitionErrors, carry_retired, check_change, check_references
from .messages import N_, Message
from .schema_lock import require_exclusive
from .serialize import to_definition
from .spec import FormSpec
from .store import dump_json, form_table, form_version_table, published_specs, published_versions, schema_state_table

if TYPE_CHECKING:
    from app.workflows.calendar import WorkingCalendar


@dataclass
class PublishReport:
    """What a publish did (or, for a dry run, would do), per form."""

    published: dict[str, int] = field(default_factory=dict)  # slug -> new version
    unchanged: list[str] = field(default_factory=list)
    plans: dict[str, Plan] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    schema_version: int = 0
    dry_run: bool = False


def _schema_version(conn: sa.Connection, changing: bool = True) -> int:
    """Check the schema lock is held when changing (publishers and requests wait for it); return the version."""
    if changing:
        require_exclusive(conn)
    table = schema_state_table
    row = conn.execute(sa.select(table.c.version).where(table.c.id == 1)).first()
    if row is None and changing:
        conn.execute(table.insert().values(id=1, version=0, changed_on=datetime.now()))
    return row.version if row is not None else 0


def _order(specs: Mapping[str, FormSpec]) -> list[str]:
    """Slugs with reference targets first (references are acyclic)."""
    done: list[str] = []

    def visit(slug: str) -> None:
        if slug in done or slug not in specs:
            return
        spec = specs[slug]
        for part in (spec, *spec.children):
            for f in part.live_fields:
                if f.type == "reference" and f.target and f.target != slug:
                    visit(f.target)
        if slug not in done:
            done.append(slug)

    for slug in sorted(specs):
        visit(slug)
    return done


def publish(
    conn: sa.Connection,
    candidates: Mapping[str, FormSpec],
    user: str,
    user_table: sa.Table | None = None,
    dry_run_only: bool = False,
    *,
    based_on: Mapping[str, int] | None = None,
    verify: Callable[[Mapping[str, FormSpec], Collection[str]], None] | None = None,
    calendar: WorkingCalendar | None = None,
) -> PublishReport:
    """Publish `candidates` inside the caller's `schema_change`; raise instead of half-publishing.

    A dry run changes nothing and needs no lock: a publish can rehearse (and build its check
    app) while requests are served, then publish under the lock with the same `verify`.

    `based_on`: the version of each form (0: not published) that the candidates were prepared
    from, read before they were; a form published since is refused (no lost update). `verify`
    is called with every form that would be live afterwards and the ones this publish changes,
    before anything changes, and raises DefinitionErrors when no working app builds from them.

    Raises DefinitionErrors for definitions that cannot be published at all and
    ChangeRefused (with the offending rows) for changes the stored data would not survive.
    The caller commits; on an exception it must roll back. `calendar`: the working days that
    stays of records moved into states count in (default: the office's, from its holiday table).
    """
    report = PublishReport(dry_run=dry_run_only)
    current_version = _schema_version(conn, changing=not dry_run_only)
    if based_on is not None:
        _refuse_changed_since(conn, candidates, based_on)
    # A stored definition that no longer loads blocks a change to its own form only.
    unreadable: dict[str, str] = {}
    published = published_specs(conn, include_retired=True, problems=unreadable)
    errors: list[DefinitionError] = check_references(candidates, published)
    errors += [
        DefinitionError(
            candidates[slug].source,
            "",
            Message(N_("the published version no longer loads, so it cannot be changed: %(why)s"), {"why": why}),
        )
        for slug, why in sorted(unreadable.items())
        if slug in candidates
    ]
    for slug, spec in candidates.items():
        if slug in published:
            errors += check_change(published[slug], spec)
    if errors:
        raise DefinitionErrors(errors)

    problems: list[RowProblem] = []
    final: dict[str, FormSpec] = {}
    states: dict[str, dict[str | None, int]] = {}  # workflow forms: records per state before
    for slug in _order(candidates):
        old = published.get(slug)
        new = carry_retired(old, candidates[slug]) if old else candidates[slug]
        if old is not None and to_definition(old) == to_definition(new) and not _is_retired(conn, slug):
            report.unchanged.append(slug)
            continue
        plan = plan_changes(old, new, conn.dialect)
        report.plans[slug] = plan
        final[slug] = new
        if new.workflow is not None or (old is not None and old.workflow is not None):
            states[slug] = _state_counts(conn, old, new)
            errors += _workflow_problems(old, new, states[slug])
        if old is not None:
            problems += dry_run(conn, _without_state_checks(plan, new))
    if errors:
        raise DefinitionErrors(errors)
    if problems:
        raise ChangeRefused(problems)
    if verify is not None and final:
        verify({**published_specs(conn, problems={}), **final}, set(final))
    if dry_run_only or not final:
        for slug, counts in states.items():
            report.notes[slug] = _moves(final[slug], counts)
        report.schema_version = current_version
        return report

    now = datetime.now()
    for slug, spec in final.items():
        version = (conn.execute(sa.select(form_table.c.version).where(form_table.c.slug == slug)).scalar() or 0) + 1
        notes = apply_plan(conn, report.plans[slug], version, user_table)
        if slug in states:
            from app.workflows.service import workflow_published  # the workflow runtime builds on this engine

            notes += workflow_published(
                conn, published.get(slug), spec, states[slug], datetime.now(UTC), calendar=calendar
            )
        changes = [c.describe() for c in report.plans[slug].changes]
        if version == 1:
            conn.execute(form_table.insert().values(slug=slug, version=version, retired=False, changed_on=now))
        else:
            conn.execute(
                form_table.update()
                .where(form_table.c.slug == slug)
                .values(version=version, retired=False, changed_on=now)
            )
        conn.execute(
            form_version_table.insert().values(
                slug=slug,
                version=version,
                definition=dump_json(to_definition(spec)),
                changes=dump_json({"changes": changes, "notes": notes}),
                published_by=user,
                published_on=now,
            )
        )
        report.published[slug] = version
        report.notes[slug] = notes
    report.schema_version = current_version + 1
    conn.execute(
        schema_state_table.update()
        .where(schema_state_table.c.id == 1)
        .values(version=report.schema_version, changed_on=now)
    )
    return report


def _state_counts(conn: sa.Connection, old: FormSpec | None, new: FormSpec) -> dict[str | None, int]:
    """How many records are in each state now (None: no state: the column is new, or empty)."""
    if old is None:
        return {}  # a new table
    table = sa.table(old.table_name, sa.column("id"))
    made = new.field(new.state_field) if new.state_field else None
    stored = old.field_by_id(made.id) if made is not None else None
    if stored is None:
        return {None: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()}
    column = sa.column(column_name(stored))
    rows = conn.execute(sa.select(column, sa.func.count()).select_from(table).group_by(column))
    return {state: count for state, count in rows}


def _workflow_problems(old: FormSpec | None, new: FormSpec, counts: Mapping[str | None, int]) -> list[DefinitionError]:
    if new.workflow is None:
        return []
    from app.workflows.definition import check_workflow_change

    return check_workflow_change(old.workflow if old is not None else None, new.workflow, counts)


def _moves(spec: FormSpec, counts: Mapping[str | None, int]) -> list[str]:
    """What a publish will do to the records' states (for the dry run's notes)."""
    if spec.workflow is None:
        return []
    from app.workflows.definition import state_moves
    from app.workflows.service import describe_moves

    return describe_moves(state_moves(spec.workflow, counts), counts, spec.table_name)


def _without_state_checks(plan: Plan, new: FormSpec) -> Plan:
    """The plan without checks of the state column's values: check_workflow_change and `moved` see to them."""
    if new.state_field is None:
        return plan
    state_id = new.field(new.state_field).id
    kept = [c for c in plan.changes if not (c.table == new.table_name and c.field_id == state_id)]
    return replace(plan, changes=kept)


def _refuse_changed_since(conn: sa.Connection, candidates: Mapping[str, FormSpec], based_on: Mapping[str, int]) -> None:
    """Refuse forms that another publish changed after this one read their versions."""
    now = published_versions(conn)
    changed = sorted(slug for slug in candidates if now.get(slug, 0) != based_on.get(slug, 0))
    errors = []
    for slug in changed:
        latest = conn.execute(
            sa.select(form_version_table.c.published_by, form_version_table.c.published_on).where(
                form_version_table.c.slug == slug, form_version_table.c.version == now.get(slug, 0)
            )
        ).first()
        message = N_(
            "published as version %(now)s by %(by)s at %(at)s while this publish was being prepared from "
            "version %(was)s; check the definition against it and publish again"
        )
        params = {
            "now": now.get(slug, 0),
            "was": based_on.get(slug, 0),
            "by": latest.published_by if latest else "?",
            "at": f"{latest.published_on:%Y-%m-%d %H:%M:%S}" if latest else "?",
        }
        errors.append(DefinitionError(candidates[slug].source, "", Message(message, params)))
    if errors:
        raise DefinitionErrors(errors)


def _is_retired(conn: sa.Connection, slug: str) -> bool:
    return bool(conn.execute(sa.select(form_table.c.retired).where(form_table.c.slug == slug)).scalar())


def retire_form(conn: sa.Connection, slug: str, user: str) -> int:
    """Hide a form (menu, screens, API); its table and records stay and it can be published again."""
    _schema_version(conn)  # inside schema_change: requests wait while the form goes
    row = conn.execute(sa.select(form_table).where(form_table.c.slug == slug)).first()
    if row is None or row.retired:
        raise DefinitionErrors([DefinitionError(slug, "", _unknown(slug))])
    dependants = [
        s.slug
        for s in published_specs(conn, problems={}).values()
        if s.slug != slug
        and any(f.type == "reference" and f.target == slug for part in (s, *s.children) for f in part.live_fields)
    ]
    if dependants:
        raise DefinitionErrors(
            [
                DefinitionError(
                    slug, "", Message(N_("forms %(forms)s still reference it"), {"forms": ", ".join(dependants)})
                )
            ]
        )
    now = datetime.now()
    conn.execute(form_table.update().where(form_table.c.slug == slug).values(retired=True, changed_on=now))
    last = conn.execute(
        sa.select(form_version_table.c.definition).where(
            form_version_table.c.slug == slug, form_version_table.c.version == row.version
        )
    ).scalar_one()
    conn.execute(
        form_version_table.insert().values(
            slug=slug,
            version=row.version + 1,
            definition=last,
            changes=dump_json({"changes": [f"retire form {slug}"], "notes": []}),
            published_by=user,
            published_on=now,
        )
    )
    conn.execute(form_table.update().where(form_table.c.slug == slug).values(version=row.version + 1))
    version = conn.execute(sa.select(schema_state_table.c.version).where(schema_state_table.c.id == 1)).scalar_one() + 1
    conn.execute(
        schema_state_table.update().where(schema_state_table.c.id == 1).values(version=version, changed_on=now)
    )
    return version


def _unknown(slug: str) -> Message:
    return Message(N_("no published form '%(slug)s'"), {"slug": slug})


def describe_changes(text: str) -> list[str]:
    """The change lines stored with a version."""
    return list(json.loads(text).get("changes", []))
