"""The shape of every key in a definition, checked over the raw tree before it is read.

A definition arrives as a tree of YAML (or JSON) values. Before the loader interprets it,
`conform` compares the tree with the small schema at the end of this module: which keys hold
text, true/false, whole numbers, lists or mappings, and how long texts and lists may be. A
wrong shape is reported here, located ("fields[3].type: must be text, not a list"), so the
loader only ever reads well-formed trees: no key can crash it with a list where a name
belongs, a NaN, or a number of thousands of digits. Unknown keys are left for the loader,
which knows which keys each field type takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .limits import (
    MAX_CHOICES,
    MAX_FIELDS,
    MAX_INDEX_COLUMNS,
    MAX_NAMES,
    MAX_ROLES,
    MAX_RULES,
    MAX_TEXT,
    MAX_WHOLE,
)
from .messages import N_, Message, shown
from .spec import join_path
from .text import unstorable

Sink = Callable[..., None]  # error(path, msgid, **params)


def kind(value: Any) -> str:
    """What a value is, as a msgid for "… not %(actual)s"."""
    if value is None:
        return N_("empty")
    if isinstance(value, bool):
        return N_("true/false")
    if isinstance(value, int):
        return N_("a whole number")
    if isinstance(value, float):
        return N_("a number")
    if isinstance(value, str):
        return N_("text")
    if isinstance(value, list):
        return N_("a list")
    if isinstance(value, Mapping):
        return N_("a mapping")
    if isinstance(value, datetime):
        return N_("a date and time")
    if isinstance(value, date):
        return N_("a date")
    return N_("another kind of value")


class Shape:
    """What one value must look like."""

    expected: str  # msgid naming the shape: "must be %(expected)s"

    def accepts(self, value: Any) -> bool:
        """Whether the value is of this shape at its top (what is inside is checked by `inside`)."""
        raise NotImplementedError

    def inside(self, value: Any, path: str, sink: Sink) -> Any:
        """Check an accepted value's contents; return it with empty keys dropped."""
        return value


def conform(shape: Shape, value: Any, path: str, sink: Sink) -> Any:
    """`value` checked against `shape`, every problem reported to `sink` at its path."""
    if shape.accepts(value):
        return shape.inside(value, path, sink)
    if isinstance(value, bool) and shape.accepts("text"):
        # YAML 1.1 reads yes, no, on and off as true/false: `choices: [ya, no]` is a classic.
        sink(
            path,
            N_(
                "must be %(expected)s, not true/false (YAML reads yes, no, on and off as true/false: put them in quotes)"
            ),
            expected=Message(shape.expected),
        )
    else:
        sink(
            path,
            N_("must be %(expected)s, not %(actual)s"),
            expected=Message(shape.expected),
            actual=Message(kind(value)),
        )
    return None


@dataclass(frozen=True)
class Scalar(Shape):
    """A single value of one of `types` (bool is never an int here)."""

    types: tuple[type, ...]
    expected: str

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return bool in self.types
        return isinstance(value, self.types)

    def inside(self, value: Any, path: str, sink: Sink) -> Any:
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                sink(path, N_("is %(n)s characters long; at most %(max)s are allowed"), n=len(value), max=MAX_TEXT)
            elif problem := unstorable(value):
                sink(path, problem.text, **problem.params)
        elif isinstance(value, float) and not math.isfinite(value):
            sink(path, N_("must be a finite number, not %(value)s"), value=shown(value))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_WHOLE:
            sink(path, N_("is too large; numbers here may be at most %(max)s"), max=MAX_WHOLE)
        return value


@dataclass(frozen=True)
class Seq(Shape):
    """A list of `item`s, at most `max_items` long; with `single`, one item alone stands for a list of it."""

    item: Shape
    max_items: int
    expected: str = N_("a list")
    single: bool = False
    too_many: str = N_("has %(n)s entries; at most %(max)s are allowed")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list) or (self.single and self.item.accepts(value))

    def inside(self, value: Any, path: str, sink: Sink) -> Any:
        if not isinstance(value, list):
            return [conform(self.item, value, path, sink)]
        if len(value) > self.max_items:
            sink(path, self.too_many, n=len(value), max=self.max_items)
            return value
        return [conform(self.item, item, f"{path}[{index}]", sink) for index, item in enumerate(value)]


@dataclass(frozen=True)
class Keys(Shape):
    """A mapping whose known keys have shapes; a key given no value (null) counts as absent."""

    known: Mapping[str, Shape]
    expected: str = N_("a mapping")

    def accepts(self, value: Any) -> bool:
        return isinstance(value, Mapping)

    def inside(self, value: Any, path: str, sink: Sink) -> Any:
        result: dict[Any, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            shape = self.known.get(key) if isinstance(key, str) else None
            result[key] = item if shape is None else conform(shape, item, join_path(path, key), sink)
        return result


@dataclass(frozen=True)
class MapOf(Shape):
    """A mapping from names (text) to values of one shape, such as role -> actions."""

    value: Shape
    max_items: int
    expected: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, Mapping)

    def inside(self, value: Any, path: str, sink: Sink) -> Any:
        if len(value) > self.max_items:
            sink(path, N_("has %(n)s entries; at most %(max)s are allowed"), n=len(value), max=self.max_items)
            return value
        result: dict[str, Any] = {}
        for key, item in value.items():
            at = join_path(path, key)
            if not isinstance(key, str):
                sink(at, N_("must be named by text, not %(actual)s"), actual=Message(kind(key)))
                continue
            conform(TEXT, key, at, sink)
            result[key] = conform(self.value, item, at, sink)
        return result


