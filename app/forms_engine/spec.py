"""Frozen, validated form specifications: what the rest of Simpul builds from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .messages import shown

if TYPE_CHECKING:  # app.workflows.spec imports this module; fieldtypes and record import it
    from app.workflows.spec import WorkflowSpec

    from .fieldtypes import CompiledField
    from .record import Validator

LANGS = ("id", "en")
_LAST_STEP = re.compile(r"(\.[^.\[\]]*|\[\d+\])\Z")


def join_path(path: str, key: Any) -> str:
    """The path of `key` inside `path`, as errors show it: `fields[3]` + `type` is `fields[3].type`."""
    step = shown(key)
    return f"{path}.{step}" if path else step


def line_of(lines: Mapping[str, int], path: str) -> int | None:
    """The line of `path` in its file, or of the nearest enclosing value that has one (a missing key)."""
    while path not in lines:
        if not path:
            return None
        shorter = _LAST_STEP.sub("", path)
        path = shorter if shorter != path else ""
    return lines[path]


@dataclass(frozen=True)
class Text:
    """A label in Bahasa Indonesia with an optional English version."""

    id: str
    en: str = ""

    def get(self, lang: str) -> str:
        """Return the text in `lang`, falling back to Bahasa Indonesia."""
        return (self.en or self.id) if lang == "en" else self.id

    def as_dict(self) -> dict[str, str]:
        """Serialisable form (only the languages that are set)."""
        return {"id": self.id, "en": self.en} if self.en else {"id": self.id}


@dataclass(frozen=True)
class Choice:
    """One allowed value of a choice or multi-choice field."""

    value: str
    label: Text


@dataclass(frozen=True)
class RuleSpec:
    """A rule across fields or rows, by registered name (see rules.py)."""

    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class GridSpec:
    """A screen that fills one record per row of a group at once (e.g. attendance of a batch).

    `rows`: this form's reference to the row records; `group`: the rows' reference that picks
    the group shown; `key`: a field set once for the whole grid (the day); `cell`: the choice
    filled per row; `extra`: further per-row inputs; `key_range`: the group record's fields
    holding the first and (optionally) last key a grid may be filled for (a batch's days).
    """

    rows: str
    group: str
    key: str
    cell: str
    extra: tuple[str, ...] = ()
    key_range: tuple[str, ...] = ()


# Specs are frozen, so what is derived from them is derived once: `cached_property` keeps it in
# the instance's __dict__, outside the dataclass fields, so equality, repr and
# `dataclasses.replace` (which builds a fresh spec, with nothing cached) are as before.


@dataclass(frozen=True)
class FieldSpec:
    """One field of a form; `id` is stable across renames, `name` is the column."""

    id: str
    name: str
    type: str
    label: Text
    help: Text | None = None
    required: bool = False
    unique: bool = False
    default: Any = None
    min: Any = None
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_message: Text | None = None
    choices: tuple[Choice, ...] = ()
    indexed: bool = False
    in_list: bool = True
    in_search: bool = False
    in_filters: bool = True
    level: str | None = None
    within: str = "office"  # region fields: "office" (the office's district), "all", or a code
    target: str | None = None
    precision: int | None = None
    scale: int | None = None
    accept: tuple[str, ...] = ()
    child: FormSpec | None = None
    retired: bool = False
    # reference fields: whether the records pointing through it show as a tab on the target's
    # record page, and the choice or boolean field whose counts that tab shows (`related:`)
    related: bool = True
    related_by: str | None = None

    @cached_property
    def compiled(self) -> CompiledField:
        """This field's conversion and limits, derived once (app/forms_engine/fieldtypes.py)."""
        from .fieldtypes import CompiledField  # fieldtypes builds on this module

        return CompiledField(self)

    def choice_label(self, value: str, lang: str) -> str:
        """Label of a stored choice value (the raw value when it is no longer offered)."""
        for choice in self.choices:
            if choice.value == value:
                return choice.label.get(lang)
        return value


@dataclass(frozen=True)
class FormSpec:
    """A whole form: table, screens and API are generated from this."""

    slug: str
    title: Text
    fields: tuple[FieldSpec, ...]
    category: Text | None = None
    description: Text | None = None
    icon: str = "fa-table"
    title_field: str | None = None
    order_by: tuple[str, ...] = ("-id",)
    unique_together: tuple[tuple[str, ...], ...] = ()
    region_field: str | None = None
    permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rules: tuple[RuleSpec, ...] = ()
    singleton: bool = False
    grid: GridSpec | None = None
    # States and transitions of the records (`workflow:`); its state field is among `fields`.
    workflow: WorkflowSpec | None = None
    parent: str | None = None
    source: str = ""
    # Line of each path in the source file (empty when the definition did not come from a file).
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def table_name(self) -> str:
        """Name of the SQL table holding this form's records."""
        return f"form_{self.slug}"

    @property
    def state_field(self) -> str | None:
        """The field holding each record's workflow state (changed by transitions only), or None."""
        return self.workflow.state_field if self.workflow is not None else None

    @cached_property
    def live_fields(self) -> tuple[FieldSpec, ...]:
        """Fields that are shown and edited (not retired)."""
        return tuple(f for f in self.fields if not f.retired)

    @cached_property
    def column_fields(self) -> tuple[FieldSpec, ...]:
        """Fields that own a column in this form's table (child tables own a table)."""
        return tuple(f for f in self.fields if f.type != "child")

    @cached_property
    def children(self) -> tuple[FormSpec, ...]:
        """Child-table forms nested in this form."""
        return tuple(f.child for f in self.live_fields if f.child is not None)

    @cached_property
    def _fields_by_name(self) -> dict[str, FieldSpec]:
        found: dict[str, FieldSpec] = {}
        for f in self.fields:
            found.setdefault(f.name, f)  # the first of a name, as a scan finds it
        return found

    @cached_property
    def validator(self) -> Validator:
        """`validate_values` for this form, its per-field work derived once (app/forms_engine/record.py)."""
        from .record import Validator  # record builds on this module

        return Validator(self)

    def field(self, name: str) -> FieldSpec:
        """Field by name (raises KeyError)."""
        try:
            return self._fields_by_name[name]
        except TypeError:  # an unhashable name, as a definition being checked may hold: no field has it
            raise KeyError(name) from None

    def line(self, path: str) -> int | None:
        """Line of a path of this definition in its file, when known."""
        return line_of(self.lines, path)

    def field_by_id(self, field_id: str) -> FieldSpec | None:
        """Field by its stable id, or None."""
        for f in self.fields:
            if f.id == field_id:
                return f
        return None
