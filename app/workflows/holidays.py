"""The office's working-day calendar from its holiday table (simpul_holiday), seeding, and due times.

- `load_calendar(conn, zone, district)`: a WorkingCalendar of the active rows: national
  holidays, cuti bersama, and the local holidays of the office's kabupaten (a local row's
  region is the kabupaten, its province, or none: the office's own), counted in `zone`.
- `office_calendar(conn)`: the same for the office as its settings record names it (district,
  zone), read on `conn`; without one, the given defaults (config DISTRICT / TIME_ZONE).
- `seed(conn, years)`: national holidays and cuti bersama from the `holidays` package for days
  that have no national or cuti bersama row yet (`flask simpul init`: this year and next; `flask
  simpul holidays seed --year`). A day an admin entered, corrected or switched off is never
  touched: the admin's row wins, even inactive.
- `recompute_due(conn, calendar, now)`: a changed table is a new calendar; every open stay's
  deadline and its unfired timers are computed again from `entered_at` (fired ones stay as
  they are). Call it after each admin edit of the table, in the same transaction.

SQLAlchemy Core on the caller's connection, no Flask: the publish (app/forms_engine) uses it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import NamedTuple

import sqlalchemy as sa

from app.forms_engine.spec import FormSpec

from .calendar import CUTI_BERSAMA, LOCAL, NATIONAL, WorkingCalendar, seed_holidays
from .models import holiday_table, stay_table, timer_table

SETTINGS_TABLE = "form_pengaturan_kantor"  # the office settings form (app/office.py)
DEFAULT_DISTRICT = "63.09"  # config.py DISTRICT
# Provinces outside WIB (as app/office.py): WITA, WIT; every other province is WIB.
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96", "97"}
ZONE_NAMES = ("WIB", "WITA", "WIT")


def zone_of_district(code: str) -> str:
    """WIB, WITA or WIT: the zone of a region code's province."""
    province = (code or "")[:2]
    return "WITA" if province in _WITA else "WIT" if province in _WIT else "WIB"


def office_of(conn: sa.Connection, district: str | None = None, zone: str | None = None) -> tuple[str, str]:
    """(district code, zone name) as the office settings record gives them, else the defaults given.

    Zone: the settings' `zona_waktu`, else `zone`, else the district's own zone (as app/office.py).
    """
    stored_district = stored_zone = None
    inspector = sa.inspect(conn)
    if inspector.has_table(SETTINGS_TABLE):
        columns = {c["name"] for c in inspector.get_columns(SETTINGS_TABLE)} & {"kabupaten", "zona_waktu"}
        if columns:
            t = sa.table(SETTINGS_TABLE, sa.column("id"), *[sa.column(c) for c in columns])
            row = conn.execute(sa.select(*[t.c[c] for c in sorted(columns)]).order_by(t.c.id).limit(1)).first()
            if row is not None:
                stored_district = row._mapping.get("kabupaten")
                stored_zone = row._mapping.get("zona_waktu")
    place = stored_district or district or DEFAULT_DISTRICT
    chosen = stored_zone or zone
    return place, chosen if chosen in ZONE_NAMES else zone_of_district(place)


def _counts_for(region: str | None, district: str | None) -> bool:
    """Whether a local holiday of `region` is a day off for the office of `district`."""
    if not region or district is None:
        return True
    return district == region or district.startswith(region + ".")


def load_calendar(conn: sa.Connection, zone: str, district: str | None) -> WorkingCalendar:
    """The working-day calendar of the active holiday rows, for the office of `district`, in `zone`."""
    t = holiday_table
    days: dict[date, str] = {}
    for row in conn.execute(sa.select(t.c.day, t.c.name, t.c.kind, t.c.region_code).where(t.c.active.is_(True))):
        if row.kind == LOCAL and not _counts_for(row.region_code, district):
            continue
        days[row.day] = f"{days[row.day]}; {row.name}" if row.day in days else row.name
    return WorkingCalendar(days, zone)


def office_calendar(conn: sa.Connection, district: str | None = None, zone: str | None = None) -> WorkingCalendar:
    """The office's calendar (see `office_of` for where district and zone come from)."""
    place, zone_name = office_of(conn, district, zone)
    return load_calendar(conn, zone_name, place)


class Seeded(NamedTuple):
    """What a seed did."""

    added: int
    kept: int  # days that already had a national or cuti bersama row (seeded or an admin's)


def seed(conn: sa.Connection, years: Iterable[int], now: datetime | None = None) -> Seeded:
    """Add the package's holidays of `years` for days without a national/cuti bersama row; change nothing else."""
    t = holiday_table
    wanted = seed_holidays(years)
    if not wanted:
        return Seeded(0, 0)
    first, last = min(h.day for h in wanted), max(h.day for h in wanted)
    taken = set(
        conn.execute(
            sa.select(t.c.day).where(t.c.day >= first, t.c.day <= last, t.c.kind.in_((NATIONAL, CUTI_BERSAMA)))
        ).scalars()
    )
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    rows = [
        {
            "day": h.day,
            "name": h.name[:200],
            "kind": h.kind,
            "region_code": None,
            "decree": None,
            "source": "seed",
            "active": True,
            "changed_on": stamp,
            "changed_by": "sistem",
        }
        for h in wanted
        if h.day not in taken
    ]
    if rows:
        conn.execute(t.insert(), rows)
    return Seeded(len(rows), len(wanted) - len(rows))


class Recomputed(NamedTuple):
    """What `recompute_due` changed."""

    stays: int  # open stays whose deadline moved
    timers: int  # unfired timers added, moved or removed
    due_now: int  # unfired timers due by `now` afterwards (the sweep's next work)


def recompute_due(
    conn: sa.Connection,
    calendar: WorkingCalendar,
    now: datetime,
    specs: Mapping[str, FormSpec] | None = None,
) -> Recomputed:
    """Deadlines of open stays and their unfired timers, computed again with `calendar`.

    `specs` (default: every published form) give each state's SLA and ladder, so a published
    change of a ladder is applied the same way. Fired timers are history and stay as they are.
    """
    from app.forms_engine.store import published_specs

    from .service import refresh_stay_timers

    if specs is None:
        specs = published_specs(conn, problems={})
    stays = timers = 0
    for slug, spec in sorted(specs.items()):
        if spec.workflow is None:
            continue
        s = stay_table
        for stay in conn.execute(sa.select(s).where(s.c.form == slug, s.c.left_at.is_(None)).order_by(s.c.id)).all():
            state = spec.workflow.state(stay.state)
            if state is None:
                continue
            moved_deadline, changed = refresh_stay_timers(conn, stay, state, calendar)
            stays += moved_deadline
            timers += changed
    cutoff = now.astimezone(UTC).replace(tzinfo=None)
    t = timer_table
    due_now = conn.execute(
        sa.select(sa.func.count())
        .select_from(t.join(stay_table, stay_table.c.id == t.c.stay_id))
        .where(t.c.fired_at.is_(None), t.c.due_at <= cutoff, stay_table.c.left_at.is_(None))
    ).scalar_one()
    return Recomputed(stays, timers, due_now)