@dataclass(frozen=True)
class Either(Shape):
    """One of several shapes, told apart by what the value is at its top."""

    options: tuple[Shape, ...]
    expected: str

    def accepts(self, value: Any) -> bool:
        return any(option.accepts(value) for option in self.options)

    def inside(self, value: Any, path: str, sink: Sink) -> Any:
        option = next(option for option in self.options if option.accepts(value))
        return option.inside(value, path, sink)


@dataclass(frozen=True)
class Anything(Shape):
    """Not looked into (what the loader refuses for its meaning, such as a nested child's fields)."""

    expected: str = N_("a value")

    def accepts(self, value: Any) -> bool:
        return True


# ---------------------------------------------------------------------------
# The schema of a definition

TEXT = Scalar((str,), N_("text"))
FLAG = Scalar((bool,), N_("true or false"))
WHOLE = Scalar((int,), N_("a whole number"))
VALUE = Scalar((str, int, float, bool, date, type(None)), N_("a single value (text, number, date or true/false)"))
CHOICE_VALUE = Scalar((str, int), N_("text or a whole number"))
LABEL_MAPPING = Keys({"id": TEXT, "en": TEXT})
LABEL = Either((TEXT, LABEL_MAPPING), N_("text or a mapping with 'id' and 'en'"))
CHOICE_MAPPING = Keys({"value": CHOICE_VALUE, "label": LABEL})
NAMES = Seq(TEXT, MAX_NAMES, N_("a name or a list of names"), single=True)
WHEN = MapOf(VALUE, MAX_NAMES, N_("a mapping of field names to values"))
UNIQUE_TOGETHER = Seq(
    Seq(TEXT, MAX_INDEX_COLUMNS, N_("a list of field names")), MAX_NAMES, N_("a list of lists of field names")
)
GRID = Keys(
    {"rows": TEXT, "group": TEXT, "key": TEXT, "cell": TEXT, "extra": NAMES, "key_range": NAMES},
    N_("a mapping with rows, group, key and cell"),
)
TOO_MANY_FIELDS = N_("has %(n)s fields; a form or child table may have at most %(max)s (each one is a column)")

_FIELD_KEYS: dict[str, Shape] = {
    "name": TEXT,
    "id": TEXT,
    "type": TEXT,
    "label": LABEL,
    "help": LABEL,
    "required": FLAG,
    "unique": FLAG,
    "indexed": FLAG,
    "list": FLAG,
    "search": FLAG,
    "filter": FLAG,
    "retired": FLAG,
    "default": Either((VALUE, Seq(VALUE, MAX_CHOICES)), N_("a value or a list of values")),
    "min": VALUE,
    "max": VALUE,
    "min_length": WHOLE,
    "max_length": WHOLE,
    "precision": WHOLE,
    "scale": WHOLE,
    "pattern": TEXT,
    "pattern_message": LABEL,
    "choices": Seq(
        Either((CHOICE_VALUE, CHOICE_MAPPING), N_("a value or a mapping with 'value' and 'label'")),
        MAX_CHOICES,
    ),
    "level": TEXT,
    "within": TEXT,
    "target": TEXT,
    "related": Either((FLAG, Keys({"by": TEXT}, N_("a mapping with by"))), N_("true, false or a mapping with by")),
    "accept": NAMES,
    "title_field": TEXT,
    "order_by": NAMES,
    "unique_together": UNIQUE_TOGETHER,
}
FIELD_EXPECTED = N_("a field: a mapping with name, type and label")
# A child table's own fields: a `fields` there is refused by meaning (no nested child tables),
# and is not looked into, so no definition is walked deeper than this schema.
NESTED_FIELD = Keys({**_FIELD_KEYS, "fields": Anything()}, FIELD_EXPECTED)
FIELD = Keys(
    {**_FIELD_KEYS, "fields": Seq(NESTED_FIELD, MAX_FIELDS, too_many=TOO_MANY_FIELDS)},
    FIELD_EXPECTED,
)
RULE = Keys(
    {
        "rule": TEXT,
        "fields": NAMES,
        "within": NAMES,
        "when": WHEN,
        "where": WHEN,
        "reference": TEXT,
        "limit": TEXT,
        "via": TEXT,
        "group": TEXT,
        "nik": TEXT,
        "birth_date": TEXT,
        "sex": TEXT,
        "child": TEXT,
        "female": CHOICE_VALUE,
        "male": CHOICE_VALUE,
        "min": WHOLE,
        "max": WHOLE,
    },
    N_("a rule: a mapping with rule and its keys"),
)
FORM = Keys(
    {
        "form": TEXT,
        "title": LABEL,
        "description": LABEL,
        "category": LABEL,
        "icon": TEXT,
        "title_field": TEXT,
        "order_by": NAMES,
        "unique_together": UNIQUE_TOGETHER,
        "region_field": Either((TEXT, FLAG), N_("a field name or false")),
        "permissions": MapOf(
            Either((TEXT, Seq(TEXT, MAX_NAMES)), N_("a list of actions, or all")),
            MAX_ROLES,
            N_("a mapping of role names to lists of actions"),
        ),
        "fields": Seq(FIELD, MAX_FIELDS, too_many=TOO_MANY_FIELDS),
        "rules": Seq(RULE, MAX_RULES),
        "singleton": FLAG,
        "grid": GRID,
        # States and transitions: shaped and read by app/workflows/definition.py (its WORKFLOW).
        "workflow": Anything(),
    },
    N_("a mapping with form, title and fields"),
)
