"""The escalation sweep at scale, next to the raw indexed query; outbox delivery next to raw smtplib.

What it measures
----------------
Per database (a fresh SQLite file, and PostgreSQL), through the real engine (migrations, a
form published by the form engine, app/workflows/sweep.py):

- STAYS referral-like records of a published form (nik, nama, desa; tests/escalation_forms.py
  gives it its three-level ladder), each with one open stay and two timers: its deadline
  (level 0, already fired) and its next ladder level, unfired. DUE of those levels are due
  (levels 1, 2 and 3 in turn: desa operator, kecamatan staff, district office), the rest come
  due in the future. 112 users: an Operator Desa in each of 100 desa of Kabupaten Tabalong
  (63.09), a Kecamatan user in each of their kecamatan, and two district-wide Dinsos users.
  Loaded with executemany (SQLite, one transaction) or COPY (PostgreSQL, then VACUUM ANALYZE).
- **raw query**: the indexed query that finds the due rows (the partial index
  ix_simpul_wf_timer_due joined to open stays), all rows fetched through the driver.
- **sweep**: `sweep_due` once over the same rows: read them in batches, prepare (records, recipients,
  rendered mails), claim, queue the mails and write the events and outcomes. Checked outside the
  timed span: it fired exactly the raw query's rows, one mail per (timer, recipient).
  Between repeats the fired timers are made due again and their mails and events deleted.
- **delivery**: the mails the last sweep queued, sent by the outbox sender (`deliver_due`,
  OUTBOX_BATCH_SIZE messages per connection, the sent marks committed beside the sending) to an aiosmtpd
  server (its Sink handler, in a process of its own), next to raw `smtplib` sending the same
  messages (built beforehand, untimed) over one connection to the same server, in the same run;
  the two take turns --repeat times (the mails made queued again before each outbox run), medians
  printed.

Run
---
    .venv/bin/python bench/escalation_sweep.py                  # 1,000,000 stays, 10,000 due, SQLite and PostgreSQL
    .venv/bin/python bench/escalation_sweep.py --db sqlite --repeat 5
    .venv/bin/python bench/escalation_sweep.py --small          # 10,000 stays, 100 due: runs in seconds

PostgreSQL: SIMPUL_BENCH_POSTGRES_URL (a database is created for the run and dropped after), or a
private throw-away cluster (tests/postgres.py).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import random
import secrets
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.database import dispose_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.forms_engine.loader import parse_definition  # noqa: E402
from app.forms_engine.publish import publish  # noqa: E402
from app.forms_engine.schema_lock import schema_change  # noqa: E402
from app.regions.importer import SHIPPED_LIST, import_regions, read_region_file  # noqa: E402
from app.workflows.models import event_table, timer_table  # noqa: E402
from app.workflows.runtime.mailer import SmtpSettings, build_message, deliver_due  # noqa: E402
from app.workflows.runtime.models import QUEUED, outbox_table  # noqa: E402
from app.workflows.sweep import SweepSettings, sweep_due  # noqa: E402
from tests import escalation_forms  # noqa: E402
from tests.postgres import free_port, private_cluster, scratch_database  # noqa: E402

NOW = datetime(2026, 11, 26, 2, 0, 0)
NIK = "6309014507900001"
SEED = 12
RAW_QUERY = """
SELECT t.id, t.stay_id, t.level, t.due_at, t.attempts, s.form, s.record_id, s.state, s.entered_at, s.region_code
FROM simpul_wf_timer t LEFT JOIN simpul_wf_stay s ON s.id = t.stay_id
WHERE t.fired_at IS NULL AND t.due_at <= {now} AND s.left_at IS NULL
ORDER BY t.due_at, t.id
"""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the data -------------------------------------------------------------------------------


def desa_codes(count: int) -> list[str]:
    """The first `count` desa of Kabupaten Tabalong in the shipped region list."""
    codes = sorted(c for c in read_region_file(SHIPPED_LIST) if c.startswith("63.09.") and c.count(".") == 3)
    return codes[:count]


def table_rows(stays: int, due: int, desas: list[str]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(records, stays, timers) as tuples; the due stays are spread over the whole table."""
    rng = random.Random(SEED)
    due_ids = set(rng.sample(range(1, stays + 1), due))
    entered = NOW - timedelta(days=20)
    records, stay_rows, timers = [], [], []
    for i in range(1, stays + 1):
        desa = desas[i % len(desas)]
        records.append((i, NIK, f"Warga {i} ({NIK})", desa, desa))
        stay_rows.append((i, escalation_forms.FORM, i, "terdaftar", 1, entered, entered + timedelta(days=4), desa))
        timers.append((2 * i - 1, i, 0, entered + timedelta(days=4), entered + timedelta(days=4), "overdue", 0, 1))
        if i in due_ids:
            level, due_at = 1 + i % 3, NOW - timedelta(minutes=1 + i % 5000)
        else:
            level, due_at = 1, NOW + timedelta(days=1 + i % 30, minutes=i % 1440)
        timers.append((2 * i, i, level, due_at, None, None, None, 0))
    return records, stay_rows, timers


