"""Fixtures: a real SQLite file and a real PostgreSQL server (started once per run)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from app import create_app
from app.cli import refresh_permissions
from app.database import dispose_app
from app.extensions import db
from app.forms_engine.loader import parse_definition
from app.forms_engine.publish import publish
from app.forms_engine.spec import FormSpec

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", "postgresql"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server: SIMPUL_TEST_POSTGRES_URL, or a private cluster on loopback."""
    if os.environ.get("SIMPUL_TEST_POSTGRES_URL"):
        yield os.environ["SIMPUL_TEST_POSTGRES_URL"]
        return
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (apt-get install postgresql); CI must test it")
        pytest.skip("PostgreSQL is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="simpul-pg-"))
    data = workdir / "data"
    port = _free_port()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(workdir, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(workdir / "log"),
            "-w",
            "-o",
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'simpul.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """An app on a migrated database with no forms published yet."""
    config = {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "FORMS_DIR": str(tmp_path / "forms"),
        "SECRET_KEY": "test",
    }
    app = create_app(config)
    with app.app_context():
        from flask_migrate import upgrade

        from app.permissions import sync_permissions

        upgrade(directory=app.extensions["migrate"].directory)
        sync_permissions(app.appbuilder, {})
    app.test_config = config  # type: ignore[attr-defined]
    _BUILT.append(app)
    yield app
    while _BUILT:
        dispose_app(_BUILT.pop())


_BUILT: list[Any] = []  # apps built during a test; their pools are closed after it


def spec_of(text: str, source: str = "test.yaml") -> FormSpec:
    """A spec from inline YAML."""
    return parse_definition(yaml.safe_load(text), source)


def publish_yaml(app: Any, *texts: str, user: str = "test") -> Any:
    """Publish inline definitions into the app's database and return the rebuilt app."""
    specs = {s.slug: s for s in (spec_of(t) for t in texts)}
    with app.app_context():
        user_table = app.appbuilder.sm.user_model.__table__
        with db.engine.begin() as conn:
            report = publish(conn, specs, user, user_table=user_table)
        refresh_permissions()  # as `forms publish` does
    return report


def rebuilt(app: Any) -> Any:
    """A new app on the same database, as a worker builds after a publish (permissions synced)."""
    from app.permissions import sync_permissions

    fresh = create_app(app.test_config)
    fresh.test_config = app.test_config
    _BUILT.append(fresh)
    with fresh.app_context():
        sync_permissions(fresh.appbuilder, fresh.extensions.get("simpul_specs", {}))
    return fresh


def login(client: Any, username: str = "admin", password: str = "admin-pass") -> None:
    """Log in through the login form."""
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code == 302, response.data[:500]


def add_user(app: Any, username: str, role: str, password: str = "admin-pass") -> None:
    """Create a local account with one role."""
    with app.app_context():
        sm = app.appbuilder.sm
        role_obj = sm.find_role(role) or sm.add_role(role)
        assert sm.add_user(username, username, "Test", f"{username}@example.org", role_obj, password)


def app_with_forms(app: Any, *texts: str) -> Any:
    """Publish inline definitions; return the rebuilt app, with an admin account."""
    publish_yaml(app, *texts)
    fresh = rebuilt(app)
    add_user(fresh, "admin", "Admin")
    return fresh


@pytest.fixture
def client(app: Any) -> Any:
    """A test client logged in as admin on the module's `app` fixture."""
    client = app.test_client()
    login(client)
    return client
