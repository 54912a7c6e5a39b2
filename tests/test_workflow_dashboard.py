"""The workflow screens on the shipped forms and demo referrals: "Tugas saya" per role and working
area (overdue first), the overdue screen's counts against direct queries (scoped) and the lists
they link to, the lists' overdue filter, and the holiday calendar (a new day moves a deadline;
a seeded day is switched off, never deleted; Admin only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.office import local_time
from app.workflows.models import Holiday, stay_table, timer_table
from tests.conftest import BACKENDS, add_user, login, shipped_app

USERS = {  # name: (role, working area)
    "kepala": ("Admin", None),
    "dinsos": ("Dinsos", None),
    "camat": ("Kecamatan", "63.09.01"),
    "desa": ("Operator Desa", "desa"),  # the desa of Banua Lawas with the most open referrals
    "lihat": ("Viewer", None),
}
LIST = "/forms/rujukan/list/"
OVERDUE = "/alur-kerja/keterlambatan/"
HOLIDAYS = "/keamanan/hari-libur/"


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with shipped_app(request, tmp_path_factory.mktemp("wf-dashboard")) as app:
        with app.app_context():
            busiest = db.session.execute(
                sa.text(
                    "SELECT r.region_code FROM form_rujukan r WHERE r.region_code LIKE '63.09.01.%'"
                    " AND r.status <> 'selesai' GROUP BY r.region_code ORDER BY count(*) DESC, r.region_code LIMIT 1"
                )
            ).scalar_one()
            db.session.rollback()
        for name, (role, area) in USERS.items():
            add_user(app, name, role, region_scope=busiest if area == "desa" else area)
        yield {"app": app, "desa": busiest}


def client_of(world: dict[str, Any], username: str) -> Any:
    client = world["app"].test_client()
    login(client, username)
    return client


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def open_stays(world: dict[str, Any], area: str | None, states: set[str] | None = None) -> list[Any]:
    """Open stays of referrals in an area (a region code prefix), straight from the tables."""
    with world["app"].app_context():
        s = stay_table
        query = sa.select(s).where(s.c.form == "rujukan", s.c.left_at.is_(None))
        if area:
            query = query.where(sa.or_(s.c.region_code == area, s.c.region_code.like(area + ".%")))
        rows = db.session.execute(query).all()
        db.session.rollback()
    return [r for r in rows if states is None or r.state in states]


def reached(world: dict[str, Any], stay_id: int, at: datetime) -> int | None:
    with world["app"].app_context():
        t = timer_table
        level = db.session.execute(
            sa.select(sa.func.max(t.c.level)).where(t.c.stay_id == stay_id, t.c.due_at <= at)
        ).scalar()
        db.session.rollback()
    return level


def listed(client: Any, query: str) -> set[int]:
    page = client.get(f"{LIST}?psize_FormView_rujukan=100&{query}").get_data(as_text=True)
    return {int(i) for i in re.findall(r"/forms/rujukan/show/(\d+)", page)}


def overdue_arg(client: Any) -> str:
    page = client.get(LIST).get_data(as_text=True)
    found = re.search(r'id="flt-status-overdue" name="(_flt_\d_status)"', page)
    assert found, "the overdue filter is in the panel"
    return found.group(1)


# -- my tasks -------------------------------------------------------------------------------

ACTING = {"terdaftar", "diverifikasi", "dirujuk", "ditangani", "dipantau"}  # every open state of the SLRT flow


def tasks(page: str) -> list[tuple[int, bool]]:
    """(record id, overdue) of the rows of Tugas saya, in order."""
    panel = page.split('id="home-tasks"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="simpul-task( danger)?">\s*<td><a href="/forms/rujukan/show/(\d+)"', panel)
    return [(int(i), bool(d)) for d, i in rows]


def count_in_heading(page: str) -> int:
    found = re.search(r'id="home-tasks-count"[^>]*>([\d.,]+)<', page)
    assert found
    return int(re.sub(r"[.,]", "", found.group(1)))


@pytest.mark.parametrize(("username", "area"), [("camat", "63.09.01"), ("desa", "desa"), ("dinsos", "63.09")])
def test_my_tasks_are_the_waiting_records_of_my_area_overdue_first(
    world: dict[str, Any], username: str, area: str
) -> None:
    area = world["desa"] if area == "desa" else area
    page = client_of(world, username).get("/").get_data(as_text=True)
    expected = open_stays(world, area, ACTING)
    assert count_in_heading(page) == len(expected) > 0
    shown = tasks(page)
    by_record = {s.record_id: s for s in expected}
    assert shown and all(record in by_record for record, _late in shown)  # nothing from outside the area
    late = [overdue for _record, overdue in shown]
    assert late == sorted(late, reverse=True)  # overdue first
    assert [by_record[r].due_at for r, _l in shown] == sorted(by_record[r].due_at for r, _l in shown)
    cutoff = now()
    assert all(overdue == (by_record[r].due_at <= cutoff) for r, overdue in shown)
    if any(late):
        assert "hari kerja" in page or "terlambat sejak hari ini" in page


def test_an_operator_desa_sees_only_their_desa(world: dict[str, Any]) -> None:
    page = client_of(world, "desa").get("/").get_data(as_text=True)
    with world["app"].app_context():
        regions = dict(db.session.execute(sa.text("SELECT id, region_code FROM form_rujukan")).all())
        db.session.rollback()
    assert {regions[r] for r, _late in tasks(page)} == {world["desa"]}


@pytest.mark.parametrize("username", ["kepala", "lihat"])
def test_roles_that_take_no_step_have_no_task_panel(world: dict[str, Any], username: str) -> None:
    page = client_of(world, username).get("/").get_data(as_text=True)
    assert 'id="home-tasks"' not in page


# -- the overdue screen ---------------------------------------------------------------------


def table_rows(page: str) -> dict[str, list[tuple[int, str | None]]]:
    """Row code -> its cells as (count, link)."""
    rows = {}
    for code, body in re.findall(r'<tr[^>]*data-code="([^"]*)">(.*?)</tr>', page, re.S):
        cells = re.findall(r'<td class="text-right">(.*?)</td>', body, re.S)
        parsed = []
        for cell in cells:
            link = re.search(r'href="([^"]+)"', cell)
            number = re.search(r">([\d.,]+)<", cell)
            assert number, cell
            parsed.append(
                (int(re.sub(r"[.,]", "", number.group(1))), link.group(1).replace("&amp;", "&") if link else None)
            )
        rows[code] = parsed
    return rows


def expected_counts(world: dict[str, Any], area: str) -> dict[str, list[int]]:
    """Kecamatan -> [deadline, level 1, 2, 3, nobody, failed, all], straight from the tables."""
    cutoff = now()
    found: dict[str, list[int]] = {}
    with world["app"].app_context():
        t = timer_table
        outcomes = {
            (stay_id, outcome)
            for stay_id, outcome in db.session.execute(
                sa.select(t.c.stay_id, t.c.outcome).where(t.c.outcome.is_not(None))
            )
        }
        db.session.rollback()
    for stay in open_stays(world, area):
        if stay.due_at is None or stay.due_at > cutoff:
            continue
        counts = found.setdefault(".".join(stay.region_code.split(".")[:3]), [0] * 7)
        counts[reached(world, stay.id, cutoff) or 0] += 1
        counts[4] += (stay.id, "nobody") in outcomes
        counts[5] += (stay.id, "failed") in outcomes
        counts[6] += 1
    return found


@pytest.mark.parametrize(("username", "area"), [("dinsos", "63.09"), ("camat", "63.09.01"), ("kepala", None)])
def test_the_overdue_table_counts_what_the_tables_hold_in_my_area(
    world: dict[str, Any], username: str, area: str | None
) -> None:
    client = client_of(world, username)
    response = client.get(OVERDUE)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = table_rows(page)
    expected = expected_counts(world, area or "63.09")
    for code, counts in expected.items():
        assert [n for n, _url in rows[code]] == counts, code
    shown = {code for code, cells in rows.items() if code not in ("total", "") and any(n for n, _u in cells)}
    assert shown == {code for code, counts in expected.items() if any(counts)}
    if area == "63.09.01":
        assert set(rows) - {"total"} == {"63.09.01"}  # only their kecamatan
    assert [n for n, _u in rows["total"]] == [sum(c[i] for c in expected.values()) for i in range(7)]
    assert "Keterlambatan" in page and "Tingkat 1" in page


def test_each_overdue_count_opens_the_list_of_those_records(world: dict[str, Any]) -> None:
    client = client_of(world, "dinsos")
    rows = table_rows(client.get(OVERDUE).get_data(as_text=True))
    checked = 0
    for code, cells in rows.items():
        for number, url in cells:
            if url is None:
                continue
            assert url.startswith(LIST)
            assert len(listed(client, url.split("?", 1)[1])) == number, (code, url)
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize("username", ["desa", "lihat"])
def test_the_overdue_screen_is_refused_to_other_roles(world: dict[str, Any], username: str) -> None:
    client = client_of(world, username)
    assert client.get(OVERDUE).status_code == 403
    assert "/alur-kerja/keterlambatan/" not in client.get("/").get_data(as_text=True)


# -- the overdue filter ---------------------------------------------------------------------


def test_the_overdue_filter_lists_records_past_their_deadline(world: dict[str, Any]) -> None:
    client = client_of(world, "camat")
    arg = overdue_arg(client)
    cutoff = now()
    stays = open_stays(world, "63.09.01")
    late = {s.record_id for s in stays if s.due_at is not None and s.due_at <= cutoff}
    assert late
    assert listed(client, f"{arg}=true") == late
    with world["app"].app_context():
        area = {
            i for (i,) in db.session.execute(sa.text("SELECT id FROM form_rujukan WHERE region_code LIKE '63.09.01.%'"))
        }
        db.session.rollback()
    assert listed(client, f"{arg}=false") == area - late
    page = client.get(f"{LIST}?{arg}=true").get_data(as_text=True)
    assert "Terlambat" in page and "Ya" in page  # the chip, in Indonesian
    # the state filter (a choice) works alongside it
    state_arg = re.search(r'id="flt-status" name="(_flt_\d_status)"', page).group(1)  # type: ignore[union-attr]
    both = listed(client, f"{arg}=true&{state_arg}=terdaftar")
    assert both == {s.record_id for s in stays if s.record_id in late and s.state == "terdaftar"}


# -- holidays -------------------------------------------------------------------------------


def test_holidays_are_admin_only(world: dict[str, Any]) -> None:
    for username in ("dinsos", "camat", "lihat"):
        client = client_of(world, username)
        assert client.get(HOLIDAYS).status_code == 403
        assert (
            client.post(HOLIDAYS + "tambah", data={"day": "2030-01-02", "name": "x", "kind": "national"}).status_code
            == 403
        )
        assert client.post(HOLIDAYS + "isi", data={"tahun": "2030"}).status_code == 403
    with world["app"].app_context():
        assert (
            db.session.execute(
                sa.select(sa.func.count()).select_from(Holiday).where(Holiday.day == date(2030, 1, 2))
            ).scalar()
            == 0
        )
        db.session.rollback()
    page = client_of(world, "kepala").get("/").get_data(as_text=True)
    assert HOLIDAYS in page


def test_validation_speaks_the_readers_language(world: dict[str, Any]) -> None:
    client = client_of(world, "kepala")
    response = client.post(
        HOLIDAYS + "tambah", data={"day": "31-02-2026", "name": "", "kind": "local", "region_code": "63.03"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Isikan nama hari libur." in page and "dd-mm-yyyy" in page
    client.get("/lang/en")
    page = client.post(HOLIDAYS + "tambah", data={"day": "", "name": "x", "kind": "local"}).get_data(as_text=True)
    assert "Enter the day." in page
    page = client.post(
        HOLIDAYS + "tambah", data={"day": "02-03-2026", "name": "Hari\x00 besar", "kind": "local", "decree": "a\x7f"}
    ).get_data(as_text=True)
    assert "U+0000, which cannot be stored" in page and "U+007F, which cannot be stored" in page


def test_a_new_holiday_moves_a_deadline_and_shows(world: dict[str, Any]) -> None:
    cutoff = now()
    pending = sorted(
        (s for s in open_stays(world, None) if s.due_at is not None and s.due_at > cutoff + timedelta(days=2)),
        key=lambda s: s.due_at,
    )
    assert pending
    stay = pending[0]
    with world["app"].app_context():
        days_off = {d for (d,) in db.session.execute(sa.select(Holiday.day).where(Holiday.active.is_(True)))}
        db.session.rollback()
        # the day after the entry in the office's zone (a stay entered late in the UTC day is
        # already on the next day in WITA: a holiday on its entry day moves nothing)
        day = local_time(stay.entered_at).date() + timedelta(days=1)
    while day.weekday() >= 5 or day in days_off:
        day += timedelta(days=1)
    assert day < stay.due_at.date()
    client = client_of(world, "kepala")
    response = client.post(
        HOLIDAYS + "tambah",
        data={
            "day": day.isoformat(),
            "name": "Hari Jadi Kabupaten",
            "kind": "local",
            "decree": "Perbup 1/2026",
            "active": "1",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Hari Jadi Kabupaten" in page and day.strftime("%d-%m-%Y") in page
    moved = re.search(r"tenggat bergeser: (\d+)", page)
    assert moved and int(moved.group(1)) >= 1
    later = next(s for s in open_stays(world, None) if s.id == stay.id)
    assert later.due_at > stay.due_at
    # the same day again is refused, in Indonesian
    again = client.post(
        HOLIDAYS + "tambah", data={"day": day.isoformat(), "name": "Lagi", "kind": "local", "active": "1"}
    )
    assert again.status_code == 422 and "sudah ada hari libur" in again.get_data(as_text=True)


def test_a_seeded_day_is_switched_off_never_deleted_and_the_seed_keeps_it_off(world: dict[str, Any]) -> None:
    year = datetime.now(UTC).year
    with world["app"].app_context():
        row = db.session.execute(
            sa.select(Holiday)
            .where(Holiday.source == "seed", Holiday.active.is_(True), Holiday.day >= date(year, 1, 1))
            .order_by(Holiday.day)
            .limit(1)
        ).scalar_one()
        pk, day, kind = row.id, row.day, row.kind
        db.session.rollback()
    client = client_of(world, "kepala")
    # a seeded day cannot be moved by editing it
    moved = client.post(
        f"{HOLIDAYS}{pk}/ubah",
        data={"day": (day + timedelta(days=1)).isoformat(), "name": "x", "kind": kind, "active": "1"},
    )
    assert moved.status_code == 422 and "tidak dapat dipindah" in moved.get_data(as_text=True)
    page = client.post(f"{HOLIDAYS}{pk}/aktif", data={"active": ""}, follow_redirects=True).get_data(as_text=True)
    assert "dinonaktifkan" in page and f'data-id="{pk}" class="simpul-holiday text-muted simpul-holiday-off"' in page
    client.post(HOLIDAYS + "isi", data={"tahun": str(day.year)}, follow_redirects=True)
    with world["app"].app_context():
        rows = db.session.execute(sa.select(Holiday).where(Holiday.day == day)).scalars().all()
        assert [(r.id, r.active) for r in rows if r.kind == kind] == [(pk, False)]
        db.session.rollback()
    page = client.post(f"{HOLIDAYS}{pk}/aktif", data={"active": "1"}, follow_redirects=True).get_data(as_text=True)
    with world["app"].app_context():
        assert db.session.get(Holiday, pk).active is True
        db.session.rollback()


def test_filling_a_year_from_the_national_calendar(world: dict[str, Any]) -> None:
    client = client_of(world, "kepala")
    page = client.post(HOLIDAYS + "isi", data={"tahun": "2030"}, follow_redirects=True).get_data(as_text=True)
    assert re.search(r"Hari libur 2030 dari kalender nasional: \d+ ditambahkan", page)
    assert "Tahun Baru" in page
