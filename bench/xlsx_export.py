"""A form's whole list exported to .xlsx through Simpul, next to raw xlsxwriter writing the same cells.

What it measures
----------------
A fresh SQLite database with the regions of Kalimantan Selatan and a published form of 12 fields
(name, NIK, No. KK, NIP, desa, a choice, a date, a date-time, money, an integer, a decimal, an
address), loaded with ROWS records (executemany, one transaction). Then, each in a process of
its own so its peak memory (ru_maxrss) is its own:

- **raw**: sqlite3 reads the same 12 columns in the same order (`ORDER BY id DESC`, the form's
  default) and xlsxwriter (`constant_memory`) writes them: numbers with `write_number`, dates
  parsed and written with `write_datetime` and a date format, text with `write_string`.
- **Simpul**: the export as the background job runs it (app/reports/export_views.py): an app
  built on the database, the list's request rebuilt for an Admin (`user_request`), the list's
  selection streamed from a server-side cursor (`list_selection`, SQLAlchemy `yield_per`) with
  typed values (NIK/No. KK masked, region names, choice labels, Decimal money) into
  `write_xlsx` (constant_memory, formats, frozen header, autofilter, the details sheet).

Times are of the export alone (the app is built first, untimed); memory is the whole process's
peak, and for Simpul also the part the export adds over the built app (the scheduler process
that runs export jobs has the app loaded anyway). The row count written is checked.

The Simpul export runs twice: once in this environment, and once as on a server installed from
requirements.txt. The difference is cryptography (about 9 MB): the test requirements bring it
(pdfplumber needs it), sqlalchemy-utils, which Flask-AppBuilder imports, imports it whenever it
is installed, and nothing the server needs requires it. The bench checks that claim against the
installed packages' metadata and makes cryptography unimportable in the second run only if it holds.

Run
---
    .venv/bin/python bench/xlsx_export.py                 # 1,000,000 rows
    .venv/bin/python bench/xlsx_export.py --rows 200000
    .venv/bin/python bench/xlsx_export.py --small         # 2,000 rows: runs in seconds
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORM_YAML = """
form: bench_export
title: Penerima Bantuan
title_field: nama
region_field: desa
fields:
  - {name: nama, type: text, label: Nama}
  - {name: nik, type: nik, label: NIK}
  - {name: no_kk, type: kk, label: No. KK}
  - {name: nip, type: nip, label: NIP}
  - {name: desa, type: region, level: desa, label: Desa}
  - name: status
    type: choice
    label: Status
    choices: [{value: baru, label: Baru}, {value: dirujuk, label: Dirujuk}, {value: selesai, label: Selesai}]
  - {name: tanggal_lahir, type: date, label: Tanggal lahir}
  - {name: terdaftar, type: datetime, label: Terdaftar}
  - {name: jumlah, type: money, label: Jumlah}
  - {name: anggota, type: integer, label: Anggota keluarga}
  - {name: berat, type: decimal, label: Berat (kg)}
  - {name: alamat, type: text, label: Alamat}
"""
COLUMNS = (
    "nama", "nik", "no_kk", "nip", "desa", "status", "tanggal_lahir", "terdaftar", "jumlah", "anggota", "berat", "alamat"
)  # fmt: skip
TABLE = "form_bench_export"
CHUNK = 50_000
SEED = 13


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the data -------------------------------------------------------------------------------


def config(url: str, workdir: Path) -> dict[str, Any]:
    return {
        "DATABASE_URL": url,
        "TESTING": True,
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "FORMS_DIR": str(workdir / "forms"),
    }


def prepare(url: str, workdir: Path, rows: int) -> float:
    """Migrate, import the regions of province 63, publish the form, load `rows` records; the load's seconds."""
    import yaml

    from app import create_app
    from app.database import dispose_app
    from app.extensions import db
    from app.forms_engine.loader import parse_definition
    from app.forms_engine.publish import publish
    from app.forms_engine.schema_lock import schema_change
    from app.regions.importer import SHIPPED_LIST, import_regions, read_region_file

    setup = create_app(config(url, workdir))
    with setup.app_context():
        from app.migrations import upgrade_database

        upgrade_database()
        regions = {c: n for c, n in read_region_file(SHIPPED_LIST).items() if c.split(".")[0] == "63"}
        with db.engine.begin() as conn:
            import_regions(conn, regions)
        spec = parse_definition(yaml.safe_load(FORM_YAML), "bench.yaml")
        with schema_change(db.engine) as conn:
            publish(conn, {spec.slug: spec}, "bench", user_table=setup.appbuilder.sm.user_model.__table__)
        setup.appbuilder.sm.add_user(
            "bench", "Bench", "Admin", "bench@example.org", setup.appbuilder.sm.find_role("Admin"), secrets.token_hex(8)
        )
    dispose_app(setup)
    desas = sorted(c for c in regions if c.startswith("63.09.") and c.count(".") == 3)
    started = time.perf_counter()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        names = ", ".join((*COLUMNS, "region_code"))
        sql = f"INSERT INTO {TABLE} ({names}) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
        rng = random.Random(SEED)
        for start in range(0, rows, CHUNK):
            conn.executemany(sql, [record(i, rng, desas) for i in range(start, min(start + CHUNK, rows))])
    return time.perf_counter() - started


