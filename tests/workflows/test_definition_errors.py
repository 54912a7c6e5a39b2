"""Bad `workflow:` blocks, each refused with located messages (file, path, line), never a traceback.

Each case edits one line of BASE (or appends one); the expected texts are every error reported.
"""

from __future__ import annotations

import pytest

from app.forms_engine.loader import parse_definition
from app.forms_engine.yamlsource import read_yaml
from app.workflows.definition import parse_workflow

ROLES = ("Admin", "Dinsos", "Kecamatan", "Operator Desa", "Viewer")
RULES = ("registry_checked",)

BASE = """\
form: x
title: X
fields:
  - {name: desa, type: region, level: desa, label: Desa}
  - {name: catatan, type: text, label: Catatan}
  - {name: hasil, type: choice, label: Hasil, choices: [ok, gagal]}
  - {name: berkas, type: file, label: Berkas}
workflow:
  initial: baru
  states:
    - {name: baru, label: Baru, sla: 2, ladder: [{after: 1, role: Kecamatan, level: kecamatan}, {after: 3, role: Dinsos, level: kabupaten}]}
    - {name: proses, label: {id: Diproses, en: In progress}}
    - {name: selesai, label: Selesai, terminal: true}
  transitions:
    - {name: mulai, from: baru, to: proses, label: Mulai, roles: [Kecamatan]}
    - {name: tutup, from: [baru, proses], to: selesai, label: Tutup, roles: [Kecamatan, Dinsos], requires: [catatan], set: {hasil: ok}}
"""


def edited(*edits: tuple[str, str]) -> str:
    """BASE with each (old, new) replaced once; ("$", line) appends a line (line 17)."""
    text = BASE
    for old, new in edits:
        if old == "$":
            text += new + "\n"
        else:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
    return text


def workflow_errors(text: str) -> list[str]:
    """What publishing the file would print for its workflow block."""
    document = read_yaml(text.encode())
    data = dict(document.data)
    raw = data.pop("workflow")
    form = parse_definition(data, "x.yaml", document.lines)
    spec, errors = parse_workflow(raw, form, ROLES, RULES)
    assert (spec is None) == bool(errors)
    return [str(e) for e in errors]


def test_base_is_valid() -> None:
    assert workflow_errors(BASE) == []


