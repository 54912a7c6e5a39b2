"""The schema of shapes covers every key the loader and the rules read."""

from __future__ import annotations

from app.forms_engine.fieldtypes import FIELD_TYPES
from app.forms_engine.loader import FIELD_KEYS
from app.forms_engine.rules import RULE_KEYS
from app.forms_engine.shapes import FIELD, FORM, NESTED_FIELD, RULE, conform


def test_every_key_a_definition_may_hold_has_a_shape() -> None:
    options = {option for ftype in FIELD_TYPES.values() for option in ftype.options}
    assert FIELD_KEYS | options <= set(FIELD.known)
    assert set(FIELD.known) == set(NESTED_FIELD.known)
    assert set().union(*RULE_KEYS.values()) | {"rule"} <= set(RULE.known)


def test_all_shape_problems_are_reported_together() -> None:
    problems: list[str] = []
    conform(FORM, {"form": 1, "title": [], "fields": [{"name": 2}]}, "", lambda path, text, **_: problems.append(path))
    assert problems == ["form", "title", "fields[0].name"]