def record(i: int, rng: random.Random, desas: list[str]) -> tuple:
    """One recipient: stored values as the app stores them on SQLite."""
    desa = desas[i % len(desas)]
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(25_000))
    nik = f"{desa[:2]}{desa[3:5]}{desa[6:8]}{born:%d%m%y}{1 + i % 9999:04d}"
    kk = f"{desa[:2]}{desa[3:5]}{desa[6:8]}010120{1 + i % 9999:04d}"
    nip = f"{born:%Y%m%d}2015031{i % 2 + 1}{i % 999:03d}" if i % 3 == 0 else None
    when = datetime(2024, 1, 1) + timedelta(minutes=rng.randrange(1_000_000))
    amount = rng.choice((150_000, 300_000, 600_000, 1_250_000, 2_400_000))
    return (
        f"Warga Penerima Nomor {i}",
        nik,
        kk,
        nip,
        desa,
        ("baru", "dirujuk", "selesai")[i % 3],
        born.isoformat(),
        when.strftime("%Y-%m-%d %H:%M:%S.%f"),
        amount,
        1 + i % 7,
        round(40 + rng.random() * 50, 2),
        f"Jl. Kenanga RT {i % 20:02d} RW {i % 7:02d}",
        desa,
    )


# --- the two exports, each in its own process ----------------------------------------------


