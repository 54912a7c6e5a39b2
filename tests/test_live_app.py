"""The live app inside one worker: the schema lock, the switch before a request, the old app freed."""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from app import create_app
from app.live import LiveApp
from tests.conftest import add_user, publish_yaml
from tests.live_load import connection_count, publishes_waiting, schema_version_of, wait_for

FORM = "form: baru\ntitle: Baru\nfields: [{name: nama, type: text, label: Nama}]\n"


@pytest.fixture
def live(empty_app: Any) -> Iterator[LiveApp]:
    """A worker's live app (no watcher thread: switches happen when requests arrive)."""
    publish_yaml(empty_app, FORM)
    add_user(empty_app, "admin", "Admin")
    served = LiveApp(lambda: create_app(empty_app.test_config), watch=False)
    yield served
    served.stop()
    from app.database import dispose_app

    dispose_app(served.app)


def _token(client: Client) -> dict[str, str]:
    body = {"username": "admin", "password": "admin-pass", "provider": "db"}
    token = client.post("/api/v1/security/login", json=body, buffered=True).json["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_first_request_after_a_publish_is_served_by_the_new_version(empty_app: Any, live: LiveApp) -> None:
    client = Client(live)
    auth = _token(client)
    assert client.get("/api/v1/kedua/", headers=auth, buffered=True).status_code == 404
    publish_yaml(empty_app, "form: kedua\ntitle: Kedua\nfields: [{name: judul, type: text, label: Judul}]\n")
    # no poll, no wait: the request itself finds the new version and is served by its app
    assert client.get("/api/v1/kedua/", headers=auth, buffered=True).status_code == 200


def test_a_publish_waits_for_the_requests_in_flight(empty_app: Any, live: LiveApp, database_url: str) -> None:
    client = Client(live)
    auth = _token(client)
    version = schema_version_of(database_url)
    in_flight = client.get("/api/v1/baru/", headers=auth)  # not yet sent to the end: it holds the lock
    publishing = threading.Thread(target=publish_yaml, args=(empty_app, FORM.replace("Nama}", "Nama lengkap}")))
    publishing.start()
    wait_for(lambda: publishes_waiting(database_url) == 1, 60, "the publish waits")
    time.sleep(0.5)
    assert schema_version_of(database_url) == version  # the tables do not change under a request
    in_flight.close()
    publishing.join(60)
    assert not publishing.is_alive() and schema_version_of(database_url) == version + 1
    assert client.get("/api/v1/baru/_info", headers=auth, buffered=True).json["add_columns"][0]["label"] == (
        "Nama lengkap"
    )


def test_a_replaced_app_is_freed_with_its_connections(empty_app: Any, live: LiveApp, database_url: str) -> None:
    client = Client(live)
    auth = _token(client)
    assert client.get("/api/v1/baru/", headers=auth, buffered=True).status_code == 200
    postgres = database_url.startswith("postgresql")
    before = connection_count(database_url) if postgres else 0
    replaced = []
    for n in range(3):
        replaced.append(weakref.ref(live.app))
        publish_yaml(empty_app, FORM.replace("label: Nama}", f"label: Nama {n}}}"))
        assert client.get("/api/v1/baru/", headers=auth, buffered=True).status_code == 200
        if postgres:  # the replaced app's pool is closed now, not a minute later
            assert connection_count(database_url) <= before
    gc.collect()
    assert [ref() for ref in replaced] == [None, None, None]


def test_requests_on_threads_of_their_own_leave_no_file_open(empty_app: Any, live: LiveApp, database_url: str) -> None:
    """A threaded server (the development server) runs each request on a new thread: on SQLite, the
    schema lock's files must be closed with each request, not kept per thread and leaked."""
    client = Client(live)
    auth = _token(client)

    def one_request() -> None:
        assert client.get("/api/v1/baru/", headers=auth, buffered=True).status_code == 200

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    one_request()
    before = open_files()
    for _ in range(40):
        thread = threading.Thread(target=one_request)
        thread.start()
        thread.join()
    gc.collect()
    assert open_files() - before < 10
