"""The long schemathesis run over every generated API and the region API, with figures.

    python bench/api_fuzz.py                          # SQLite and PostgreSQL, 100 examples per operation
    python bench/api_fuzz.py --db sqlite --max-examples 500 --shrink
    python bench/api_fuzz.py --small                  # two APIs, one example each: a check that it runs

For each database: `simpul init` (shipped forms, demo data, an Admin account), gunicorn serving
it on loopback, and tests/contract.py's run over every operation (the coverage
phase's edge values, then `--max-examples` generated cases each; every check CI runs, with a
fixed seed). It prints the cases run (by phase), the time, the CPU the server and this client
used, and the distinct findings by kind and by operation; every finding, with a request that
reproduces it, goes to $SIMPUL_BENCH_OUT (default bench/out/) as api_fuzz-<database>.txt.
PostgreSQL comes from SIMPUL_BENCH_POSTGRES_URL (a database is created for the run and dropped
after) or a private cluster started for the run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import schemathesis  # noqa: E402

from tests.contract import FUZZ_PASSWORD, FUZZ_USER, FuzzReport, api_server, cpu_seconds, fuzz, fuzz_token  # noqa: E402
from tests.live_load import server_env  # noqa: E402
from tests.postgres import private_cluster, scratch_database  # noqa: E402

OUT_DIR = Path(os.environ.get("SIMPUL_BENCH_OUT") or ROOT / "bench" / "out")
SMALL_PATHS = r"^/api/v1/(jenis_bantuan|wilayah)/"


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of a fresh, empty database of `kind`."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'simpul.db'}"
        return
    with (
        private_cluster(os.environ.get("SIMPUL_BENCH_POSTGRES_URL")) as server,
        scratch_database(server, "bench_api_fuzz") as url,
    ):
        yield url


def init(database_url: str, upload_dir: str) -> float:
    """`simpul init` on the database, with the fuzzing Admin account; the seconds it took."""
    env = server_env(database_url, upload_dir) | {
        "SIMPUL_FORMS_DIR": str(ROOT / "forms"),
        "SIMPUL_ADMIN_USERNAME": FUZZ_USER,
        "SIMPUL_ADMIN_PASSWORD": FUZZ_PASSWORD,
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flask", "simpul", "init"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"simpul init failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def operation_kind(operation: str) -> str:
    """A finding's operation with the form's slug left out, so 18 forms' same finding count as one line."""
    return re.sub(r"^(\S+ /api/v1/)(?!wilayah/)[a-z0-9_]+/", r"\1<form>/", operation)


def report_lines(kind: str, report: FuzzReport, server_cpu: float, client_cpu: float, seconds_init: float) -> list[str]:
    """The figures of one database's run."""
    phases = ", ".join(f"{phase} {count:,}" for phase, count in sorted(report.cases_by_phase.items()) if count)
    timing = ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in report.seconds_by_phase.items() if seconds >= 0.1)
    lines = [
        f"{kind}: {report.cases:,} cases over {report.operations} operations ({phases}) in {report.seconds:.1f} s "
        f"({timing}); init {seconds_init:.1f} s",
        f"{kind}: {report.cases / max(report.seconds, 1e-9):.1f} cases/s; CPU server {server_cpu:.1f} s, "
        f"client {client_cpu:.1f} s, server/client {server_cpu / max(client_cpu, 1e-9):.2f}x",
        f"{kind}: {len(report.findings)} distinct finding(s)",
    ]
    lines += [f"  {count:5}  {finding_kind}" for finding_kind, count in report.by_kind().most_common()]
    by_operation = Counter((operation_kind(f.operation), f.kind) for f in report.findings)
    lines += [f"  {count:5}  {operation}: {what}" for (operation, what), count in by_operation.most_common()]
    return lines


def run(kind: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    """Init, serve and fuzz one database; its figure lines (every finding written to OUT_DIR)."""
    upload_dir = str(workdir / "uploads")
    with database(kind, workdir) as url:
        print(f"{kind}: simpul init …", file=sys.stderr, flush=True)
        seconds_init = init(url, upload_dir)
        with api_server(url, upload_dir, workdir / f"gunicorn-{kind}.log") as server:
            workers = server.worker_pids()
            token = fuzz_token(server.base)
            print(f"{kind}: fuzzing {server.base} …", file=sys.stderr, flush=True)
            server_before, client_before = sum(map(cpu_seconds, workers)), time.process_time()
            report = fuzz(
                server.base,
                token,
                max_examples=1 if args.small else args.max_examples,
                seed=args.seed,
                shrink=args.shrink,
                **({"paths": SMALL_PATHS} if args.small else {}),
            )
            server_cpu = sum(map(cpu_seconds, workers)) - server_before
            client_cpu = time.process_time() - client_before
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    found = OUT_DIR / f"api_fuzz-{kind}.txt"
    found.write_text("".join(f"{finding}\n\n" for finding in report.findings), encoding="utf-8")
    return [*report_lines(kind, report, server_cpu, client_cpu, seconds_init), f"{kind}: every finding: {found}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--max-examples", type=int, default=100, help="generated cases per operation (fuzzing phase)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--shrink", action="store_true", help="shrink each failing case to a minimal one (slower)")
    parser.add_argument("--small", action="store_true", help="two APIs, one example each")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    examples = 1 if args.small else args.max_examples
    print(f"schemathesis {schemathesis.__version__}, seed {args.seed}, {examples} example(s) per operation")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(run(kind, args, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