def raw_export(url: str, out: Path) -> dict[str, Any]:
    """sqlite3 rows straight into xlsxwriter (constant_memory): the same cells, typed."""
    import xlsxwriter

    before = peak_mb()
    started = time.perf_counter()
    book = xlsxwriter.Workbook(
        str(out),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    sheet = book.add_worksheet("Data")
    day = book.add_format({"num_format": "dd-mm-yyyy"})
    moment = book.add_format({"num_format": "dd-mm-yyyy hh:mm"})
    money = book.add_format({"num_format": '"Rp" #,##0'})
    for col, name in enumerate(COLUMNS):
        sheet.write_string(0, col, name)
    written = 0
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        cursor = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY id DESC")
        for r, row in enumerate(cursor, start=1):
            nama, nik, kk, nip, desa, status, born, when, amount, anggota, berat, alamat = row
            sheet.write_string(r, 0, nama)
            sheet.write_string(r, 1, nik)
            sheet.write_string(r, 2, kk)
            if nip is not None:
                sheet.write_string(r, 3, nip)
            sheet.write_string(r, 4, desa)
            sheet.write_string(r, 5, status)
            sheet.write_datetime(r, 6, date.fromisoformat(born), day)
            sheet.write_datetime(r, 7, datetime.fromisoformat(when), moment)
            sheet.write_number(r, 8, amount, money)
            sheet.write_number(r, 9, anggota)
            sheet.write_number(r, 10, berat)
            sheet.write_string(r, 11, alamat)
            written = r
    book.close()
    return {"seconds": time.perf_counter() - started, "rows": written, "peak_mb": peak_mb(), "before_mb": before}


def required_by_server() -> set[str]:
    """Names of the distributions requirements.txt needs, with what they need in turn (markers honoured)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lines = (ROOT / "requirements.txt").read_text().splitlines()
    todo = [Requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip()]
    found: set[str] = set()
    while todo:
        wanted = todo.pop()
        name = canonicalize_name(wanted.name)
        if name in found:
            continue
        found.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for text in requires:
            needed = Requirement(text)
            extras = wanted.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(needed)
    return found


def simpul_export(url: str, workdir: Path, out: Path, installed: bool = False) -> dict[str, Any]:
    """The export job's work: the list's selection as the user sees it, streamed into write_xlsx.

    `installed`: as on a server installed from requirements.txt, without the test requirements'
    cryptography (checked by the caller to be needed by none of them).
    """
    if installed:
        sys.modules["cryptography"] = None  # type: ignore[assignment]  # import fails as when not installed
    from app import create_app
    from app.office import local_timestamp, utc_now
    from app.reports.selection import form_view, list_selection, user_request
    from app.reports.spreadsheet import ExportDetails, write_xlsx

    app = create_app(config(url, workdir))
    with app.app_context():
        app.extensions["simpul_region_names"].name("63")  # the region names load once per app, not per export
    before = peak_mb()
    started = time.perf_counter()
    with user_request(app, "bench", "/forms/bench_export/export/", "id"):
        selection = list_selection(form_view("bench_export"))
        with out.open("wb") as handle:
            written = write_xlsx(handle, selection, ExportDetails("bench", local_timestamp(utc_now())))
    return {"seconds": time.perf_counter() - started, "rows": written, "peak_mb": peak_mb(), "before_mb": before}


def in_subprocess(kind: str, url: str, workdir: Path, rows: int = 0) -> dict[str, Any]:
    """Run one part in a fresh process; its JSON result (and the size of the file it wrote)."""
    command = [sys.executable, __file__, "--child", kind, "--url", url, "--workdir", str(workdir), "--rows", str(rows)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    out = workdir / f"{kind}.xlsx"
    result["bytes"] = out.stat().st_size if out.exists() else 0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="2,000 rows")
    parser.add_argument("--child", choices=["prepare", "raw", "simpul", "installed"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workdir = Path(args.workdir)
        out = workdir / f"{args.child}.xlsx"
        if args.child == "prepare":
            result: dict[str, Any] = {"seconds": prepare(args.url, workdir, args.rows)}
        elif args.child == "raw":
            result = raw_export(args.url, out)
        else:
            result = simpul_export(args.url, workdir, out, installed=args.child == "installed")
        print(json.dumps(result))
        return
    rows = 2_000 if args.small else args.rows
    # This process stays small and imports neither the app nor the libraries: Linux hands a
    # parent's peak memory on to its children's ru_maxrss, which would hide theirs.
    print(f"python {platform.python_version()}, {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'export.db'}"
        progress(f"loading {rows:,} rows")
        seconds = in_subprocess("prepare", url, workdir, rows)["seconds"]
        print(f"SQLite: {rows:,} rows x {len(COLUMNS)} columns, loaded in {seconds:.1f} s")
        progress("raw xlsxwriter export")
        raw = in_subprocess("raw", url, workdir)
        progress("Simpul export")
        mine = in_subprocess("simpul", url, workdir)
        server_needs = sorted(required_by_server() & {"cryptography"})
        installed = None if server_needs else in_subprocess("installed", url, workdir)
        assert raw["rows"] == mine["rows"] == rows, (raw["rows"], mine["rows"], rows)
        assert installed is None or installed["rows"] == rows
        ratio = mine["seconds"] / raw["seconds"]
        print(
            f"xlsx export of {rows:,} rows: raw xlsxwriter constant_memory {raw['seconds']:.2f} s "
            f"({raw['bytes'] / 1e6:.1f} MB file), Simpul {mine['seconds']:.2f} s ({mine['bytes'] / 1e6:.1f} MB file), "
            f"simpul/raw {ratio:.2f}x (goal <= 1.30x)"
        )
        added = mine["peak_mb"] - mine["before_mb"]
        print(
            f"peak memory: raw {raw['peak_mb']:.0f} MB; Simpul job {mine['peak_mb']:.0f} MB "
            f"(the built app {mine['before_mb']:.0f} MB, the export adds {added:.0f} MB); "
            f"simpul/raw {mine['peak_mb'] / raw['peak_mb']:.2f}x (goal <= 100 MB for the export)"
        )
        if installed is None:
            print(f"as installed from requirements.txt: not measured ({', '.join(server_needs)} required there)")
        else:
            print(
                f"as installed from requirements.txt (no cryptography, which no runtime requirement needs): "
                f"Simpul job {installed['peak_mb']:.0f} MB (the built app {installed['before_mb']:.0f} MB, "
                f"the export adds {installed['peak_mb'] - installed['before_mb']:.0f} MB; {installed['seconds']:.2f} s) "
                f"(goal <= 100 MB for the export)"
            )


if __name__ == "__main__":
    main()
