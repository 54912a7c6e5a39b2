"""Hand-written bad definitions, each refused with one located message (file, path, line), never a traceback.

Each case is a whole file as an office would write it; the expected text is the located
message `forms check` prints for it.
"""

from __future__ import annotations

import copy
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations

from app.forms_engine.limits import MAX_FIELDS, MAX_TEXT
from app.forms_engine.loader import DefinitionErrors, check_references, load_paths, parse_definition
from app.forms_engine.serialize import to_definition
from app.forms_engine.shapes import CHOICE_MAPPING, FIELD, FORM, GRID, LABEL_MAPPING, NESTED_FIELD, RULE, Keys
from app.forms_engine.spec import FormSpec
from app.forms_engine.store import dump_json

BASE = "form: x\ntitle: X\nfields:\n  - {name: a, type: text, label: A}\n"  # a new field or key goes on line 5


def with_field(field: str) -> str:
    """BASE with a second field, fields[1], on line 5."""
    return BASE + f"  - {field}\n"


def with_key(line: str) -> str:
    """BASE with one more form-level line (line 5)."""
    return BASE + line + "\n"


def errors_of(tmp_path: Path, content: str | bytes, name: str = "x.yaml") -> list[str]:
    """What `forms check` prints for one file: every error, none of them a traceback."""
    file = tmp_path / name
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(content, encoding="utf-8")
    found, errors = load_paths([file], base=tmp_path)
    assert not found, "the definition was accepted"
    return [str(e) for e in errors]


def one_error(tmp_path: Path, content: str | bytes) -> str:
    [error] = errors_of(tmp_path, content)
    return error


LAUGHS = (
    "form: x\ntitle: X\n"
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8))
    + "fields: [{name: a, type: text, label: A, default: *i}]\n"
)

