"""A real scheduler process (`flask simpul scheduler`) killed with SIGKILL in the middle of an escalation
sweep and started again: every ladder level fires exactly once and every mail reaches a real SMTP server
(aiosmtpd) exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.office import utc_now
from app.workflows.models import event_table, stay_table, timer_table
from app.workflows.runtime.models import outbox_table
from tests import escalation_forms
from tests.conftest import add_user, app_with_forms
from tests.postgres import free_port
from tests.test_outbox import smtp_server
from tests.test_scheduler_process import scheduler_process, wait_for

RECORDS = 5000  # two due levels each: 10,000 timers, 10,000 mails
NIK = "6309014507900001"
DESAS = ["63.09.01.2001", "63.09.01.2002", "63.09.02.2001", "63.09.02.2002"]


@contextlib.contextmanager
def scheduler(database_url: str, tmp_path: Path, name: str, **settings: str) -> Iterator[subprocess.Popen[bytes]]:
    """`flask simpul scheduler` with short intervals."""
    quick = {"SCHEDULER_SWEEP_SECONDS": "0.5", "OUTBOX_BATCH_SIZE": "500", "BASE_URL": "https://simpul.example"}
    with scheduler_process(database_url, tmp_path, name, **quick, **settings) as process:
        yield process


def _setup(app: Any) -> tuple[Any, dict[int, str]]:
    """Users in four desa, two kecamatan and the district; RECORDS records with levels 1 and 2 due."""
    for i in range(len(DESAS)):
        add_user(app, f"op{i}", "Operator Desa")
    add_user(app, "kec1", "Kecamatan")
    add_user(app, "kec2", "Kecamatan")
    with app.app_context():
        engine = db.engine
        users = app.appbuilder.sm.user_model.__table__
        with engine.begin() as conn:
            for i, desa in enumerate(DESAS):
                conn.execute(users.update().where(users.c.username == f"op{i}").values(region_scope=desa))
            conn.execute(users.update().where(users.c.username == "kec1").values(region_scope="63.09.01"))
            conn.execute(users.update().where(users.c.username == "kec2").values(region_scope="63.09.02"))
            emails = dict(conn.execute(sa.select(users.c.username, users.c.email)).all())
    now = utc_now()
    form = sa.table(
        "form_laporan",
        sa.column("id"),
        sa.column("nik"),
        sa.column("nama"),
        sa.column("desa"),
        sa.column("region_code"),
    )
    expected: dict[int, str] = {}  # timer id -> the one address it must reach
    with engine.begin() as conn:
        conn.execute(
            form.insert(),
            [
                {"id": i, "nik": NIK, "nama": f"Warga {i} {NIK}", "desa": DESAS[i % 4], "region_code": DESAS[i % 4]}
                for i in range(1, RECORDS + 1)
            ],
        )
        conn.execute(
            stay_table.insert(),
            [
                {
                    "id": i,
                    "form": escalation_forms.FORM,
                    "record_id": i,
                    "state": "terdaftar",
                    "seq": 1,
                    "entered_at": now - timedelta(days=14),
                    "due_at": now - timedelta(days=5),
                    "region_code": DESAS[i % 4],
                }
                for i in range(1, RECORDS + 1)
            ],
        )
        conn.execute(
            timer_table.insert(),
            [
                {
                    "id": 2 * i + level - 1,
                    "stay_id": i,
                    "level": level,
                    "due_at": now - timedelta(days=3 - level),
                    "attempts": 0,
                }
                for i in range(1, RECORDS + 1)
                for level in (1, 2)
            ],
        )
        for i in range(1, RECORDS + 1):
            desa = DESAS[i % 4]
            expected[2 * i] = emails[f"op{i % 4}"]
            expected[2 * i + 1] = emails["kec1" if desa.startswith("63.09.01") else "kec2"]
        if engine.dialect.name == "postgresql":  # rows inserted with their ids: move the sequences on
            for table in ("form_laporan", "simpul_wf_stay", "simpul_wf_timer"):
                conn.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
    return engine, expected


def _fired(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(timer_table.c.fired_at.is_not(None))).scalar_one()


def test_sigkill_mid_sweep_then_restart_fires_and_mails_each_level_exactly_once(
    empty_app: Any, database_url: str, tmp_path: Path
) -> None:
    app = app_with_forms(empty_app, escalation_forms.FORM_YAML)
    engine, expected = _setup(app)
    total = len(expected)

    with scheduler(database_url, tmp_path, "first") as first:  # no SMTP server: mail stays queued
        started = wait_for(lambda: _fired(engine) > 0 or first.poll() is not None, 120, "the sweep started")
        assert started and first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = _fired(engine)
    assert 0 < killed_at < total, f"not killed mid-sweep: {killed_at} of {total} fired"
    print(f"killed with {killed_at} of {total} timers fired")

    port = free_port()
    with (
        smtp_server(port) as inbox,
        scheduler(database_url, tmp_path, "second", SMTP_HOST="127.0.0.1", SMTP_PORT=str(port)) as second,
    ):
        wait_for(lambda: _fired(engine) == total or second.poll() is not None, 180, "every timer fired")
        assert second.poll() is None, (tmp_path / "second.log").read_text()[-3000:]
        wait_for(lambda: len(inbox.messages) >= total, 180, "every mail received")
        time.sleep(2)  # a sweep or send more would show now
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0

    with engine.connect() as conn:
        timers = conn.execute(sa.select(timer_table)).all()
        mails = conn.execute(sa.select(outbox_table)).all()
        events = conn.execute(sa.select(event_table.c.stay_id, event_table.c.level)).all()
    assert {(t.outcome, t.recipients, t.last_error) for t in timers} == {("mailed", 1, None)}
    assert len(events) == total and len(set(events)) == total
    assert sorted((int(m.dedupe_key.split(":")[1]), m.to_addr) for m in mails) == sorted(expected.items())
    assert {m.state for m in mails} == {"sent"}
    assert len(inbox.messages) == total
    assert sorted(str(m["To"]) for m in inbox.messages) == sorted(expected.values())
    assert len({str(m["Message-ID"]) for m in inbox.messages}) == total
    for message in inbox.messages[:: max(total // 200, 1)]:
        text = str(message["Subject"]) + message.get_body().get_content()
        assert NIK not in text and "6309********0001" in text
    for mail in mails:
        assert NIK not in mail.subject + mail.body_text
