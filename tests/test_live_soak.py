"""Soak: 20 publishes of every kind of change in a row into 3 gunicorn workers under a request loop.

Zero failed requests, zero lost values, no worker restarted, memory and (PostgreSQL)
connections flat. `bench/live_publish_soak.py` runs the same soak longer (100 publishes).
"""

from __future__ import annotations

from pathlib import Path

from tests.live_soak import DWELL_REQUESTS, STEPS, prepared_app, run_soak

# Allocator noise and caches that fill up over the first rebuilds; a leaked app costs 4 to 9 MB.
RSS_GROWTH_MB = 15.0
# Each worker: an app pool in use and the schema lock's connection; plus a publish's own.
CONNECTION_HEADROOM = 4


def test_twenty_publishes_under_load_lose_nothing_and_leak_nothing(database_url: str, tmp_path: Path) -> None:
    app = prepared_app(database_url, tmp_path)
    try:
        result = run_soak(app, tmp_path, publishes=len(STEPS))
    finally:
        from app.database import dispose_app

        dispose_app(app)
    report = result.report
    assert report.failures == [], f"{len(report.failures)} of {report.total} requests failed: {report.failures[:5]}"
    assert report.total >= DWELL_REQUESTS * len(STEPS) and report.counts["create"] >= len(STEPS), report.counts
    assert result.lost == []
    assert result.seeds_kept
    assert result.pids_end == result.pids_start  # no worker died or was restarted
    assert result.rss_growth_mb < RSS_GROWTH_MB, (result.rss_start, result.rss_end)
    if result.connections:
        assert max(result.connections) <= result.connections[0] + CONNECTION_HEADROOM, result.connections
