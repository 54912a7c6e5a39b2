"""Read and validate a form's `workflow:` block into a WorkflowSpec, every problem located.

A workflow belongs to one form and is published and versioned with it. The block's format,
with an example, is in README.md ("Workflows" under "Form definitions"; tested by
tests/workflows/test_documented_example.py).

What is checked, each problem as `forms/x.yaml: workflow.states[2].sla: … (line 14)`:
- shapes first (texts, whole numbers, lists, mappings), as for the form; unknown keys;
- names: a-z, 0-9 and _, at most 40 characters, no duplicates; labels: the Bahasa Indonesia
  text is required, English optional;
- `sla` and `after`: whole numbers of working days from 1 to 250; a ladder needs an `sla`; each
  level's `after` is larger than the one before; `level` is desa, kecamatan or kabupaten, never
  narrower than the level before, and no narrower than the form's region field can tell (a
  form filed by kecamatan cannot notify a desa; a form without a region only its kabupaten);
- roles (transitions and ladder levels) must be known roles; `rule` a registered rule;
- `requires` and `set` name live fields of the form, not the state field; a `set` value must
  be a valid value of its field (choices, type, limits); child, file, photo and reference
  fields cannot be set;
- states named in `initial`, `from`, `to` and as `moved` targets exist; the initial state is not
  terminal; no transition leaves a terminal state; at least one state is terminal;
- every state can be reached from the initial state, every non-terminal state has a
  transition out, and from every state a terminal state can be reached;
- `state_field` is a valid field name and not one of the form's own fields (a choice field
  whose choices are exactly the states is accepted: the one the engine added);
- `moved` names no current state. `check_workflow_change` refuses a new version that removes a
  state still holding records unless `moved` says where they go.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping
from typing import Any

from app.forms_engine.fieldtypes import REGION_LEVELS, Invalid, check, convert
from app.forms_engine.limits import MAX_NAME
from app.forms_engine.loader import DefinitionError, _Reader
from app.forms_engine.messages import N_, Message, shown
from app.forms_engine.names import field_name_problem, is_name
from app.forms_engine.shapes import FLAG, LABEL, NAMES, TEXT, WHEN, WHOLE, Keys, MapOf, Seq, conform
from app.forms_engine.spec import Choice, FieldSpec, FormSpec, Text, join_path, line_of

from .spec import LADDER_REGION_LEVELS, LadderLevel, StateSpec, TransitionSpec, WorkflowSpec

DEFAULT_STATE_FIELD = "status"
MAX_STATES = 100
MAX_TRANSITIONS = 200
MAX_LADDER = 10
MAX_WORKING_DAYS = 250  # about one working year: an SLA or an escalation further off is a typo
NOT_SETTABLE = ("child", "file", "photo", "reference")

WORKFLOW_KEYS = ("state_field", "initial", "states", "transitions", "moved")
STATE_KEYS = ("name", "label", "terminal", "sla", "ladder")
LADDER_KEYS = ("after", "role", "level")
TRANSITION_KEYS = ("name", "from", "to", "label", "roles", "requires", "comment_required", "rule", "set")

LADDER_LEVEL = Keys(
    {"after": WHOLE, "role": TEXT, "level": TEXT}, N_("a ladder level: a mapping with after, role and level")
)
STATE = Keys(
    {"name": TEXT, "label": LABEL, "terminal": FLAG, "sla": WHOLE, "ladder": Seq(LADDER_LEVEL, MAX_LADDER)},
    N_("a state: a mapping with name and label"),
)
TRANSITION = Keys(
    {
        "name": TEXT,
        "from": NAMES,
        "to": TEXT,
        "label": LABEL,
        "roles": NAMES,
        "requires": NAMES,
        "comment_required": FLAG,
        "rule": TEXT,
        "set": WHEN,
    },
    N_("a transition: a mapping with name, from, to, label and roles"),
)
WORKFLOW = Keys(
    {
        "state_field": TEXT,
        "initial": TEXT,
        "states": Seq(STATE, MAX_STATES),
        "transitions": Seq(TRANSITION, MAX_TRANSITIONS),
        "moved": MapOf(TEXT, MAX_STATES, N_("a mapping of removed states to states")),
    },
    N_("a workflow: a mapping with states and transitions"),
)


def _name_problem(value: str) -> Message | None:
    """State and transition names: stored as choice values and used in addresses."""
    if not is_name(value):
        return Message(N_("'%(name)s' must start with a letter and use only a-z, 0-9 and _"), {"name": shown(value)})
    if len(value) > MAX_NAME:
        return Message(N_("'%(name)s' is longer than %(n)s characters"), {"name": shown(value), "n": MAX_NAME})
    return None


def parse_workflow(
    raw: Any,
    form: FormSpec,
    known_roles: Collection[str],
    known_rules: Collection[str],
    path: str = "workflow",
    *,
    source: str | None = None,
    lines: Mapping[str, int] | None = None,
) -> tuple[WorkflowSpec | None, list[DefinitionError]]:
    """Validate a form's `workflow:` block (parsed YAML) against the form; (spec or None, errors).

    No block (None) is no workflow and no error. Errors are located in `source` (default: the
    form's) with lines from `lines` (default: the form's, which hold the whole file's).
    """
    if raw is None:
        return None, []
    reader = _Reader(form.source if source is None else source, form.lines if lines is None else lines)
    data = conform(WORKFLOW, raw, path, reader.error)
    if reader.errors:  # as for forms: nothing is read further until every key has its shape
        return None, reader.errors
    reader.keys(data, WORKFLOW_KEYS, path)
    live = {f.name: f for f in form.live_fields}
    state_field = _parse_state_field(reader, data, path, live)
    indexed_states, states = _parse_states(reader, data.get("states"), join_path(path, "states"), form, known_roles)
    initial = data.get("initial", next(iter(states), None))
    if "initial" in data:
        if initial not in states:
            _unknown_state(reader, join_path(path, "initial"), initial)
        elif states[initial]:
            reader.error(join_path(path, "initial"), N_("the initial state cannot be terminal"))
    if states and not any(states.values()):
        reader.error(join_path(path, "states"), N_("needs at least one terminal state, where records end"))
    transitions = _parse_transitions(
        reader,
        data.get("transitions"),
        join_path(path, "transitions"),
        states,
        live,
        state_field,
        known_roles,
        known_rules,
    )
    moved = dict(data.get("moved", {}))
    for old, new in moved.items():
        if old in states:
            reader.error(
                join_path(join_path(path, "moved"), old), N_("'%(state)s' is still a state of this workflow"), state=old
            )
        elif new not in states:
            _unknown_state(reader, join_path(join_path(path, "moved"), old), new)
    if reader.errors or initial is None or state_field is None:
        return None, reader.errors
    _check_graph(reader, join_path(path, "states"), indexed_states, transitions, initial)
    if reader.errors:
        return None, reader.errors
    spec = WorkflowSpec(
        state_field=state_field,
        initial=initial,
        states=tuple(s for _, s in indexed_states),
        transitions=tuple(transitions),
        moved=moved,
        field_labels={f.name: f.label for f in form.live_fields},
        source=reader.source,
        path=path,
        lines=dict(reader.lines),
    )
    return spec, []


def _unknown_state(reader: _Reader, at: str, name: Any) -> None:
    reader.error(at, N_("'%(state)s' is not a state of this workflow"), state=shown(name))


def _known_role(reader: _Reader, role: str, at: str, known_roles: Collection[str]) -> bool:
    if role in known_roles:
        return True
    reader.error(
        at,
        N_("unknown role '%(role)s'; expected one of %(expected)s"),
        role=shown(role),
        expected=", ".join(sorted(known_roles)),
    )
    return False


def _parse_state_field(
    reader: _Reader, data: Mapping[str, Any], path: str, live: Mapping[str, FieldSpec]
) -> str | None:
    at = join_path(path, "state_field")
    name = reader.name(data.get("state_field", DEFAULT_STATE_FIELD), at, field_name_problem)
    if name is None:
        return None
    existing = live.get(name)
    states = [s.get("name") for s in data.get("states", ()) if isinstance(s, Mapping)]
    if existing is not None and not (existing.type == "choice" and [c.value for c in existing.choices] == states):
        reader.error(
            at,
            N_(
                "'%(name)s' is already a field of this form; the workflow adds its state field itself: choose another state_field"
            ),
            name=name,
        )
        return None
    return name


def _parse_states(
    reader: _Reader, items: list[Any] | None, path: str, form: FormSpec, known_roles: Collection[str]
) -> tuple[list[tuple[int, StateSpec]], dict[str, bool]]:
    """The states without problems (with their index), and every state declared -> terminal.

    A state with a problem elsewhere is still declared: transitions to it are not reported too.
    """
    names: dict[str, bool] = {}
    if not items:
        reader.error(path, N_("must be a non-empty list of states"))
        return [], names
    parsed: list[tuple[int, StateSpec]] = []
    for index, raw in enumerate(items):
        at = f"{path}[{index}]"
        before = len(reader.errors)
        reader.keys(raw, STATE_KEYS, at)
        name = reader.name(raw.get("name"), join_path(at, "name"), _name_problem)
        label = reader.text(raw.get("label"), join_path(at, "label"))
        terminal = raw.get("terminal", False)
        sla = reader.natural(raw, "sla", at, MAX_WORKING_DAYS, lowest=1)
        ladder = _parse_ladder(reader, raw.get("ladder"), join_path(at, "ladder"), form, known_roles)
        if terminal and "sla" in raw:
            reader.error(join_path(at, "sla"), N_("a terminal state has no deadline"))
        if terminal and raw.get("ladder"):
            reader.error(join_path(at, "ladder"), N_("a terminal state has no escalation ladder"))
        elif raw.get("ladder") and "sla" not in raw:
            reader.error(join_path(at, "ladder"), N_("an escalation ladder needs the state's sla"))
        if name is not None and name in names:
            reader.error(join_path(at, "name"), N_("duplicate state name '%(name)s'"), name=name)
        elif name is not None:
            names[name] = terminal
            if len(reader.errors) == before and label is not None:
                parsed.append((index, StateSpec(name, label, terminal, sla, ladder)))
    return parsed, names


def _record_level(form: FormSpec) -> tuple[int | None, str | None]:
    """The region level the form's records are filed by (None: not known) and the field giving it."""
    if form.region_field is None:
        return REGION_LEVELS["kabupaten"], None  # a shared list: only the office's district
    region = next((f for f in form.live_fields if f.name == form.region_field), None)
    if region is None or region.type != "region" or region.level is None:
        return None, form.region_field  # a reference or an unlevelled region field: known per record only
    return REGION_LEVELS[region.level], region.name


def _parse_ladder(
    reader: _Reader, items: list[Any] | None, path: str, form: FormSpec, known_roles: Collection[str]
) -> tuple[LadderLevel, ...]:
    levels: list[LadderLevel] = []
    record_level, region_field = _record_level(form)
    previous: LadderLevel | None = None
    for index, raw in enumerate(items or ()):
        at = f"{path}[{index}]"
        before = len(reader.errors)
        reader.keys(raw, LADDER_KEYS, at)
        for key in LADDER_KEYS:
            if key not in raw:
                reader.error(join_path(at, key), N_("is required"))
        after = reader.natural(raw, "after", at, MAX_WORKING_DAYS, lowest=1)
        role = raw.get("role")
        if role is not None:
            _known_role(reader, role, join_path(at, "role"), known_roles)
        level = raw.get("level")
        if level is not None and level not in LADDER_REGION_LEVELS:
            reader.error(
                join_path(at, "level"),
                N_("'%(level)s' is not a region level; expected one of %(expected)s"),
                level=shown(level),
                expected=", ".join(LADDER_REGION_LEVELS),
            )
        elif level is not None and record_level is not None and REGION_LEVELS[level] > record_level:
            if region_field is None:
                reader.error(
                    join_path(at, "level"), N_("records of this form have no region, so only kabupaten can be named")
                )
            else:
                reader.error(
                    join_path(at, "level"),
                    N_("the form's region field '%(field)s' does not tell the %(level)s of a record"),
                    field=region_field,
                    level=level,
                )
        if len(reader.errors) > before or after is None:
            continue
        if previous is not None and after <= previous.after:
            reader.error(
                join_path(at, "after"),
                N_("must be larger than the previous level's after (%(n)s)"),
                n=previous.after,
            )
        elif previous is not None and REGION_LEVELS[level] > REGION_LEVELS[previous.region_level]:
            reader.error(
                join_path(at, "level"),
                N_(
                    "'%(level)s' is narrower than the previous level's '%(previous)s'; a ladder goes up, from desa to kecamatan to kabupaten"
                ),
                level=level,
                previous=previous.region_level,
            )
        else:
            previous = LadderLevel(len(levels) + 1, after, role, level)
            levels.append(previous)
    return tuple(levels)


def _parse_transitions(
    reader: _Reader,
    items: list[Any] | None,
    path: str,
    states: Mapping[str, bool],
    live: Mapping[str, FieldSpec],
    state_field: str | None,
    known_roles: Collection[str],
    known_rules: Collection[str],
) -> list[TransitionSpec]:
    if not items:
        reader.error(path, N_("must be a non-empty list of transitions"))
        return []
    parsed: list[TransitionSpec] = []
    names: set[str] = set()
    for index, raw in enumerate(items):
        at = f"{path}[{index}]"
        before = len(reader.errors)
        reader.keys(raw, TRANSITION_KEYS, at)
        name = reader.name(raw.get("name"), join_path(at, "name"), _name_problem)
        if name is not None and name in names:
            reader.error(join_path(at, "name"), N_("duplicate transition name '%(name)s'"), name=name)
        elif name is not None:
            names.add(name)
        label = reader.text(raw.get("label"), join_path(at, "label"))
        sources = tuple(raw.get("from", ()))
        if not sources:
            reader.error(join_path(at, "from"), N_("is required"))
        for source in sources:
            if sources.count(source) > 1:
                reader.error(join_path(at, "from"), N_("'%(name)s' is named twice"), name=shown(source))
                break
        for source in sources:
            if source not in states:
                _unknown_state(reader, join_path(at, "from"), source)
            elif states[source]:
                reader.error(
                    join_path(at, "from"),
                    N_("'%(state)s' is a terminal state: no transition may leave it"),
                    state=source,
                )
        target = raw.get("to")
        if target is None:
            reader.error(join_path(at, "to"), N_("is required"))
        elif target not in states:
            _unknown_state(reader, join_path(at, "to"), target)
        roles = tuple(raw.get("roles", ()))
        if not roles:
            reader.error(join_path(at, "roles"), N_("must name the roles that may take this step"))
        for role in roles:
            _known_role(reader, role, join_path(at, "roles"), known_roles)
        requires = tuple(raw.get("requires", ()))
        for field_name in requires:
            _settable(reader, join_path(at, "requires"), field_name, live, state_field, settable=False)
        rule = raw.get("rule")
        if rule is not None and rule not in known_rules:
            reader.error(
                join_path(at, "rule"),
                N_("unknown rule '%(rule)s'; expected one of %(expected)s"),
                rule=shown(rule),
                expected=", ".join(sorted(known_rules)) or "—",
            )
        sets = _parse_sets(reader, raw.get("set", {}), join_path(at, "set"), live, state_field)
        if len(reader.errors) == before and name is not None and label is not None:
            parsed.append(
                TransitionSpec(
                    name=name,
                    sources=sources,
                    target=target,
                    label=label,
                    roles=roles,
                    requires=requires,
                    comment_required=raw.get("comment_required", False),
                    rule=rule,
                    sets=sets,
                )
            )
    return parsed


def _settable(
    reader: _Reader, at: str, name: str, live: Mapping[str, FieldSpec], state_field: str | None, settable: bool
) -> FieldSpec | None:
    """The live field `name`, or None after reporting why a transition cannot require or set it."""
    if name == state_field:
        reader.error(at, N_("'%(name)s' is the state field, which transitions change themselves"), name=name)
        return None
    spec = live.get(name)
    if spec is None:
        reader.error(at, N_("'%(name)s' is not a field of this form"), name=shown(name))
        return None
    if settable and spec.type in NOT_SETTABLE:
        reader.error(at, N_("a %(type)s field cannot be set by a transition"), type=spec.type)
        return None
    return spec


def _parse_sets(
    reader: _Reader, values: Mapping[str, Any], path: str, live: Mapping[str, FieldSpec], state_field: str | None
) -> dict[str, Any]:
    sets: dict[str, Any] = {}
    for name, value in values.items():
        at = join_path(path, name)
        spec = _settable(reader, at, name, live, state_field, settable=True)
        if spec is None:
            continue
        try:
            converted = convert(spec, value)
            problem = check(spec, converted) if converted is not None else None
        except Invalid as exc:
            problem = exc.message
        if problem is not None:
            reader.error(at, N_("'%(value)s' %(problem)s"), value=shown(value), problem=problem)
            continue
        sets[name] = value
    return sets


def _check_graph(
    reader: _Reader,
    path: str,
    states: list[tuple[int, StateSpec]],
    transitions: list[TransitionSpec],
    initial: str,
) -> None:
    """Every state reachable, every non-terminal state with a way out that ends somewhere."""
    forward: dict[str, set[str]] = {s.name: set() for _, s in states}
    backward: dict[str, set[str]] = {s.name: set() for _, s in states}
    for t in transitions:
        for source in t.sources:
            forward[source].add(t.target)
            backward[t.target].add(source)
    reached = _closure(forward, [initial])
    finishing = _closure(backward, [s.name for _, s in states if s.terminal])
    for index, state in states:
        at = join_path(f"{path}[{index}]", "name")
        if state.name not in reached:
            reader.error(
                at,
                N_("state '%(state)s' cannot be reached from the initial state '%(initial)s'"),
                state=state.name,
                initial=initial,
            )
        elif not state.terminal and not forward[state.name]:
            reader.error(at, N_("state '%(state)s' is not terminal, but no transition leaves it"), state=state.name)
        elif state.name not in finishing:
            reader.error(at, N_("no transitions lead from state '%(state)s' to a terminal state"), state=state.name)


def _closure(graph: Mapping[str, set[str]], start: list[str]) -> set[str]:
    seen = set(start)
    queue = deque(start)
    while queue:
        for nxt in graph[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


# ---------------------------------------------------------------------------
# Publishing: the state field, and a new version against the records in the old one


def state_field_spec(workflow: WorkflowSpec) -> FieldSpec:
    """The choice field the engine adds to the form to hold each record's state."""
    return FieldSpec(
        id=workflow.state_field,
        name=workflow.state_field,
        type="choice",
        label=Text("Status", "Status"),
        required=True,
        default=workflow.initial,
        choices=tuple(Choice(s.name, s.label) for s in workflow.states),
        indexed=True,
    )


def check_workflow_change(
    old: WorkflowSpec | None, new: WorkflowSpec, counts_by_state: Mapping[str | None, int]
) -> list[DefinitionError]:
    """Problems with publishing `new` over `old` given how many records are in each state.

    A state that still holds records may only go when `new.moved` says where they go. Records
    without a state (None: the workflow is new to the form) start in the initial state.
    """
    errors: list[DefinitionError] = []
    if old is not None and old.state_field != new.state_field:
        errors.append(
            _located(
                new,
                "state_field",
                Message(
                    N_("cannot change from '%(old)s' to '%(new)s': records keep their state in '%(old)s'"),
                    {"old": old.state_field, "new": new.state_field},
                ),
            )
        )
    for state, count in sorted(((s, n) for s, n in counts_by_state.items() if s is not None), key=lambda i: i[0]):
        if count > 0 and new.state(state) is None and state not in new.moved:
            errors.append(
                _located(
                    new,
                    "states",
                    Message(
                        N_(
                            "%(n)s records are in state '%(state)s', which this version removes; say where they go under moved (%(state)s: one of %(states)s)"
                        ),
                        {"n": count, "state": shown(state), "states": ", ".join(new.state_names)},
                    ),
                )
            )
    return errors


def state_moves(new: WorkflowSpec, counts_by_state: Mapping[str | None, int]) -> dict[str | None, str]:
    """Which records a publish moves: {old state (None: no state yet): new state}, for states that hold records."""
    moves: dict[str | None, str] = {}
    for state, count in counts_by_state.items():
        if count <= 0:
            continue
        if state is None:
            moves[None] = new.initial
        elif new.state(state) is None and state in new.moved:
            moves[state] = new.moved[state]
    return moves


def _located(spec: WorkflowSpec, key: str, message: Message) -> DefinitionError:
    path = join_path(spec.path, key)
    return DefinitionError(spec.source, path, message, line_of(spec.lines, path))


def as_definition(workflow: WorkflowSpec) -> dict[str, Any]:
    """The `workflow:` block that parses back into `workflow` (for storing and for the panel)."""

    def text(value: Text) -> dict[str, str]:
        return value.as_dict()

    states = []
    for s in workflow.states:
        item: dict[str, Any] = {"name": s.name, "label": text(s.label)}
        if s.terminal:
            item["terminal"] = True
        if s.sla is not None:
            item["sla"] = s.sla
        if s.ladder:
            item["ladder"] = [{"after": lv.after, "role": lv.role, "level": lv.region_level} for lv in s.ladder]
        states.append(item)
    transitions = []
    for t in workflow.transitions:
        item = {"name": t.name, "from": list(t.sources), "to": t.target, "label": text(t.label), "roles": list(t.roles)}
        if t.requires:
            item["requires"] = list(t.requires)
        if t.comment_required:
            item["comment_required"] = True
        if t.rule is not None:
            item["rule"] = t.rule
        if t.sets:
            item["set"] = dict(t.sets)
        transitions.append(item)
    block: dict[str, Any] = {
        "state_field": workflow.state_field,
        "initial": workflow.initial,
        "states": states,
        "transitions": transitions,
    }
    if workflow.moved:
        block["moved"] = dict(workflow.moved)
    return block
