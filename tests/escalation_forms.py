"""A small referral form and its escalation ladder for the sweep's tests and benchmark.

The form is published without a `workflow:` block, and `install()` hands the sweep its
workflow (app.workflows.sweep.workflow_of), so the sweep is tested on its own, whether or not
the form engine reads `workflow:` blocks yet; a form that has its own workflow keeps it.

`python -m tests.escalation_forms <flask args>` runs the flask command line with the hook
installed: the scheduler processes of tests/test_escalation_process.py.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from app.workflows.definition import parse_workflow
from app.workflows.spec import WorkflowSpec

FORM = "laporan"
FORM_YAML = """
form: laporan
title: {id: Laporan Warga, en: Resident report}
title_field: nama
region_field: desa
permissions:
  Dinsos: [view, add, edit]
  Kecamatan: [view, add, edit]
  Operator Desa: [view, add, edit]
fields:
  - {name: nik, type: nik, label: NIK}
  - {name: nama, type: text, label: Nama, required: true}
  - {name: desa, type: region, level: desa, label: Desa}
"""
# Level 1: the record's desa operators; 2: its kecamatan staff; 3: the district office.
WORKFLOW_YAML = """
state_field: status
states:
  - name: terdaftar
    label: {id: Terdaftar, en: Registered}
    sla: 3
    ladder:
      - {after: 1, role: Operator Desa, level: desa}
      - {after: 3, role: Kecamatan, level: kecamatan}
      - {after: 5, role: Dinsos, level: kabupaten}
  - name: selesai
    label: {id: Selesai, en: Closed}
    terminal: true
transitions:
  - {name: selesaikan, from: terdaftar, to: selesai, label: Selesaikan, roles: [Dinsos]}
"""
ROLES = ("Admin", "Dinsos", "Kecamatan", "Operator Desa", "Viewer")
_workflows: dict[str, WorkflowSpec] = {}


def workflow(spec: Any) -> WorkflowSpec:
    """WORKFLOW_YAML read against the published form `spec`."""
    if spec.slug not in _workflows:
        parsed, errors = parse_workflow(yaml.safe_load(WORKFLOW_YAML), spec, ROLES, ())
        assert parsed is not None, errors
        _workflows[spec.slug] = parsed
    return _workflows[spec.slug]


def install() -> None:
    """Give forms named FORM (or starting with it) the test workflow when they have none of their own."""
    from app.workflows import sweep

    if getattr(sweep.workflow_of, "escalation_forms", False):
        return
    original = sweep.workflow_of

    def workflow_of(spec: Any) -> WorkflowSpec | None:
        own = original(spec)
        if own is None and spec.slug.startswith(FORM):
            return workflow(spec)
        return own

    workflow_of.escalation_forms = True  # type: ignore[attr-defined]
    sweep.workflow_of = workflow_of


if __name__ == "__main__":
    install()
    from flask.cli import main

    sys.argv[0] = "flask"
    main()
