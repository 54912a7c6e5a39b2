"""List screens and list API of a generated form at scale, against raw SQL and stock Flask-AppBuilder.

What it measures
----------------
A form shaped like an aid roster (12 fields: nik, no_kk, nama, alamat, desa (region, level desa,
the form's region field), program, tahun, tahap, jumlah, status, tanggal_salur, keterangan) is
published through the form engine (`app.forms_engine.publish.publish`), so its table, screen and
API are the real generated ones. ROWS deterministic records (random.Random(SEED)) are bulk-loaded
straight into that table (SQLite: executemany in one transaction; PostgreSQL: COPY), spread over
10 kecamatan x 10 desa of Kabupaten Tabalong ('63.09.01.2001' ...), with region_code = desa.

For every database and case, p50/p95 over --repeat timed requests (after --warmup untimed ones,
interleaved round-robin so drift hits every column alike) of:

  raw SQL        SELECT <12 columns> ... ORDER BY id DESC LIMIT 25 OFFSET k, plus SELECT count(*)
                 with the same filter, on one SQLAlchemy Core connection (the floor);
  stock screen   a hand-written Flask-AppBuilder ModelView over a plain FAB Model class mapped to
                 the same table (stock SQLAInterface), same 12 list columns, page size 25;
  gen screen     the generated screen, GET /forms/aid_roster/list/;
  stock API      a hand-written ModelRestApi over the same stock model;
  gen API        the generated API, GET /api/v1/aid_roster/?q=<rison>.

Both stock views are registered in the same app as the generated ones (same base template, same
security manager, same database), so the ratios isolate what the engine adds.

Cases (page numbers are 0-based, as FAB counts them; order is the form's default, id descending):
  first    page 0
  deep     page 2000 (offset 50,000); the middle page when the table has no page after 2000
  last     the last page
  kec sw   page 0 of one kecamatan: desa starts with '63.09.01' (FAB's "Starts with" filter:
           screen `_flt_0_desa=63.09.01`, API `opr: sw`; FAB renders it as ILIKE '63.09.01%')
  desa eq  page 0 of one desa: desa = '63.09.01.2001' (screen `_flt_3_desa=…`, API `opr: eq`)
region_code itself is a system column and not among the generated views' search columns, so the
region cases filter on the form's region field `desa`, which is what a user of the screen can do.

Screen paging args are FAB's: `psize_<ViewName>=25&page_<ViewName>=N`; filters `_flt_<i>_<col>`.
Every response is checked (outside the timed span): status 200, the record ids on the page equal
raw SQL's ids in the same order, and the record count shown equals raw SQL's count(*), so a broken
page cannot look fast.

Databases
---------
SQLite: the loaded file is cached in bench/out/ (or $SIMPUL_BENCH_OUT) keyed by row count and
data version, so re-runs skip the load (the load time printed is the one measured when the file was built; --rebuild
forces a new file). PostgreSQL: SIMPUL_BENCH_POSTGRES_URL (a server URL such as
postgresql+psycopg://user:pass@host:5432; a database is created for the run and dropped after),
or else a private throw-away cluster started with initdb/pg_ctl from /usr/lib/postgresql/*/bin,
as the test suite does (default settings except fsync/full_page_writes/synchronous_commit off,
which only speed the load). After the load PostgreSQL gets VACUUM ANALYZE, as autovacuum would
soon do; SQLite gets nothing (it never analyses on its own).

Run
---
    .venv/bin/python bench/list_scale.py                       # 1,000,000 rows, both databases, 30 repeats
    .venv/bin/python bench/list_scale.py --rows 20000          # smoke test, well under a minute
    .venv/bin/python bench/list_scale.py --small               # 300 rows, 2 repeats: runs every path in seconds
    .venv/bin/python bench/list_scale.py --db postgresql --repeat 50 --warmup 5
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import math
import os
import platform
import random
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/list_scale.py` works without PYTHONPATH

import prison  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from flask import Flask  # noqa: E402
from flask_appbuilder import Model, ModelRestApi, ModelView  # noqa: E402
from flask_appbuilder.models.sqla.interface import SQLAInterface  # noqa: E402

from app import create_app  # noqa: E402
from app.access.permissions import sync_permissions  # noqa: E402
from app.extensions import db  # noqa: E402
from app.forms_engine.loader import parse_definition  # noqa: E402
from app.forms_engine.publish import publish  # noqa: E402
from app.forms_engine.schema_lock import schema_change  # noqa: E402
from tests.postgres import private_cluster, scratch_database  # noqa: E402

# Cached SQLite files and scratch directories; the test suite points it at a temporary directory.
OUT_DIR = Path(os.environ.get("SIMPUL_BENCH_OUT") or ROOT / "bench" / "out")
# The apps run as in production (no TESTING), so the key must pass Simpul's check.
SECRET_KEY = secrets.token_hex(32)
SMALL = {"rows": 300, "repeat": 2, "warmup": 0}  # --small: every path runs, the figures mean nothing
SEED = 20240601
DATA_VERSION = 1  # bump when the generated rows change, so cached SQLite files are rebuilt
PAGE_SIZE = 25
DEEP_PAGE = 2000
SLUG = "aid_roster"
TABLE = f"form_{SLUG}"
GEN_VIEW = f"FormView_{SLUG}"
GEN_SCREEN_URL = f"/forms/{SLUG}/list/"
GEN_API_URL = f"/api/v1/{SLUG}/"
STOCK_VIEW = "StockRosterView"
STOCK_SCREEN_URL = "/stock/aid_roster/list/"
STOCK_API_URL = "/api/v1/stock_aid_roster/"
ADMIN = ("bench-admin", "bench-pass")
KECAMATAN = "63.09.01"
DESA = "63.09.01.2001"
FIELDS = [
    "nik",
    "no_kk",
    "nama",
    "alamat",
    "desa",
    "program",
    "tahun",
    "tahap",
    "jumlah",
    "status",
    "tanggal_salur",
    "keterangan",
]
LOAD_COLUMNS = [*FIELDS, "region_code", "created_on", "changed_on"]
TARGETS = ["raw", "stock_screen", "gen_screen", "stock_api", "gen_api"]
TARGET_TITLES = {
    "raw": "raw SQL",
    "stock_screen": "stock screen",
    "gen_screen": "gen screen",
    "stock_api": "stock API",
    "gen_api": "gen API",
}

DEFINITION = """
form: aid_roster
title: {id: Daftar Penerima Bantuan, en: Aid roster}
category: {id: Bantuan Sosial, en: Social aid}
icon: fa-list
title_field: nama
region_field: desa
fields:
  - {name: nik, type: nik, label: NIK, required: true}
  - {name: no_kk, type: text, label: {id: Nomor KK, en: Family card no.}, max_length: 16}
  - {name: nama, type: text, label: {id: Nama, en: Name}, required: true}
  - {name: alamat, type: text, label: {id: Alamat, en: Address}}
  - {name: desa, type: region, level: desa, label: {id: Desa, en: Village}, required: true}
  - name: program
    type: choice
    label: Program
    required: true
    choices:
      - {value: pkh, label: PKH}
      - {value: bpnt, label: BPNT}
      - {value: blt_dd, label: BLT Dana Desa}
      - {value: pbi_jk, label: PBI JK}
  - {name: tahun, type: integer, label: {id: Tahun, en: Year}, min: 2000}
  - {name: tahap, type: integer, label: {id: Tahap, en: Stage}, min: 1, max: 12}
  - {name: jumlah, type: money, label: {id: Jumlah, en: Amount}, min: 0}
  - name: status
    type: choice
    label: Status
    default: belum
    choices:
      - {value: belum, label: {id: Belum disalurkan, en: Not yet}}
      - {value: tersalurkan, label: {id: Tersalurkan, en: Paid}}
      - {value: ditunda, label: {id: Ditunda, en: On hold}}
  - {name: tanggal_salur, type: date, label: {id: Tanggal salur, en: Paid on}}
  - {name: keterangan, type: text, label: {id: Keterangan, en: Notes}}
