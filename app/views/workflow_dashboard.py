"""What waits and what is late in the workflows: the home page's "Tugas saya" and the overdue screen.

- **My tasks** (home panel, registered in home.py): the open stays of every workflow form the
  user may read whose state has a step one of the user's roles may take, in the user's working
  area; overdue first (the oldest deadline first), then by deadline; one query per form over
  the open-stay index, joined to the form's table for the record's title (a NIK title masked,
  as lists show it) and narrowed by the same region condition lists use (scope.scope_clause).
- **Overdue screen** (`/alur-kerja/keterlambatan/`): per workflow form, a table of kecamatan ×
  ladder level: open stays past their deadline with no level come yet, at each level (the
  highest whose time has come), and those where a level fired with nobody to notify or a
  failed mail. Each count links to the form's list filtered the same way (list_filters.py's
  overdue filter and the region filter), so the list shows exactly the records counted.

Who opens the screen: Admin, and the roles a workflow escalates to at kecamatan or kabupaten
level that may read the form (`overdue_roles`; granted by `grant_overdue_screen` when
permissions are synced). Everyone sees only their working area.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import abort, current_app, g, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import format_number, gettext, lazy_gettext
from markupsafe import Markup, escape

from app.access.scope import NO_SCOPE, current_scope, scope_clause
from app.extensions import db
from app.forms_engine.fieldtypes import column_name, region_within
from app.forms_engine.spec import FormSpec
from app.office import office_district, utc_now
from app.regions.importer import region_table
from app.views.generated import permission_view_name
from app.views.labels import current_lang
from app.views.list_filters import (
    DEADLINE_VALUE,
    LEVEL_PREFIX,
    OVERDUE,
    open_stays,
    outcome_fired,
    reached_level,
)
from app.workflows.holidays import office_calendar
from app.workflows.ladder import Ladder
from app.workflows.models import stay_table
from app.workflows.service import from_db
from app.workflows.transitions import available

TASKS_SHOWN = 15  # rows of the home panel; the heading counts them all
OVERDUE_VIEW = "WorkflowOverdue"  # its permission name
OVERDUE_MENU = "menu_keterlambatan"
SUPERVISING_LEVELS = ("kecamatan", "kabupaten")


# -- shared ---------------------------------------------------------------------------------


def _may_read(spec: FormSpec) -> bool:
    return bool(current_app.appbuilder.sm.has_access("can_read", permission_view_name(spec)))


def workflow_forms() -> list[tuple[FormSpec, Any]]:
    """(spec, model) of every served workflow form the user may read, by title."""
    specs = current_app.extensions.get("simpul_specs", {})
    models = current_app.extensions.get("simpul_models", {})
    found = [
        (spec, models[slug])
        for slug, spec in specs.items()
        if spec.workflow is not None and not spec.parent and slug in models and _may_read(spec)
    ]
    return sorted(found, key=lambda pair: pair[0].title.get(current_lang()))


def _in_area(model: Any, query: Any) -> Any:
    """The query narrowed to the user's working area with the lists' own condition."""
    clause = scope_clause(model, current_scope())
    return query if clause is None else query.where(clause)


def _list_url(slug: str, **filters: str) -> str:
    base = url_for(f"FormView_{slug}.list")
    return base + ("?" + urlencode(filters) if filters else "")


# -- my tasks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    form: str
    record: str
    url: str
    state: str
    due: str  # the last working day of the deadline, dd-mm-yyyy ("" without one)
    overdue: bool
    late: str  # "terlambat 3 hari kerja" (the record page's wording)


@dataclass
class Tasks:
    items: list[Task] = field(default_factory=list)
    total: int = 0
    overdue: int = 0
    lists: list[tuple[str, str]] = field(default_factory=list)  # (form title, its list filtered to overdue)


def acting_states(spec: FormSpec, roles: set[str]) -> list[str]:
    """States of a form's workflow with at least one step these roles may take."""
    workflow = spec.workflow
    assert workflow is not None
    return [s.name for s in workflow.states if available(workflow, s.name, roles)]


def late_text(days: int) -> str:
    if days <= 0:
        return gettext("overdue since today")
    return gettext("%(days)s working days overdue", days=format_number(days))