W = "x.yaml: workflow."
CASES = [
    # Shapes: checked first, nothing read further.
    ("sla as text", [("sla: 2", "sla: dua")], [W + "states[0].sla: must be a whole number, not text (line 11)"]),
    ("initial as a list", [("initial: baru", "initial: [baru]")], [W + "initial: must be text, not a list (line 9)"]),
    (
        "comment_required as text",
        [("roles: [Kecamatan]}", "roles: [Kecamatan], comment_required: perlu}")],
        [W + "transitions[0].comment_required: must be true or false, not text (line 15)"],
    ),
    (
        "ladder too long",
        [("ladder: [", "ladder: [" + "{after: 1, role: Dinsos, level: kabupaten}, " * 9)],
        [W + "states[0].ladder: has 11 entries; at most 10 are allowed (line 11)"],
    ),
    # Keys and names.
    (
        "unknown workflow key",
        [("initial: baru", "start: baru")],
        [W + "start: unknown key 'start'; expected one of initial, moved, state_field, states, transitions (line 9)"],
    ),
    (
        "unknown state key",
        [("terminal: true}", "terminal: true, colour: red}")],
        [W + "states[2].colour: unknown key 'colour'; expected one of label, ladder, name, sla, terminal (line 13)"],
    ),
    (
        "unknown ladder key",
        [("level: kabupaten}", "level: kabupaten, via: email}")],
        [W + "states[0].ladder[1].via: unknown key 'via'; expected one of after, level, role (line 11)"],
    ),
    (
        "bad transition name",
        [("name: mulai", "name: Mulai")],
        [W + "transitions[0].name: 'Mulai' must start with a letter and use only a-z, 0-9 and _ (line 15)"],
    ),
    (
        "bad state name",
        [("name: proses,", "name: 'pro ses',")],
        [
            W + "states[1].name: 'pro ses' must start with a letter and use only a-z, 0-9 and _ (line 12)",
            W + "transitions[0].to: 'proses' is not a state of this workflow (line 15)",
            W + "transitions[1].from: 'proses' is not a state of this workflow (line 16)",
        ],
    ),
    (
        "duplicate state",
        [("name: proses,", "name: baru,")],
        [
            W + "states[1].name: duplicate state name 'baru' (line 12)",
            W + "transitions[0].to: 'proses' is not a state of this workflow (line 15)",
            W + "transitions[1].from: 'proses' is not a state of this workflow (line 16)",
        ],
    ),
    (
        "duplicate transition",
        [("name: tutup", "name: mulai")],
        [W + "transitions[1].name: duplicate transition name 'mulai' (line 16)"],
    ),
    ("label missing", [("label: Mulai, ", "")], [W + "transitions[0].label: is required (line 15)"]),
    (
        "label without Indonesian",
        [("{id: Diproses, en: In progress}", "{en: In progress}")],
        [W + "states[1].label.id: the Bahasa Indonesia text is required (line 12)"],
    ),
    # Deadlines and ladders.
    ("sla zero", [("sla: 2", "sla: 0")], [W + "states[0].sla: must be a whole number from 1 to 250 (line 11)"]),
    ("sla a year", [("sla: 2", "sla: 251")], [W + "states[0].sla: must be a whole number from 1 to 250 (line 11)"]),
    (
        "terminal with sla",
        [("terminal: true}", "terminal: true, sla: 3}")],
        [W + "states[2].sla: a terminal state has no deadline (line 13)"],
    ),
    (
        "terminal with ladder",
        [("terminal: true}", "terminal: true, ladder: [{after: 1, role: Dinsos, level: kabupaten}]}")],
        [W + "states[2].ladder: a terminal state has no escalation ladder (line 13)"],
    ),
    (
        "ladder without sla",
        [("sla: 2, ", "")],
        [W + "states[0].ladder: an escalation ladder needs the state's sla (line 11)"],
    ),
    (
        "ladder not later",
        [("after: 3", "after: 1")],
        [W + "states[0].ladder[1].after: must be larger than the previous level's after (1) (line 11)"],
    ),
    (
        "ladder going down",
        [("level: kabupaten", "level: desa")],
        [
            W + "states[0].ladder[1].level: 'desa' is narrower than the previous level's 'kecamatan'; "
            "a ladder goes up, from desa to kecamatan to kabupaten (line 11)"
        ],
    ),
    (
        "ladder region level unknown",
        [("level: kecamatan", "level: provinsi")],
        [
            W + "states[0].ladder[0].level: 'provinsi' is not a region level; "
            "expected one of desa, kecamatan, kabupaten (line 11)"
        ],
    ),
    (
        "ladder role unknown",
        [("role: Dinsos", "role: Camat")],
        [
            W + "states[0].ladder[1].role: unknown role 'Camat'; "
            "expected one of Admin, Dinsos, Kecamatan, Operator Desa, Viewer (line 11)"
        ],
    ),
    ("ladder role missing", [("role: Dinsos, ", "")], [W + "states[0].ladder[1].role: is required (line 11)"]),
    (
        "ladder level finer than the form's region",
        [
            ("level: desa, label: Desa", "level: kecamatan, label: Desa"),
            ("role: Kecamatan, level: kecamatan", "role: Operator Desa, level: desa"),
        ],
        [W + "states[0].ladder[0].level: the form's region field 'desa' does not tell the desa of a record (line 11)"],
    ),
    (
        "ladder below kabupaten on a form without region",
        [("{name: desa, type: region, level: desa, label: Desa}", "{name: desa, type: text, label: Desa}")],
        [
            W
            + "states[0].ladder[0].level: records of this form have no region, so only kabupaten can be named (line 11)"
        ],
    ),
    # States named.
    (
        "initial unknown",
        [("initial: baru", "initial: awal")],
        [W + "initial: 'awal' is not a state of this workflow (line 9)"],
    ),
    (
        "initial terminal",
        [("initial: baru", "initial: selesai")],
        [W + "initial: the initial state cannot be terminal (line 9)"],
    ),
    (
        "from unknown",
        [("from: baru, to: proses", "from: lama, to: proses")],
        [W + "transitions[0].from: 'lama' is not a state of this workflow (line 15)"],
    ),
    (
        "to unknown",
        [("to: proses", "to: diproses")],
        [W + "transitions[0].to: 'diproses' is not a state of this workflow (line 15)"],
    ),
    ("to missing", [("to: proses, ", "")], [W + "transitions[0].to: is required (line 15)"]),
    (
        "from a terminal state",
        [("from: [baru, proses]", "from: [baru, proses, selesai]")],
        [W + "transitions[1].from: 'selesai' is a terminal state: no transition may leave it (line 16)"],
    ),
    (
        "from twice",
        [("from: [baru, proses]", "from: [baru, proses, baru]")],
        [W + "transitions[1].from: 'baru' is named twice (line 16)"],
    ),
    # Roles, fields, rules.
    (
        "roles missing",
        [(", roles: [Kecamatan]}", "}")],
        [W + "transitions[0].roles: must name the roles that may take this step (line 15)"],
    ),
    (
        "role unknown",
        [("roles: [Kecamatan]}", "roles: [Kecamatan, Camat]}")],
        [
            W + "transitions[0].roles: unknown role 'Camat'; "
            "expected one of Admin, Dinsos, Kecamatan, Operator Desa, Viewer (line 15)"
        ],
    ),
    (
        "required field unknown",
        [("requires: [catatan]", "requires: [catatan_akhir]")],
        [W + "transitions[1].requires: 'catatan_akhir' is not a field of this form (line 16)"],
    ),
    (
        "required field is the state field",
        [("requires: [catatan]", "requires: [status]")],
        [W + "transitions[1].requires: 'status' is the state field, which transitions change themselves (line 16)"],
    ),
    (
        "set field unknown",
        [("set: {hasil: ok}", "set: {hasil_akhir: ok}")],
        [W + "transitions[1].set.hasil_akhir: 'hasil_akhir' is not a field of this form (line 16)"],
    ),
    (
        "set value not a choice",
        [("set: {hasil: ok}", "set: {hasil: mungkin}")],
        [W + "transitions[1].set.hasil: 'mungkin' 'mungkin' is not one of the choices (line 16)"],
    ),
    (
        "set a file",
        [("set: {hasil: ok}", "set: {berkas: surat.pdf}")],
        [W + "transitions[1].set.berkas: a file field cannot be set by a transition (line 16)"],
    ),
    (
        "rule unknown",
        [("roles: [Kecamatan]}", "roles: [Kecamatan], rule: cek_dtks}")],
        [W + "transitions[0].rule: unknown rule 'cek_dtks'; expected one of registry_checked (line 15)"],
    ),
    # The graph.
    (
        "unreachable state",
        [("to: proses", "to: selesai")],
        [W + "states[1].name: state 'proses' cannot be reached from the initial state 'baru' (line 12)"],
    ),
    (
        "no way out",
        [("from: [baru, proses]", "from: [baru]")],
        [W + "states[1].name: state 'proses' is not terminal, but no transition leaves it (line 12)"],
    ),
    (
        "trapped in a loop",
        [
            ("from: [baru, proses]", "from: [baru]"),
            ("$", "    - {name: ulang, from: proses, to: proses, label: Ulang, roles: [Kecamatan]}"),
        ],
        [W + "states[1].name: no transitions lead from state 'proses' to a terminal state (line 12)"],
    ),
    (
        "no terminal state",
        [("terminal: true}", "terminal: false}")],
        [W + "states: needs at least one terminal state, where records end (line 11)"],
    ),
    # The state field and moved states.
    (
        "state field taken by the form",
        [("initial: baru", "state_field: catatan")],
        [
            W + "state_field: 'catatan' is already a field of this form; "
            "the workflow adds its state field itself: choose another state_field (line 9)"
        ],
    ),
    (
        "state field a system column",
        [("initial: baru", "state_field: id")],
        [W + "state_field: 'id' is a system column; choose another name (line 9)"],
    ),
    (
        "moved to an unknown state",
        [("initial: baru", "moved: {lama: hilang}")],
        [W + "moved.lama: 'hilang' is not a state of this workflow (line 9)"],
    ),
    (
        "moved from a current state",
        [("initial: baru", "moved: {proses: baru}")],
        [W + "moved.proses: 'proses' is still a state of this workflow (line 9)"],
    ),
]


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_and_located(edits: list[tuple[str, str]], expected: list[str]) -> None:
    assert workflow_errors(edited(*edits)) == expected


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            "workflow: [baru]",
            "x.yaml: workflow: must be a workflow: a mapping with states and transitions, not a list (line 8)",
        ),
        (
            "workflow: {states: [], transitions: []}",
            "x.yaml: workflow.states: must be a non-empty list of states (line 8)",
        ),
        (
            "workflow: {states: [baru], transitions: []}",
            "x.yaml: workflow.states[0]: must be a state: a mapping with name and label, not text (line 8)",
        ),
    ],
)
def test_whole_block_refused(block: str, expected: str) -> None:
    text = BASE[: BASE.index("workflow:")] + block + "\n"
    assert workflow_errors(text)[0] == expected


