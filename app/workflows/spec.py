"""Frozen, validated workflow specifications: what transitions, deadlines and escalation read.

Built by `definition.parse_workflow` from a form's `workflow:` block (format documented
there); nothing here checks anything, everything here has been checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.forms_engine.spec import Text

# Region levels a ladder level may name, from the narrowest area to the widest. The record's
# region field gives the area; a level's users are those of its role whose working area is
# the record's region cut at that level (ladder.area_of).
LADDER_REGION_LEVELS = ("desa", "kecamatan", "kabupaten")


@dataclass(frozen=True)
class LadderLevel:
    """One step of a state's escalation: `after` working days overdue, notify `role` of the record's `region_level`."""

    number: int  # 1, 2, 3 … in the order given; a stay fires each number once
    after: int
    role: str
    region_level: str


@dataclass(frozen=True)
class StateSpec:
    """One state: its label, whether records end there, its deadline and escalation ladder."""

    name: str
    label: Text
    terminal: bool = False
    sla: int | None = None  # working days a record may stay before it is overdue (None: no deadline)
    ladder: tuple[LadderLevel, ...] = ()


@dataclass(frozen=True)
class TransitionSpec:
    """A step from one of `sources` to `target`, for `roles`, once `requires` are filled in."""

    name: str
    sources: tuple[str, ...]
    target: str
    label: Text
    roles: tuple[str, ...]
    requires: tuple[str, ...] = ()
    comment_required: bool = False
    rule: str | None = None  # a registered rule by name, checked by the caller with its registry
    sets: Mapping[str, Any] = field(default_factory=dict)  # field -> value written when taken


@dataclass(frozen=True)
class WorkflowSpec:
    """A whole workflow: the states a form's records go through and the steps between them."""

    state_field: str
    initial: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    moved: Mapping[str, str] = field(default_factory=dict)  # removed state -> where its records go
    # Labels of the fields that transitions require or set, for messages (from the form).
    field_labels: Mapping[str, Text] = field(default_factory=dict, compare=False, repr=False)
    source: str = field(default="", compare=False)
    path: str = field(default="workflow", compare=False)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def state(self, name: str) -> StateSpec | None:
        """The state named `name`, or None."""
        return next((s for s in self.states if s.name == name), None)

    def transition(self, name: str) -> TransitionSpec | None:
        """The transition named `name`, or None."""
        return next((t for t in self.transitions if t.name == name), None)

    def leaving(self, state: str) -> tuple[TransitionSpec, ...]:
        """Transitions that may be taken from `state`, in definition order."""
        return tuple(t for t in self.transitions if state in t.sources)

    @property
    def state_names(self) -> tuple[str, ...]:
        """Every state's name, in definition order."""
        return tuple(s.name for s in self.states)

    def label_of(self, name: str) -> Text:
        """A field's label for messages (its name when the form did not give one)."""
        return self.field_labels.get(name) or Text(name)