RECORD_COLUMNS = ("id", "nik", "nama", "desa", "region_code")
STAY_COLUMNS = ("id", "form", "record_id", "state", "seq", "entered_at", "due_at", "region_code")
TIMER_COLUMNS = ("id", "stay_id", "level", "due_at", "fired_at", "outcome", "recipients", "attempts")
TABLES = (("form_laporan", RECORD_COLUMNS), ("simpul_wf_stay", STAY_COLUMNS), ("simpul_wf_timer", TIMER_COLUMNS))


def load(engine: sa.Engine, data: tuple[list[tuple], ...]) -> float:
    started = time.perf_counter()
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            pg = raw.driver_connection
            pg.execute("SET synchronous_commit = on")  # hint bits before VACUUM (see list_scale.py)
            with pg.cursor() as cur:
                for (table, columns), rows in zip(TABLES, data, strict=True):
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
            pg.commit()
            pg.autocommit = True
            for table, _ in TABLES:
                pg.execute(f"VACUUM ANALYZE {table}")
            pg.autocommit = False  # it goes back to the pool
        finally:
            raw.close()
    else:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN")
            for (table, columns), rows in zip(TABLES, data, strict=True):
                marks = ", ".join("?" * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", (_sqlite_row(r) for r in rows)
                )
            cursor.execute("COMMIT")
        finally:
            raw.close()
    return time.perf_counter() - started


def _sqlite_row(row: tuple) -> tuple:
    """Date-times as SQLAlchemy stores them on SQLite (text with microseconds)."""
    return tuple(f"{v:%Y-%m-%d %H:%M:%S.%f}" if isinstance(v, datetime) else v for v in row)


def add_users(engine: sa.Engine, desas: list[str]) -> int:
    """An Operator Desa per desa, a Kecamatan user per kecamatan, two Dinsos (whole district)."""
    users = [(f"op_{d}", "Operator Desa", d) for d in desas]
    users += [(f"kec_{k}", "Kecamatan", k) for k in sorted({d.rsplit(".", 1)[0] for d in desas})]
    users += [("dinsos_1", "Dinsos", None), ("dinsos_2", "Dinsos", None)]
    with engine.begin() as conn:
        from flask_appbuilder.security.sqla.models import Role, assoc_user_role

        from app.access.users import SimpulUser

        user_t, role_t, link_t = SimpulUser.__table__, Role.__table__, assoc_user_role
        roles = dict(conn.execute(sa.select(role_t.c.name, role_t.c.id)).all())
        for name in {"Operator Desa", "Kecamatan", "Dinsos"} - set(roles):
            roles[name] = conn.execute(role_t.insert().values(name=name).returning(role_t.c.id)).scalar_one()
        for username, role, scope in users:
            user_id = conn.execute(
                user_t.insert()
                .values(
                    first_name=username,
                    last_name="Bench",
                    username=username,
                    password="!",
                    active=True,
                    email=f"{username}@example.org",
                    region_scope=scope,
                )
                .returning(user_t.c.id)
            ).scalar_one()
            conn.execute(link_t.insert().values(user_id=user_id, role_id=roles[role]))
    return len(users)


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'escalation.db'}"
        return
    with (
        private_cluster(os.environ.get("SIMPUL_BENCH_POSTGRES_URL")) as server,
        scratch_database(server, "bench_escalation") as url,
    ):
        yield url


