"""Calendars seeded from the `holidays` package as an office's table starts out; the shipped SLRT workflow."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.forms_engine.loader import parse_definition
from app.forms_engine.spec import FormSpec
from app.forms_engine.yamlsource import read_yaml
from app.workflows.calendar import WorkingCalendar, seed_holidays
from app.workflows.definition import parse_workflow
from app.workflows.spec import WorkflowSpec

YEARS = range(2024, 2029)


@pytest.fixture(scope="session")
def seeded() -> dict[date, str]:
    """National holidays and cuti bersama 2024–2028."""
    return {h.day: h.name for h in seed_holidays(YEARS)}


@pytest.fixture(scope="session")
def wita(seeded: dict[date, str]) -> WorkingCalendar:
    """Tabalong's calendar (WITA, UTC+8)."""
    return WorkingCalendar(seeded, "WITA")


@pytest.fixture(scope="session")
def wib(seeded: dict[date, str]) -> WorkingCalendar:
    """Palangka Raya's calendar (WIB, UTC+7)."""
    return WorkingCalendar(seeded, "WIB")


def utc(*parts: int) -> datetime:
    """An instant in UTC."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ROLES = ("Admin", "Dinsos", "Kecamatan", "Operator Desa", "Viewer")  # app/access/permissions.py


def rujukan_form(with_extra_fields: bool = True) -> FormSpec:
    """forms/rujukan.yaml as shipped, with the fields the workflow needs appended (read-only)."""
    text = (ROOT / "forms" / "rujukan.yaml").read_text(encoding="utf-8")
    if with_extra_fields:
        rules = text.index("\nrules:")
        text = text[: rules + 1] + (HERE / "rujukan_extra_fields.yaml").read_text(encoding="utf-8") + text[rules + 1 :]
    document = read_yaml(text.encode())
    return parse_definition(document.data, "forms/rujukan.yaml", document.lines)


def slrt_workflow(form: FormSpec) -> tuple[WorkflowSpec | None, list[str]]:
    """tests/workflows/slrt_rujukan.yaml parsed against `form`; errors as printed."""
    document = read_yaml((HERE / "slrt_rujukan.yaml").read_bytes())
    spec, errors = parse_workflow(
        document.data, form, ROLES, (), path="", source="slrt_rujukan.yaml", lines=document.lines
    )
    return spec, [str(e) for e in errors]


@pytest.fixture(scope="session")
def slrt() -> WorkflowSpec:
    """The shipped SLRT referral workflow, valid against rujukan with its extra fields."""
    spec, errors = slrt_workflow(rujukan_form())
    assert spec is not None, errors
    return spec
