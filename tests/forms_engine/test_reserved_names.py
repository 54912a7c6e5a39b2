"""The field names the engine refuses are exactly those the generated screens and models already use.

The engine imports no framework, so its list (names.FRAMEWORK_NAMES) is written out. This
test derives the real set from the classes Simpul generates for a form: the WTForms form
(Flask-WTF's FlaskForm with its CSRF token, FAB's DynamicForm, SpecForm) with the hooks
WTForms calls by a field's name, and the mapped SQLAlchemy classes. The marshmallow schemas
of the API are checked too: they take declared fields out of their attributes, so any name
is safe there. A framework upgrade that adds or drops an attribute fails here, naming it.
"""

from __future__ import annotations

import pytest
from flask import Flask
from marshmallow import Schema
from marshmallow.fields import Field

from app.forms_engine.fieldtypes import column_name
from app.forms_engine.loader import DefinitionErrors
from app.forms_engine.names import FRAMEWORK_NAMES, SYSTEM_COLUMNS, name_problem
from app.forms_engine.spec import FormSpec
from app.forms_engine.tables import all_tables, build_models
from app.views.form_fields import build_form
from app.views.schemas import input_schema, output_schema
from tests.conftest import spec_of

PROBE = """
form: probe
title: Probe
fields:
  - {name: nama, type: text, label: Nama}
  - {name: anggota, type: child, label: Anggota, fields: [{name: umur, type: integer, label: Umur}]}
"""
# WTForms calls a form's validate_<field> and filter_<field> for the field of that name.
INLINE_PREFIXES = ("validate_", "filter_")


def generated_attributes(spec: FormSpec) -> set[str]:
    """Attributes of the forms and mapped classes generated for `spec`, and the names their hooks take."""
    models = build_models([spec])
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-only-secret-key-of-at-least-32-bytes", WTF_CSRF_ENABLED=True)
    found: set[str] = set()
    with app.test_request_context():
        for part in all_tables(spec):
            form_class = build_form(part, models, lambda: None)
            found |= set(dir(form_class)) | set(dir(form_class()))
            found |= {name.removeprefix(p) for name in dir(form_class) for p in INLINE_PREFIXES if name.startswith(p)}
            model = models[part.slug]
            found |= set(dir(model)) | set(dir(model()))
    return found


def own_names(spec: FormSpec) -> set[str]:
    return {name for part in all_tables(spec) for f in part.fields for name in (f.name, column_name(f))}


@pytest.fixture(scope="module")
def clashes() -> set[str]:
    """Attributes a field could otherwise be named (a name's own rules, SQL and system columns aside)."""
    spec = spec_of(PROBE)
    candidates = generated_attributes(spec) - own_names(spec) - SYSTEM_COLUMNS
    return {name for name in candidates if name_problem(name, "field name") is None}


def test_every_attribute_of_the_generated_classes_is_refused(clashes: set[str]) -> None:
    assert sorted(clashes - FRAMEWORK_NAMES) == []


def test_every_refused_name_really_clashes(clashes: set[str]) -> None:
    assert sorted(FRAMEWORK_NAMES - clashes) == []


def test_the_review_s_examples_are_among_them(clashes: set[str]) -> None:
    assert {"process", "meta", "validate", "csrf_token"} <= clashes


def test_the_api_schemas_keep_their_methods_whatever_the_field_names() -> None:
    """marshmallow takes declared fields out of a schema's attributes: a field named `load` is safe there."""
    names = [
        n for n in dir(Schema) if name_problem(n, "field name") is None and n not in FRAMEWORK_NAMES | SYSTEM_COLUMNS
    ]
    fields = "".join(f"  - {{name: {n}, type: text, label: X}}\n" for n in names)
    spec = spec_of(f"form: probe\ntitle: Probe\nfields:\n{fields}")
    for schema in (output_schema(spec, build_models([spec])), input_schema(spec)):
        assert not any(isinstance(getattr(type(schema), n), Field) for n in names)
        assert schema.dump({n: "v" for n in names}) == {n: "v" for n in names}


@pytest.mark.parametrize("name", sorted(FRAMEWORK_NAMES))
def test_a_clashing_name_is_refused_by_the_loader(name: str) -> None:
    with pytest.raises(DefinitionErrors) as caught:
        spec_of(PROBE.replace("name: nama", f"name: {name}"), "forms/probe.yaml")
    assert f"forms/probe.yaml: fields[0].name: '{name}' is used by the generated screens and API" in str(caught.value)
