"""The demo referrals in the SLRT workflow: every state, overdue at every ladder level, a timeline each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.store import published_specs
from app.workflows.models import event_table, holiday_table, stay_table, timer_table
from tests.conftest import ROOT


@pytest.fixture
def app(empty_app: Any) -> Any:
    empty_app.config["FORMS_DIR"] = str(ROOT / "forms")
    result = empty_app.test_cli_runner().invoke(args=["simpul", "init"])
    assert result.exit_code == 0, result.output
    assert "demo data: 50 record(s) in rujukan" in result.output
    assert f"holidays {datetime.now(UTC).year}, {datetime.now(UTC).year + 1}:" in result.output
    return empty_app


def test_demo_referrals_are_in_every_state_and_overdue_at_every_level(app: Any) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with app.app_context(), db.engine.connect() as conn:
        workflow = published_specs(conn)["rujukan"].workflow
        records = dict(conn.execute(sa.text("SELECT id, status FROM form_rujukan")).all())
        outcomes = {r[0] for r in conn.execute(sa.text("SELECT hasil FROM form_rujukan WHERE status = 'selesai'"))}
        stays = conn.execute(sa.select(stay_table).order_by(stay_table.c.id)).all()
        timers = conn.execute(sa.select(timer_table)).all()
        events = conn.execute(sa.select(event_table).order_by(event_table.c.id)).all()
        holidays = conn.execute(sa.select(sa.func.count()).select_from(holiday_table)).scalar_one()
    assert workflow is not None
    assert set(records.values()) == set(workflow.state_names)
    assert outcomes == {"tertangani", "ditolak", "tidak_dapat_dihubungi"}
    assert holidays > 20
    open_stays = {s.record_id: s for s in stays if s.left_at is None}
    assert {i: s.state for i, s in open_stays.items()} == records  # one open stay each, in the record's state
    by_stay: dict[int, dict[int, Any]] = {}
    for t in timers:
        by_stay.setdefault(t.stay_id, {})[t.level] = t
    assert all(t.fired_at is None for t in timers)  # the sweep fires them
    assert {t.stay_id for t in timers} <= {s.id for s in open_stays.values()}  # closed stays have none left
    for state in workflow.states:
        if state.terminal:
            continue
        reached = set()
        for stay in (s for s in open_stays.values() if s.state == state.name):
            levels = by_stay[stay.id]
            assert sorted(levels) == list(range(len(state.ladder) + 1))
            reached.add(sum(t.due_at <= now for t in levels.values()))
        # not yet due, overdue (the deadline), and each escalation level due
        assert reached == set(range(len(state.ladder) + 2)), (state.name, reached)
    # Each record's timeline: created, then one transition per later stay, in order.
    for record_id, state in records.items():
        mine = [e for e in events if e.record_id == record_id]
        seqs = [s for s in stays if s.record_id == record_id]
        assert [s.seq for s in seqs] == list(range(1, len(seqs) + 1))
        assert mine[0].kind == "created" and [e.kind for e in mine[1:]] == ["transition"] * (len(seqs) - 1)
        assert mine[-1].to_state == state and [e.stay_id for e in mine] == [s.id for s in seqs]
        assert all(a.left_at == b.entered_at for a, b in zip(seqs, seqs[1:], strict=False))
