"""Which steps a user is offered, and every refusal with a message saying why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from app.forms_engine.spec import Text
from app.workflows.spec import TransitionSpec, WorkflowSpec
from app.workflows.transitions import available, check_transition, is_empty, label, values_after


def refused(
    slrt: WorkflowSpec,
    state: str | None,
    step: str,
    roles: list[str],
    values: Mapping[str, Any] | None = None,
    comment: str | None = None,
) -> list[str]:
    """Why the step is refused, as an English reader sees it."""
    return [m.render(None, "en") for m in check_transition(slrt, state, step, roles, values or {}, comment)]


def names(transitions: tuple[TransitionSpec, ...]) -> list[str]:
    return [t.name for t in transitions]


def test_steps_offered_by_role(slrt: WorkflowSpec) -> None:
    assert names(available(slrt, "terdaftar", ["Operator Desa"])) == ["verifikasi", "tidak_terhubungi"]
    assert names(available(slrt, "terdaftar", ["Kecamatan"])) == ["verifikasi", "tolak", "tidak_terhubungi"]
    assert names(available(slrt, "terdaftar", ["Viewer"])) == []
    assert names(available(slrt, "dipantau", ["Operator Desa", "Kecamatan"])) == ["selesaikan", "tidak_terhubungi"]
    assert names(available(slrt, "selesai", ["Dinsos"])) == []
    assert names(available(slrt, None, ["Dinsos"])) == []


def test_unknown_step(slrt: WorkflowSpec) -> None:
    assert refused(slrt, "terdaftar", "hapus", ["Dinsos"]) == ["'hapus' is not a step of this workflow"]


def test_wrong_state(slrt: WorkflowSpec) -> None:
    assert refused(slrt, "terdaftar", "rujuk", ["Dinsos"]) == [
        "'Refer' cannot be done while the record is 'Registered'"
    ]
    assert refused(slrt, "selesai", "tolak", ["Dinsos"]) == ["'Refuse' cannot be done while the record is 'Closed'"]


def test_a_state_the_workflow_no_longer_has(slrt: WorkflowSpec) -> None:
    assert refused(slrt, "ditunda", "verifikasi", ["Dinsos"]) == [
        "this record has no state of this workflow ('ditunda'); an administrator must move it first"
    ]


def test_role_not_allowed(slrt: WorkflowSpec) -> None:
    assert refused(slrt, "diverifikasi", "tolak", ["Operator Desa", "Viewer"]) == [
        "'Refuse' may only be done by Kecamatan, Dinsos"
    ]


def test_required_fields_empty(slrt: WorkflowSpec) -> None:
    values = {"dirujuk_ke": None, "program_tujuan": "  ", "tanggal_rujukan": None}
    assert refused(slrt, "diverifikasi", "rujuk", ["Operator Desa"], values) == [
        "Referred to agency must be filled in before 'Refer'",
        "Programme referred to must be filled in before 'Refer'",
        "Referred on must be filled in before 'Refer'",
    ]


def test_refusing_needs_a_reason(slrt: WorkflowSpec) -> None:
    assert refused(slrt, "dirujuk", "tolak", ["Dinsos"], {"alasan_penolakan": ""}) == [
        "Reason for refusal must be filled in before 'Refuse'"
    ]
    assert refused(slrt, "dirujuk", "tolak", ["Dinsos"], {"alasan_penolakan": "Sudah menerima PKH"}) == []


@pytest.mark.parametrize("comment", [None, "", "   \n"])
def test_comment_missing(slrt: WorkflowSpec, comment: str | None) -> None:
    assert refused(slrt, "dipantau", "tidak_terhubungi", ["Operator Desa"], comment=comment) == [
        "'Close: not reachable' needs a comment saying why"
    ]


def test_taken_with_a_comment(slrt: WorkflowSpec) -> None:
    step = "tidak_terhubungi"
    assert refused(slrt, "dipantau", step, ["Operator Desa"], comment="Tiga kali ditelepon") == []
    assert values_after(slrt, slrt.transition(step)) == {"hasil": "tidak_dapat_dihubungi", "status": "selesai"}


def test_labels_render_in_the_readers_language() -> None:
    assert label(Text("Tolak", "Refuse")).render(None, "id") == "Tolak"
    assert label(Text("Tolak", "Refuse")).render(None, "en") == "Refuse"
    assert label(Text("Tolak")).render(None, "en") == "Tolak"


@pytest.mark.parametrize(
    ("value", "empty"),
    [(None, True), ("", True), (" ", True), ([], True), (0, False), (False, False), ("x", False), ([1], False)],
)
def test_what_counts_as_empty(value: object, empty: bool) -> None:
    assert is_empty(value) is empty