def test_no_block_is_no_workflow() -> None:
    document = read_yaml(BASE[: BASE.index("workflow:")].encode())
    form = parse_definition(document.data, "x.yaml", document.lines)
    assert parse_workflow(None, form, ROLES, RULES) == (None, [])


def test_several_problems_reported_together() -> None:
    errors = workflow_errors(edited(("sla: 2", "sla: 0"), ("role: Dinsos", "role: Camat"), ("to: proses", "to: x")))
    assert [e.split(": ")[1] for e in errors] == [
        "workflow.states[0].sla",
        "workflow.states[0].ladder[1].role",
        "workflow.transitions[0].to",
    ]


def test_the_state_field_the_engine_added_is_accepted() -> None:
    """Parsing again against a form that already carries the engine's state field changes nothing."""
    engine_field = "  - {name: status, type: choice, label: Status, choices: [baru, proses, selesai]}\n"
    assert workflow_errors(edited(("  - {name: berkas,", engine_field + "  - {name: berkas,"))) == []


def test_a_choice_field_with_other_choices_is_not_the_state_field() -> None:
    own_field = "  - {name: status, type: choice, label: Status, choices: [aktif, nonaktif]}\n"
    [error] = workflow_errors(edited(("  - {name: berkas,", own_field + "  - {name: berkas,")))
    assert error == (
        "x.yaml: workflow.state_field: 'status' is already a field of this form; "
        "the workflow adds its state field itself: choose another state_field (line 10)"
    )
