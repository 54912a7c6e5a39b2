"""Publishing a form's `workflow:`: the state column, records put in states, stranded states refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.loader import DefinitionErrors, parse_definition
from app.forms_engine.serialize import to_definition
from app.forms_engine.store import dump_json, published_specs
from app.workflows.models import event_table, stay_table, timer_table
from tests.conftest import publish_yaml

BASE = """
form: aduan
title: Aduan
region_field: false
permissions:
  Dinsos: [view, add, edit]
  Kecamatan: [view]
fields:
  - {name: nama, type: text, label: Nama, required: true}
  - {name: catatan, type: text, label: Catatan}
"""
WORKFLOW = """
workflow:
  states:
    - name: baru
      label: {id: Baru, en: New}
      sla: 2
      ladder:
        - {after: 1, role: Kecamatan, level: kabupaten}
        - {after: 3, role: Dinsos, level: kabupaten}
    - {name: ditunda, label: Ditunda, sla: 10}
    - {name: selesai, label: Selesai, terminal: true}
  transitions:
    - {name: tunda, from: baru, to: ditunda, label: Tunda, roles: [Dinsos]}
    - {name: tutup, from: [baru, ditunda], to: selesai, label: Tutup, roles: [Dinsos]}
"""
# `ditunda` removed
WITHOUT_DITUNDA = """
workflow:
  states:
    - name: baru
      label: {id: Baru, en: New}
      sla: 2
      ladder:
        - {after: 1, role: Kecamatan, level: kabupaten}
        - {after: 3, role: Dinsos, level: kabupaten}
    - {name: selesai, label: Selesai, terminal: true}
  transitions:
    - {name: tutup, from: baru, to: selesai, label: Tutup, roles: [Dinsos]}