"""

log = logging.getLogger("list_scale")


# --------------------------------------------------------------------------- stock FAB


class _StockBase(Model):
    """Own MetaData: FAB's create_db() runs Model.metadata.create_all() on a fresh database,
    which would otherwise create this table before the engine publishes it."""

    __abstract__ = True
    metadata = sa.MetaData()


class StockRoster(_StockBase):
    """A plain FAB model over the generated table, written by hand as a FAB user would."""

    __tablename__ = TABLE
    id = sa.Column(sa.Integer, primary_key=True)
    nik = sa.Column(sa.String(16))
    no_kk = sa.Column(sa.String(16))
    nama = sa.Column(sa.String(255))
    alamat = sa.Column(sa.String(255))
    desa = sa.Column(sa.String(13))
    program = sa.Column(sa.String(64))
    tahun = sa.Column(sa.BigInteger)
    tahap = sa.Column(sa.BigInteger)
    jumlah = sa.Column(sa.Numeric(18, 2))
    status = sa.Column(sa.String(64))
    tanggal_salur = sa.Column(sa.Date)
    keterangan = sa.Column(sa.String(255))
    region_code = sa.Column(sa.String(13))
    created_on = sa.Column(sa.DateTime)
    changed_on = sa.Column(sa.DateTime)
    created_by_fk = sa.Column(sa.Integer)
    changed_by_fk = sa.Column(sa.Integer)


class StockRosterView(ModelView):
    datamodel = SQLAInterface(StockRoster)
    route_base = "/stock/aid_roster"
    list_columns = FIELDS
    search_columns = FIELDS  # the generated view filters on every field too
    base_order = ("id", "desc")
    page_size = PAGE_SIZE


class StockRosterApi(ModelRestApi):
    datamodel = SQLAInterface(StockRoster)
    resource_name = "stock_aid_roster"
    allow_browser_login = True  # the test client is logged in with a session cookie
    list_columns = ["id", *FIELDS]
    search_columns = FIELDS
    base_order = ("id", "desc")
    page_size = PAGE_SIZE


# --------------------------------------------------------------------------- data


def region_codes() -> list[str]:
    """10 kecamatan x 10 desa of Kabupaten Tabalong (63.09)."""
    return [f"63.09.{kec:02d}.{2000 + desa:04d}" for kec in range(1, 11) for desa in range(1, 11)]


FIRST_NAMES = [
    "Ahmad", "Muhammad", "Siti", "Nur", "Rahmat", "Dewi", "Budi", "Sri", "Agus", "Rina", "Hendra", "Fitri",
    "Yusuf", "Aisyah", "Rizki", "Wahyu", "Lestari", "Bambang", "Ratna", "Fauzan", "Noor", "Hasanah",
]  # fmt: skip
LAST_NAMES = [
    "Hidayat", "Rahman", "Saputra", "Wati", "Santoso", "Halim", "Yani", "Pratama", "Rusdi", "Anwar",
    "Maulana", "Fadillah", "Iskandar", "Syahrani", "Ramadhan", "Arifin", "Nurdin", "Suryani",
]  # fmt: skip
STREETS = [
    "Jl. Tanjung Selatan",
    "Jl. Ahmad Yani",
    "Jl. Pangeran Antasari",
    "Jl. Murakata",
    "Gg. Keramat",
    "Jl. Mabuun",
]
PROGRAMS = {"pkh": 750_000, "bpnt": 600_000, "blt_dd": 300_000, "pbi_jk": 42_000}
STATUSES = ["tersalurkan"] * 7 + ["belum"] * 2 + ["ditunda"]
NOTES = ["Pindah domisili", "Meninggal dunia", "Data ganda, verifikasi ulang", "Rekening tidak aktif"]


def generate_rows(count: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """Deterministic roster rows in LOAD_COLUMNS order (dates as date/datetime objects)."""
    rng = random.Random(seed)
    regions = region_codes()
    programs = list(PROGRAMS)
    for _ in range(count):
        desa = rng.choice(regions)
        kec = desa[:8].replace(".", "")  # 630901
        female = rng.random() < 0.5
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
        day = born.day + (40 if female else 0)  # NIK adds 40 to the day for women
        nik = f"{kec}{day:02d}{born.month:02d}{born.year % 100:02d}{rng.randrange(1, 10000):04d}"
        no_kk = f"{kec}{rng.randrange(10**10):010d}"
        nama = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        alamat = f"{rng.choice(STREETS)} RT {rng.randrange(1, 21):03d} No. {rng.randrange(1, 200)}"
        program = rng.choice(programs)
        tahun = rng.randrange(2022, 2026)
        tahap = rng.randrange(1, 5)
        paid_on = date(tahun, tahap * 3, 1) + timedelta(days=rng.randrange(28))
        keterangan = rng.choice(NOTES) if rng.random() < 0.1 else None
        created = datetime.combine(paid_on, datetime.min.time()) + timedelta(seconds=rng.randrange(86_400))
        yield (
            nik,
            no_kk,
            nama,
            alamat,
            desa,
            program,
            tahun,
            tahap,
            PROGRAMS[program],
            rng.choice(STATUSES),
            paid_on,
            keterangan,
            desa,  # region_code: what stamp() fills from the form's region field
            created,
            created,
        )


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # Store dates the way SQLAlchemy's SQLite Date/DateTime types write and read them.
    return tuple(
        v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v
        for v in row
    )


def load_sqlite(path: Path, rows: int, seed: int, batch: int = 50_000) -> None:
    """executemany in big batches, one transaction, through the plain sqlite3 driver."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # a half-built cache file is thrown away anyway
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        sql = f"INSERT INTO {TABLE} ({', '.join(LOAD_COLUMNS)}) VALUES ({', '.join('?' * len(LOAD_COLUMNS))})"
        chunk: list[tuple[Any, ...]] = []
        for row in generate_rows(rows, seed):
            chunk.append(_sqlite_row(row))
            if len(chunk) >= batch:
                conn.executemany(sql, chunk)
                chunk.clear()
        if chunk:
            conn.executemany(sql, chunk)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to cache
    finally:
        conn.close()