def collect_tasks(user: Any) -> Tasks | None:
    """The records waiting on the user's roles in the user's area; None for roles that never act."""
    roles = {role.name for role in user.roles}
    forms = [(spec, model, acting_states(spec, roles)) for spec, model in workflow_forms()]
    forms = [(spec, model, states) for spec, model, states in forms if states]
    if not forms:
        return None
    tasks = Tasks()
    if current_scope() == NO_SCOPE:
        g.simpul_tasks = tasks
        return tasks
    now = utc_now()
    s = stay_table
    found: list[tuple[Any, ...]] = []
    calendar = None
    for spec, model, states in forms:
        workflow = spec.workflow
        assert workflow is not None
        total = sa.func.count().over().label("total")
        late = sa.func.sum(sa.case((s.c.due_at <= now, 1), else_=0)).over().label("late")
        query = _in_area(
            model,
            sa.select(model, s.c.state, s.c.entered_at, s.c.due_at, total, late)
            .join(s, sa.and_(s.c.record_id == model.id, s.c.form == spec.slug))
            .where(s.c.left_at.is_(None), s.c.state.in_(states)),
        )
        rows = db.session.execute(query.order_by(s.c.due_at.is_(None), s.c.due_at, s.c.id).limit(TASKS_SHOWN)).all()
        if not rows:
            continue
        tasks.total += rows[0].total
        tasks.overdue += rows[0].late
        if rows[0].late:
            tasks.lists.append((spec.title.get(current_lang()), _list_url(spec.slug, **_overdue_arg(spec, "true"))))
        calendar = calendar or office_calendar(db.session.connection())
        for row in rows:
            found.append((row.due_at is None, row.due_at or now, spec, row))
    found.sort(key=lambda item: (item[0], item[1]))
    for _none, _due, spec, row in found[:TASKS_SHOWN]:
        workflow = spec.workflow
        state = workflow.state(row.state) if workflow else None
        record = row[0]
        due = ""
        overdue = False
        late = ""
        if state is not None and row.due_at is not None and calendar is not None:
            due_day = Ladder(state, calendar).due_date(from_db(row.entered_at))
            due = due_day.strftime("%d-%m-%Y") if due_day else ""
            overdue = row.due_at <= now
            if overdue:
                late = late_text(calendar.working_days_between(from_db(row.due_at), from_db(now)))
        tasks.items.append(
            Task(
                form=spec.title.get(current_lang()),
                record=str(record),
                url=url_for(f"FormView_{spec.slug}.show", pk=record.id),
                state=state.label.get(current_lang()) if state else row.state,
                due=due,
                overdue=overdue,
                late=late,
            )
        )
    db.session.rollback()  # reads only: end the transaction the queries opened
    g.simpul_tasks = tasks
    return tasks


class TasksTitle:
    """The panel's heading: "Tugas saya" with how many records wait (counted by collect_tasks)."""

    def __str__(self) -> str:
        return gettext("My tasks")

    def __html__(self) -> str:
        tasks = g.get("simpul_tasks")
        heading = escape(gettext("My tasks"))
        if tasks is None:
            return str(heading)
        badge = Markup(' <span class="badge" id="home-tasks-count" title="{}">{}</span>').format(
            gettext("records waiting: %(num)s, of which overdue: %(late)s", num=tasks.total, late=tasks.overdue),
            format_number(tasks.total),
        )
        return str(heading + badge)


# -- the overdue screen ---------------------------------------------------------------------


def _overdue_arg(spec: FormSpec, value: str) -> dict[str, str]:
    """The list address's argument of the overdue filter (its screen position: list_filters.py)."""
    from app.views.generated import FormModelView

    view = next(
        (v for v in current_app.appbuilder.baseviews if isinstance(v, FormModelView) and v.spec.slug == spec.slug),
        None,
    )
    if view is None:
        return {}
    column = spec.state_field
    names = [f.arg_name for f in view._filters.get_search_filters().get(column, [])]
    if OVERDUE not in names or names.index(OVERDUE) > 9:
        return {}
    return {f"_flt_{names.index(OVERDUE)}_{column}": value}


