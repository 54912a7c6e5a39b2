"""The example in README.md ("Workflows", the format's documentation) is a valid workflow."""

from __future__ import annotations

import yaml

from app.forms_engine.loader import parse_definition
from app.workflows.definition import parse_workflow
from app.workflows.rules import RULES

from .conftest import ROLES, ROOT

FORM = """
form: contoh
title: Contoh
fields:
  - {name: desa, type: region, level: desa, label: Desa}
  - {name: kategori_pmks, type: text, label: Kategori}
  - {name: alasan_penolakan, type: longtext, label: Alasan penolakan}
  - {name: hasil, type: choice, label: Hasil, choices: [tertangani, ditolak, tidak_dapat_dihubungi]}
"""


def test_the_documented_example_parses() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = "workflow:\n" + readme.split("```yaml\nworkflow:\n", 1)[1].split("```", 1)[0]
    form = parse_definition(yaml.safe_load(FORM), "contoh.yaml")
    spec, errors = parse_workflow(yaml.safe_load(example)["workflow"], form, ROLES, tuple(RULES))
    assert errors == []
    assert spec is not None and spec.state_names == ("terdaftar", "diverifikasi", "selesai")
    assert spec.transition("tidak_terhubungi").rule == "four_eyes"