"""
MOVED = WITHOUT_DITUNDA + "  moved: {ditunda: baru}\n"


def _records(app: Any, *names: str) -> None:
    with app.app_context(), db.engine.begin() as conn:
        table = sa.table("form_aduan", sa.column("nama"))
        conn.execute(table.insert(), [{"nama": n} for n in names])


def _states(app: Any) -> dict[int, str | None]:
    with app.app_context(), db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT id, status FROM form_aduan ORDER BY id")).all())


def _rows(app: Any, table: sa.Table, *where: Any) -> list[Any]:
    with app.app_context(), db.engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(*where).order_by(table.c.id)))


def test_a_new_workflow_adds_the_column_and_puts_records_in_the_initial_state(empty_app: Any) -> None:
    publish_yaml(empty_app, BASE)
    _records(empty_app, "Ani", "Budi", "Citra")
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    report = publish_yaml(empty_app, BASE + WORKFLOW)
    assert report.published == {"aduan": 2}
    assert "form_aduan: add column status" in report.notes["aduan"]
    assert "form_aduan: 3 record(s) without a state -> baru" in report.notes["aduan"]
    assert set(_states(empty_app).values()) == {"baru"}
    stays = _rows(empty_app, stay_table)
    assert [(s.record_id, s.state, s.seq, s.left_at) for s in stays] == [(i, "baru", 1, None) for i in (1, 2, 3)]
    assert all(s.entered_at >= before and s.due_at > s.entered_at for s in stays)
    timers = _rows(empty_app, timer_table, timer_table.c.stay_id == stays[0].id)
    assert [t.level for t in timers] == [0, 1, 2] and not any(t.fired_at for t in timers)
    events = _rows(empty_app, event_table)
    assert [(e.record_id, e.kind, e.from_state, e.to_state) for e in events] == [
        (i, "moved", None, "baru") for i in (1, 2, 3)
    ]
    # The stored version carries the workflow; it loads back as published.
    with empty_app.app_context(), db.engine.connect() as conn:
        stored = published_specs(conn)["aduan"]
    assert stored.workflow is not None and stored.workflow.state_names == ("baru", "ditunda", "selesai")
    assert stored.fields[-1].name == "status" and stored.fields[-1].default == "baru"


def test_the_stored_version_round_trips_with_its_workflow() -> None:
    import yaml

    spec = parse_definition(yaml.safe_load(BASE + WORKFLOW), "forms/aduan.yaml")
    again = parse_definition(json.loads(dump_json(to_definition(spec))), "aduan v1")
    assert again.workflow == spec.workflow
    assert again.fields == spec.fields
    assert to_definition(again) == to_definition(spec)


def test_a_publish_that_strands_records_is_refused_and_accepted_with_moved(empty_app: Any) -> None:
    publish_yaml(empty_app, BASE + WORKFLOW)
    _records(empty_app, "Ani", "Budi", "Citra")  # written outside the screens: no state yet
    publish_yaml(empty_app, BASE + WORKFLOW)  # unchanged definition: nothing happens
    assert set(_states(empty_app).values()) == {None}
    with empty_app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE form_aduan SET status = 'ditunda' WHERE id IN (2, 3)"))
        conn.execute(sa.text("UPDATE form_aduan SET status = 'baru' WHERE id = 1"))
    with pytest.raises(DefinitionErrors) as refused:
        publish_yaml(empty_app, BASE + WITHOUT_DITUNDA)
    assert [str(e) for e in refused.value.errors] == [
        "test.yaml: workflow.states: 2 records are in state 'ditunda', which this version removes; "
        "say where they go under moved (ditunda: one of baru, selesai)"
    ]
    assert _states(empty_app) == {1: "baru", 2: "ditunda", 3: "ditunda"}  # nothing changed
    report = publish_yaml(empty_app, BASE + MOVED)
    assert "form_aduan: 2 record(s) in ditunda -> baru" in report.notes["aduan"]
    assert _states(empty_app) == {1: "baru", 2: "baru", 3: "baru"}
    moved = _rows(empty_app, event_table, event_table.c.kind == "moved")
    assert [(e.record_id, e.from_state, e.to_state) for e in moved] == [(2, "ditunda", "baru"), (3, "ditunda", "baru")]
    open_stays = _rows(empty_app, stay_table, stay_table.c.left_at.is_(None))
    assert [(s.record_id, s.state) for s in open_stays] == [(2, "baru"), (3, "baru")]


def test_leaving_the_workflow_out_closes_the_open_stays(empty_app: Any) -> None:
    publish_yaml(empty_app, BASE)
    _records(empty_app, "Ani")
    publish_yaml(empty_app, BASE + WORKFLOW)
    report = publish_yaml(empty_app, BASE)
    assert "form_aduan: workflow removed; 1 open stay(s) closed" in report.notes["aduan"]
    assert [s.left_at is not None for s in _rows(empty_app, stay_table)] == [True]
    assert _rows(empty_app, timer_table) == []  # unfired timers went with the stay
    # Put back: the record is still in its state (the retired column kept it) and gets a stay there.
    report = publish_yaml(empty_app, BASE + WORKFLOW)
    assert "form_aduan: 1 record(s) get a stay in their state" in report.notes["aduan"]
    assert [(s.seq, s.state, s.left_at) for s in _rows(empty_app, stay_table, stay_table.c.left_at.is_(None))] == [
        (2, "baru", None)
    ]


def _cli(app: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["simpul", "forms", *args])


def test_located_errors_and_the_dry_run_through_the_command_line(empty_app: Any, tmp_path: Path) -> None:
    forms = tmp_path / "defs"
    forms.mkdir()
    bad = BASE + WORKFLOW.replace("roles: [Dinsos]}\n    - {name: tutup", "roles: [Bupati]}\n    - {name: tutup")
    (forms / "aduan.yaml").write_text(bad, encoding="utf-8")
    result = _cli(empty_app, "check", str(forms))
    assert result.exit_code == 1
    assert (
        "aduan.yaml: workflow.transitions[0].roles: unknown role 'Bupati'; expected one of Admin, Dinsos, Kecamatan "
        "(line 23)" in result.output
    )
    result = _cli(empty_app, "publish", str(forms))
    assert result.exit_code == 1 and "nothing was published" in result.output
    # A role without `view` on the form is not a workflow role.
    (forms / "aduan.yaml").write_text(BASE.replace("Kecamatan: [view]", "Kecamatan: []") + WORKFLOW)
    result = _cli(empty_app, "check", str(forms))
    assert "workflow.states[0].ladder[0].role: unknown role 'Kecamatan'; expected one of Admin, Dinsos" in result.output
    (forms / "aduan.yaml").write_text(BASE, encoding="utf-8")
    assert _cli(empty_app, "publish", str(forms)).exit_code == 0
    _records(empty_app, "Ani", "Budi")
    (forms / "aduan.yaml").write_text(BASE + WORKFLOW, encoding="utf-8")
    result = _cli(empty_app, "publish", "--dry-run", str(forms))
    assert result.exit_code == 0, result.output
    assert "aduan: would publish" in result.output
    assert "form_aduan: add status" in result.output
    assert "form_aduan: 2 record(s) without a state -> baru" in result.output
    assert _rows(empty_app, stay_table) == []