CASES = [
    # Review point 6: a list where text is expected, numbers that are not numbers, deep nesting.
    (
        "type list",
        with_field("{name: b, type: [text], label: B}"),
        "x.yaml: fields[1].type: must be text, not a list (line 5)",
    ),
    ("title_field list", with_key("title_field: [a]"), "x.yaml: title_field: must be text, not a list (line 5)"),
    ("order_by nested list", with_key("order_by: [[a]]"), "x.yaml: order_by[0]: must be text, not a list (line 5)"),
    (
        "level list",
        with_field("{name: b, type: region, label: B, level: [desa]}"),
        "x.yaml: fields[1].level: must be text, not a list (line 5)",
    ),
    (
        "region_field list",
        with_key("region_field: [a]"),
        "x.yaml: region_field: must be a field name or false, not a list (line 5)",
    ),
    (
        "rule name list",
        with_key("rules: [{rule: [required_if]}]"),
        "x.yaml: rules[0].rule: must be text, not a list (line 5)",
    ),
    ("rules text", with_key("rules: required_if"), "x.yaml: rules: must be a list, not text (line 5)"),
    (
        "rule when list",
        with_key("rules: [{rule: required_if, fields: [a], when: [a]}]"),
        "x.yaml: rules[0].when: must be a mapping of field names to values, not a list (line 5)",
    ),
    (
        "infinity",
        with_field("{name: b, type: integer, label: B, max: .inf}"),
        "x.yaml: fields[1].max: must be a finite number, not inf (line 5)",
    ),
    (
        "minus infinity",
        with_field("{name: b, type: decimal, label: B, min: -.inf}"),
        "x.yaml: fields[1].min: must be a finite number, not -inf (line 5)",
    ),
    (
        "not a number",
        with_field("{name: b, type: money, label: B, default: .nan}"),
        "x.yaml: fields[1].default: must be a finite number, not nan (line 5)",
    ),
    (
        "1e30 money",
        with_field("{name: b, type: money, label: B, max: 1e30}"),
        "x.yaml: fields[1].max: '1e30' must be at most",
    ),
    (
        "exponent of a billion",
        with_field("{name: b, type: integer, label: B, max: 1e999999999}"),
        "x.yaml: fields[1].max: '1e999999999' must be at most",
    ),
    (
        "whole number beyond BIGINT",
        with_field("{name: b, type: integer, label: B, max: 99999999999999999999}"),
        "x.yaml: fields[1].max: is too large; numbers here may be at most 9223372036854775807 (line 5)",
    ),
    (
        "5,000 digits",
        with_field("{name: b, type: integer, label: B, max: " + "9" * 5000 + "}"),
        "x.yaml: line 5, column 45: is too large; numbers here may be at most 9223372036854775807",
    ),
    (
        "3000-deep nesting",
        with_key("extra: " + "[" * 3000 + "]" * 3000),
        "x.yaml: line 5, column 47: is nested more than 40 levels deep",
    ),
    (
        "alias bomb as a default",
        LAUGHS,
        "x.yaml: line 8, column 4: stands for more than 200000 values once its aliases are expanded",
    ),
    # Review point 7: invalid definitions that were accepted.
    (
        "default below min",
        with_field("{name: b, type: integer, label: B, min: 5, default: 1}"),
        "x.yaml: fields[1].default: '1' must be at least 5 (line 5)",
    ),
    (
        "default above max",
        with_field("{name: b, type: date, label: B, max: 2020-01-01, default: 2021-01-01}"),
        "x.yaml: fields[1].default: '2021-01-01' must be at most 2020-01-01 (line 5)",
    ),
    (
        "default too long",
        with_field("{name: b, type: text, label: B, max_length: 3, default: abcd}"),
        "x.yaml: fields[1].default: 'abcd' must be at most 3 characters (line 5)",
    ),
    (
        "default too short",
        with_field("{name: b, type: text, label: B, min_length: 5, default: abcd}"),
        "x.yaml: fields[1].default: 'abcd' must be at least 5 characters (line 5)",
    ),
    (
        "default breaks pattern",
        with_field("{name: b, type: text, label: B, pattern: '[0-9]+', default: abc}"),
        "x.yaml: fields[1].default: 'abc' has the wrong format (line 5)",
    ),
    (
        "default breaks pattern, own message",
        with_field(
            "{name: b, type: text, label: B, pattern: '[0-9]+', pattern_message: {id: Hanya angka}, default: abc}"
        ),
        "x.yaml: fields[1].default: 'abc' Hanya angka (line 5)",
    ),
    (
        "default not a choice",
        with_field("{name: b, type: choice, label: B, choices: [ya, tidak], default: mungkin}"),
        "x.yaml: fields[1].default: 'mungkin' 'mungkin' is not one of the choices (line 5)",
    ),
    (
        "default outside within",
        with_field("{name: b, type: region, label: B, within: '63.09', default: '64.01'}"),
        "x.yaml: fields[1].default: '64.01' must lie within 63.09 (line 5)",
    ),
    (
        "min_length > max_length",
        with_field("{name: b, type: text, label: B, min_length: 5, max_length: 2}"),
        "x.yaml: fields[1].min_length: must not be larger than max_length (2) (line 5)",
    ),
    (
        "min_length > text's default 255",
        with_field("{name: b, type: text, label: B, min_length: 300}"),
        "x.yaml: fields[1].min_length: must not be larger than max_length (255) (line 5)",
    ),
    (
        "name ending in a newline",
        with_field('{name: "b\\n", type: text, label: B}'),
        "x.yaml: fields[1].name: 'b\\n' must start with a letter and use only a-z, 0-9 and _ (line 5)",
    ),
    (
        "name ending in a space",
        with_field('{name: "b ", type: text, label: B}'),
        "x.yaml: fields[1].name: 'b ' must start with a letter and use only a-z, 0-9 and _ (line 5)",
    ),
    (
        "form name ending in a newline",
        'form: "x\\n"\ntitle: X\nfields: [{name: a, type: text, label: A}]\n',
        "x.yaml: form: 'x\\n' must start with a letter and use only a-z, 0-9 and _ (line 1)",
    ),
    (
        "duplicate key in a field",
        with_field("{name: b, type: text, label: B, label: C}"),
        "x.yaml: line 5, column 37: the key 'label' appears twice (first on line 5); remove one",
    ),
    (
        "duplicate form key",
        BASE + "form: y\n",
        "x.yaml: line 5, column 1: the key 'form' appears twice (first on line 1); remove one",
    ),
    (
        "duplicate key in a label",
        with_field("{name: b, type: text, label: {id: B, id: C}}"),
        "x.yaml: line 5, column 42: the key 'id' appears twice (first on line 5); remove one",
    ),
    (
        "duplicate role",
        with_key("permissions:\n  Dinsos: [view]\n  Dinsos: [view, add]"),
        "x.yaml: line 7, column 3: the key 'Dinsos' appears twice (first on line 6); remove one",
    ),
    (
        "duplicate key in a rule's when",
        with_key("rules: [{rule: unique_when, fields: [a], when: {a: x, a: y}}]"),
        "x.yaml: line 5, column 55: the key 'a' appears twice (first on line 5); remove one",
    ),
    (
        "1 and true are the same key",
        with_key("permissions: {1: [view], true: [view]}"),
        "x.yaml: line 5, column 26: the key 'True' appears twice (first on line 5); remove one",
    ),
    (
        "2,100 fields",
        "form: x\ntitle: X\nfields:\n" + "".join(f"  - {{name: f{i}, type: text, label: F}}\n" for i in range(2100)),
        f"x.yaml: fields: has 2100 fields; a form or child table may have at most {MAX_FIELDS} (each one is a column) (line 4)",
    ),
    (
        "max_length beyond VARCHAR",
        with_field("{name: b, type: text, label: B, max_length: 20000000}"),
        "x.yaml: fields[1].max_length: must be a whole number from 1 to 10485760 (line 5)",
    ),
    (
        "max_length 0",
        with_field("{name: b, type: text, label: B, max_length: 0}"),
        "x.yaml: fields[1].max_length: must be a whole number from 1 to 10485760 (line 5)",
    ),
    (
        "child table name over 63",
        "form: "
        + "x" * 40
        + "\ntitle: X\nfields:\n  - {name: a, type: text, label: A}\n  - {name: "
        + "c" * 20
        + ", type: child, label: C, fields: [{name: d, type: text, label: D}]}\n",
        "x.yaml: fields[1].name: the child table form_"
        + "x" * 40
        + "__"
        + "c" * 20
        + " would have a name of 67 characters; PostgreSQL allows 63: shorten the field's or the form's name (line 5)",
    ),
    (
        "precision beyond NUMERIC",
        with_field("{name: b, type: decimal, label: B, precision: 1001}"),
        "x.yaml: fields[1].precision: must be a whole number from 1 to 1000 (line 5)",
    ),
    (
        "scale beyond precision",
        with_field("{name: b, type: decimal, label: B, precision: 5, scale: 6}"),
        "x.yaml: fields[1].scale: must be a whole number from 0 to 5 (line 5)",
    ),
    (
        "non-UTF-8 bytes",
        with_field("{name: b, type: text, label: Ñ}").encode("latin-1"),
        "x.yaml: line 5, column 34: is not UTF-8 text: byte 0xD1 cannot be read; save the file as UTF-8",
    ),
    # Wrong kinds of YAML value.
    (
        "a file that is a list",
        "- form: x\n",
        "x.yaml: line 1: must be a mapping with form, title and fields, not a list",
    ),
    (
        "a file that is text",
        "just some text\n",
        "x.yaml: line 1: must be a mapping with form, title and fields, not text",
    ),
    (
        "a file that is a number",
        "42\n",
        "x.yaml: line 1: must be a mapping with form, title and fields, not a whole number",
    ),
    ("an empty file", "", "x.yaml: is empty"),
    ("only a comment", "# nothing yet\n", "x.yaml: is empty"),
    (
        "two documents",
        BASE + "---\n" + BASE,
        "x.yaml: line 5, column 1: invalid YAML: expected a single document in the stream; but found another document",
    ),
    (
        "a field that is text",
        with_field("nama"),
        "x.yaml: fields[1]: must be a field: a mapping with name, type and label, not text (line 5)",
    ),
    (
        "fields a mapping",
        "form: x\ntitle: X\nfields: {name: a}\n",
        "x.yaml: fields: must be a list, not a mapping (line 3)",
    ),
    (
        "label a number",
        with_field("{name: b, type: text, label: 2024}"),
        "x.yaml: fields[1].label: must be text or a mapping with 'id' and 'en', not a whole number (line 5)",
    ),
    (
        "label binary",
        with_field("{name: b, type: text, label: !!binary aGVsbG8=}"),
        "x.yaml: fields[1].label: must be text or a mapping with 'id' and 'en', not another kind of value (line 5)",
    ),
    (
        "label a set",
        with_field("{name: b, type: text, label: !!set {a, b}}"),
        "x.yaml: fields[1].label: must be text or a mapping with 'id' and 'en', not another kind of value (line 5)",
    ),
    (
        "required as text",
        with_field("{name: b, type: text, label: B, required: 'ya'}"),
        "x.yaml: fields[1].required: must be true or false, not text (line 5)",
    ),
    (
        "yes and no as choices",
        with_field("{name: b, type: choice, label: B, choices: [yes, no]}"),
        "x.yaml: fields[1].choices[0]: must be a value or a mapping with 'value' and 'label', not true/false (YAML reads yes, no, on and off as true/false: put them in quotes) (line 5)",
    ),
    (
        "a role named by a number",
        with_key("permissions: {1: [view]}"),
        "x.yaml: permissions.1: must be named by text, not a whole number (line 5)",
    ),
    (
        "actions a mapping",
        with_key("permissions: {Dinsos: {view: true}}"),
        "x.yaml: permissions.Dinsos: must be a list of actions, or all, not a mapping (line 5)",
    ),
    (
        "default a mapping",
        with_field("{name: b, type: text, label: B, default: {a: 1}}"),
        "x.yaml: fields[1].default: must be a value or a list of values, not a mapping (line 5)",
    ),
    (
        "a date where a number belongs",
        with_field("{name: b, type: text, label: B, max_length: 2020-01-01}"),
        "x.yaml: fields[1].max_length: must be a whole number, not a date (line 5)",
    ),
    (
        "an invalid date",
        with_field("{name: b, type: date, label: B, min: 2020-13-45}"),
        "x.yaml: line 5, column 42: '2020-13-45' cannot be read: month must be in 1..12",
    ),
    (
        "grid a list",
        with_key("grid: [a]"),
        "x.yaml: grid: must be a mapping with rows, group, key and cell, not a list (line 5)",
    ),
    (
        "unique_together of text",
        with_key("unique_together: a"),
        "x.yaml: unique_together: must be a list of lists of field names, not text (line 5)",
    ),
    # Unicode oddities and control characters.
    (
        "NUL in a label",
        with_field('{name: b, type: text, label: "B\\0"}'),
        "x.yaml: fields[1].label: contains the character U+0000, which cannot be stored; remove it (line 5)",
    ),
    (
        "lone surrogate in a label",
        with_field('{name: b, type: text, label: "B\\ud800"}'),
        "x.yaml: fields[1].label: contains the character U+D800, which cannot be stored; remove it (line 5)",
    ),
    (
        "escape in a default",
        with_field('{name: b, type: text, label: B, default: "\\x1b[31m"}'),
        "x.yaml: fields[1].default: contains the character U+001B, which cannot be stored; remove it (line 5)",
    ),
    (
        "raw control character",
        with_field("{name: b, type: text, label: B\x01}"),
        "x.yaml: line 5, column 35: contains the character U+0001, which YAML does not allow; remove it",
    ),
    (
        "full-width letter in a name",
        with_field("{name: ｂ, type: text, label: B}"),
        "x.yaml: fields[1].name: 'ｂ' must start with a letter and use only a-z, 0-9 and _ (line 5)",
    ),
    (
        "zero-width space in a name",
        with_field("{name: b\u200b, type: text, label: B}"),
        "x.yaml: fields[1].name: 'b\\u200b' must start with a letter and use only a-z, 0-9 and _ (line 5)",
    ),
    (
        "UTF-16 without a byte order mark",
        BASE.encode("utf-16-le"),
        "x.yaml: line 1, column 2: contains the character U+0000, which YAML does not allow; remove it",
    ),
    (
        "a text over the limit",
        with_field("{name: b, type: longtext, label: " + "B" * (MAX_TEXT + 1) + "}"),
        f"x.yaml: fields[1].label: is {MAX_TEXT + 1} characters long; at most {MAX_TEXT} are allowed (line 5)",
    ),
    (
        "a file over the limit",
        BASE + "# " + "x" * 1_000_000 + "\n",
        "x.yaml: is larger than 1000000 bytes, the most a definition file may have",
    ),
    (
        "rule name with a newline",
        with_key('rules: [{rule: "x\\ny"}]'),
        "x.yaml: rules[0].rule: unknown rule 'x\\ny'; expected one of",
    ),
    (
        "rule field with a newline",
        with_key('rules: [{rule: required_if, fields: ["a\\nb"], when: {a: x}}]'),
        "x.yaml: rules[0].fields: 'a\\nb' is not a field of this form (line 5)",
    ),
    (
        "rule key with a newline",
        with_key('rules: [{rule: required_if, fields: [a], when: {a: x}, "b\\n": 1}]'),
        "x.yaml: rules[0].b\\n: unknown key 'b\\n'; expected one of fields, when (line 5)",
    ),
    # Aliases.
    (
        "an alias inside its own anchor",
        "form: x\ntitle: X\nfields: &f [*f]\n",
        "x.yaml: line 3, column 13: the alias *f is used inside its own anchor",
    ),
    (
        "an undefined alias",
        with_key("title_field: *nowhere"),
        "x.yaml: line 5, column 14: invalid YAML: found undefined alias 'nowhere'",
    ),
    # Names: SQL, the system's columns, the frameworks' attributes, table names.
    (
        "a field named process",
        with_field("{name: process, type: text, label: B}"),
        "x.yaml: fields[1].name: 'process' is used by the generated screens and API; choose another name (line 5)",
    ),
    (
        "a field named meta",
        with_field("{name: meta, type: text, label: B}"),
        "x.yaml: fields[1].name: 'meta' is used by the generated screens and API; choose another name (line 5)",
    ),
    (
        "a field named validate",
        with_field("{name: validate, type: text, label: B}"),
        "x.yaml: fields[1].name: 'validate' is used by the generated screens and API; choose another name (line 5)",
    ),
    (
        "a field named csrf_token",
        with_field("{name: csrf_token, type: text, label: B}"),
        "x.yaml: fields[1].name: 'csrf_token' is used by the generated screens and API; choose another name (line 5)",
    ),
    (
        "a child's field named errors",
        with_field("{name: c, type: child, label: C, fields: [{name: errors, type: text, label: E}]}"),
        "x.yaml: fields[1].fields[0].name: 'errors' is used by the generated screens and API; choose another name (line 5)",
    ),
    (
        "a form name too long",
        "form: " + "x" * 41 + "\ntitle: X\nfields: [{name: a, type: text, label: A}]\n",
        "x.yaml: form: '" + "x" * 41 + "' is longer than 40 characters (line 1)",
    ),
    (
        "a form name with a double underscore",
        "form: a__b\ntitle: X\nfields: [{name: a, type: text, label: A}]\n",
        "x.yaml: form: 'a__b' may not contain a double underscore (line 1)",
    ),
    (
        "a reference target that is no name",
        with_field("{name: b, type: reference, label: B, target: 'Aid Roster'}"),
        "x.yaml: fields[1].target: 'Aid Roster' must start with a letter and use only a-z, 0-9 and _ (line 5)",
    ),
    # Meanings the databases and screens cannot hold.
    (
        "a pattern that backtracks",
        with_field("{name: b, type: text, label: B, pattern: '(a+)+b'}"),
        "x.yaml: fields[1].pattern: repeats a part that itself repeats, as in (a+)+, so checking one value can take hours; make the inner repetition possessive, as in (a++)+, or write it without nesting (line 5)",
    ),
    (
        "a choice value with a trailing space",
        with_field("{name: b, type: choice, label: B, choices: ['ya ', tidak]}"),
        "x.yaml: fields[1].choices[0]: 'ya ' begins or ends with a space, so it could never be chosen (line 5)",
    ),
    (
        "a multichoice value with a comma",
        with_field("{name: b, type: multichoice, label: B, choices: ['a,b', c]}"),
        "x.yaml: fields[1].choices[0]: 'a,b' contains a comma, which separates the choices of a multichoice field (line 5)",
    ),
    (
        "an indexed multichoice",
        with_field("{name: b, type: multichoice, label: B, choices: [a], indexed: true}"),
        "x.yaml: fields[1].indexed: a multichoice field cannot be indexed (line 5)",
    ),
    (
        "a field twice in unique_together",
        with_key("unique_together: [[a, a]]"),
        "x.yaml: unique_together[0]: 'a' is named twice (line 5)",
    ),
    (
        "a role name with a trailing space",
        with_key("permissions: {'Dinsos ': [view]}"),
        "x.yaml: permissions.Dinsos : a role name must be 1 to 64 characters without spaces at either end (line 5)",
    ),
    (
        "records named by a child table",
        with_field("{name: c, type: child, label: C, fields: [{name: d, type: text, label: D}]}") + "title_field: c\n",
        "x.yaml: title_field: records cannot be named by 'c' (line 6)",
    ),
    (
        "extensions with a dot",
        with_field("{name: b, type: file, label: B, accept: [.pdf]}"),
        "x.yaml: fields[1].accept: must be a list of file extensions such as pdf, jpg (line 5)",
    ),
]