def _region_arg(spec: FormSpec, code: str | None) -> dict[str, str]:
    """The list address's argument of the form's region filter ("within region") for `code`."""
    from app.views.generated import FormModelView

    if code is None or not spec.region_field:
        return {}
    region = spec.field(spec.region_field)
    if region.type != "region":
        return {}
    column = column_name(region)
    view = next(
        (v for v in current_app.appbuilder.baseviews if isinstance(v, FormModelView) and v.spec.slug == spec.slug),
        None,
    )
    names = [f.arg_name for f in view._filters.get_search_filters().get(column, [])] if view else []
    if "rw" not in names or names.index("rw") > 9:
        return {}
    return {f"_flt_{names.index('rw')}_{column}": code}


@dataclass(frozen=True)
class Cell:
    count: int
    shown: str
    url: str | None


@dataclass
class OverdueRow:
    code: str | None
    name: str
    cells: list[Cell]


@dataclass
class OverdueTable:
    slug: str
    title: str
    columns: list[tuple[str, str]]  # (heading, its explanation)
    rows: list[OverdueRow]
    total: OverdueRow
    list_url: str


def _kecamatan_of(code: str | None) -> str | None:
    if not code or code.count(".") < 2:
        return None
    return ".".join(code.split(".")[:3])


def _kecamatan_in_area(scope: str | None) -> list[str]:
    """Kecamatan codes of the user's area (the office's district for a district-wide scope)."""
    district = office_district()
    area = district if scope is None else scope
    if area == NO_SCOPE:
        return []
    if area.count(".") >= 2:
        return [_kecamatan_of(area)]  # type: ignore[list-item]
    t = region_table
    rows = db.session.execute(
        sa.select(t.c.code).where(t.c.level == 3, t.c.code >= area, t.c.code < area + "/").order_by(t.c.code)
    ).scalars()
    return [code for code in rows if region_within(code, district) or scope is not None]


def _levels(spec: FormSpec) -> list[tuple[int, str]]:
    """(number, role(s)) of the ladder levels of the workflow's states."""
    workflow = spec.workflow
    assert workflow is not None
    roles: dict[int, list[str]] = {}
    for state in workflow.states:
        for level in state.ladder:
            names = roles.setdefault(level.number, [])
            if level.role not in names:
                names.append(level.role)
    return [(number, ", ".join(names)) for number, names in sorted(roles.items())]


def overdue_table(spec: FormSpec, model: Any, now: datetime) -> OverdueTable:
    """The kecamatan × level counts of one workflow form in the user's area (one query)."""
    s = stay_table
    level = reached_level(now).label("level")
    nobody = outcome_fired("nobody").label("nobody")
    failed = outcome_fired("failed").label("failed")
    query = _in_area(
        model,
        sa.select(s.c.region_code, level, nobody, failed, sa.func.count().label("n"))
        .select_from(s)
        .join(model, open_stays(model, spec.slug))
        .where(s.c.due_at <= now)
        .group_by(s.c.region_code, level, nobody, failed),
    )
    levels = _levels(spec)
    keys = [DEADLINE_VALUE, *(f"{LEVEL_PREFIX}{n}" for n, _r in levels), "nobody", "failed", "true"]
    counts: dict[str | None, dict[str, int]] = {}
    for row in db.session.execute(query):
        bucket = counts.setdefault(_kecamatan_of(row.region_code), dict.fromkeys(keys, 0))
        reached = row.level or 0
        bucket[DEADLINE_VALUE if reached == 0 else f"{LEVEL_PREFIX}{reached}"] = (
            bucket.get(DEADLINE_VALUE if reached == 0 else f"{LEVEL_PREFIX}{reached}", 0) + row.n
        )
        bucket["nobody"] += row.n if row.nobody else 0
        bucket["failed"] += row.n if row.failed else 0
        bucket["true"] += row.n
    db.session.rollback()
    names = current_app.extensions["simpul_region_names"]
    codes = _kecamatan_in_area(current_scope())
    codes += sorted(c for c in counts if c is not None and c not in codes)

    def cells(code: str | None, bucket: dict[str, int], link: bool) -> list[Cell]:
        region = _region_arg(spec, code) if code else {}
        return [
            Cell(
                bucket.get(key, 0),
                format_number(bucket.get(key, 0)),
                _list_url(spec.slug, **region, **_overdue_arg(spec, key)) if link and bucket.get(key, 0) else None,
            )
            for key in keys
        ]

    rows = [
        OverdueRow(code, names.name(code) or code, cells(code, counts.get(code, {}), True))
        for code in sorted(codes, key=lambda c: names.name(c) or c)
    ]
    if None in counts:
        rows.append(OverdueRow(None, gettext("No kecamatan recorded"), cells(None, counts[None], False)))
    totals = {key: sum(bucket.get(key, 0) for bucket in counts.values()) for key in keys}
    columns = [
        (gettext("Past the deadline"), gettext("Past the deadline, not yet escalated")),
        *((gettext("Level %(level)s", level=n), gettext("Escalated to %(roles)s", roles=roles)) for n, roles in levels),
        (gettext("Nobody to notify"), gettext("A level fired but nobody holds its role in the area")),
        (gettext("E-mail failed"), gettext("A level fired but its e-mail could not be sent")),
        (gettext("All overdue"), gettext("Every record past its deadline")),
    ]
    return OverdueTable(
        slug=spec.slug,
        title=spec.title.get(current_lang()),
        columns=columns,
        rows=rows,
        total=OverdueRow(None, gettext("Total"), cells(None, totals, True)),
        list_url=_list_url(spec.slug),
    )


