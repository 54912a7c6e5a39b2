"""Workflow steps on the record page and in the REST API, and the record's timeline.

The record page of a form with a `workflow:` shows the record's state (a badge: open, overdue
or closed, with its due date and the working days overdue), one button per step the user may
take from it, each opening a small form asking the step's required fields (the edit form's
widgets) and a comment, and a "Timeline" tab (stays and events, newest first, local time).

- screen: POST /forms/<slug>/step/<pk>/<name> (CSRF token as every screen form); refused, the
  record page again with the step's form open, what was typed kept and the messages in the
  reader's language; taken, "Langkah '<label>' dicatat" and back to the record page.
- API: POST /api/v1/<slug>/<pk>/step/<name> with {"comment": "...", "values": {...}} answers
  200 {"id", "state", "result"}; 400 a body that is not that object; 403 the form's edit
  permission or the step's roles missing; 404 no such record in the user's area, or no such
  step; 409 the record is not (or no longer) in a state the step leaves, or another step was
  taken meanwhile; 422 refused: {"message": "…; …", "errors": {field|"comment"|"_step": [...]}}.
  GET /api/v1/<slug>/<pk>/timeline answers the state, stays and events.

Who may take a step: the user needs the form's `edit` permission, the record in their working
area (as the record page: 404 otherwise), and one of the roles the transition lists. The
workflow's `roles` list decides for everyone, Admin included: no role is implied (README,
"Workflows"), so Admin takes the steps of workflows that name Admin, and otherwise sees the
state and the timeline only. `ADMIN_TAKES_EVERY_STEP` switches that.

Checks, in order: the step's own values (the engine's value rules; only the fields the step
asks for), the step's required fields and comment (transitions.check_transition), the form's
record rules and uniqueness on the record as it will be saved (record_checks.check_for_user:
errors refuse, warnings are not asked again), then service.take_transition writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import wtforms
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.api import protect, safe
from flask_babel import gettext
from markupsafe import Markup

from app.access.scope import visible
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.messages import N_, Message
from app.forms_engine.record import input_fields, validate_values
from app.forms_engine.spec import FormSpec
from app.forms_engine.text import unstorable
from app.office import local_time, local_timestamp
from app.views.form_fields import wtforms_field
from app.views.labels import current_lang, format_value, render_message
from app.views.openapi import add_workflow_components, workflow_operations
from app.views.record_checks import check_for_user
from app.workflows import service
from app.workflows.ladder import DEADLINE, Ladder
from app.workflows.models import event_table, stay_table, timer_table
from app.workflows.rules import StepFacts, check_rule
from app.workflows.spec import TransitionSpec, WorkflowSpec
from app.workflows.transitions import check_transition, label, may_take

ADMIN_TAKES_EVERY_STEP = False  # True: Admin may take every step, whatever the transition's roles
COMMENT_MAX = 2000
STEP_FIELD, COMMENT = "_step", "comment"
# How a refusal is answered by the API: 403 role, 409 state, 422 values.
FORBIDDEN, CONFLICT, REFUSED = 403, 409, 422


# ---------------------------------------------------------------------------
# Who, when


def _user() -> Any:
    return getattr(g, "user", None)


def user_roles(user: Any = None) -> list[str]:
    """The role names of the user (the request's by default)."""
    user = user if user is not None else _user()
    return [role.name for role in getattr(user, "roles", None) or ()]


def effective_roles(transition: TransitionSpec, roles: list[str]) -> list[str]:
    """The roles a step is checked against (see ADMIN_TAKES_EVERY_STEP)."""
    if ADMIN_TAKES_EVERY_STEP and current_app.config["AUTH_ROLE_ADMIN"] in roles:
        return [*roles, *transition.roles]
    return roles


def now() -> datetime:
    """The current instant (aware UTC); tests may set `app.extensions["simpul_clock"]`."""
    clock = current_app.extensions.get("simpul_clock")
    return clock.now() if clock is not None else datetime.now(UTC)


def _calendar() -> Any:
    from app.views.generated import _office_calendar

    return _office_calendar(db.session.connection())


# ---------------------------------------------------------------------------
# Taking a step


@dataclass
class Outcome:
    """A step's result: taken (no errors), or refused with the messages by field and a status."""

    status: int = 200
    errors: dict[str, list[Message]] = field(default_factory=dict)

    @property
    def taken(self) -> bool:
        return not self.errors

    def add(self, key: str, message: Message, status: int = REFUSED) -> Outcome:
        self.errors.setdefault(key, []).append(message)
        self.status = status if self.status == 200 else self.status
        return self

    def rendered(self) -> dict[str, list[str]]:
        return {key: [render_message(m) for m in messages] for key, messages in self.errors.items()}

    def message(self) -> str:
        return "; ".join(text for texts in self.rendered().values() for text in texts)


def _stored(spec: FormSpec, item: Any) -> dict[str, Any]:
    """The record's values as the engine reads them (reference: the id)."""
    return {f.name: getattr(item, column_name(f), None) for f in input_fields(spec)}


def _field_of(spec: FormSpec, text: Message) -> str | None:
    """The name of the field whose label a message parameter is (messages name fields by label)."""
    for f in input_fields(spec):
        if text.custom == f.label.as_dict():
            return f.name
    return None


def _keyed(spec: FormSpec, messages: list[Message], outcome: Outcome, status: int = REFUSED) -> Outcome:
    for message in messages:
        named = message.params.get("field")
        key = _field_of(spec, named) if isinstance(named, Message) else None
        if key is None:
            key = COMMENT if message.text == N_("'%(step)s' needs a comment saying why") else STEP_FIELD
        outcome.add(key, message, status)
    return outcome


def take_step(view: Any, item: Any, transition: TransitionSpec, values: dict[str, Any], comment: str | None) -> Outcome:
    """Check and take `transition` on `item` for the request's user; committed when taken."""
    spec: FormSpec = view.spec
    workflow: WorkflowSpec = spec.workflow  # type: ignore[assignment]
    roles = effective_roles(transition, user_roles())
    outcome = Outcome()
    step = label(transition.label)
    state = getattr(item, workflow.state_field, None)
    if not may_take(transition, roles):
        message = Message(
            N_("'%(step)s' may only be done by %(roles)s"), {"step": step, "roles": ", ".join(transition.roles)}
        )
        return outcome.add(STEP_FIELD, message, FORBIDDEN)
    if state not in transition.sources:
        return _keyed(spec, check_transition(workflow, state, transition.name, roles, {}, None), outcome, CONFLICT)
    if comment is not None and len(comment) > COMMENT_MAX:
        outcome.add(COMMENT, Message(N_("at most %(max)s characters"), {"max": COMMENT_MAX}))
    elif comment is not None and (problem := unstorable(comment)):
        outcome.add(COMMENT, problem)
    for name in sorted(set(values) - set(transition.requires)):
        outcome.add(
            str(name), Message(N_("'%(step)s' does not ask for field '%(name)s'"), {"step": step, "name": str(name)})
        )
    if outcome.errors:
        return outcome
    clean, errors = validate_values(spec, values, partial=True)
    for name, messages in errors.items():
        for message in messages:
            outcome.add(name, _named(spec, name, message))
    for f in input_fields(spec):
        if f.type == "reference" and clean.get(f.name) is not None and f.name in values:
            target = _models()[f.target]
            if visible(target, clean[f.name], db.session) is None:
                outcome.add(f.name, _named(spec, f.name, Message(N_("no such record"))))
    if outcome.errors:
        return outcome
    stored = _stored(spec, item)
    after = {**stored, **clean}
    _keyed(spec, check_transition(workflow, state, transition.name, roles, after, comment), outcome)
    if outcome.errors:
        return outcome
    if refusal := check_rule(transition.rule, _facts(spec, item)):
        return outcome.add(
            STEP_FIELD, Message(N_("'%(step)s': %(problem)s"), {"step": step, "problem": refusal}), FORBIDDEN
        )
    # The form's rules and uniqueness on the record as the step leaves it.
    written = {**after, **transition.sets, workflow.state_field: transition.target}
    whole, _stale = validate_values(spec, written)  # a stored value the engine no longer reads is left out
    problems, _warnings = check_for_user(
        db.session, spec, view.tables, view.specs, whole, item.id, getattr(item, "parent_id", None)
    )
    for name, messages in problems.items():
        for message in messages:
            outcome.add(name, _named(spec, name, message))
    if outcome.errors:
        db.session.rollback()
        return outcome
    user = _user()
    refused = service.take_transition(
        db.session.connection(),
        spec,
        item.id,
        transition.name,
        roles,
        service.Actor(user.id, user.username),
        values,
        comment,
        now(),
        calendar=_calendar(),
    )
    if refused:
        db.session.rollback()
        meanwhile = any(m.text == N_("the record was changed meanwhile; open it again") for m in refused)
        return _keyed(spec, refused, outcome, CONFLICT if meanwhile else REFUSED)
    db.session.commit()
    return outcome


def _facts(spec: FormSpec, item: Any) -> StepFacts:
    """What a transition rule looks at: the user, who put the record in its state, who registered it."""
    stay = service.open_stay(db.session.connection(), spec.slug, item.id)
    user = _user()
    return StepFacts(
        user_id=getattr(user, "id", None),
        entered_by=stay.entered_by if stay is not None else None,
        registered_by=getattr(item, "created_by_fk", None),
    )


def _named(spec: FormSpec, name: str, message: Message) -> Message:
    """ "Tanggal rujukan: bukan tanggal": a field's problem with the field's label."""
    try:
        f = spec.field(name)
    except KeyError:
        return message
    return Message(N_("%(field)s: %(problem)s"), {"field": label(f.label), "problem": message})


# ---------------------------------------------------------------------------
# The state, the steps and the timeline as the record page shows them


def _text(value: Any) -> str:
    return value.get(current_lang()) if value is not None else ""


def state_label(workflow: WorkflowSpec, name: str | None) -> str:
    """A state's label in the reader's language (its name if the workflow no longer has it)."""
    if name is None:
        return "—"
    state = workflow.state(name)
    return _text(state.label) if state is not None else name


def _local_date(day: Any) -> str:
    return day.strftime("%d-%m-%Y") if day is not None else ""


def _iso(stored: datetime | None) -> str | None:
    local = local_time(stored)
    return local.isoformat() if local is not None else None


def state_of(spec: FormSpec, item: Any, calendar: Any, at: datetime) -> dict[str, Any]:
    """The record's state now: name, label, kind (open/overdue/terminal), due and overdue days."""
    workflow: WorkflowSpec = spec.workflow  # type: ignore[assignment]
    name = getattr(item, workflow.state_field, None)
    state = workflow.state(name) if name is not None else None
    stay = service.open_stay(db.session.connection(), spec.slug, item.id)
    info: dict[str, Any] = {
        "name": name,
        "label": state_label(workflow, name),
        "terminal": bool(state and state.terminal),
        "entered_at": stay.entered_at if stay is not None else None,
        "due_at": stay.due_at if stay is not None else None,
        "due_date": None,
        "overdue": False,
        "overdue_days": 0,
    }
    if stay is not None and state is not None and stay.due_at is not None:
        ladder = Ladder(state, calendar)
        entered = service.from_db(stay.entered_at)
        info["due_date"] = ladder.due_date(entered)
        info["overdue"] = at >= service.from_db(stay.due_at)
        info["overdue_days"] = calendar.working_days_between(service.from_db(stay.due_at), at) if info["overdue"] else 0
    info["kind"] = "terminal" if info["terminal"] else "overdue" if info["overdue"] else "open"
    return info


def overdue_text(days: int) -> str:
    """ "terlambat 3 hari kerja" (0: overdue since today)."""
    if days <= 0:
        return gettext("overdue since today")
    return gettext("overdue %(num)s working days", num=days)


def _stays(spec: FormSpec, pk: int, calendar: Any, at: datetime) -> list[dict[str, Any]]:
    workflow: WorkflowSpec = spec.workflow  # type: ignore[assignment]
    s = stay_table.c
    rows = db.session.execute(
        sa.select(stay_table).where(s.form == spec.slug, s.record_id == pk).order_by(s.seq.desc())
    ).all()
    stays = []
    for row in rows:
        state = workflow.state(row.state)
        until = service.from_db(row.left_at) if row.left_at is not None else at
        due = service.from_db(row.due_at) if row.due_at is not None else None
        late = due is not None and until >= due
        stays.append(
            {
                "state": row.state,
                "label": state_label(workflow, row.state),
                "entered_at": row.entered_at,
                "left_at": row.left_at,
                "due_at": row.due_at,
                "due_date": Ladder(state, calendar).due_date(service.from_db(row.entered_at))
                if state is not None and state.sla is not None
                else None,
                "overdue_days": calendar.working_days_between(due, until) if late else None,
                "open": row.left_at is None,
            }
        )
    return stays


def _events(spec: FormSpec, pk: int) -> list[dict[str, Any]]:
    workflow: WorkflowSpec = spec.workflow  # type: ignore[assignment]
    e, t = event_table.c, timer_table.c
    rows = db.session.execute(
        sa.select(event_table, t.outcome, t.recipients)
        .select_from(
            event_table.outerjoin(
                timer_table, sa.and_(e.kind == "escalation", t.stay_id == e.stay_id, t.level == e.level)
            )
        )
        .where(e.form == spec.slug, e.record_id == pk)
        .order_by(e.at.desc(), e.id.desc())
    ).all()
    events = []
    for row in rows:
        transition = workflow.transition(row.transition) if row.transition else None
        stay_state = None
        if row.kind == "escalation" and row.stay_id is not None:
            stay_state = db.session.execute(
                sa.select(stay_table.c.state).where(stay_table.c.id == row.stay_id)
            ).scalar()
        events.append(
            {
                "id": row.id,
                "kind": row.kind,
                "at": row.at,
                "username": row.username,
                "transition": row.transition,
                "transition_label": _text(transition.label) if transition is not None else row.transition,
                "from_state": row.from_state,
                "from_label": state_label(workflow, row.from_state) if row.from_state else None,
                "to_state": row.to_state,
                "to_label": state_label(workflow, row.to_state) if row.to_state else None,
                "comment": row.comment,
                "level": row.level,
                "outcome": row.outcome,
                "recipients": row.recipients,
                "escalated": _ladder_level(workflow, stay_state, row.level),
            }
        )
    return events


def _ladder_level(workflow: WorkflowSpec, state: str | None, level: int | None) -> str | None:
    """ "Kecamatan (kecamatan)": who a ladder level notifies."""
    found = workflow.state(state) if state else None
    if found is None or level is None or level == DEADLINE:
        return None
    for step in found.ladder:
        if step.number == level:
            return f"{step.role} ({step.region_level})"
    return None


def event_text(event: dict[str, Any]) -> str:
    """What an event says, in the reader's language (plain text; the template escapes it)."""
    kind = event["kind"]
    if kind == "created":
        return gettext("Registered in state '%(state)s'", state=event["to_label"])
    if kind == "transition":
        return gettext(
            "Step '%(step)s': %(before)s → %(after)s",
            step=event["transition_label"],
            before=event["from_label"],
            after=event["to_label"],
        )
    if kind == "moved":
        return gettext(
            "Moved by a new version of the form: %(before)s → %(after)s",
            before=event["from_label"] or "—",
            after=event["to_label"],
        )
    if kind == "escalation":
        if event["level"] == DEADLINE:
            return gettext("Deadline passed: the record is overdue")
        text = gettext("Escalation level %(level)s", level=event["level"])
        if event["escalated"]:
            text += f": {event['escalated']}"
        if event["outcome"] == "mailed":
            return text + " — " + gettext("mailed to %(count)s person(s)", count=event["recipients"] or 0)
        if event["outcome"] == "nobody":
            return text + " — " + gettext("nobody to mail in the record's area")
        return text
    return kind


# ---------------------------------------------------------------------------
# The step forms of the record page


def _models() -> dict[str, Any]:
    return current_app.extensions["simpul_models"]


def step_form_class(spec: FormSpec, transition: TransitionSpec) -> type[wtforms.Form]:
    """A small form: the step's required fields (the edit form's widgets) and a comment."""
    attrs: dict[str, Any] = {}
    for name in transition.requires:
        f = spec.field(name)
        attrs[name] = wtforms_field(f, _models(), lambda: db.session)
    attrs[COMMENT] = wtforms.TextAreaField()
    return type(f"StepForm_{spec.slug}_{transition.name}", (wtforms.Form,), attrs)


def _prefill(spec: FormSpec, item: Any, transition: TransitionSpec) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in transition.requires:
        f = spec.field(name)
        if f.type == "reference":
            data[name] = getattr(item, f.name, None)
            continue
        value = getattr(item, column_name(f), None)
        data[name] = format_value(f, value) if value is not None and f.type in ("date", "datetime", "money") else value
    return data


def _form_values(spec: FormSpec, form: wtforms.Form, transition: TransitionSpec) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in transition.requires:
        data = form[name].data
        values[name] = getattr(data, "id", None) if spec.field(name).type == "reference" else data
    return values


def _comment(raw: Any) -> str | None:
    return raw.strip() if isinstance(raw, str) and raw.strip() else None


def workflow_context(view: Any, item: Any, can_edit: bool) -> dict[str, Any] | None:
    """What show.html shows of the workflow: state, step buttons with their forms, timeline."""
    spec: FormSpec = view.spec
    workflow = spec.workflow
    if workflow is None or item is None:
        return None
    calendar = _calendar()
    at = now()
    state = state_of(spec, item, calendar, at)
    refused = g.get("simpul_step")  # a refused POST of this request: its form and messages
    steps = []
    roles = user_roles()
    if can_edit and state["name"] is not None:
        for transition in workflow.leaving(state["name"]):
            if not may_take(transition, effective_roles(transition, roles)):
                continue
            prefix = f"step-{transition.name}-"
            if refused is not None and refused["name"] == transition.name:
                form, errors = refused["form"], refused["errors"]
            else:
                form = step_form_class(spec, transition)(data=_prefill(spec, item, transition), prefix=prefix)
                errors = {}
            fields = [(form[name], spec.field(name), errors.get(name, [])) for name in transition.requires]
            steps.append(
                {
                    "name": transition.name,
                    "label": _text(transition.label),
                    "target": state_label(workflow, transition.target),
                    "url": url_for(f"{type(view).__name__}.step", pk=item.id, name=transition.name),
                    "form": form,
                    "fields": fields,
                    "comment": form[COMMENT],
                    "comment_required": transition.comment_required,
                    "comment_errors": errors.get(COMMENT, []),
                    "step_errors": errors.get(STEP_FIELD, []),
                    "other_errors": [
                        m
                        for key, messages in errors.items()
                        if key not in (COMMENT, STEP_FIELD, *transition.requires)
                        for m in messages
                    ],
                    "open": refused is not None and refused["name"] == transition.name,
                    "closing": transition.target in _closing_states(workflow),
                }
            )
    events = _events(spec, item.id)
    for event in events:
        event["text"] = event_text(event)
        event["when"] = local_timestamp(event["at"])
        event["comment_html"] = markup_lines(event["comment"])
    stays = _stays(spec, item.id, calendar, at)
    for stay in stays:
        stay["entered"] = local_timestamp(stay["entered_at"])
        stay["left"] = local_timestamp(stay["left_at"])
        stay["due"] = _local_date(stay["due_date"])
    return {
        "state": state,
        "state_due": _local_date(state["due_date"]),
        "state_entered": local_timestamp(state["entered_at"]),
        "overdue_text": overdue_text(state["overdue_days"]) if state["overdue"] else "",
        "steps": steps,
        "events": events,
        "stays": stays,
        "overdue_text_of": overdue_text,
    }


def _closing_states(workflow: WorkflowSpec) -> set[str]:
    return {s.name for s in workflow.states if s.terminal}


class WorkflowStepsView:
    """Mixed into the record screens of forms with a workflow: the step route."""

    spec: FormSpec

    @expose("/step/<int:pk>/<name>", methods=["POST"])
    @has_access
    def step(self, pk: int, name: str) -> Any:
        """Take a step from the record page (its form), then back to the record page."""
        workflow = self.spec.workflow
        item = self.datamodel.get(pk, self._base_filters)  # type: ignore[attr-defined]
        transition = workflow.transition(name) if workflow is not None else None
        if item is None or transition is None:
            abort(404)
        form = step_form_class(self.spec, transition)(formdata=request.form, prefix=f"step-{transition.name}-")
        outcome = take_step(
            self, item, transition, _form_values(self.spec, form, transition), _comment(form[COMMENT].data)
        )
        if outcome.taken:
            flash(gettext("Step '%(step)s' recorded", step=_text(transition.label)), "success")
            return redirect(url_for(f"{type(self).__name__}.show", pk=pk))
        db.session.expire_all()
        flash(gettext("Step '%(step)s' was not recorded.", step=_text(transition.label)), "danger")
        if outcome.status in (FORBIDDEN, CONFLICT):  # no form to show it in: the record page says why
            flash(outcome.message(), "danger")
            return redirect(url_for(f"{type(self).__name__}.show", pk=pk))
        g.simpul_step = {"name": transition.name, "form": form, "errors": outcome.rendered()}
        return self.show(pk)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# The REST API


def _state_json(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": info["name"],
        "label": info["label"],
        "kind": info["kind"],
        "terminal": info["terminal"],
        "entered_at": _iso(info["entered_at"]),
        "due_at": _iso(info["due_at"]),
        "due_date": info["due_date"].isoformat() if info["due_date"] is not None else None,
        "overdue": info["overdue"],
        "overdue_days": info["overdue_days"],
    }


class WorkflowStepsApi:
    """Mixed into the REST API of forms with a workflow: take a step, read the timeline."""

    spec: FormSpec

    @property
    def openapi_spec_methods(self) -> dict[str, dict[str, Any]]:
        return {**super().openapi_spec_methods, **workflow_operations(self)}  # type: ignore[misc]

    def add_apispec_components(self, api_spec: Any) -> None:
        """The form API's components, and the step's and timeline's."""
        super().add_apispec_components(api_spec)  # type: ignore[misc]
        add_workflow_components(api_spec)

    @api_expose("/<int:pk>/step/<name>", methods=["POST"])
    @protect()
    @safe
    def step(self, pk: int, name: str) -> Any:
        """Take a workflow step.
        ---
        post:
          description: Take a workflow step
        """
        api: Any = self
        item = api.datamodel.get(pk, api._base_filters)
        transition = self.spec.workflow.transition(name) if self.spec.workflow is not None else None
        if item is None or transition is None:
            return api.response_404()
        data, refused = api._json_body()
        if refused is not None:
            return refused
        bad = _bad_body(data)
        if bad is not None:
            return api.response_400(message=bad)
        outcome = take_step(self, item, transition, data.get("values") or {}, _comment(data.get("comment")))
        if not outcome.taken:
            return api.response(outcome.status, message=outcome.message(), errors=outcome.rendered())
        db.session.expire_all()
        item = api.datamodel.get(pk, api._base_filters)
        state = state_of(self.spec, item, _calendar(), now())
        return api.response(200, id=pk, state=_state_json(state), result=api.show_model_schema.dump(item))

    @api_expose("/<int:pk>/timeline", methods=["GET"])
    @protect()
    @safe
    def timeline(self, pk: int) -> Any:
        """The record's workflow timeline.
        ---
        get:
          description: The record's workflow timeline
        """
        api: Any = self
        item = api.datamodel.get(pk, api._base_filters)
        if item is None:
            return api.response_404()
        calendar, at = _calendar(), now()
        stays = [
            {
                "state": s["state"],
                "label": s["label"],
                "entered_at": _iso(s["entered_at"]),
                "left_at": _iso(s["left_at"]),
                "due_at": _iso(s["due_at"]),
                "due_date": s["due_date"].isoformat() if s["due_date"] is not None else None,
                "overdue_days": s["overdue_days"],
            }
            for s in _stays(self.spec, pk, calendar, at)
        ]
        events = [
            {
                "id": e["id"],
                "kind": e["kind"],
                "at": _iso(e["at"]),
                "text": event_text(e),
                "username": e["username"],
                "transition": e["transition"],
                "from_state": e["from_state"],
                "to_state": e["to_state"],
                "comment": e["comment"],
                "level": e["level"],
                "outcome": e["outcome"],
                "recipients": e["recipients"],
            }
            for e in _events(self.spec, pk)
        ]
        state = _state_json(state_of(self.spec, item, calendar, at))
        return api.response(200, id=pk, state=state, stays=stays, events=events)


def _bad_body(data: Any) -> str | None:
    """Why a step's body is not {"comment": text or null, "values": object} (None: it is)."""
    if not isinstance(data, dict):
        return gettext("The body must be an object with `comment` and `values`.")
    unknown = sorted(set(data) - {"comment", "values"})
    if unknown:
        return gettext("Unknown keys in the body: %(keys)s", keys=", ".join(map(str, unknown)))
    if data.get("comment") is not None and not isinstance(data["comment"], str):
        return gettext("`comment` must be text.")
    if data.get("values") is not None and not isinstance(data["values"], dict):
        return gettext("`values` must be an object of field names and values.")
    return None


def markup_lines(text: str | None) -> Markup:
    """A comment as escaped HTML, its line breaks kept."""
    from markupsafe import escape

    return Markup("<br>").join(escape(line) for line in (text or "").splitlines())
