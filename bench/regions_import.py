"""Time to load the national region list (91,599 codes), next to a raw executemany.

    python bench/regions_import.py [--db sqlite|postgresql|both] [--repeat 3]
    python bench/regions_import.py --small      # one province (2,186 codes), one run: a check that it runs

For each database: Simpul's import (`read_region_file` + `import_regions`: parse and check
every line, compare with what is stored, insert in batches, one transaction) into an empty
table, the same import again (nothing changes: the idempotent re-run), and a raw
`executemany` of the same rows (read from the same file) through the same SQLAlchemy engine,
with the ratio. PostgreSQL comes from SIMPUL_BENCH_POSTGRES_URL (a database is created for the
run and dropped after) or a private cluster started for the run.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.database import configure_engine  # noqa: E402
from app.forms_engine.store import metadata  # noqa: E402
from app.regions.importer import SHIPPED_LIST, import_regions, level_of, parent_of, read_region_file, region_table  # noqa: E402
from tests.postgres import private_cluster, scratch_database  # noqa: E402

SMALL_PROVINCE = "63"  # --small: Kalimantan Selatan only


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[sa.Engine]:
    """An engine on a fresh database of `kind` with the core tables created."""
    if kind == "sqlite":
        engine = sa.create_engine(f"sqlite:///{workdir / 'regions.db'}")
        configure_engine(engine)
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    with (
        private_cluster(os.environ.get("SIMPUL_BENCH_POSTGRES_URL")) as server,
        scratch_database(server, "bench_regions") as url,
    ):
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def small_list(workdir: Path) -> Path:
    """The shipped list cut to one province (parents come with it)."""
    header, *lines = SHIPPED_LIST.read_text(encoding="utf-8").splitlines(keepends=True)
    path = workdir / f"wilayah-{SMALL_PROVINCE}.csv"
    path.write_text(header + "".join(line for line in lines if line.split(",")[0].split(".")[0] == SMALL_PROVINCE))
    return path


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def empty(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(region_table.delete())


def simpul_import(engine: sa.Engine, source: Path) -> None:
    regions = read_region_file(source)
    with engine.begin() as conn:
        import_regions(conn, regions)


def raw_executemany(engine: sa.Engine, source: Path) -> None:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [
            {"code": code, "name": name, "level": level_of(code), "parent_code": parent_of(code), "active": True}
            for code, name in list(csv.reader(handle))[1:]
        ]
    with engine.begin() as conn:
        conn.execute(region_table.insert(), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", action="store_true", help=f"province {SMALL_PROVINCE} only, one run")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory() as tmp:
        source = small_list(Path(tmp)) if args.small else SHIPPED_LIST
        repeat = 1 if args.small else args.repeat
        codes = len(read_region_file(source))
        print(
            f"region list: {source.name} ({codes:,} codes), python {platform.python_version()}, SQLAlchemy {sa.__version__}"
        )
        print(f"median of {repeat} runs, seconds\n")
        print(f"{'database':12} {'simpul import':>14} {'re-import':>10} {'raw executemany':>16} {'import/raw':>11}")
        for kind in kinds:
            with database(kind, Path(tmp)) as engine:
                first, again, raw = [], [], []
                for _ in range(repeat):
                    empty(engine)
                    first.append(timed(lambda: simpul_import(engine, source)))
                    again.append(timed(lambda: simpul_import(engine, source)))
                    empty(engine)
                    raw.append(timed(lambda: raw_executemany(engine, source)))
                a, b, c = statistics.median(first), statistics.median(again), statistics.median(raw)
                print(f"{kind:12} {a:14.2f} {b:10.2f} {c:16.2f} {a / c:10.2f}x")


if __name__ == "__main__":
    main()