def load_postgres(url: str, rows: int, seed: int) -> float:
    """COPY through psycopg, then VACUUM ANALYZE (visibility map and statistics, as autovacuum would);
    return the fraction of the table's pages VACUUM marked all-visible."""
    engine = sa.create_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            pg = raw.driver_connection
            # A commit whose WAL is not yet flushed (the private cluster runs synchronous_commit=off)
            # leaves tuples without hint bits, and a VACUUM straight after it then marks no page
            # all-visible: no index-only scans, which a settled production table would have.
            pg.execute("SET synchronous_commit = on")
            with pg.cursor() as cur, cur.copy(f"COPY {TABLE} ({', '.join(LOAD_COLUMNS)}) FROM STDIN") as copy:
                for row in generate_rows(rows, seed):
                    copy.write_row(row)
            pg.commit()
            pg.autocommit = True
            pg.execute(f"VACUUM ANALYZE {TABLE}")
            pages, visible = pg.execute(
                "SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass", (TABLE,)
            ).fetchone()
            return visible / pages if pages else 1.0
        finally:
            raw.close()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- databases


def app_config(url: str) -> dict[str, Any]:
    scratch = OUT_DIR / "scratch"
    return {
        "DATABASE_URL": url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": SECRET_KEY,
        "UPLOAD_DIR": str(scratch / "uploads"),
        "FORMS_DIR": str(scratch / "forms"),
    }


