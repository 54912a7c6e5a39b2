"""The installation's own settings (the office settings form), with defaults from config: the
district, and the time zone every timestamp is shown in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, g, has_request_context

from app.extensions import db

SETTINGS_FORM = "pengaturan_kantor"

# Indonesia's three zones; the settings form names them, timestamps carry their abbreviation.
ZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
# Provinces (first two digits of a region code) outside WIB: Bali, Nusa Tenggara, Kalimantan
# Selatan/Timur/Utara and Sulawesi are WITA; Maluku and Papua are WIT. Every other province is WIB.
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96", "97"}


def _settings(column: str) -> Any:
    """A value of the office settings record, or None (no form, no record, no such field)."""
    model = current_app.extensions.get("simpul_models", {}).get(SETTINGS_FORM)
    if model is None or column not in model.__table__.c:
        return None
    table = model.__table__
    return db.session.execute(sa.select(table.c[column]).order_by(table.c.id).limit(1)).scalar()


def _cached(key: str, compute: Any) -> Any:
    if has_request_context() and key in g:
        return g.get(key)
    value = compute()
    if has_request_context():
        setattr(g, key, value)
    return value


def office_district() -> str:
    """The office's kabupaten/kota code: from the settings record, else config DISTRICT."""
    return _cached("simpul_district", lambda: _settings("kabupaten") or current_app.config["DISTRICT"])


def zone_of_region(code: str) -> str:
    """WIB, WITA or WIT: the zone a region code's province lies in."""
    province = (code or "")[:2]
    return "WITA" if province in _WITA else "WIT" if province in _WIT else "WIB"


def office_zone() -> str:
    """WIB, WITA or WIT: the settings' `zona_waktu`, else config TIME_ZONE, else the district's zone."""

    def compute() -> str:
        chosen = _settings("zona_waktu") or current_app.config.get("TIME_ZONE")
        return chosen if chosen in ZONES else zone_of_region(office_district())

    return _cached("simpul_zone", compute)


def utc_now() -> datetime:
    """Now, as stored: naive UTC (every system timestamp is kept in UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_time(stored: datetime | None) -> datetime | None:
    """A stored (naive UTC) timestamp in the office's zone, with its offset."""
    if stored is None:
        return None
    aware = stored if stored.tzinfo is not None else stored.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(ZONES[office_zone()]))


def local_timestamp(stored: datetime | None, seconds: bool = False) -> str:
    """ "04-11-2020 09:30 WITA": a stored timestamp as people read it."""
    local = local_time(stored)
    if local is None:
        return ""
    return local.strftime("%d-%m-%Y %H:%M:%S" if seconds else "%d-%m-%Y %H:%M") + " " + office_zone()