@contextlib.contextmanager
def prepared_app(url: str, workdir: Path) -> Iterator[Any]:
    """A migrated database with the regions of Kalimantan Selatan and the form published; its app."""
    config = {
        "DATABASE_URL": url,
        "TESTING": True,
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "FORMS_DIR": str(workdir / "forms"),
        "BASE_URL": "https://simpul.example",
    }
    setup = create_app(config)
    with setup.app_context():
        from app.migrations import upgrade_database

        upgrade_database()
        with db.engine.begin() as conn:
            regions = read_region_file(SHIPPED_LIST)
            import_regions(conn, {c: n for c, n in regions.items() if c.split(".")[0] == "63"})
        spec = parse_definition(__import__("yaml").safe_load(escalation_forms.FORM_YAML), "bench.yaml")
        with schema_change(db.engine) as conn:
            publish(conn, {spec.slug: spec}, "bench", user_table=setup.appbuilder.sm.user_model.__table__)
    dispose_app(setup)
    app = create_app(config)
    try:
        yield app
    finally:
        dispose_app(app)


# --- timing ---------------------------------------------------------------------------------


def raw_due(engine: sa.Engine) -> tuple[float, list[int]]:
    now = "'2026-11-26 02:00:00.000000'" if engine.dialect.name == "sqlite" else "'2026-11-26 02:00:00'"
    with engine.connect() as conn:
        started = time.perf_counter()
        rows = conn.exec_driver_sql(RAW_QUERY.format(now=now)).fetchall()
        return time.perf_counter() - started, [r[0] for r in rows]


def reset(engine: sa.Engine, ids: list[int]) -> None:
    """Make the due timers unfired again; delete the sweep's mails and events."""
    t = timer_table.c
    with engine.begin() as conn:
        conn.execute(outbox_table.delete())
        conn.execute(event_table.delete())
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            conn.execute(
                timer_table.update()
                .where(t.id.in_(chunk))
                .values(fired_at=None, outcome=None, recipients=None, attempts=0, last_error=None)
            )


