"""Live-publish soak: many publishes of every kind of change into gunicorn workers under load.

    python bench/live_publish_soak.py                      # 100 publishes, 3 workers, SQLite and PostgreSQL
    python bench/live_publish_soak.py --publishes 40 --db sqlite
    python bench/live_publish_soak.py --small              # 2 publishes, 2 workers: a check that it runs

The same soak as tests/test_live_soak.py (tests/live_soak.py: 20 kinds of change, repeated):
gunicorn workers serve `app.wsgi`, client threads create, read and list records and open the
list screen, and the forms are published one change after another. Prints, per database,
the requests made and failed, values lost, how long each publish took to be live on every
worker, each worker's memory after the warm-up publishes and at the end, and (PostgreSQL) the
connections open after each publish, with the ratios end/start. Exits 1 when a request
failed, a value was lost or a worker restarted. PostgreSQL comes from
SIMPUL_BENCH_POSTGRES_URL (a database is created for the run and dropped after) or a private
cluster started for the run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.database import dispose_app  # noqa: E402
from tests.live_soak import SoakResult, prepared_app, run_soak  # noqa: E402
from tests.postgres import private_cluster, scratch_database  # noqa: E402


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """URL of a fresh database of `kind`."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'soak.db'}"
        return
    with (
        private_cluster(os.environ.get("SIMPUL_BENCH_POSTGRES_URL")) as server,
        scratch_database(server, "bench_soak") as url,
    ):
        yield url


def report(kind: str, result: SoakResult) -> bool:
    """Print the figures of one database; return whether the soak held."""
    load = result.report
    start = statistics.mean(result.rss_start.values()) if result.rss_start else 0.0
    end = statistics.mean(result.rss_end.values()) if result.rss_end else 0.0
    switch = sorted(result.switch_seconds)
    print(
        f"{kind}: {result.publishes} publishes in {result.seconds:.0f} s; {load.total} requests, "
        f"{len(load.failures)} failed; {len(load.created)} records created, {len(result.lost)} values lost; "
        f"seeded values kept: {result.seeds_kept}"
    )
    print(
        f"{kind}: live on every worker after a publish: median {statistics.median(switch):.2f} s, max {switch[-1]:.2f} s"
    )
    print(
        f"{kind}: worker memory after warm-up {start:.1f} MB, at the end {end:.1f} MB (largest growth "
        f"{result.rss_growth_mb:.1f} MB): end/start {end / start if start else 0:.2f}x"
    )
    if result.connections:
        first, most = result.connections[0], max(result.connections)
        print(
            f"{kind}: connections after each publish: first {first}, most {most}, last {result.connections[-1]}: "
            f"most/first {most / first:.2f}x"
        )
    for failure in load.failures[:5]:
        print(f"{kind}: failed {failure.kind} {failure.status}: {failure.body[:200]}", file=sys.stderr)
    return not load.failures and not result.lost and result.seeds_kept and result.pids_start == result.pids_end


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--publishes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="2 publishes, 2 workers")
    args = parser.parse_args()
    publishes, workers = (2, 2) if args.small else (args.publishes, args.workers)
    held = True
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        with tempfile.TemporaryDirectory(prefix="simpul-soak-") as tmp, database(kind, Path(tmp)) as url:
            app = prepared_app(url, Path(tmp))
            try:
                result = run_soak(
                    app, Path(tmp), publishes, warmup=min(3, publishes), workers=workers,
                    log=lambda line: print(line, file=sys.stderr, flush=True),
                )  # fmt: skip
            finally:
                dispose_app(app)
            held = report(kind, result) and held
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