@pytest.mark.parametrize(("content", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_definition_is_refused_with_a_located_message(tmp_path: Path, content: str | bytes, expected: str) -> None:
    errors = errors_of(tmp_path, content)
    assert any(error.startswith(expected) for error in errors), errors
    assert all(error.startswith("x.yaml: ") and "\n" not in error for error in errors)


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    # Nine levels of ten: a billion strings if expanded (the review's case took over 120 s and 3 GB).
    started = time.perf_counter()
    errors_of(tmp_path, LAUGHS)
    assert time.perf_counter() - started < 2


def test_deep_nesting_and_large_files_are_refused_quickly(tmp_path: Path) -> None:
    started = time.perf_counter()
    errors_of(tmp_path, with_key("extra: " + "[" * 100_000 + "]" * 100_000))
    errors_of(tmp_path, BASE + "# " + "x" * 5_000_000 + "\n")
    assert time.perf_counter() - started < 5


def test_a_reference_cycle_is_located_at_the_reference(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "form: a\ntitle: A\nfields:\n  - {name: n, type: text, label: N}\n  - {name: b, type: reference, target: b, label: B}\n",
        encoding="utf-8",
    )
    (tmp_path / "b.yaml").write_text(
        "form: b\ntitle: B\nfields: [{name: a, type: reference, target: a, label: A}]\n", encoding="utf-8"
    )
    found, errors = load_paths([tmp_path], base=tmp_path)
    problems = [str(e) for e in check_references({slug: spec for slug, (spec, _) in found.items()}, {})]
    assert "a.yaml: fields[1].target: references form a cycle: a -> b -> a (line 5)" in problems
    assert "b.yaml: fields[0].target: references form a cycle: b -> a -> b (line 3)" in problems


# What looks odd but is fine.


def accepted(tmp_path: Path, content: str | bytes) -> FormSpec:
    file = tmp_path / "ok.yaml"
    file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    found, errors = load_paths([file], base=tmp_path)
    assert not errors
    [(spec, _)] = found.values()
    return spec


def test_accept_may_name_one_extension(tmp_path: Path) -> None:
    spec = accepted(tmp_path, with_field("{name: b, type: file, label: B, accept: pdf}"))
    assert spec.field("b").accept == ("pdf",)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_files_with_a_byte_order_mark_load(tmp_path: Path, encoding: str) -> None:
    spec = accepted(tmp_path, with_field("{name: b, type: text, label: Kode wilayah ñ}").encode(encoding))
    assert spec.field("b").label.id == "Kode wilayah ñ"


def test_aliases_and_merge_keys_may_share_parts(tmp_path: Path) -> None:
    spec = accepted(
        tmp_path,
        "form: x\ntitle: X\n"
        "fields:\n"
        "  - &ya_tidak {name: a, type: choice, label: A, choices: [ya, tidak]}\n"
        "  - {<<: *ya_tidak, name: b, label: B}\n",
    )
    assert [c.value for c in spec.field("b").choices] == ["ya", "tidak"]


def test_null_means_absent(tmp_path: Path) -> None:
    spec = accepted(tmp_path, with_field("{name: b, type: text, label: B, help: ~, default: ~, required: ~}"))
    assert spec.field("b").help is None and spec.field("b").required is False


def test_limits_themselves_are_allowed(tmp_path: Path) -> None:
    spec = accepted(
        tmp_path,
        "form: " + "x" * 40 + "\ntitle: X\nfields:\n"
        "  - {name: a, type: text, label: A, max_length: 10485760, min_length: 10485760}\n"
        "  - {name: " + "c" * 16 + ", type: child, label: C, fields: [{name: d, type: text, label: D}]}\n",
    )
    assert spec.children[0].table_name == "form_" + "x" * 40 + "__" + "c" * 16


def test_errors_read_in_indonesian_down_to_their_parts(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(with_field("{name: b, type: [text], label: B}"), encoding="utf-8")
    _, [error] = load_paths([tmp_path / "x.yaml"], base=tmp_path)
    catalogue = Translations.load(str(Path(__file__).parents[2] / "app/i18n/simpul"), ["id"])
    assert error.render(catalogue.gettext, "id") == "x.yaml: fields[1].type: harus berupa teks, bukan daftar (baris 5)"


def test_a_date_field_given_a_date_and_time_keeps_the_date(tmp_path: Path) -> None:
    spec = accepted(tmp_path, with_field("{name: b, type: date, label: B, min: 2021-05-01 10:00:00}"))
    assert spec.field("b").min == "2021-05-01"
    assert parse_definition(json.loads(dump_json(to_definition(spec))), spec.source) == spec


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_file_is_refused_after_the_limit(tmp_path: Path) -> None:
    started = time.perf_counter()
    _, [error] = load_paths([Path("/dev/zero")], base=tmp_path)
    assert str(error) == "/dev/zero: is larger than 1000000 bytes, the most a definition file may have"
    assert time.perf_counter() - started < 2


# Every key, given every kind of value it does not take, is refused at that key (or inside it).

WRONG_KINDS: dict[str, Any] = {
    "list": ["x"],
    "mapping": {"k": "v"},
    "whole number": 7,
    "number": 1.5,
    "true": True,
    "text": "teks",
    "date": date(2024, 1, 2),
    "nan": float("nan"),
    "infinity": float("-inf"),
    "huge": 2**70,
    "NUL": "a\x00",
}
# What each key takes, written out independently of shapes.py: a key missing here fails collection.
_TAKES = {
    "text": {"text"},
    "flag": {"true"},
    "whole": {"whole number"},
    "label": {"text", "mapping"},
    "names": {"text", "list"},
    "value": {"text", "whole number", "number", "true", "date"},
    "default": {"text", "whole number", "number", "true", "date", "list"},
    "choice value": {"text", "whole number"},
    "mapping": {"mapping"},
    "list": {"list"},
    "name or false": {"text", "true"},
    "flag or mapping": {"true", "mapping"},
    "nothing": set(),  # lists of mappings or of lists: ["x"] is wrong inside
}
TAKES: dict[tuple[str, str], str] = {
    **{
        (p, k): "text"
        for p in ("form", "field", "nested", "rule")
        for k in (
            "form",
            "icon",
            "title_field",
            "name",
            "id",
            "type",
            "pattern",
            "level",
            "target",
            "rule",
            "reference",
            "limit",
            "via",
            "group",
            "nik",
            "birth_date",
            "sex",
            "child",
        )
    },
    **{(p, "within"): "text" for p in ("field", "nested")},
    **{
        (p, k): "flag"
        for p in ("form", "field", "nested")
        for k in ("singleton", "required", "unique", "indexed", "list", "search", "filter", "retired")
    },
    **{(p, k): "whole" for p in ("field", "nested") for k in ("min_length", "max_length", "precision", "scale")},
    **{("rule", k): "whole" for k in ("min", "max")},
    **{
        (p, k): "label"
        for p in ("form", "field", "nested")
        for k in ("title", "description", "category", "label", "help", "pattern_message")
    },
    **{(p, k): "names" for p in ("form", "field", "nested") for k in ("order_by", "accept")},
    **{("rule", k): "names" for k in ("fields", "within")},
    **{(p, k): "value" for p in ("field", "nested") for k in ("min", "max")},
    **{(p, "default"): "default" for p in ("field", "nested")},
    **{("rule", k): "choice value" for k in ("female", "male")},
    **{("form", k): "mapping" for k in ("permissions", "grid", "workflow")},
    **{("rule", k): "mapping" for k in ("when", "where")},
    **{(p, "choices"): "list" for p in ("field", "nested")},
    ("form", "region_field"): "name or false",
    **{(p, k): "nothing" for p in ("form", "field", "nested") for k in ("fields", "unique_together", "rules")},
    **{("grid", k): "text" for k in ("rows", "group", "key", "cell")},
    ("grid", "extra"): "names",
    ("grid", "key_range"): "names",
    **{(p, "related"): "flag or mapping" for p in ("field", "nested")},
    **{("label", k): "text" for k in ("id", "en")},
    ("choice", "value"): "choice value",
    ("choice", "label"): "label",
}
PLACES: dict[str, tuple[str, Any, Keys]] = {
    "form": ("", lambda data: data, FORM),
    "field": ("fields[1].", lambda data: data["fields"][1], FIELD),
    "nested": ("fields[2].fields[0].", lambda data: data["fields"][2]["fields"][0], NESTED_FIELD),
    "rule": ("rules[0].", lambda data: data["rules"][0], RULE),
    "grid": ("grid.", lambda data: data["grid"], GRID),
    "label": ("fields[1].label.", lambda data: data["fields"][1]["label"], LABEL_MAPPING),
    "choice": ("fields[4].choices[0].", lambda data: data["fields"][4]["choices"][0], CHOICE_MAPPING),
}


def base() -> dict[str, Any]:
    """A valid definition with a field, a child, a rule, a grid, a label mapping and a choice mapping."""
    return {
        "form": "x",
        "title": "X",
        "fields": [
            {"name": "a", "type": "text", "label": "A"},
            {"name": "b", "type": "text", "label": {"id": "B"}},
            {"name": "c", "type": "child", "label": "C", "fields": [{"name": "d", "type": "text", "label": "D"}]},
            {"name": "e", "type": "reference", "target": "y", "label": "E"},
            {"name": "f", "type": "choice", "label": "F", "choices": [{"value": "v", "label": "V"}]},
        ],
        "rules": [{"rule": "required_if", "fields": ["a"], "when": {"b": "x"}}],
        "grid": {"rows": "e", "group": "g", "key": "b", "cell": "f"},
    }


def test_the_base_of_the_key_cases_loads() -> None:
    assert parse_definition(base(), "forms/x.yaml").grid is not None


KEY_CASES = [
    pytest.param(place, key, value, id=f"{place}.{key}={kind}")
    for place, (_, _, shape) in PLACES.items()
    for key in shape.known
    for kind, value in WRONG_KINDS.items()
    if kind not in _TAKES[TAKES[(place, key)]]
]


@pytest.mark.parametrize(("place", "key", "value"), KEY_CASES)
def test_every_key_refuses_every_wrong_kind_at_its_path(place: str, key: str, value: Any) -> None:
    data = base()
    prefix, container, _ = PLACES[place]
    container(data)[key] = copy.deepcopy(value)
    with pytest.raises(DefinitionErrors) as caught:
        parse_definition(data, "forms/x.yaml")
    path = prefix + key
    errors = caught.value.errors
    assert any(e.path == path or e.path.startswith((path + "[", path + ".")) for e in errors), [str(e) for e in errors]
