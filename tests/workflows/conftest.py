"""Calendars seeded from the `holidays` package as an office's table starts out; the shipped SLRT workflow."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

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


def rujukan_document() -> Any:
    """forms/rujukan.yaml as read (data and lines)."""
    return read_yaml((ROOT / "forms" / "rujukan.yaml").read_bytes())


def rujukan_form(without: tuple[str, ...] = ()) -> FormSpec:
    """forms/rujukan.yaml's form without its `workflow:` block (and without the fields named)."""
    document = rujukan_document()
    data = {key: value for key, value in document.data.items() if key != "workflow"}
    data["fields"] = [f for f in data["fields"] if f["name"] not in without]
    return parse_definition(data, "forms/rujukan.yaml", document.lines)


def slrt_workflow(form: FormSpec) -> tuple[WorkflowSpec | None, list[str]]:
    """The `workflow:` block of forms/rujukan.yaml parsed against `form`; errors as printed."""
    document = rujukan_document()
    spec, errors = parse_workflow(
        document.data["workflow"], form, ROLES, (), source="forms/rujukan.yaml", lines=document.lines
    )
    return spec, [str(e) for e in errors]


@pytest.fixture(scope="session")
def slrt() -> WorkflowSpec:
    """The shipped SLRT referral workflow, valid against the rest of forms/rujukan.yaml."""
    spec, errors = slrt_workflow(rujukan_form())
    assert spec is not None, errors
    return spec
