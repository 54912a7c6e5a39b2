"""Which names forms and fields may have: SQL identifiers that nothing else already uses."""

from __future__ import annotations

import re

from sqlalchemy.dialects.postgresql.base import RESERVED_WORDS as PG_RESERVED
from sqlalchemy.dialects.sqlite.base import SQLiteIdentifierPreparer
from sqlalchemy.sql.compiler import RESERVED_WORDS as ANSI_RESERVED

from .limits import MAX_NAME
from .messages import N_, Message, shown

# Always used with fullmatch: "$" would also match before a trailing newline.
NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
SQL_KEYWORDS = frozenset(w.lower() for w in PG_RESERVED | ANSI_RESERVED | SQLiteIdentifierPreparer.reserved_words)
SYSTEM_COLUMNS = frozenset(
    {
        "id",
        "created_on",
        "created_by_fk",
        "created_by",
        "changed_on",
        "changed_by_fk",
        "changed_by",
        "region_code",
        "parent_id",
        "parent",
    }
)
# Every field becomes an attribute of the generated WTForms form (Flask-WTF's FlaskForm, FAB's
# DynamicForm, Simpul's SpecForm): a field with one of these names would replace a method or
# attribute the screens rely on ("process", "validate", "meta", the CSRF token). WTForms also
# calls `validate_<field>` as a validator, so "on_submit" clashes with validate_on_submit. (The
# mapped classes add nothing beyond the system columns, and marshmallow takes declared fields
# out of a schema's attributes.) The engine imports none of these frameworks:
# tests/forms_engine/test_reserved_names.py derives the set from the real classes and checks
# that this list is exactly it.
FRAMEWORK_NAMES = frozenset(
    {
        "confirm_warnings",
        "csrf_token",
        "data",
        "errors",
        "form_errors",
        "hidden_tag",
        "is_submitted",
        "meta",
        "on_submit",
        "populate_obj",
        "post_process",
        "process",
        "refresh",
        "validate",
        "validate_on_submit",
    }
)


def is_name(value: str) -> bool:
    """a-z, 0-9 and _, starting with a letter, and nothing after it (not even a newline)."""
    return NAME_RE.fullmatch(value) is not None


def name_problem(value: str, what: str) -> Message | None:
    """Why `value` cannot be a form's or field's name (`what`: a msgid such as "field name"), or None."""
    if not is_name(value):
        return Message(N_("'%(name)s' must start with a letter and use only a-z, 0-9 and _"), {"name": shown(value)})
    if len(value) > MAX_NAME:
        return Message(N_("'%(name)s' is longer than %(n)s characters"), {"name": shown(value), "n": MAX_NAME})
    if value in SQL_KEYWORDS:
        return Message(
            N_("'%(name)s' is an SQL keyword; choose another %(what)s"), {"name": value, "what": Message(what)}
        )
    if "__" in value:  # child tables are named <form>__<field>
        return Message(N_("'%(name)s' may not contain a double underscore"), {"name": value})
    return None


def field_name_problem(value: str) -> Message | None:
    """Why `value` cannot be a field's name: a name's rules, system columns, framework attributes."""
    problem = name_problem(value, N_("field name"))
    if problem is not None:
        return problem
    if value in SYSTEM_COLUMNS:
        return Message(N_("'%(name)s' is a system column; choose another name"), {"name": value})
    if value in FRAMEWORK_NAMES:
        return Message(N_("'%(name)s' is used by the generated screens and API; choose another name"), {"name": value})
    return None