@contextlib.contextmanager
def sink_server() -> Iterator[int]:
    """aiosmtpd with its Sink handler (accepts and drops every message) in a process of its own."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                smtplib.SMTP("127.0.0.1", port, timeout=2).quit()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def delivery(engine: sa.Engine, batch_size: int, repeat: int) -> tuple[int, float, float]:
    """(messages, outbox seconds, raw smtplib seconds: medians of `repeat`) for the mails queued now.

    Raw and outbox take turns against the same server process, the rows made queued again before
    each outbox run: a machine busy with other work slows both alike rather than one of them.
    """
    c = outbox_table.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox_table).where(c.state == QUEUED).order_by(c.id)).all()
    ids = [row.id for row in rows]
    raws, outboxes = [], []
    with sink_server() as port:
        settings = SmtpSettings(host="127.0.0.1", port=port, timeout=30)
        messages = [(row.to_addr, build_message(row, settings)) for row in rows]
        for attempt in range(repeat):
            started = time.perf_counter()
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=30)
            for to, message in messages:
                smtp.sendmail(settings.mail_from, [to], message)
            smtp.quit()
            raws.append(time.perf_counter() - started)
            if attempt:
                with engine.begin() as conn:
                    for start in range(0, len(ids), 5000):
                        conn.execute(
                            outbox_table.update()
                            .where(c.id.in_(ids[start : start + 5000]))
                            .values(state=QUEUED, sent_at=None, attempts=0)
                        )
            started = time.perf_counter()
            report = deliver_due(engine, settings, clock=lambda: NOW, batch_size=batch_size)
            outboxes.append(time.perf_counter() - started)
            assert report.sent == len(rows) and not report.failed and not report.deferred, report
            progress(f"delivery {attempt + 1}: raw {raws[-1]:.2f} s, outbox {outboxes[-1]:.2f} s")
    return len(rows), statistics.median(outboxes), statistics.median(raws)


def run(kind: str, args: argparse.Namespace, workdir: Path) -> None:
    desas = desa_codes(100)
    with database(kind, workdir) as url, prepared_app(url, workdir) as app:
        with app.app_context():
            engine = db.engine
            users = add_users(engine, desas)
            data = table_rows(args.stays, args.due, desas)
            progress(f"{kind}: loading {args.stays:,} stays")
            seconds = load(engine, data)
            del data
            settings = SweepSettings.from_app(app)
        label = "SQLite" if kind == "sqlite" else "PostgreSQL"
        print(
            f"{label}: {args.stays:,} stays (2 timers each), {args.due:,} due, {users} users; loaded in {seconds:.1f} s"
        )
        raws, sweeps, ids = [], [], []
        mails = 0
        for attempt in range(args.repeat):
            for _ in range(3):
                took, ids = raw_due(engine)
                raws.append(took)
            assert len(ids) == args.due, (len(ids), args.due)
            with app.app_context():
                started = time.perf_counter()
                report = sweep_due(engine, settings, now=NOW)
                sweeps.append(time.perf_counter() - started)
            with engine.connect() as conn:
                fired = set(conn.execute(sa.select(timer_table.c.id).where(timer_table.c.fired_at == NOW)).scalars())
                dedupe = conn.execute(sa.select(sa.func.count(sa.distinct(outbox_table.c.dedupe_key)))).scalar_one()
            assert fired == set(ids) and report.fired == len(ids) and report.errors == 0, report
            assert dedupe == report.mails, (dedupe, report.mails)
            mails = report.mails
            progress(f"{kind}: sweep {attempt + 1}: {sweeps[-1]:.3f} s, {report.mails:,} mails")
            if attempt < args.repeat - 1:
                reset(engine, ids)
        raw_s, sweep_s = statistics.median(raws), statistics.median(sweeps)
        print(
            f"{label} sweep: {len(ids):,} due timers, {mails:,} mails queued: raw indexed query {raw_s:.3f} s, "
            f"one sweep {sweep_s:.3f} s (median of {args.repeat}; goal <= 2 s), sweep/raw {sweep_s / raw_s:.2f}x"
        )
        count, outbox_s, raw_smtp_s = delivery(engine, args.batch_size, args.repeat)
        outbox_rate, raw_rate = count / outbox_s, count / raw_smtp_s
        print(
            f"{label} delivery: {count:,} mails to aiosmtpd: outbox sender {outbox_rate:,.0f}/s ({outbox_s:.2f} s, "
            f"{args.batch_size} per connection), raw smtplib {raw_rate:,.0f}/s ({raw_smtp_s:.2f} s, one connection), "
            f"medians of {args.repeat}, outbox/raw {outbox_rate / raw_rate:.2f}x (goal >= 0.80x)"
        )
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--stays", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="sweeps and deliveries timed (medians printed)")
    parser.add_argument("--batch-size", type=int, default=1000, help="outbox messages per SMTP connection")
    parser.add_argument("--small", action="store_true", help="10,000 stays, 100 due, one sweep")
    args = parser.parse_args()
    if args.small:
        args.stays, args.due, args.repeat = 10_000, 100, 1
    logging.basicConfig(level=logging.WARNING)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"python {platform.python_version()}, SQLAlchemy {sa.__version__}, {platform.machine()}")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            run(kind, args, Path(tmp))


if __name__ == "__main__":
    main()
