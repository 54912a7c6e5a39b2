"""The workflow on stored records: stays, timers and events on screens, API and transitions; the calendar."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.store import published_specs
from app.regions.importer import region_table
from app.workflows.calendar import LOCAL, WorkingCalendar
from app.workflows.holidays import load_calendar, office_calendar, recompute_due, seed
from app.workflows.ladder import Ladder
from app.workflows.models import event_table, holiday_table, stay_table, timer_table
from app.workflows.service import Actor, enter_state, record_created, take_transition
from tests.conftest import app_with_forms, login

FORM = """
form: rujukan_uji
title: Rujukan uji
title_field: nama
region_field: desa
permissions:
  Dinsos: [view, add, edit, delete]
  Kecamatan: [view, add, edit]
  Operator Desa: [view, add, edit]
fields:
  - {name: nama, type: text, label: Nama, required: true}
  - {name: desa, type: region, level: desa, label: Desa, required: true}
  - {name: alasan, type: longtext, label: Alasan}
  - {name: hasil, type: choice, label: Hasil, choices: [ditangani, ditolak]}
workflow:
  states:
    - name: terdaftar
      label: Terdaftar
      sla: 3
      ladder:
        - {after: 1, role: Operator Desa, level: desa}
        - {after: 3, role: Kecamatan, level: kecamatan}
        - {after: 5, role: Dinsos, level: kabupaten}
    - name: diproses
      label: Diproses
      sla: 5
      ladder: [{after: 2, role: Kecamatan, level: kecamatan}]
    - {name: selesai, label: Selesai, terminal: true}
  transitions:
    - {name: proses, from: terdaftar, to: diproses, label: Proses, roles: [Operator Desa, Kecamatan, Dinsos]}
    - name: kembalikan
      from: diproses
      to: terdaftar
      label: Kembalikan
      roles: [Kecamatan, Dinsos]
      comment_required: true
    - {name: tolak, from: [terdaftar, diproses], to: selesai, label: Tolak, roles: [Dinsos], requires: [alasan],
       set: {hasil: ditolak}}
