"""Random definitions, YAML texts and bytes: the loader answers with a spec or with located errors, quickly.

Whatever comes in, nothing but `DefinitionErrors` (or a file's errors) may come out, each
error one line naming the file. A definition that loads must also survive storage (JSON and
back) and give tables whose DDL compiles for SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from app.forms_engine.loader import DefinitionErrors, load_paths, parse_definition
from app.forms_engine.serialize import to_definition
from app.forms_engine.shapes import FIELD, FORM, RULE
from app.forms_engine.spec import FormSpec
from app.forms_engine.store import dump_json
from app.forms_engine.tables import all_tables, build_table
from app.forms_engine.yamlsource import YamlProblem, read_yaml

SOURCE = "forms/fuzz.yaml"
FAST = settings(
    max_examples=150, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow], database=None
)

GOOD: dict[str, Any] = yaml.safe_load(
    """
form: bantuan
title: {id: Penerima Bantuan, en: Aid recipients}
category: Bantuan
icon: fa-list
title_field: nama
order_by: [-tanggal, nama]
unique_together: [[nik, program]]
region_field: desa
permissions: {Dinsos: all, Operator Desa: [view, add]}
fields:
  - {name: nama, type: text, label: Nama, required: true, max_length: 80, pattern: '[A-Za-z .]+'}
  - {name: nik, type: nik, label: NIK, unique: true}
  - {name: program, type: choice, label: Program, choices: [{value: pkh, label: PKH}, bpnt], default: pkh}
  - {name: desa, type: region, level: desa, label: Desa, within: '63.09'}
  - {name: tanggal, type: date, label: Tanggal, min: 2020-01-01}
  - {name: jumlah, type: money, label: Jumlah, min: 0, max: 10000000}
  - {name: berkas, type: file, label: Berkas, accept: [pdf]}
  - name: anggota
    type: child
    label: Anggota
    fields: [{name: nama, type: text, label: Nama}, {name: umur, type: integer, label: Umur, min: 0}]
rules:
  - {rule: required_if, fields: [jumlah], when: {program: pkh}}
  - {rule: child_count, child: anggota, max: 10}
"""
)
KEYS = sorted(set(FORM.known) | set(FIELD.known) | set(RULE.known) | {"id", "en", "value", "label", "rows", "cell"})
WORDS = ["text", "choice", "child", "reference", "region", "integer", "money", "date", "all", "view", "desa"]
WORDS += ["nama", "nik", "program", "anggota", "-nama", "fa-x", "63.09", "office", "yes", "1e30", "(a+)+", ""]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=12),
    st.text(st.characters(categories=["Cc", "Cs", "Cf", "Zs"]), max_size=3),
    st.sampled_from(WORDS),
    st.dates(),
    st.datetimes(),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6), st.integers(-3, 3), st.booleans(), st.none())
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


def answered(data: Any) -> FormSpec | None:
    """The loader's answer: a spec, or None after checking every error is located and one line."""
    try:
        spec = parse_definition(data, SOURCE)
    except DefinitionErrors as exc:
        assert exc.errors
        for error in exc.errors:
            text = str(error)
            assert text.startswith(SOURCE + ": ") and "\n" not in text, text
        return None
    assert_storable(spec)
    return spec


def assert_storable(spec: FormSpec) -> None:
    """What publish does with an accepted spec: store it as JSON, read it back, create its tables."""
    again = parse_definition(json.loads(dump_json(to_definition(spec))), SOURCE)
    assert again == spec
    metadata = sa.MetaData()
    for part in all_tables(spec):
        table = build_table(part, metadata, None)
        for dialect in (postgresql.dialect(), sqlite.dialect()):
            str(sa.schema.CreateTable(table).compile(dialect=dialect))
            for index in table.indexes:
                str(sa.schema.CreateIndex(index).compile(dialect=dialect))


def paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a tree where a value sits."""
    found = [prefix]
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) if isinstance(tree, list) else []
    for key, value in items:
        found += paths(value, (*prefix, key))
    return found


ALL_PATHS = paths(GOOD)[1:]


def test_the_base_definition_loads() -> None:
    assert answered(copy.deepcopy(GOOD)) is not None


@FAST
@given(trees)
def test_any_tree_gives_a_spec_or_located_errors(tree: Any) -> None:
    answered(tree)


@FAST
@given(st.sampled_from(ALL_PATHS), trees)
def test_any_value_anywhere_in_a_good_definition(path: tuple[Any, ...], value: Any) -> None:
    data = copy.deepcopy(GOOD)
    *parents, last = path
    owner = data
    for step in parents:
        owner = owner[step]
    owner[last] = value
    answered(data)


@FAST
@given(st.sampled_from(ALL_PATHS))
def test_any_key_left_out_of_a_good_definition(path: tuple[Any, ...]) -> None:
    data = copy.deepcopy(GOOD)
    *parents, last = path
    owner = data
    for step in parents:
        owner = owner[step]
    del owner[last]
    answered(data)


def read(raw: bytes) -> None:
    """A file's bytes through the reader and the loader: a Document or a located YamlProblem."""
    try:
        document = read_yaml(raw)
    except YamlProblem as problem:
        assert "\n" not in str(problem.message)
        return
    answered(document.data)


GOOD_YAML = yaml.safe_dump(GOOD, allow_unicode=True, sort_keys=False)


@FAST
@given(st.integers(0, len(GOOD_YAML)), st.text(max_size=8))
def test_any_text_inserted_into_a_good_file(at: int, inserted: str) -> None:
    read((GOOD_YAML[:at] + inserted + GOOD_YAML[at:]).encode("utf-8", errors="surrogatepass"))


@FAST
@given(st.binary(max_size=200))
def test_any_bytes(raw: bytes) -> None:
    read(raw)


@FAST
@given(st.text(alphabet="[]{}:,-&*!|>'\"#%@`?\n\t abc01.~<=", max_size=60))
def test_any_yaml_punctuation(text: str) -> None:
    read(text.encode())


@settings(max_examples=20, deadline=timedelta(seconds=5), database=None)
@given(trees)
def test_a_file_gives_a_spec_or_located_errors(tmp_path_factory: Any, tree: Any) -> None:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    file = folder / "fuzz.yaml"
    try:
        file.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8", errors="surrogatepass")
    except yaml.YAMLError:
        return  # not every tree can be written as YAML
    found, errors = load_paths([file], base=folder)
    assert bool(found) != bool(errors)
    assert all(str(e).startswith("fuzz.yaml: ") and "\n" not in str(e) for e in errors)