def dispose(app: Flask) -> None:
    """Close the app's pools so files can be renamed and databases dropped."""
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def migrate_and_publish(url: str) -> None:
    """Core tables, the roster form (idempotent: an unchanged definition publishes nothing) and the admin."""
    from app.migrations import upgrade_database

    app = create_app(app_config(url))
    try:
        with app.app_context():
            upgrade_database()
            spec = parse_definition(yaml.safe_load(DEFINITION), "bench/list_scale.py")
            with schema_change(db.engine) as conn:
                publish(conn, {spec.slug: spec}, "bench", user_table=app.appbuilder.sm.user_model.__table__)
            sm = app.appbuilder.sm
            if sm.find_user(username=ADMIN[0]) is None:
                added = sm.add_user(ADMIN[0], "Bench", "Admin", "bench@example.org", sm.find_role("Admin"), ADMIN[1])
                assert added, "could not create the benchmark admin"
    finally:
        dispose(app)


def count_rows(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {TABLE}")).scalar_one()
    finally:
        engine.dispose()


def table_ddl(dialect_name: str) -> str:
    """The DDL the engine would create for the roster now; part of the cache key, so a cached file
    built by an older engine (other column types or indexes) is not measured as if current."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from app.forms_engine.tables import build_models

    dialect = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}[dialect_name]
    table = build_models([parse_definition(yaml.safe_load(DEFINITION), "bench")])[SLUG].__table__
    statements = [CreateTable(table), *(CreateIndex(index) for index in sorted(table.indexes, key=lambda i: i.name))]
    return ";".join(str(s.compile(dialect=dialect)) for s in statements)


def prepare_sqlite(rows: int, seed: int, rebuild: bool) -> tuple[str, float, bool]:
    """URL of a loaded SQLite file, the load time and whether it came from the cache."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha1(f"{DEFINITION}{seed}{DATA_VERSION}{table_ddl('sqlite')}".encode()).hexdigest()[:8]
    path = OUT_DIR / f"list_scale_{rows}_{key}.db"
    meta = path.with_suffix(".json")
    for stale in OUT_DIR.glob(f"list_scale_{rows}_*"):  # other data or DDL: never read again
        if rebuild or not stale.name.startswith(path.stem):
            stale.unlink()
    if not path.exists():
        partial = path.with_suffix(".partial.db")  # renamed only when complete: no half-loaded cache
        for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            stale.unlink(missing_ok=True)
        migrate_and_publish(f"sqlite:///{partial}")
        started = time.perf_counter()
        load_sqlite(partial, rows, seed)
        seconds = time.perf_counter() - started
        partial.rename(path)
        meta.write_text(json.dumps({"rows": rows, "load_seconds": seconds}))
        cached = False
    else:
        seconds = json.loads(meta.read_text())["load_seconds"] if meta.exists() else float("nan")
        cached = True
    url = f"sqlite:///{path}"
    migrate_and_publish(url)  # a cached file follows newer migrations; publishing again is a no-op
    found = count_rows(url)
    assert found == rows, f"{path} holds {found} rows, expected {rows}; run with --rebuild"
    return url, seconds, cached


def prepare_postgres(url: str, rows: int, seed: int) -> tuple[float, float]:
    """Load time and the fraction of pages all-visible after VACUUM."""
    migrate_and_publish(url)
    started = time.perf_counter()
    visible = load_postgres(url, rows, seed)
    seconds = time.perf_counter() - started
    found = count_rows(url)
    assert found == rows, f"loaded {found} rows, expected {rows}"
    return seconds, visible


# --------------------------------------------------------------------------- the app under test


@dataclass(frozen=True)
class FilterArg:
    """One FAB filter of a column: `index` is the screen's _flt_<index>_<col>, `opr` the API's."""

    index: int
    opr: str


# Which FAB filter each region case uses, best first: Simpul's "within region" where the app
# offers it (an index range), else FAB's "Starts with" (ILIKE 'code%'), for "equal" FAB's "Equal to".
FILTER_PREFERENCE = {"within": ("rw", "sw"), "equal": ("eq",)}


def pick_filter(view: Any, column: str, kind: str) -> FilterArg:
    offered = [f.arg_name for f in view._filters.get_search_filters()[column]]
    for opr in FILTER_PREFERENCE[kind]:
        if opr in offered:
            return FilterArg(offered.index(opr), opr)
    raise AssertionError(f"{type(view).__name__} offers no {kind} filter on {column}: {offered}")


@dataclass
class Bench:
    """The app under test, a logged-in client and the filter each target uses per region case."""

    app: Flask
    client: Any
    filters: dict[str, dict[str, FilterArg]]  # target -> kind -> filter


def bench_app(url: str) -> Bench:
    """The app as a worker builds it, plus the stock views on the same database."""
    app = create_app(app_config(url))
    with app.app_context():
        appbuilder = app.appbuilder
        appbuilder.add_view_no_menu(StockRosterView)
        appbuilder.add_api(StockRosterApi)
        sync_permissions(appbuilder, app.extensions.get("simpul_specs", {}))
        by_name = {type(v).__name__: v for v in appbuilder.baseviews}
        views = {
            "stock_screen": by_name[STOCK_VIEW],
            "gen_screen": by_name[GEN_VIEW],
            "stock_api": by_name["StockRosterApi"],
            "gen_api": by_name[f"FormApi_{SLUG}"],
        }
        # Same list columns, search columns and page size, or the comparison is not like for like.
        assert list(views["gen_screen"].list_columns) == FIELDS, views["gen_screen"].list_columns
        assert sorted(views["gen_screen"].search_columns) == sorted(FIELDS), views["gen_screen"].search_columns
        assert all(v.page_size == PAGE_SIZE for v in views.values())
        filters = {t: {kind: pick_filter(v, "desa", kind) for kind in FILTER_PREFERENCE} for t, v in views.items()}
    client = app.test_client()
    response = client.post("/login/", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 302, response.data[:500]
    return Bench(app, client, filters)


# --------------------------------------------------------------------------- cases and targets


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    page: int  # 0-based
    region: tuple[str, str] | None = None  # (kind, code) on the desa field: ("within", "63.09.01")


@dataclass(frozen=True)
class Expected:
    ids: list[int]
    count: int
    counts_ok: frozenset[int]  # counts a page may show: the exact one, or PostgreSQL's estimate


def make_cases(total: int) -> list[Case]:
    last = max(math.ceil(total / PAGE_SIZE) - 1, 0)
    deep = DEEP_PAGE if last > DEEP_PAGE else last // 2
    return [
        Case("first", "first page (p0)", 0),
        Case("deep", f"page {deep}", deep),
        Case("last", f"last page (p{last})", last),
        Case("kec", f"kec {KECAMATAN} (p0)", 0, ("within", KECAMATAN)),
        Case("desa", f"desa {DESA} (p0)", 0, ("equal", DESA)),
    ]


def region_predicate(column: sa.Column[Any], kind: str, code: str, opr: str) -> Any:
    """The predicate FAB (or Simpul's filter) applies for `opr`, written by hand."""
    if kind == "equal":
        return column == code
    if opr == "rw":  # what app/views/interface.py's FilterRegionWithin emits
        return sa.or_(column == code, sa.and_(column > code + ".", column < code + "/"))
    return column.ilike(code + "%")


def raw_query(table: sa.Table, case: Case, opr: str) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The page and the count, with the predicate the generated views apply."""
    where = [region_predicate(table.c.desa, case.region[0], case.region[1], opr)] if case.region else []
    page = (
        sa.select(table.c.id, *[table.c[f] for f in FIELDS])
        .where(*where)
        .order_by(table.c.id.desc())
        .limit(PAGE_SIZE)
        .offset(case.page * PAGE_SIZE)
    )
    return page, sa.select(sa.func.count()).select_from(table).where(*where)


def screen_url(base: str, view: str, case: Case, flt: FilterArg | None) -> str:
    args: dict[str, Any] = {f"psize_{view}": PAGE_SIZE, f"page_{view}": case.page}
    if case.region and flt:
        args[f"_flt_{flt.index}_desa"] = case.region[1]
    return f"{base}?{urlencode(args)}"


def api_url(base: str, case: Case, flt: FilterArg | None) -> str:
    q: dict[str, Any] = {"page": case.page, "page_size": PAGE_SIZE, "order_column": "id", "order_direction": "desc"}
    if case.region and flt:
        q["filters"] = [{"col": "desa", "opr": flt.opr, "value": case.region[1]}]
    return f"{base}?q={quote(prison.dumps(q))}"


_SHOW_LINK = re.compile(rb"/show/(\d+)")
_RECORD_COUNT = re.compile(rb'<div class="pull-right">\s*<strong>[^<]*</strong>\s*(\d+)')


def check_screen(response: Any, expected: Expected) -> int:
    assert response.status_code == 200, (response.status_code, response.data[:500])
    ids = [int(i) for i in dict.fromkeys(_SHOW_LINK.findall(response.data))]
    assert ids == expected.ids, f"screen shows ids {ids[:3]}…{ids[-3:]}, raw SQL {expected.ids[:3]}…{expected.ids[-3:]}"
    shown = _RECORD_COUNT.search(response.data)
    assert shown is not None, "no record count on the screen"
    count = int(shown.group(1))
    assert count in expected.counts_ok, f"screen shows {count} records, count(*) is {expected.count}"
    return count


def check_api(response: Any, expected: Expected) -> int:
    assert response.status_code == 200, (response.status_code, response.data[:500])
    body = response.get_json()
    ids = [r["id"] for r in body["result"]]
    assert ids == expected.ids, f"API returns ids {ids[:3]}…{ids[-3:]}, raw SQL {expected.ids[:3]}…{expected.ids[-3:]}"
    assert all(set(FIELDS) <= set(r) for r in body["result"]), "API rows lack list columns"
    assert body["count"] in expected.counts_ok, f"API count {body['count']}, count(*) is {expected.count}"
    return body["count"]


def pg_estimate(conn: sa.Connection) -> int | None:
    """The planner's row estimate, which Simpul may show instead of count(*) on big PostgreSQL tables."""
    if conn.dialect.name != "postgresql":
        return None
    return conn.execute(
        sa.text("SELECT reltuples::bigint FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": TABLE}
    ).scalar()


def targets(bench: Bench, conn: sa.Connection, table: sa.Table, case: Case) -> dict[str, Callable[[], Any]]:
    """One zero-argument request per measured thing; each returns what its check needs."""
    kind = case.region[0] if case.region else None
    flt = {t: (f[kind] if kind else None) for t, f in bench.filters.items()}
    page_sql, count_sql = raw_query(table, case, flt["gen_api"].opr if kind else "")
    client = bench.client

    def raw() -> tuple[list[int], int]:
        ids = [row.id for row in conn.execute(page_sql)]
        return ids, conn.execute(count_sql).scalar_one()

    return {
        "raw": raw,
        "stock_screen": lambda: client.get(screen_url(STOCK_SCREEN_URL, STOCK_VIEW, case, flt["stock_screen"])),
        "gen_screen": lambda: client.get(screen_url(GEN_SCREEN_URL, GEN_VIEW, case, flt["gen_screen"])),
        "stock_api": lambda: client.get(api_url(STOCK_API_URL, case, flt["stock_api"])),
        "gen_api": lambda: client.get(api_url(GEN_API_URL, case, flt["gen_api"])),
    }


def check(target: str, result: Any, expected: Expected) -> int:
    """Assert a response (or raw result) is the expected page; return the record count it shows."""
    if target == "raw":
        assert result == (expected.ids, expected.count), "raw SQL gave a different page between runs"
        return expected.count
    return check_screen(result, expected) if target.endswith("screen") else check_api(result, expected)


@dataclass
class CaseResult:
    case: Case
    expected: Expected
    timings: dict[str, list[float]]  # target -> ms
    shown: dict[str, set[int]]  # target -> record counts it showed


def measure_case(
    bench: Bench, conn: sa.Connection, table: sa.Table, case: Case, repeat: int, warmup: int
) -> CaseResult:
    """Round-robin over the targets so that drift (cache, CPU clock) affects each the same."""
    calls = targets(bench, conn, table, case)
    ids, count = calls["raw"]()
    estimate = pg_estimate(conn) if case.region is None else None
    expected = Expected(ids, count, frozenset({count} | ({estimate} if estimate is not None else set())))
    result = CaseResult(case, expected, {name: [] for name in TARGETS}, {name: set() for name in TARGETS})
    for rep in range(warmup + repeat):
        for name in TARGETS:
            started = time.perf_counter()
            response = calls[name]()
            elapsed = time.perf_counter() - started
            result.shown[name].add(check(name, response, expected))
            if rep >= warmup:
                result.timings[name].append(elapsed * 1000)
    return result


# --------------------------------------------------------------------------- report


@dataclass
class DbResult:
    name: str
    version: str
    rows: int
    load_seconds: float
    load_note: str
    filters: dict[str, dict[str, FilterArg]]
    cases: list[CaseResult]


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]  # nearest rank


def run_database(name: str, url: str, version: str, rows: int, load: float, note: str, args: Any) -> DbResult:
    bench = bench_app(url)
    try:
        with bench.app.app_context():
            table = bench.app.extensions["simpul_models"][SLUG].__table__
            with db.engine.connect() as conn:
                results = []
                for case in make_cases(rows):
                    print(f"  {name}: {case.label} …", file=sys.stderr, flush=True)
                    results.append(measure_case(bench, conn, table, case, args.repeat, args.warmup))
    finally:
        dispose(bench.app)
    return DbResult(name, version, rows, load, note, bench.filters, results)


def _ratio(result: DbResult, top: str, bottom: str, target: str) -> str:
    by_key = {c.case.key: c.timings for c in result.cases}
    return f"{p50(by_key[top][target]) / p50(by_key[bottom][target]):.2f}x"


def format_result(result: DbResult, repeat: int, warmup: int) -> str:
    lines = [
        "",
        f"{result.name} {result.version}: {result.rows:,} rows, loaded in {result.load_seconds:.1f} s"
        f"{result.load_note}",
        f"p50 / p95 in ms over {repeat} runs after {warmup} warm-ups; g/s = generated p50 / stock p50",
        "",
    ]
    header = f"{'case':<28}{'count':>9}" + "".join(f"{TARGET_TITLES[t]:>16}" for t in TARGETS)
    header += f"{'screen g/s':>12}{'API g/s':>9}"
    lines += [header, "-" * len(header)]
    for c in result.cases:
        cells = "".join(f"{p50(c.timings[t]):>8.1f} /{p95(c.timings[t]):>6.1f}" for t in TARGETS)
        screen = p50(c.timings["gen_screen"]) / p50(c.timings["stock_screen"])
        api = p50(c.timings["gen_api"]) / p50(c.timings["stock_api"])
        lines.append(f"{c.case.label:<28}{c.expected.count:>9}{cells}{screen:>11.2f}x{api:>8.2f}x")
    lines.append("")
    for top, name in (("last", "last/first"), ("deep", "deep/first")):
        ratios = ", ".join(f"{TARGET_TITLES[t]} {_ratio(result, top, 'first', t)}" for t in TARGETS)
        lines.append(f"{name} (p50): {ratios}")
    for kind, case_key in (("within", "kec"), ("equal", "desa")):
        used = ", ".join(
            f"{TARGET_TITLES[t]} "
            + (f"_flt_{f[kind].index}_desa ({f[kind].opr})" if "screen" in t else f"opr {f[kind].opr}")
            for t, f in result.filters.items()
        )
        lines.append(f"{case_key} filter: {used}")
    for c in result.cases:
        for target, shown in c.shown.items():
            if shown != {c.expected.count}:
                lines.append(
                    f"note: {TARGET_TITLES[target]} showed count {sorted(shown)} for {c.case.label}"
                    f" (count(*) = {c.expected.count}; planner estimate accepted)"
                )
    return "\n".join(lines)


def machine_info() -> str:
    import flask_appbuilder

    cpu = mem = ""
    with contextlib.suppress(OSError):
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    with contextlib.suppress(OSError, StopIteration):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kb = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal")))
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    return (
        f"machine: {platform.platform()}, {cpu or platform.processor()} x{os.cpu_count()}{mem}\n"
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}, "
        f"Flask-AppBuilder {flask_appbuilder.__version__}\n"
        f"load average now (1/5/15 min): {' / '.join(f'{x:.2f}' for x in os.getloadavg())}"
        " (other work on the machine skews the figures)\n"
        f"code: {code_state()}"
    )


