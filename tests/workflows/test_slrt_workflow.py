"""The shipped SLRT referral workflow against the real forms/rujukan.yaml."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app.forms_engine.fieldtypes import check, convert
from app.workflows.calendar import WorkingCalendar
from app.workflows.definition import as_definition, parse_workflow, state_field_spec
from app.workflows.ladder import Ladder
from app.workflows.spec import WorkflowSpec
from app.workflows.transitions import check_transition, values_after

from .conftest import ROLES, ROOT, rujukan_form, slrt_workflow, utc

FLOW = ["terdaftar", "diverifikasi", "dirujuk", "ditangani", "dipantau", "selesai"]


def test_parses_against_rujukan_with_its_extra_fields(slrt: WorkflowSpec) -> None:
    assert slrt.state_names == tuple(FLOW)
    assert slrt.initial == "terdaftar"
    assert slrt.state_field == "status"
    assert [s.sla for s in slrt.states] == [3, 5, 5, 20, 20, None]
    assert [s.name for s in slrt.states if s.terminal] == ["selesai"]


def test_the_fields_the_workflow_needs() -> None:
    """Without its outcome fields, forms/rujukan.yaml's workflow is refused, each use located."""
    spec, errors = slrt_workflow(rujukan_form(without=("hasil", "alasan_penolakan")))
    assert spec is None
    lines = (ROOT / "forms" / "rujukan.yaml").read_text(encoding="utf-8").splitlines()
    sets = [n for n, line in enumerate(lines, 1) if line.strip().startswith("set: {hasil:")]
    requires = next(n for n, line in enumerate(lines, 1) if line.strip() == "requires: [alasan_penolakan]")
    assert errors == [
        f"forms/rujukan.yaml: workflow.transitions[5].set.hasil: 'hasil' is not a field of this form (line {sets[0]})",
        "forms/rujukan.yaml: workflow.transitions[6].requires: 'alasan_penolakan' is not a field of this form"
        f" (line {requires})",
        f"forms/rujukan.yaml: workflow.transitions[6].set.hasil: 'hasil' is not a field of this form (line {sets[1]})",
        f"forms/rujukan.yaml: workflow.transitions[7].set.hasil: 'hasil' is not a field of this form (line {sets[2]})",
    ]


def test_happy_path_to_handled(slrt: WorkflowSpec) -> None:
    values = {
        "kategori_pmks": 3,
        "dirujuk_ke": 7,
        "program_tujuan": "PBI-JK",
        "tanggal_rujukan": date(2026, 3, 4),
    }
    state = slrt.initial
    for step in ["verifikasi", "rujuk", "tangani", "pantau", "selesaikan"]:
        assert check_transition(slrt, state, step, ["Kecamatan"], values, None) == [], step
        values = {**values, **values_after(slrt, slrt.transition(step))}
        state = values["status"]
    assert state == "selesai"
    assert values["hasil"] == "tertangani"


def test_three_closing_outcomes(slrt: WorkflowSpec) -> None:
    closing = {t.name: t for t in slrt.transitions if t.target == "selesai"}
    assert {name: dict(t.sets) for name, t in closing.items()} == {
        "selesaikan": {"hasil": "tertangani"},
        "tolak": {"hasil": "ditolak"},
        "tidak_terhubungi": {"hasil": "tidak_dapat_dihubungi"},
    }
    assert closing["tolak"].requires == ("alasan_penolakan",)
    assert closing["tidak_terhubungi"].comment_required
    # Every open state can be closed as not reachable.
    assert set(closing["tidak_terhubungi"].sources) == set(FLOW[:-1])


def test_the_state_field_the_engine_adds(slrt: WorkflowSpec) -> None:
    field = state_field_spec(slrt)
    assert (field.name, field.type, field.default, field.required) == ("status", "choice", "terdaftar", True)
    assert [c.value for c in field.choices] == FLOW
    assert field.choice_label("dirujuk", "en") == "Referred"
    assert check(field, convert(field, "dipantau")) is None
    # Published, the form carries the field: the workflow still parses against it.
    form = rujukan_form()
    with_state = replace(form, fields=(*form.fields, field))
    again, errors = parse_workflow(as_definition(slrt), with_state, ROLES, ())
    assert errors == [] and again == slrt


def test_deadlines_of_a_referral_over_lebaran_2026(slrt: WorkflowSpec, wita: WorkingCalendar) -> None:
    """Registered Tuesday 17 March 2026 in Tabalong: Nyepi and Idul Fitri leave come first."""
    ladder = Ladder(slrt.state("terdaftar"), wita)
    entered = utc(2026, 3, 17, 2)
    assert ladder.due_date(entered) == date(2026, 3, 27)
    assert [wita.local_date(t.at) for t in ladder.timers(entered)] == [
        date(2026, 3, 30),  # overdue from Monday
        date(2026, 3, 31),  # desa
        date(2026, 4, 2),  # kecamatan
        date(2026, 4, 7),  # dinas (Good Friday 3 April is off)
    ]
