"""Which steps a user may take from a record's state, and why a step is refused.

Pure: roles and values come from the caller. The web layer adds what only it knows: whether
the record lies in the user's working area, the transition's named `rule`, and the record
checks of the values the step writes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from app.forms_engine.messages import N_, Message
from app.forms_engine.spec import Text

from .spec import TransitionSpec, WorkflowSpec


def label(text: Text) -> Message:
    """A label as a message parameter, in both languages (rendered in the reader's)."""
    return Message("", custom=text.as_dict())


def is_empty(value: Any) -> bool:
    """Not filled in: None, blank text or an empty list (0 and false are values)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (list, tuple, set, frozenset, dict)) and not value


def may_take(transition: TransitionSpec, roles: Collection[str]) -> bool:
    """Whether one of `roles` is among those the transition names."""
    return any(role in transition.roles for role in roles)


def available(workflow: WorkflowSpec, state: str | None, roles: Collection[str]) -> tuple[TransitionSpec, ...]:
    """The steps a user with `roles` may offer from `state`, in definition order (fields not yet checked)."""
    if state is None:
        return ()
    return tuple(t for t in workflow.leaving(state) if may_take(t, roles))


def check_transition(
    workflow: WorkflowSpec,
    state: str | None,
    name: str,
    roles: Collection[str],
    values: Mapping[str, Any],
    comment: str | None,
) -> list[Message]:
    """Why step `name` may not be taken now (empty: it may).

    An unknown step, a state the step does not leave or a role it does not allow is the one
    reason given; otherwise every required field left empty and a missing comment are listed.
    `values` are the record's values as they will be saved with the step.
    """
    transition = workflow.transition(name)
    if transition is None:
        return [Message(N_("'%(step)s' is not a step of this workflow"), {"step": name})]
    step = label(transition.label)
    current = workflow.state(state) if state is not None else None
    if current is None:
        return [
            Message(
                N_("this record has no state of this workflow ('%(state)s'); an administrator must move it first"),
                {"state": state or "—"},
            )
        ]
    if state not in transition.sources:
        return [
            Message(
                N_("'%(step)s' cannot be done while the record is '%(state)s'"),
                {"step": step, "state": label(current.label)},
            )
        ]
    if not may_take(transition, roles):
        return [
            Message(
                N_("'%(step)s' may only be done by %(roles)s"),
                {"step": step, "roles": ", ".join(transition.roles)},
            )
        ]
    problems = [
        Message(
            N_("%(field)s must be filled in before '%(step)s'"),
            {"field": label(workflow.label_of(field)), "step": step},
        )
        for field in transition.requires
        if is_empty(values.get(field))
    ]
    if transition.comment_required and is_empty(comment):
        problems.append(Message(N_("'%(step)s' needs a comment saying why"), {"step": step}))
    return problems


def values_after(workflow: WorkflowSpec, transition: TransitionSpec) -> dict[str, Any]:
    """What taking `transition` writes into the record: the new state and the transition's `set`."""
    return {**transition.sets, workflow.state_field: transition.target}
