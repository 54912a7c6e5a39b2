"""The escalation sweep (app/workflows/sweep.py) and its recipients, on SQLite and PostgreSQL.

Real users in several working areas, a published form with a region field, stays and timers
inserted as the workflow service would; the sweep's mails read back from the outbox.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.regions.importer import region_table
from app.workflows.models import event_table, stay_table, timer_table
from app.workflows.recipients import Directory, recipients
from app.workflows.runtime.models import outbox_table, template_table
from app.workflows.runtime.outbox import TEMPLATES, set_daily_digest
from app.workflows.runtime.periodic import PERIODIC, RunContext
from app.workflows.sweep import SweepSettings, _sandbox, _Text, due_timer_ids, run_sweep, sweep_due
from tests import escalation_forms
from tests.conftest import add_user, app_with_forms, publish_yaml

NOW = datetime(2026, 11, 26, 2, 0, 0)  # Thursday, 10:00 WITA
ENTERED = datetime(2026, 11, 16, 1, 0, 0)  # Monday 9:00 WITA: 7 working days before NOW (the day of entry not counted)
NIK = "6309014507900001"
DESA_A, DESA_B, DESA_EMPTY = "63.09.01.2001", "63.09.01.2002", "63.09.01.2003"
DESA_OTHER = "63.09.02.2001"  # another kecamatan
REGIONS = {
    "63.09": "Kabupaten Tabalong",
    "63.09.01": "Banua Lawas",
    DESA_A: "Hapalah",
    DESA_B: "Bangkiling",
    DESA_EMPTY: "Sungai Durian",
    "63.09.02": "Pugaan",
    DESA_OTHER: "Pugaan",
}
# username: (role, working area, active, e-mail)
USERS: dict[str, tuple[str, str | None, bool, str | None]] = {
    "op_a": ("Operator Desa", DESA_A, True, "op_a@example.org"),
    "op_a2": ("Operator Desa", DESA_A, True, "op_a2@example.org"),
    "op_b": ("Operator Desa", DESA_B, True, "op_b@example.org"),
    "op_other": ("Operator Desa", DESA_OTHER, True, "op_other@example.org"),
    "op_gone": ("Operator Desa", DESA_A, False, "op_gone@example.org"),  # inactive
    "op_nomail": ("Operator Desa", DESA_A, True, None),
    "op_kec": ("Operator Desa", "63.09.01", True, "op_kec@example.org"),  # wider than a desa
    "viewer_a": ("Viewer", DESA_A, True, "viewer_a@example.org"),  # the wrong role
    "kec_1": ("Kecamatan", "63.09.01", True, "kec_1@example.org"),
    "kec_2": ("Kecamatan", "63.09.02", True, "kec_2@example.org"),
    "kec_wide": ("Kecamatan", "63.09", True, "kec_wide@example.org"),
    "kec_unscoped": ("Kecamatan", None, True, "kec_unscoped@example.org"),  # sees nothing
    "dinsos": ("Dinsos", None, True, "dinsos@example.org"),  # whole district
    "dinsos_63_09": ("Dinsos", "63.09", True, "dinsos_kab@example.org"),
    "dinsos_kec": ("Dinsos", "63.09.01", True, "dinsos_kec@example.org"),
    "dinsos_far": ("Dinsos", "63.10", True, "dinsos_far@example.org"),  # another district
}


@pytest.fixture
def app(empty_app: Any) -> Any:
    fresh = app_with_forms(empty_app, escalation_forms.FORM_YAML)
    with fresh.app_context(), db.engine.begin() as conn:
        conn.execute(
            region_table.insert(),
            [
                {
                    "code": c,
                    "name": n,
                    "level": c.count(".") + 1,
                    "parent_code": c.rpartition(".")[0] or None,
                    "active": True,
                }
                for c, n in REGIONS.items()
            ],
        )
    for username, (role, scope, active, email) in USERS.items():
        add_user(fresh, username, role)
        with fresh.app_context(), db.engine.begin() as conn:
            users = fresh.appbuilder.sm.user_model.__table__
            conn.execute(
                users.update()
                .where(users.c.username == username)
                .values(region_scope=scope, active=active, email=email or "", first_name=f"Nama {username}")
            )
    return fresh


@pytest.fixture
def engine(app: Any) -> Any:
    with app.app_context():
        yield db.engine


@pytest.fixture
def settings(app: Any) -> SweepSettings:
    with app.app_context():
        return SweepSettings.from_app(app, base_url="https://simpul.example")


def user_ids(engine: Any) -> dict[str, int]:
    users = sa.table("ab_user", sa.column("id"), sa.column("username"))
    with engine.connect() as conn:
        return {name: uid for uid, name in conn.execute(sa.select(users.c.id, users.c.username))}


def add_record(engine: Any, nama: str, desa: str | None, form: str = escalation_forms.FORM, nik: str = NIK) -> int:
    table = sa.table(
        f"form_{form}",
        sa.column("id"),
        sa.column("nik"),
        sa.column("nama"),
        sa.column("desa"),
        sa.column("region_code"),
    )
    with engine.begin() as conn:
        return conn.execute(
            table.insert().values(nik=nik, nama=nama, desa=desa, region_code=desa).returning(table.c.id)
        ).scalar_one()


def add_stay(
    engine: Any,
    record_id: int,
    levels: dict[int, datetime],
    *,
    form: str = escalation_forms.FORM,
    state: str = "terdaftar",
    region: str | None = None,
    seq: int = 1,
    left_at: datetime | None = None,
) -> tuple[int, dict[int, int]]:
    """A stay with a timer per level (level -> due time); (stay id, level -> timer id)."""
    with engine.begin() as conn:
        stay_id = conn.execute(
            stay_table.insert()
            .values(
                form=form,
                record_id=record_id,
                state=state,
                seq=seq,
                entered_at=ENTERED,
                due_at=levels.get(0),
                left_at=left_at,
                region_code=region,
            )
            .returning(stay_table.c.id)
        ).scalar_one()
        timers = {
            level: conn.execute(
                timer_table.insert()
                .values(stay_id=stay_id, level=level, due_at=due, attempts=0)
                .returning(timer_table.c.id)
            ).scalar_one()
            for level, due in levels.items()
        }
    return stay_id, timers


def all_due(*levels: int) -> dict[int, datetime]:
    return {level: NOW - timedelta(days=4 - level) for level in levels}


def rows(engine: Any, table: sa.Table, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(table).where(*where).order_by(table.c.id)).all()


def timer(engine: Any, timer_id: int) -> Any:
    (row,) = rows(engine, timer_table, timer_table.c.id == timer_id)
    return row


def mails_by_timer(engine: Any) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for row in rows(engine, outbox_table):
        _, timer_id, _ = row.dedupe_key.split(":")
        found.setdefault(int(timer_id), set()).add(row.to_addr)
    return found


def test_the_sweep_is_a_registered_periodic_job() -> None:
    entry = PERIODIC["workflows.sweep"]
    assert (entry.target, entry.seconds_key) == ("app.workflows.sweep:run_sweep", "SCHEDULER_SWEEP_SECONDS")


def test_recipients_are_the_role_in_exactly_the_records_area(app: Any, engine: Any) -> None:
    ids = user_ids(engine)

    def names(role: str, level: str, code: str | None) -> set[str]:
        with app.app_context(), engine.connect() as conn:
            found = recipients(conn, role, level, code)
        by_id = {v: k for k, v in ids.items()}
        return {by_id[r.id] for r in found}

    assert names("Operator Desa", "desa", DESA_A) == {"op_a", "op_a2"}
    assert names("Operator Desa", "desa", DESA_B) == {"op_b"}
    assert names("Operator Desa", "desa", DESA_EMPTY) == set()
    assert names("Operator Desa", "desa", DESA_OTHER) == {"op_other"}
    assert names("Operator Desa", "kecamatan", DESA_A) == {"op_kec"}
    assert names("Kecamatan", "kecamatan", DESA_A) == {"kec_1"}
    assert names("Kecamatan", "kecamatan", DESA_OTHER) == {"kec_2"}
    assert names("Kecamatan", "kabupaten", DESA_A) == {"kec_wide"}
    assert names("Dinsos", "kabupaten", DESA_A) == {"dinsos", "dinsos_63_09"}
    assert names("Dinsos", "kabupaten", None) == {"dinsos", "dinsos_63_09"}  # no region: the district's
    assert names("Dinsos", "kecamatan", None) == set()
    assert names("Dinsos", "kabupaten", "63.10.01.2001") == {"dinsos_far"}  # not the office's district
    assert names("Viewer", "desa", DESA_A) == {"viewer_a"}
    with app.app_context(), engine.connect() as conn:
        (one,) = recipients(conn, "Kecamatan", "kecamatan", DESA_B)
    assert (one.email, one.name) == ("kec_1@example.org", "Nama kec_1 Test")
    # Whatever the level: nobody is mailed a record outside their working area.
    for role in ("Operator Desa", "Kecamatan", "Dinsos", "Viewer"):
        for level in ("desa", "kecamatan", "kabupaten"):
            for code in (DESA_A, DESA_B, DESA_EMPTY, DESA_OTHER):
                for name in names(role, level, code):
                    scope = USERS[name][1] or "63.09"
                    assert code == scope or code.startswith(scope + "."), (role, level, code, name)


def test_a_due_ladder_mails_the_right_people_once_with_outcome_and_event(
    app: Any, engine: Any, settings: SweepSettings
) -> None:
    record = add_record(engine, f"Budi (NIK {NIK})", DESA_A)
    other = add_record(engine, "Siti", DESA_OTHER)
    stay, timers = add_stay(engine, record, all_due(0, 1, 2, 3), region=DESA_A)
    other_stay, other_timers = add_stay(engine, other, all_due(1), region=DESA_OTHER)
    later_stay, later = add_stay(engine, other, {1: NOW + timedelta(hours=1)}, seq=2, region=DESA_OTHER)

    report = sweep_due(engine, settings, now=NOW)
    assert (report.fired, report.mailed, report.overdue, report.mails, report.errors) == (5, 4, 1, 6, 0)

    assert mails_by_timer(engine) == {
        timers[1]: {"op_a@example.org", "op_a2@example.org"},
        timers[2]: {"kec_1@example.org"},
        timers[3]: {"dinsos@example.org", "dinsos_kab@example.org"},
        other_timers[1]: {"op_other@example.org"},
    }
    outcomes = {t.id: (t.outcome, t.recipients, t.attempts, t.fired_at) for t in rows(engine, timer_table)}
    assert outcomes[timers[0]] == ("overdue", 0, 1, NOW)
    assert outcomes[timers[1]] == ("mailed", 2, 1, NOW)
    assert outcomes[timers[3]] == ("mailed", 2, 1, NOW)
    assert outcomes[later[1]] == (None, None, 0, None)  # not due yet
    events = rows(engine, event_table)
    assert sorted((e.record_id, e.stay_id, e.level, e.kind) for e in events) == sorted(
        [(record, stay, level, "escalation") for level in (0, 1, 2, 3)] + [(other, other_stay, 1, "escalation")]
    )
    assert {e.at for e in events} == {NOW}

    (mail,) = rows(engine, outbox_table, outbox_table.c.to_addr == "kec_1@example.org")
    assert mail.state == "queued" and mail.user_id == user_ids(engine)["kec_1"]
    assert mail.subject == "[Simpul] Eskalasi tingkat 2: Budi (NIK 6309********0001) (Terdaftar)"
    assert "Yth. Nama kec_1 Test," in mail.body_text
    assert 'Data Laporan Warga "Budi (NIK 6309********0001)" di Desa Hapalah, Kecamatan Banua Lawas' in mail.body_text
    assert 'status "Terdaftar" selama 7 hari kerja' in mail.body_text
    assert f"https://simpul.example/forms/laporan/show/{record}" in mail.body_text
    for row in rows(engine, outbox_table):
        assert NIK not in row.subject + row.body_text and "0145079" not in row.body_text

    again = sweep_due(engine, settings, now=NOW + timedelta(minutes=1))
    assert (again.seen, again.fired, again.mails) == (0, 0, 0)
    assert len(rows(engine, outbox_table)) == 6 and len(rows(engine, event_table)) == 5
    assert later_stay


def test_a_level_with_nobody_to_mail_is_recorded_not_dropped(app: Any, engine: Any, settings: SweepSettings) -> None:
    record = add_record(engine, "Tanpa operator", DESA_EMPTY)
    stay, timers = add_stay(engine, record, all_due(1, 2), region=DESA_EMPTY)
    report = sweep_due(engine, settings, now=NOW)
    assert (report.fired, report.nobody, report.mailed) == (2, 1, 1)
    assert (timer(engine, timers[1]).outcome, timer(engine, timers[1]).recipients) == ("nobody", 0)
    assert timer(engine, timers[1]).fired_at == NOW
    assert mails_by_timer(engine) == {timers[2]: {"kec_1@example.org"}}
    assert {(e.stay_id, e.level) for e in rows(engine, event_table)} == {(stay, 1), (stay, 2)}


def test_timers_of_a_closed_stay_never_fire_and_a_new_stay_has_a_new_ladder(
    app: Any, engine: Any, settings: SweepSettings
) -> None:
    record = add_record(engine, "Budi", DESA_B)
    first, first_timers = add_stay(engine, record, all_due(1), region=DESA_B)
    assert sweep_due(engine, settings, now=NOW).fired == 1
    with engine.begin() as conn:  # leaves the state with one level unfired, then comes back
        conn.execute(timer_table.insert().values(stay_id=first, level=2, due_at=NOW - timedelta(hours=1), attempts=0))
        conn.execute(stay_table.update().where(stay_table.c.id == first).values(left_at=NOW))
    second, second_timers = add_stay(engine, record, all_due(1), seq=2, region=DESA_B)
    report = sweep_due(engine, settings, now=NOW + timedelta(minutes=1))
    assert (report.seen, report.fired) == (1, 1)
    assert mails_by_timer(engine) == {first_timers[1]: {"op_b@example.org"}, second_timers[1]: {"op_b@example.org"}}
    unfired = rows(engine, timer_table, timer_table.c.stay_id == first, timer_table.c.level == 2)
    assert [t.fired_at for t in unfired] == [None]
    with engine.connect() as conn:
        assert due_timer_ids(conn, NOW + timedelta(days=1)) == []


def test_bad_records_do_not_stall_the_sweep_and_fail_visibly(app: Any, engine: Any, settings: SweepSettings) -> None:
    settings = SweepSettings(**{**settings.__dict__, "max_attempts": 2, "batch_size": 2})
    good = [add_record(engine, f"Baik {i}", DESA_B) for i in range(3)]
    deleted = add_record(engine, "Dihapus", DESA_B)
    table = sa.table("form_laporan", sa.column("id"))
    with engine.begin() as conn:
        conn.execute(table.delete().where(table.c.id == deleted))
    bad = [
        add_stay(engine, deleted, all_due(1), region=DESA_B)[1][1],
        add_stay(engine, 5, all_due(1), form="tidak_ada", region=DESA_B)[1][1],  # no such form
    ]
    fine = [add_stay(engine, r, all_due(1), region=DESA_B)[1][1] for r in good]
    obsolete = add_stay(engine, good[0], {7: NOW - timedelta(days=1)}, seq=2, region=DESA_B)[1][7]
    gone_state = add_stay(engine, good[1], all_due(1), seq=2, state="dihapus", region=DESA_B)[1][1]

    report = sweep_due(engine, settings, now=NOW)
    assert (report.fired, report.mailed, report.obsolete, report.errors, report.failed) == (5, 3, 2, 2, 0)
    assert set(mails_by_timer(engine)) == set(fine)
    first = {t: timer(engine, t) for t in bad}
    assert {(t.attempts, t.fired_at, t.outcome) for t in first.values()} == {(1, None, None)}
    assert "no longer exists" in first[bad[0]].last_error
    assert "'tidak_ada' is not published" in first[bad[1]].last_error
    for t in (obsolete, gone_state):
        assert (timer(engine, t).outcome, timer(engine, t).recipients) == ("obsolete", 0)
        assert "no longer in" in timer(engine, t).last_error

    report = sweep_due(engine, settings, now=NOW + timedelta(minutes=1))
    assert (report.fired, report.errors, report.failed) == (0, 2, 2)
    for t in bad:
        row = timer(engine, t)
        assert (row.attempts, row.outcome, row.fired_at) == (2, "failed", NOW + timedelta(minutes=1))
    assert sweep_due(engine, settings, now=NOW + timedelta(minutes=2)).seen == 0


def test_two_sweeps_at_once_never_queue_twice(app: Any, engine: Any, settings: SweepSettings) -> None:
    settings = SweepSettings(**{**settings.__dict__, "batch_size": 7})
    expected: dict[int, set[str]] = {}
    for i in range(60):
        desa = (DESA_A, DESA_B, DESA_OTHER)[i % 3]
        _, timers = add_stay(engine, add_record(engine, f"Warga {i}", desa), all_due(1, 2), region=desa)
        expected[timers[1]] = {
            DESA_A: {"op_a@example.org", "op_a2@example.org"},
            DESA_B: {"op_b@example.org"},
            DESA_OTHER: {"op_other@example.org"},
        }[desa]
        expected[timers[2]] = {"kec_2@example.org" if desa == DESA_OTHER else "kec_1@example.org"}
    reports: list[Any] = []
    start = threading.Barrier(3)

    def sweep() -> None:
        start.wait()
        reports.append(sweep_due(engine, settings, now=NOW))

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(reports) == 3 and sum(r.errors for r in reports) == 0
    assert sum(r.fired for r in reports) == 120
    assert mails_by_timer(engine) == expected
    assert len(rows(engine, outbox_table)) == sum(len(v) for v in expected.values())
    assert len(rows(engine, event_table)) == 120


def test_digest_choice_and_admin_wording(app: Any, engine: Any, settings: SweepSettings) -> None:
    ids = user_ids(engine)
    with engine.begin() as conn:
        set_daily_digest(conn, ids["op_a2"], True, now=NOW)
        conn.execute(
            template_table.insert().values(
                name="escalation",
                subject="Tindak lanjuti {{ record }} ({{ level }})",
                body="{{ recipient }}: {{ form }} / {{ region }} / {{ state }} / {{ waited }} / {{ link }}",
                changed_by="admin",
                changed_on=NOW,
            )
        )
    record = add_record(engine, "Budi", DESA_A)
    add_stay(engine, record, all_due(1), region=DESA_A)
    sweep_due(engine, settings, now=NOW)
    by_user = {r.to_addr: r for r in rows(engine, outbox_table)}
    assert by_user["op_a@example.org"].state == "queued" and by_user["op_a2@example.org"].state == "digest"
    assert by_user["op_a@example.org"].subject == "Tindak lanjuti Budi (1)"
    assert by_user["op_a@example.org"].body_text == (
        "Nama op_a Test: Laporan Warga / Desa Hapalah, Kecamatan Banua Lawas / Terdaftar / 7 hari kerja / "
        f"https://simpul.example/forms/laporan/show/{record}"
    )
    with engine.begin() as conn:  # an edit that no longer renders: the default wording
        conn.execute(template_table.update().values(body="{{ record.__class__.__mro__[1].__subclasses__() }}"))
    add_stay(engine, add_record(engine, "Ani", DESA_B), all_due(1), region=DESA_B)
    sweep_due(engine, settings, now=NOW)
    (mail,) = rows(engine, outbox_table, outbox_table.c.to_addr == "op_b@example.org")
    assert mail.body_text.startswith("Yth. Nama op_b Test,")


def test_the_periodic_job_sees_forms_published_after_it_started(app: Any, engine: Any, empty_app: Any) -> None:
    context = RunContext(app, engine, "test", lambda: NOW, lambda: True)
    record = add_record(engine, "Budi", DESA_B)
    add_stay(engine, record, all_due(1), region=DESA_B)
    with app.app_context():
        assert run_sweep(context).mailed == 1
    publish_yaml(
        app, escalation_forms.FORM_YAML, escalation_forms.FORM_YAML.replace("form: laporan", "form: laporan_dua")
    )
    second = add_record(engine, "Ani", DESA_B, form="laporan_dua")
    _, timers = add_stay(engine, second, all_due(1), form="laporan_dua", region=DESA_B)
    with app.app_context():  # the same app, built before the second form existed
        report = run_sweep(context)
    assert (report.mailed, report.errors) == (1, 0)
    (mail,) = rows(engine, outbox_table, outbox_table.c.dedupe_key.like(f"wf:{timers[1]}:%"))
    assert f"/forms/laporan_dua/show/{second}" in mail.body_text


PLAIN_CONTEXT = {
    "form": "Laporan Warga",
    "record": "Budi {x} (NIK 6309********0001)",
    "region": "Desa Hapalah, Kecamatan Banua Lawas",
    "state": "Terdaftar",
    "waited": "7 hari kerja",
    "level": 2,
    "link": "https://simpul.example/forms/laporan/show/18",
}


@pytest.mark.parametrize(
    "source",
    [
        TEMPLATES["escalation"].subject,
        TEMPLATES["escalation"].body,
        "{{ recipient }}: {{ form }} / {{ region }} / {{ state }} / {{ waited }} / {{ link }}\r\n",
        "Kurung {kurawal} dan }{ tetap: {{ record }} {x} {{level}}}",  # literal braces: plain all the same
        "{{ '{{' }} {{ level }}",  # a constant: Jinja renders it
        "{{ record|upper }} oleh {{ recipient|title }}",  # filters: Jinja renders it
        "{% if level > 1 %}Tingkat {{ level }}{% endif %} {{ tidak_ada }}",  # tags, an unknown name
        "{{ recipient }} {{ recipient }}",
        "",
    ],
)
def test_plain_wording_renders_exactly_as_jinja(source: str) -> None:
    text = _Text(source)
    names = ["Nama op_a Test", "Kepala {Bidang}"]
    expected = [_sandbox.from_string(source).render({**PLAIN_CONTEXT, "recipient": name}) for name in names]
    assert text.render(PLAIN_CONTEXT, names) == expected
    plain = "|" not in source and "%" not in source and "'" not in source
    assert (text.plain is not None) == plain, source


def test_a_timer_whose_rows_the_database_refuses_fails_alone(app: Any, engine: Any, settings: SweepSettings) -> None:
    """A batch that does not commit is written in halves until the bad timer is alone; the rest go out."""
    refuse = {
        "sqlite": [
            "CREATE TRIGGER refuse_op_b BEFORE INSERT ON simpul_outbox WHEN NEW.to_addr = 'op_b@example.org' "
            "BEGIN SELECT RAISE(ABORT, 'mailbox op_b refused'); END"
        ],
        "postgresql": [
            "CREATE FUNCTION refuse_op_b() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.to_addr = 'op_b@example.org' THEN RAISE EXCEPTION 'mailbox op_b refused'; END IF; "
            "RETURN NEW; END $$",
            "CREATE TRIGGER refuse_op_b BEFORE INSERT ON simpul_outbox FOR EACH ROW EXECUTE FUNCTION refuse_op_b()",
        ],
    }[engine.dialect.name]
    with engine.begin() as conn:
        for statement in refuse:
            conn.exec_driver_sql(statement)
    fine = [
        add_stay(engine, add_record(engine, f"Warga {i}", DESA_A), all_due(1), region=DESA_A)[1][1] for i in range(9)
    ]
    bad = add_stay(engine, add_record(engine, "Warga B", DESA_B), all_due(1), region=DESA_B)[1][1]
    fine += [
        add_stay(engine, add_record(engine, f"Warga {i}", DESA_A), all_due(1), region=DESA_A)[1][1] for i in range(6)
    ]

    report = sweep_due(engine, settings, now=NOW)
    assert (report.seen, report.fired, report.mailed, report.errors, report.batches) == (16, 15, 15, 1, 1)
    assert set(mails_by_timer(engine)) == set(fine)
    assert len(rows(engine, outbox_table)) == 2 * len(fine) and len(rows(engine, event_table)) == len(fine)
    row = timer(engine, bad)
    assert (row.fired_at, row.outcome, row.attempts) == (None, None, 1)
    assert "mailbox op_b refused" in row.last_error
    assert {timer(engine, t).outcome for t in fine} == {"mailed"}

    with engine.begin() as conn:
        conn.exec_driver_sql(
            "DROP TRIGGER refuse_op_b" + (" ON simpul_outbox" if engine.dialect.name != "sqlite" else "")
        )
    again = sweep_due(engine, settings, now=NOW + timedelta(minutes=1))
    assert (again.seen, again.fired, again.errors) == (1, 1, 0)
    assert mails_by_timer(engine)[bad] == {"op_b@example.org"}
    assert (timer(engine, bad).outcome, timer(engine, bad).attempts) == ("mailed", 2)


def test_recipients_of_a_sweep_come_from_one_directory_read(app: Any, engine: Any) -> None:
    """The sweep's in-memory directory answers as `recipients` (one query per call) for every level."""
    with app.app_context(), engine.connect() as conn:
        directory = Directory.load(conn, "63.09", ["Dinsos", "Admin"])
        for role in ("Operator Desa", "Kecamatan", "Dinsos", "Viewer", "Admin"):
            for level in ("desa", "kecamatan", "kabupaten"):
                for code in (DESA_A, DESA_B, DESA_EMPTY, DESA_OTHER, "63.10.01.2001", None):
                    expected = recipients(
                        conn, role, level, code, district="63.09", whole_district_roles=["Dinsos", "Admin"]
                    )
                    assert directory.recipients(role, level, code) == expected, (role, level, code)