def code_state() -> str:
    """Which app/ was measured: the commit, and whether app/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "app"], cwd=ROOT, capture_output=True, text=True).stdout
    except OSError:
        return "unknown (no git)"
    changed = len(dirty.splitlines())
    return f"commit {head.strip()}" + (f" + uncommitted changes to {changed} file(s) in app/" if changed else "")


def server_version(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- main


def run_sqlite(args: Any) -> DbResult:
    url, seconds, cached = prepare_sqlite(args.rows, args.seed, args.rebuild)
    note = " (cached file; time measured when it was built)" if cached else ""
    return run_database("SQLite", url, sqlite3.sqlite_version, args.rows, seconds, note, args)


def run_postgres(args: Any) -> DbResult:
    server = args.postgres_url
    with contextlib.ExitStack() as stack:
        if not server:
            server = stack.enter_context(private_cluster())
        url = stack.enter_context(scratch_database(server))
        seconds, visible = prepare_postgres(url, args.rows, args.seed)
        note = f" (COPY + VACUUM ANALYZE; {visible:.0%} of pages all-visible)"
        return run_database("PostgreSQL", url, server_version(url), args.rows, seconds, note, args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="records in the roster (default 1,000,000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per measurement (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached SQLite file")
    parser.add_argument(
        "--small", action="store_true", help="300 rows, 2 repeats, no warm-up: a check that it runs, in seconds"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SIMPUL_BENCH_POSTGRES_URL"),
        help="PostgreSQL server URL (default $SIMPUL_BENCH_POSTGRES_URL, else a private cluster)",
    )
    args = parser.parse_args(argv)
    if args.small:
        vars(args).update(SMALL)
    if args.rows < PAGE_SIZE * 3 or args.repeat < 1 or args.warmup < 0:
        parser.error("need --rows >= 75, --repeat >= 1, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    results: list[DbResult] = []
    if args.db in ("sqlite", "both"):
        results.append(run_sqlite(args))
    if args.db in ("postgresql", "both"):
        results.append(run_postgres(args))
    print(f"Simpul list scale benchmark: {args.rows:,} rows, page size {PAGE_SIZE}, seed {args.seed}")
    print(machine_info())
    print(
        "columns: raw SQL = page + count(*) on one Core connection; screens = GET list HTML; API = GET list JSON;"
        " g/s = generated p50 / stock p50; pages 0-based, ORDER BY id DESC"
    )
    for result in results:
        print(format_result(result, args.repeat, args.warmup))
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