"""
REGIONS = {
    "63": "Kalimantan Selatan",
    "63.09": "Tabalong",
    "63.09.01": "Tanjung",
    "63.09.01.2001": "Desa Satu",
    "63.09.02": "Murung Pudak",
    "63.09.02.2001": "Desa Dua",
}
DINSOS = Actor(None, "dinsos")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def app(empty_app: Any) -> Any:
    fresh = app_with_forms(empty_app, FORM)
    with fresh.app_context(), db.engine.begin() as conn:
        conn.execute(
            region_table.insert(),
            [
                {"code": c, "name": n, "level": c.count(".") + 1, "parent_code": c.rpartition(".")[0] or None}
                | {"active": True}
                for c, n in REGIONS.items()
            ],
        )
        seed(conn, [2026])
    return fresh


@pytest.fixture
def client(app: Any) -> Any:
    client = app.test_client()
    login(client)
    return client


def spec(app: Any) -> Any:
    with app.app_context(), db.engine.connect() as conn:
        return published_specs(conn)["rujukan_uji"]


def rows(app: Any, table: sa.Table, *where: Any) -> list[Any]:
    with app.app_context(), db.engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(*where).order_by(table.c.id)))


def record(app: Any, pk: int = 1) -> Any:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT * FROM form_rujukan_uji WHERE id = :id"), {"id": pk}).first()


def transition(app: Any, pk: int, name: str, roles: list[str], values: dict[str, Any] | None = None, **kw: Any) -> Any:
    with app.app_context(), db.engine.begin() as conn:
        return take_transition(
            conn,
            spec(app),
            pk,
            name,
            roles,
            DINSOS,
            values or {},
            kw.get("comment"),
            kw.get("now", datetime.now(UTC)),
            calendar=office_calendar(conn),
        )


def counts(app: Any) -> tuple[int, ...]:
    return tuple(len(rows(app, t)) for t in (stay_table, timer_table, event_table))


def test_a_record_added_through_the_api_starts_in_the_initial_state(app: Any, client: Any) -> None:
    added = client.post("/api/v1/rujukan_uji/", json={"nama": "Ani", "desa": "63.09.01.2001"})
    assert added.status_code == 201, added.json
    assert added.json["result"]["status"] == "terdaftar"
    [stay] = rows(app, stay_table)
    assert (stay.form, stay.record_id, stay.state, stay.seq, stay.region_code) == (
        "rujukan_uji",
        1,
        "terdaftar",
        1,
        "63.09.01.2001",
    )
    assert [t.level for t in rows(app, timer_table)] == [0, 1, 2, 3]
    [event] = rows(app, event_table)
    assert (event.kind, event.to_state, event.username, event.stay_id) == ("created", "terdaftar", "admin", stay.id)
    # Moved to another desa: the open stay follows (the ladder's recipients are the record's area's).
    moved = client.put("/api/v1/rujukan_uji/1", json={"desa": "63.09.02.2001"})
    assert moved.status_code == 200, moved.json
    assert rows(app, stay_table)[0].region_code == "63.09.02.2001"
    # Deleted: its stay closes and no timer of it can fire.
    assert client.delete("/api/v1/rujukan_uji/1").status_code == 200
    assert rows(app, stay_table)[0].left_at is not None
    assert rows(app, timer_table) == []


def test_a_record_added_on_the_screen_starts_in_the_initial_state(app: Any, client: Any) -> None:
    page = client.get("/forms/rujukan_uji/add").get_data(as_text=True)
    assert 'name="status"' not in page  # not an input
    saved = client.post("/forms/rujukan_uji/add", data={"nama": "Budi", "desa": "63.09.01.2001"})
    assert saved.status_code == 302
    assert record(app).status == "terdaftar"
    assert [(s.state, s.seq) for s in rows(app, stay_table)] == [("terdaftar", 1)]
    assert [e.kind for e in rows(app, event_table)] == ["created"]


def test_the_state_is_read_only_on_the_edit_screen_and_in_the_api(app: Any, client: Any) -> None:
    assert client.post("/api/v1/rujukan_uji/", json={"nama": "Ani", "desa": "63.09.01.2001"}).status_code == 201
    assert transition(app, 1, "proses", ["Kecamatan"]) == []
    edit = client.get("/forms/rujukan_uji/edit/1").get_data(as_text=True)
    assert 'name="status"' not in edit and 'name="nama"' in edit
    saved = client.post(
        "/forms/rujukan_uji/edit/1", data={"nama": "Ani S", "desa": "63.09.01.2001", "status": "selesai"}
    )
    assert saved.status_code == 302
    assert (record(app).nama, record(app).status) == ("Ani S", "diproses")  # kept as the step left it
    refused = client.put("/api/v1/rujukan_uji/1", json={"status": "selesai"})
    assert refused.status_code == 422
    assert list(refused.json["message"]) == ["status"]
    assert (
        client.post(
            "/api/v1/rujukan_uji/", json={"nama": "B", "desa": "63.09.01.2001", "status": "selesai"}
        ).status_code
        == 422
    )
    same = client.put("/api/v1/rujukan_uji/1", json={"status": "diproses", "nama": "Ani T"})  # sent back unchanged
    assert same.status_code == 200 and same.json["result"]["status"] == "diproses"
    info = client.get("/api/v1/rujukan_uji/_info").json
    assert "status" not in [c["name"] for c in info["add_columns"]]
    assert "status" not in [c["name"] for c in info["edit_columns"]]
    assert record(app).status == "diproses"


def test_a_transition_writes_state_values_stay_timers_and_event(app: Any, client: Any) -> None:
    client.post("/api/v1/rujukan_uji/", json={"nama": "Ani", "desa": "63.09.01.2001"})
    now = datetime.now(UTC)
    assert transition(app, 1, "proses", ["Operator Desa"], now=now) == []
    assert record(app).status == "diproses"
    first, second = rows(app, stay_table)
    assert (first.state, first.left_at is not None) == ("terdaftar", True)
    assert (second.state, second.seq, second.left_at, second.region_code) == ("diproses", 2, None, "63.09.01.2001")
    # The first stay's unfired timers went with it; the new one has its own ladder.
    assert rows(app, timer_table, timer_table.c.stay_id == first.id) == []
    assert [t.level for t in rows(app, timer_table, timer_table.c.stay_id == second.id)] == [0, 1]
    event = rows(app, event_table)[-1]
    assert (event.kind, event.transition, event.from_state, event.to_state, event.stay_id) == (
        "transition",
        "proses",
        "terdaftar",
        "diproses",
        second.id,
    )
    # A closing step writes its `set` value and what the user filled in with it, in the audit trail too.
    assert transition(app, 1, "tolak", ["Dinsos"], {"alasan": "Sudah menerima bantuan"}, comment="cek DTKS") == []
    done = record(app)
    assert (done.status, done.hasil, done.alasan) == ("selesai", "ditolak", "Sudah menerima bantuan")
    last = rows(app, stay_table)[-1]
    assert (last.state, last.due_at, rows(app, timer_table, timer_table.c.stay_id == last.id)) == ("selesai", None, [])
    assert rows(app, event_table)[-1].comment == "cek DTKS"
    history = client.get("/api/v1/rujukan_uji/1").json["result"]
    assert history["hasil"] == "ditolak"
    with app.app_context(), db.engine.connect() as conn:
        audit = conn.execute(
            sa.text("SELECT changes FROM simpul_audit WHERE form = 'rujukan_uji' AND action = 'update' ORDER BY id")
        ).scalars()
        changed = [c if isinstance(c, dict) else json.loads(c) for c in audit]
    assert changed[-1]["status"] == ["diproses", "selesai"] and changed[-1]["hasil"] == [None, "ditolak"]


def test_a_refused_transition_writes_nothing(app: Any, client: Any) -> None:
    client.post("/api/v1/rujukan_uji/", json={"nama": "Ani", "desa": "63.09.01.2001"})
    before, state = counts(app), record(app).status
    refusals = {
        "role": transition(app, 1, "tolak", ["Operator Desa"], {"alasan": "x"}),
        "required": transition(app, 1, "tolak", ["Dinsos"]),
        "from": transition(app, 1, "kembalikan", ["Dinsos"], comment="ulang"),
        "value": transition(app, 1, "tolak", ["Dinsos"], {"alasan": "x", "hasil": "hilang"}),
        "state": transition(app, 1, "proses", ["Dinsos"], {"status": "selesai"}),
        "unknown": transition(app, 1, "terbang", ["Dinsos"]),
    }
    assert all(refusals.values()), refusals
    assert [m.render() for m in refusals["required"]] == ["Alasan must be filled in before 'Tolak'"]
    assert counts(app) == before and record(app).status == state and record(app).hasil is None
    # A comment is required to send it back.
    assert transition(app, 1, "proses", ["Kecamatan"]) == []
    assert [m.render() for m in transition(app, 1, "kembalikan", ["Kecamatan"], comment="  ")] == [
        "'Kembalikan' needs a comment saying why"
    ]


def test_re_entering_a_state_starts_a_new_ladder(app: Any, client: Any) -> None:
    client.post("/api/v1/rujukan_uji/", json={"nama": "Ani", "desa": "63.09.01.2001"})
    first = rows(app, stay_table)[0]
    with app.app_context(), db.engine.begin() as conn:  # the sweep fired the deadline of the first stay
        conn.execute(timer_table.update().where(timer_table.c.level == 0).values(fired_at=datetime(2026, 3, 2)))
    assert transition(app, 1, "proses", ["Kecamatan"]) == []
    assert transition(app, 1, "kembalikan", ["Kecamatan"], comment="data kurang") == []
    stays = rows(app, stay_table)
    assert [(s.state, s.seq, s.left_at is None) for s in stays] == [
        ("terdaftar", 1, False),
        ("diproses", 2, False),
        ("terdaftar", 3, True),
    ]
    fired = rows(app, timer_table, timer_table.c.stay_id == first.id)
    assert [(t.level, t.fired_at is not None) for t in fired] == [(0, True)]  # history kept, the rest gone
    fresh = rows(app, timer_table, timer_table.c.stay_id == stays[-1].id)
    assert [(t.level, t.fired_at) for t in fresh] == [(0, None), (1, None), (2, None), (3, None)]


def test_timers_count_working_days_across_idul_fitri_2026(app: Any) -> None:
    """Entered Tuesday 17 March 2026 in Tabalong (WITA): Nyepi and the Lebaran days off come first."""
    form = spec(app)
    with app.app_context(), db.engine.begin() as conn:
        calendar = office_calendar(conn)
        assert calendar.zone.key == "Asia/Makassar"
        assert not any(calendar.is_working_day(date(2026, 3, d)) for d in (19, 20, 23, 24))
        record_created(conn, form, 1, "63.09.01.2001", utc(2026, 3, 17, 2), DINSOS, calendar=calendar)
        stay = conn.execute(sa.select(stay_table)).one()
        timers = conn.execute(sa.select(timer_table).order_by(timer_table.c.level)).all()
    local = [calendar.local_date(t.due_at.replace(tzinfo=UTC)) for t in timers]
    assert local == [date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 2), date(2026, 4, 7)]
    assert stay.due_at == timers[0].due_at == datetime(2026, 3, 29, 16, 0)  # 00:00 WITA on Monday 30 March


def test_recompute_after_a_holiday_is_added_moves_unfired_timers(app: Any) -> None:
    form = spec(app)
    entered = utc(2026, 3, 17, 2)
    with app.app_context(), db.engine.begin() as conn:
        before = office_calendar(conn)
        stay_id = enter_state(conn, form, 1, "terdaftar", entered, DINSOS, "63.09.01.2001", calendar=before)
        conn.execute(  # the deadline already fired: it stays as it was
            timer_table.update()
            .where(timer_table.c.stay_id == stay_id, timer_table.c.level == 0)
            .values(fired_at=datetime(2026, 3, 29, 16, 0))
        )
        conn.execute(
            holiday_table.insert().values(
                day=date(2026, 3, 31),
                name="Hari jadi Kabupaten Tabalong",
                kind=LOCAL,
                region_code="63.09",
                source="admin",
                active=True,
            )
        )
        conn.execute(  # another district's day off does not count here
            holiday_table.insert().values(
                day=date(2026, 4, 1),
                name="Hari jadi lain",
                kind=LOCAL,
                region_code="62.71",
                source="admin",
                active=True,
            )
        )
        after = office_calendar(conn)
        done = recompute_due(conn, after, utc(2026, 3, 20))
        timers = conn.execute(sa.select(timer_table).order_by(timer_table.c.level)).all()
    assert not after.is_working_day(date(2026, 3, 31)) and after.is_working_day(date(2026, 4, 1))
    assert (done.stays, done.timers) == (0, 3)  # the deadline (30 March) did not move; three levels did
    assert [after.local_date(t.due_at.replace(tzinfo=UTC)) for t in timers] == [
        date(2026, 3, 30),
        date(2026, 4, 1),
        date(2026, 4, 6),
        date(2026, 4, 8),
    ]
    expected = [t.at.replace(tzinfo=None) for t in Ladder(form.workflow.state("terdaftar"), after).timers(entered)]
    assert [t.due_at for t in timers[1:]] == expected[1:]


def test_seeding_keeps_the_admins_days(app: Any) -> None:
    with app.app_context(), db.engine.begin() as conn:
        idul_fitri = conn.execute(  # Friday 20 March 2026: cuti bersama before Idul Fitri
            sa.select(holiday_table).where(holiday_table.c.day == date(2026, 3, 20))
        ).one()
        assert idul_fitri.kind == "cuti_bersama"
        # A decree moved it: the admin switches the seeded day off and names the decree.
        conn.execute(
            holiday_table.update()
            .where(holiday_table.c.id == idul_fitri.id)
            .values(active=False, source="admin", decree="SKB 3 Menteri")
        )
        again = seed(conn, [2026])
        assert again.added == 0 and again.kept > 15
        calendar = load_calendar(conn, "WITA", "63.09")
        row = conn.execute(sa.select(holiday_table).where(holiday_table.c.id == idul_fitri.id)).one()
    assert (row.active, row.source) == (False, "admin")
    assert calendar.is_working_day(date(2026, 3, 20))
    assert isinstance(calendar, WorkingCalendar)


def test_holidays_seed_command(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["simpul", "holidays", "seed", "--year", "2027"])
    assert result.exit_code == 0, result.output
    assert "holidays 2027:" in result.output and " 0 added" not in result.output
    again = app.test_cli_runner().invoke(args=["simpul", "holidays", "seed", "--year", "2027"])
    assert " 0 added" in again.output
