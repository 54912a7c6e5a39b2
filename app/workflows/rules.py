"""Transition rules: named conditions a workflow's step may require (`rule: four_eyes`).

A rule is a check on who takes a step, registered here by name; a definition naming an unknown
rule is refused when it is loaded (app/workflows/definition.py). Pure: the web layer gives the
facts (app/views/workflow_steps.py), a rule answers why the step is refused, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.forms_engine.messages import N_, Message


@dataclass(frozen=True)
class StepFacts:
    """What a rule may look at: who takes the step, who put the record in its state, who registered it."""

    user_id: int | None
    entered_by: int | None  # None: the record was put in its state by the system (publish, import)
    registered_by: int | None


def four_eyes(facts: StepFacts) -> Message | None:
    """Segregation of duties: the step is taken by someone other than who brought the record here."""
    if facts.user_id is not None and facts.user_id == facts.entered_by:
        return Message(N_("another person must take this step: you put the record in its current state"))
    return None


def not_registrant(facts: StepFacts) -> Message | None:
    """The person who registered the record may not take this step (e.g. verify their own entry)."""
    if facts.user_id is not None and facts.user_id == facts.registered_by:
        return Message(N_("another person must take this step: you registered this record"))
    return None


RULES: dict[str, Callable[[StepFacts], Message | None]] = {
    "four_eyes": four_eyes,
    "not_registrant": not_registrant,
}


def check_rule(name: str | None, facts: StepFacts) -> Message | None:
    """Why the rule `name` refuses the step (None: it allows it, or the step names no rule)."""
    return RULES[name](facts) if name is not None else None
