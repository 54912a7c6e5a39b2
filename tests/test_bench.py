"""Every benchmark under bench/ still runs: each at its small size (`--small`), on SQLite and PostgreSQL.

Figures are not checked against any threshold (a shared CI machine cannot time them); a
benchmark only has to finish and print its figure lines. A new bench/*.py is picked up here
and must support `--small` too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

BENCHMARKS = sorted((ROOT / "bench").glob("*.py"))
RATIO = r"\d+\.\d+x"
# What each benchmark's figure lines look like, and how many it prints at its small size.
FIGURES: dict[str, list[tuple[str, int]]] = {
    "list_scale.py": [
        (r"^(SQLite|PostgreSQL) \S+.*: 300 rows, loaded in ", 2),
        (rf"^(first page|page \d+|last page|kec |desa )\S*.*\d+\.\d+ /\s*\d+\.\d+\s+{RATIO}\s+{RATIO}$", 10),
        (rf"^(last|deep)/first \(p50\): raw SQL {RATIO}, stock screen {RATIO}, gen screen {RATIO}", 4),
    ],
    "escalation_sweep.py": [
        (r"^(SQLite|PostgreSQL): 10,000 stays \(2 timers each\), 100 due, \d+ users; loaded in ", 2),
        (
            rf"^(SQLite|PostgreSQL) sweep: 100 due timers, [\d,]+ mails queued: raw indexed query .* sweep/raw {RATIO}$",
            2,
        ),
        (rf"^(SQLite|PostgreSQL) delivery: [\d,]+ mails to aiosmtpd: .* outbox/raw {RATIO} \(goal >= 0\.80x\)$", 2),
    ],
    "xlsx_export.py": [
        (r"^SQLite: [\d,]+ rows x 12 columns, loaded in ", 1),
        (rf"^xlsx export of [\d,]+ rows: raw xlsxwriter constant_memory .* simpul/raw {RATIO} \(goal <= 1\.30x\)$", 1),
        (
            rf"^peak memory: raw \d+ MB; Simpul job \d+ MB \(the built app \d+ MB, the export adds -?\d+ MB\); simpul/raw {RATIO}",
            1,
        ),
        (r"^as installed from requirements\.txt \(no cryptography, .*\): Simpul job \d+ MB \(the built app \d+ MB", 1),
    ],
    "pdf_roster.py": [
        (rf"^daftar hadir, F4 portrait, [\d,]+ rows: render_roster \d+\.\d+ s CPU .* render/raw {RATIO} \(goal", 1),
        (rf"^linearity: [\d,]+ rows .* = {RATIO} \(goal <= 2\.10x\); peak \d+ MB", 1),
    ],
    "regions_import.py": [
        (r"^region list: wilayah-63\.csv \(2,186 codes\)", 1),
        (rf"^(sqlite|postgresql)\s+\d+\.\d+\s+\d+\.\d+\s+\d+\.\d+\s+{RATIO}$", 2),
    ],
    "xlsx_import.py": [
        (
            rf"^(SQLite|PostgreSQL) import: 2,000 rows x 10 columns: raw calamine\+executemany .* "
            rf"simpul/raw {RATIO} \(goal >= 30,000 rows/s\)$",
            2,
        ),
        (r"^(SQLite|PostgreSQL) re-run: 2,000 rows unchanged in ", 2),
        (
            rf"^(SQLite|PostgreSQL) at the issue's raw 113,000 rows/s: [\d,]+ rows/s \(simpul/raw {RATIO}; goal <= 3\.77x\)$",
            2,
        ),
    ],
}
DEFAULT_FIGURES = [(rf"\b{RATIO}\b", 1)]  # a benchmark not listed yet: at least one ratio


def test_every_benchmark_is_found() -> None:
    assert {path.name for path in BENCHMARKS} >= set(FIGURES)


@pytest.mark.parametrize("script", BENCHMARKS, ids=[path.name for path in BENCHMARKS])
def test_benchmark_runs_at_small_size(script: Path, postgres_server: str, tmp_path: Path) -> None:
    env = dict(os.environ, SIMPUL_BENCH_POSTGRES_URL=postgres_server, SIMPUL_BENCH_OUT=str(tmp_path / "out"))
    result = subprocess.run(
        [sys.executable, str(script), "--small"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for pattern, count in FIGURES.get(script.name, DEFAULT_FIGURES):
        found = [line for line in lines if re.search(pattern, line)]
        assert len(found) >= count, f"{script.name}: {len(found)} line(s) match {pattern!r}:\n{result.stdout}"
