"""Load-time validation: every problem is reported with file, path and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app.forms_engine.loader import DefinitionErrors, check_references, load_paths, parse_definition
from app.forms_engine.serialize import to_definition
from app.forms_engine.store import dump_json
from tests.conftest import spec_of

GOOD = """
form: aid_roster
title: {id: Daftar Penerima, en: Aid roster}
fields:
  - {name: nama, type: text, label: Nama}
  - {name: nik, type: nik, label: NIK, unique: true}
"""


def errors_of(text: str, source: str = "forms/aid_roster.yaml") -> list[str]:
    with pytest.raises(DefinitionErrors) as caught:
        parse_definition(yaml.safe_load(text), source)
    return [str(e) for e in caught.value.errors]


def with_field(field: str) -> str:
    return GOOD + f"  - {field}\n"


def test_a_good_definition_loads() -> None:
    spec = spec_of(GOOD)
    assert spec.slug == "aid_roster"
    assert [f.name for f in spec.fields] == ["nama", "nik"]
    assert spec.title_field == "nama"


def test_unknown_type_names_file_path_and_choices() -> None:
    [error] = errors_of(with_field("{name: x, type: nik16, label: X}"))
    assert error.startswith(
        "forms/aid_roster.yaml: fields[2].type: unknown type 'nik16'; expected one of text, longtext,"
    )


def test_unknown_key_in_field() -> None:
    [error] = errors_of(with_field("{name: x, type: text, label: X, requird: true}"))
    assert "fields[2].requird: unknown key 'requird'" in error


def test_unknown_key_in_form() -> None:
    [error] = errors_of(GOOD + "colour: red\n")
    assert error.startswith("forms/aid_roster.yaml: colour: unknown key 'colour'")


def test_duplicate_field_names() -> None:
    [error] = errors_of(with_field("{name: nama, type: text, label: Lagi}"))
    assert "fields[2].name: duplicate field name 'nama'" in error


def test_sql_keyword_as_field_name() -> None:
    [error] = errors_of(with_field("{name: select, type: text, label: X}"))
    assert "fields[2].name: 'select' is an SQL keyword" in error


def test_sql_keyword_as_form_name() -> None:
    assert any("form: 'order' is an SQL keyword" in e for e in errors_of(GOOD.replace("aid_roster", "order")))


@pytest.mark.parametrize("name", ["id", "created_on", "changed_by_fk", "region_code"])
def test_system_column_names_are_refused(name: str) -> None:
    [error] = errors_of(with_field(f"{{name: {name}, type: text, label: X}}"))
    assert f"fields[2].name: '{name}' is a system column" in error


def test_bad_name_characters() -> None:
    [error] = errors_of(with_field("{name: Nama Lengkap, type: text, label: X}"))
    assert "must start with a letter and use only a-z, 0-9 and _" in error


def test_choice_without_choices() -> None:
    [error] = errors_of(with_field("{name: status, type: choice, label: Status}"))
    assert "fields[2].choices: a choice field needs a non-empty list of choices" in error


def test_duplicate_choices() -> None:
    [error] = errors_of(with_field("{name: s, type: choice, label: S, choices: [a, b, a]}"))
    assert "duplicate choice 'a'" in error


def test_default_must_be_a_valid_value() -> None:
    [error] = errors_of(with_field("{name: n, type: integer, label: N, default: banyak}"))
    assert "fields[2].default: 'banyak' must be a whole number" in error


def test_min_greater_than_max() -> None:
    [error] = errors_of(with_field("{name: n, type: integer, label: N, min: 10, max: 1}"))
    assert "fields[2].max: must not be smaller than min" in error


def test_bad_pattern() -> None:
    [error] = errors_of(with_field("{name: k, type: text, label: K, pattern: '[a-'}"))
    assert "fields[2].pattern: is not a valid regular expression" in error


def test_label_needs_indonesian() -> None:
    [error] = errors_of(with_field("{name: k, type: text, label: {en: Code}}"))
    assert "fields[2].label.id: the Bahasa Indonesia text is required" in error


def test_nested_child_tables_are_refused() -> None:
    text = with_field(
        "{name: a, type: child, label: A, fields: [{name: b, type: child, label: B, fields: [{name: c, type: text, label: C}]}]}"
    )
    assert any("fields[2].fields[0].type: child tables cannot be nested" in e for e in errors_of(text))


def test_permissions_need_known_actions() -> None:
    [error] = errors_of(GOOD + "permissions: {Dinsos: [view, approve]}\n")
    assert "permissions.Dinsos: must be a list of view, add, edit, delete" in error


def test_all_errors_of_a_file_are_reported_together() -> None:
    text = GOOD + "  - {name: a, type: nope, label: A}\n  - {name: b, type: choice, label: B}\n"
    assert len(errors_of(text)) == 2


def test_reference_to_missing_form() -> None:
    spec = spec_of(
        with_field("{name: program, type: reference, target: programme, label: Program}"), "forms/aid_roster.yaml"
    )
    [error] = check_references({spec.slug: spec}, {})
    assert str(error) == "forms/aid_roster.yaml: fields[2].target: references unknown form 'programme'"


def test_reference_cycle() -> None:
    a = spec_of("form: a\ntitle: A\nfields: [{name: b, type: reference, target: b, label: B}]", "forms/a.yaml")
    b = spec_of("form: b\ntitle: B\nfields: [{name: a, type: reference, target: a, label: A}]", "forms/b.yaml")
    errors = [str(e) for e in check_references({"a": a, "b": b}, {})]
    assert "forms/a.yaml: fields[0].target: references form a cycle: a -> b -> a" in errors


def test_self_reference_is_a_cycle() -> None:
    a = spec_of("form: a\ntitle: A\nfields: [{name: induk, type: reference, target: a, label: Induk}]")
    assert any("cycle: a -> a" in str(e) for e in check_references({"a": a}, {}))


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("form: x\nfields: [\n", encoding="utf-8")
    found, errors = load_paths([tmp_path], base=tmp_path)
    assert not found
    assert str(errors[0]).startswith("bad.yaml: line 3, column 1: invalid YAML: ")


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    (tmp_path / "evil.yaml").write_text("form: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    found, errors = load_paths([tmp_path], base=tmp_path)
    assert not found and "invalid YAML" in str(errors[0])


def test_same_form_in_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    found, errors = load_paths([tmp_path], base=tmp_path)
    assert list(found) == ["aid_roster"]
    assert str(errors[0]) == "b.yaml: form: form 'aid_roster' is also defined in a.yaml (line 2)"


def test_definition_round_trips_through_storage_format() -> None:
    text = (
        GOOD
        + """  - {name: status, type: choice, label: {id: Status, en: State}, choices: [{value: a, label: {id: Aktif, en: Active}}]}
  - {name: jumlah, type: money, label: Jumlah, min: 0, help: {id: Rupiah}, default: 150000}
  - {name: mulai, type: date, label: Mulai, min: 2020-01-01, default: 2026-01-02}
  - {name: ya, type: boolean, label: Ya, default: true}
  - {name: anggota, type: child, label: Anggota, fields: [{name: nama, type: text, label: Nama, required: true}]}
permissions: {Dinsos: [view, add]}
unique_together: [[nama, status]]
"""
    )
    spec = spec_of(text)
    again = parse_definition(json.loads(dump_json(to_definition(spec))), spec.source)
    assert again == spec
    assert spec.field("ya").default is True and spec.field("mulai").default == "2026-01-02"