def overdue_roles(specs: dict[str, FormSpec]) -> set[str]:
    """Roles a workflow escalates to at kecamatan or kabupaten level and that may read its form."""
    return {
        level.role
        for spec in specs.values()
        if spec.workflow is not None
        for state in spec.workflow.states
        for level in state.ladder
        if level.region_level in SUPERVISING_LEVELS and "view" in spec.permissions.get(level.role, ())
    }


def grant_overdue_screen(appbuilder: Any, specs: dict[str, FormSpec]) -> None:
    """Give the overdue screen and its menu entry to `overdue_roles` (Admin has every permission)."""
    sm = appbuilder.sm
    for role_name in overdue_roles(specs):
        role = sm.find_role(role_name) or sm.add_role(role_name)
        for perm, view in (("can_read", OVERDUE_VIEW), ("menu_access", OVERDUE_MENU)):
            pv = sm.find_permission_view_menu(perm, view)
            if pv is not None:
                sm.add_permission_role(role, pv)


def guarded(permission: str, view_name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Visitors to the login page; signed-in users without the permission get 403."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None or not user.is_authenticated:
                return redirect(self.appbuilder.get_url_for_login)
            if not self.appbuilder.sm.has_access(permission, view_name):
                abort(403)
            return method(self, *args, **kwargs)

        return wrapper

    return decorate


class OverdueView(BaseView):
    """Overdue records per kecamatan and escalation level, in the user's area."""

    route_base = "/alur-kerja"
    default_view = "overdue"
    class_permission_name = OVERDUE_VIEW
    base_permissions = ["can_read"]
    title = lazy_gettext("Overdue records")

    @expose("/keterlambatan/")
    @guarded("can_read", OVERDUE_VIEW)
    def overdue(self) -> Any:
        now = utc_now()
        tables = [overdue_table(spec, model, now) for spec, model in workflow_forms()]
        from app.views.home import area_name

        return self.render_template(
            "simpul/workflow/dashboard_overdue.html",
            tables=tables,
            area=area_name(current_scope()),
            title=gettext("Overdue records"),
        )


def register_overdue_screen(appbuilder: Any, specs: dict[str, FormSpec]) -> None:
    """The overdue screen, in the menu category of the first workflow form (none: not registered)."""
    forms = sorted((s for s in specs.values() if s.workflow is not None and not s.parent), key=lambda s: s.slug)
    if not forms:
        return
    from app.views.labels import lazy_text

    category = next((s.category for s in forms if s.category), None)
    appbuilder.add_view(
        OverdueView,
        OVERDUE_MENU,
        label=lazy_gettext("Overdue records"),
        icon="fa-clock-o",
        category=category.id if category else "",
        category_label=lazy_text(category) if category else "",
    )
