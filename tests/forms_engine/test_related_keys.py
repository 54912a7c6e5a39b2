"""`related:` on a reference field and a grid's `key_range`: read, checked, and stored unchanged."""

from __future__ import annotations

import pytest
import yaml

from app.forms_engine.loader import DefinitionErrors, check_references, parse_definition
from app.forms_engine.serialize import to_definition
from tests.conftest import spec_of

EVENT = """
form: acara
title: Acara
fields:
  - {name: nama, type: text, label: Nama}
  - {name: mulai, type: date, label: Mulai}
  - {name: selesai, type: date, label: Selesai}
"""
GUEST = """
form: tamu
title: Tamu
fields:
  - {name: nama, type: text, label: Nama}
  - {name: acara, type: reference, target: acara, label: Acara, related: {by: status}}
  - {name: pengganti, type: reference, target: acara, label: Pengganti, related: false}
  - {name: status, type: choice, label: Status, choices: [datang, absen]}
"""
VISIT = """
form: hadir
title: Hadir
fields:
  - {name: tamu, type: reference, target: tamu, label: Tamu}
  - {name: tanggal, type: date, label: Tanggal}
  - {name: status, type: choice, label: Status, choices: [ya, tidak]}
grid: {rows: tamu, group: acara, key: tanggal, cell: status, key_range: [mulai, selesai]}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(DefinitionErrors) as caught:
        parse_definition(yaml.safe_load(text), "forms/x.yaml")
    return [str(e) for e in caught.value.errors]


def test_related_is_read_and_survives_storing() -> None:
    spec = spec_of(GUEST)
    assert (spec.field("acara").related, spec.field("acara").related_by) == (True, "status")
    assert (spec.field("pengganti").related, spec.field("pengganti").related_by) == (False, None)
    assert spec.field("nama").related and spec.field("nama").related_by is None  # the default: a tab
    again = parse_definition(to_definition(spec), spec.source)
    assert again.field("acara") == spec.field("acara") and again.field("pengganti") == spec.field("pengganti")


def test_related_by_names_a_choice_or_boolean_field_of_the_form() -> None:
    assert errors_of(GUEST.replace("by: status", "by: nama")) == [
        "forms/x.yaml: fields[1].related.by: 'nama' is not a choice or boolean field of this form"
    ]
    assert any("fields[1].related" in e for e in errors_of(GUEST.replace("{by: status}", "{per: status}")))


def test_related_is_only_for_references() -> None:
    [error] = errors_of(GUEST.replace("label: Nama}", "label: Nama, related: false}"))
    assert "fields[0]" in error and "related" in error


def test_key_range_is_read_stored_and_checked_against_the_group_form() -> None:
    specs = {s.slug: s for s in (spec_of(EVENT), spec_of(GUEST), spec_of(VISIT))}
    assert specs["hadir"].grid.key_range == ("mulai", "selesai")
    assert parse_definition(to_definition(specs["hadir"]), "x").grid == specs["hadir"].grid
    assert check_references(specs, {}) == []
    wrong = {**specs, "hadir": spec_of(VISIT.replace("[mulai, selesai]", "[mulai, nama]"))}
    assert [str(e) for e in check_references(wrong, {})] == [
        "test.yaml: grid.key_range: 'nama' is not a date field of form 'acara'"
    ]


def test_key_range_needs_a_date_key_and_at_most_two_fields() -> None:
    assert errors_of(VISIT.replace("key: tanggal", "key: status")) == [
        "forms/x.yaml: grid.key_range: needs a key of type date"
    ]
    assert errors_of(VISIT.replace("[mulai, selesai]", "[a, b, c]")) == [
        "forms/x.yaml: grid.key_range: must name the first and the last date field of the group"
    ]
