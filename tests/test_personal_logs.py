"""No full NIK or No. KK in any log line: a real gunicorn with the run command's logger, requests
that carry numbers in the URL, the referrer and the body; and the recipient history searched by
POST, so the number is not in the URL in the first place."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.access.redaction import RedactIdentityNumbers, redact
from tests.conftest import ROOT, add_user, app_with_forms, login
from tests.live_load import wait_for
from tests.postgres import free_port

NIK, KK = "6309014507900001", "6309010101200001"
FORM = """
form: warga
title: Warga
permissions: {Petugas: [view, add]}
fields:
  - {name: nik, type: nik, label: NIK}
  - {name: no_kk, type: kk, label: No. KK}
  - {name: nama, type: text, label: Nama}
"""


def test_sixteen_digit_numbers_are_masked_in_messages_and_tracebacks() -> None:
    assert (
        redact(f"GET /riwayat/?nik={NIK}&kk={KK} 200") == "GET /riwayat/?nik=6309********0001&kk=6309********0001 200"
    )
    assert redact("NIP 198501012010011001 and 12345") == "NIP 198501012010011001 and 12345"  # 18 digits: not a NIK
    assert redact(f"q=(value:%27{NIK}%27)") == "q=(value:%276309********0001%27)"
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "search %s", (NIK,), None)
    try:
        raise ValueError(f"no record for {KK}")
    except ValueError:
        record.exc_info = sys.exc_info()
    RedactIdentityNumbers().filter(record)
    text = logging.Formatter().format(record)
    assert NIK not in text and KK not in text and "6309********0001" in text


def _request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_a_real_server_writes_no_full_number_to_its_logs(empty_app: Any, tmp_path: Path) -> None:
    app = app_with_forms(empty_app, FORM)
    add_user(app, "petugas", "Petugas")
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    port = free_port()
    env = dict(os.environ)
    env.update(
        SIMPUL_DATABASE_URL=app.test_config["DATABASE_URL"],
        SIMPUL_SECRET_KEY=secrets.token_hex(32),
        SIMPUL_UPLOAD_DIR=app.test_config["UPLOAD_DIR"],
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}"]
    command += ["--logger-class", "app.access.redaction.GunicornLogger", "--log-level", "debug"]
    command += ["--access-logfile", str(access), "--error-logfile", str(errors), "app.wsgi:application"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _request(f"{base}/health") == 200, 30, "the server")
        query = urllib.parse.quote(f"(filters:!((col:nik,opr:whole,value:'{NIK}')))")
        referrer = {"Referer": f"{base}/riwayat/?nik={NIK}&no_kk={KK}"}
        assert _request(f"{base}/api/v1/warga/?q={query}", headers=referrer) == 401
        _request(f"{base}/forms/warga/list/?_flt_0_nik={NIK}&_flt_0_no_kk={KK}", headers=referrer)  # to the login
        _request(f"{base}/login/", data=urllib.parse.urlencode({"username": NIK, "password": KK}).encode())
    finally:
        server.terminate()
        server.wait(10)
    logged = access.read_text() + errors.read_text()
    assert "/api/v1/warga/" in logged and "6309********0001" in logged  # the lines are there, masked
    assert NIK not in logged and KK not in logged


@pytest.fixture
def app(empty_app: Any) -> Any:
    app = app_with_forms(empty_app, FORM)
    add_user(app, "petugas", "Petugas")
    return app


def test_the_recipient_history_takes_the_number_in_the_body_only(app: Any) -> None:
    client = app.test_client()
    login(client)
    assert client.post("/api/v1/warga/", json={"nik": NIK, "no_kk": KK, "nama": "Siti"}).status_code == 201
    by_url = client.get(f"/riwayat/?nik={NIK}").get_data(as_text=True)
    assert "Siti" not in by_url  # a number in the URL is not searched
    page = client.post("/riwayat/", data={"nik": NIK})
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "Siti" in text and NIK not in text and "6309********0001" in text
