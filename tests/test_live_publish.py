"""A publish reaches every running worker process within seconds, without a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, add_user, publish_yaml
from tests.postgres import free_port

FIRST = "form: pertama\ntitle: Pertama\nfields: [{name: nama, type: text, label: Nama}]\n"
SECOND = "form: kedua\ntitle: Kedua\nfields: [{name: judul, type: text, label: Judul}]\n"


def _env(app: Any) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SIMPUL_DATABASE_URL=app.test_config["DATABASE_URL"],
        SIMPUL_SECRET_KEY="test-only-secret-key-of-at-least-32-bytes",
        SIMPUL_SCHEMA_POLL_SECONDS="0.5",
        SIMPUL_UPLOAD_DIR=app.test_config["UPLOAD_DIR"],
        PYTHONPATH=str(ROOT),
        FLASK_APP="app:create_app",
    )
    return env


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, None


def _token(base: str) -> str:
    body = json.dumps({"username": "admin", "password": "admin-pass", "provider": "db"}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/security/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["access_token"]


@pytest.fixture
def servers(empty_app: Any) -> Iterator[list[str]]:
    """Two app servers (separate processes) on the same database."""
    publish_yaml(empty_app, FIRST)
    add_user(empty_app, "admin", "Admin")
    procs, bases = [], []
    for _ in range(2):
        port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "app.wsgi:application"],
                cwd=ROOT,
                env=_env(empty_app),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:
            _wait(lambda base=base: _get(f"{base}/health")[0] == 200, 30)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def _wait(condition: Any, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if condition():
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _cli(empty_app: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "simpul", "forms", *args],
        cwd=ROOT,
        env=_env(empty_app),
        capture_output=True,
        text=True,
    )


def test_new_and_changed_forms_reach_both_servers(empty_app: Any, servers: list[str], tmp_path: Path) -> None:
    tokens = [_token(base) for base in servers]
    assert all(_get(f"{base}/api/v1/kedua/", t)[0] == 404 for base, t in zip(servers, tokens, strict=True))
    (tmp_path / "kedua.yaml").write_text(SECOND, encoding="utf-8")
    (tmp_path / "pertama.yaml").write_text(
        FIRST.replace("fields: [", "fields: [{name: umur, type: integer, label: Umur}, "), encoding="utf-8"
    )
    result = _cli(empty_app, "publish", str(tmp_path))
    assert result.returncode == 0, result.stderr
    published = time.monotonic()
    for base, token in zip(servers, tokens, strict=True):
        _wait(lambda base=base, token=token: _get(f"{base}/api/v1/kedua/", token)[0] == 200, 10)
        status, info = _get(f"{base}/api/v1/pertama/_info", token)
        assert status == 200 and "umur" in [f["name"] for f in info["add_columns"]]
    assert time.monotonic() - published < 5


def test_an_invalid_definition_leaves_the_previous_version_live(
    empty_app: Any, servers: list[str], tmp_path: Path
) -> None:
    before = [_get(f"{base}/health")[1]["schema_version"] for base in servers]
    (tmp_path / "pertama.yaml").write_text(FIRST.replace("type: text", "type: nik16"), encoding="utf-8")
    result = _cli(empty_app, "publish", str(tmp_path))
    assert result.returncode == 1
    assert "pertama.yaml: fields[0].type: unknown type 'nik16'" in result.stderr
    time.sleep(1.5)
    token = _token(servers[0])
    for base, version in zip(servers, before, strict=True):
        assert _get(f"{base}/health")[1]["schema_version"] == version
    assert _get(f"{servers[0]}/api/v1/pertama/", token)[0] == 200
