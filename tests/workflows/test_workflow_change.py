"""A new version of a workflow against the records of the old one: no record stranded."""

from __future__ import annotations

import json

from app.forms_engine.loader import parse_definition
from app.forms_engine.yamlsource import read_yaml
from app.workflows.definition import as_definition, check_workflow_change, parse_workflow, state_moves
from app.workflows.spec import WorkflowSpec

from .conftest import ROLES

OLD = """\
form: x
title: X
fields:
  - {name: catatan, type: text, label: Catatan}
workflow:
  states:
    - {name: baru, label: Baru, sla: 2}
    - {name: ditunda, label: Ditunda}
    - {name: selesai, label: Selesai, terminal: true}
  transitions:
    - {name: tunda, from: baru, to: ditunda, label: Tunda, roles: [Dinsos]}
    - {name: tutup, from: [baru, ditunda], to: selesai, label: Tutup, roles: [Dinsos]}
"""
# `ditunda` removed, and no `moved` saying where its records go.
NEW = """\
form: x
title: X
fields:
  - {name: catatan, type: text, label: Catatan}
workflow:
  states:
    - {name: baru, label: Baru, sla: 2}
    - {name: selesai, label: Selesai, terminal: true}
  transitions:
    - {name: tutup, from: baru, to: selesai, label: Tutup, roles: [Dinsos]}
"""


def workflow(text: str) -> WorkflowSpec:
    document = read_yaml(text.encode())
    data = dict(document.data)
    raw = data.pop("workflow")
    spec, errors = parse_workflow(raw, parse_definition(data, "x.yaml", document.lines), ROLES, ())
    assert spec is not None, [str(e) for e in errors]
    return spec


def test_removing_a_state_that_holds_records_is_refused() -> None:
    errors = check_workflow_change(workflow(OLD), workflow(NEW), {"baru": 4, "ditunda": 12, "selesai": 30})
    assert [str(e) for e in errors] == [
        "x.yaml: workflow.states: 12 records are in state 'ditunda', which this version removes; "
        "say where they go under moved (ditunda: one of baru, selesai) (line 7)"
    ]


def test_removing_a_state_that_holds_records_with_moved() -> None:
    new = workflow(NEW.replace("  states:", "  moved: {ditunda: baru}\n  states:"))
    assert new.moved == {"ditunda": "baru"}
    counts = {"baru": 4, "ditunda": 12, "selesai": 30}
    assert check_workflow_change(workflow(OLD), new, counts) == []
    assert state_moves(new, counts) == {"ditunda": "baru"}


def test_removing_an_empty_state() -> None:
    assert check_workflow_change(workflow(OLD), workflow(NEW), {"baru": 4, "ditunda": 0}) == []


def test_a_workflow_new_to_a_form_starts_its_records_in_the_initial_state() -> None:
    new = workflow(NEW)
    assert check_workflow_change(None, new, {None: 25}) == []
    assert state_moves(new, {None: 25}) == {None: "baru"}


def test_renaming_the_state_field_is_refused() -> None:
    new = workflow(NEW.replace("  states:", "  state_field: tahap\n  states:"))
    [error] = check_workflow_change(workflow(OLD), new, {})
    assert str(error) == (
        "x.yaml: workflow.state_field: cannot change from 'status' to 'tahap': records keep their state in 'status' (line 6)"
    )


def test_round_trip() -> None:
    """as_definition gives a block that parses back into the same workflow (what a version stores)."""
    old = workflow(OLD)
    block = json.dumps(as_definition(old))  # JSON is YAML, on one line
    assert workflow(OLD.split("workflow:")[0] + "workflow: " + block + "\n") == old
