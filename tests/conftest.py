"""Fixtures: a real SQLite file and a real PostgreSQL server (started once per run)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import create_app
from app.cli import refresh_permissions
from app.database import dispose_app
from app.extensions import db
from app.forms_engine.loader import parse_definition
from app.forms_engine.publish import publish
from app.forms_engine.schema_lock import schema_change
from app.forms_engine.spec import FormSpec
from tests.postgres import PostgresMissing, private_cluster, scratch_database
from tests.slapd import Slapd, SlapdMissing, running_slapd

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server: SIMPUL_TEST_POSTGRES_URL, or a private cluster on loopback."""
    try:
        with private_cluster(os.environ.get("SIMPUL_TEST_POSTGRES_URL")) as url:
            yield url
    except PostgresMissing as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must test PostgreSQL")
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """One OpenLDAP server for the whole run."""
    try:
        with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
            yield server
    except SlapdMissing as missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must test LDAP sign-in")
        pytest.skip(str(missing))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'simpul.db'}"
        return
    with scratch_database(request.getfixturevalue("postgres_server")) as url:
        yield url


def app_config(database_url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """The settings of a test app: its own database, upload and forms directories."""
    return {
        "DATABASE_URL": database_url,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "FORMS_DIR": str(tmp_path / "forms"),
        "SECRET_KEY": "test-only-secret-key-of-at-least-32-bytes",
        **overrides,
    }


@pytest.fixture
def empty_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """An app on a migrated database with no forms published yet."""
    config = app_config(database_url, tmp_path)
    app = create_app(config)
    with app.app_context():
        from app.access.permissions import sync_permissions
        from app.migrations import upgrade_database

        upgrade_database()
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
        with schema_change(db.engine) as conn:
            report = publish(conn, specs, user, user_table=user_table)
        refresh_permissions()  # as `forms publish` does
    return report


def rebuilt(app: Any) -> Any:
    """A new app on the same database, as a worker builds after a publish (permissions synced)."""
    from app.access.permissions import sync_permissions

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


def add_user(app: Any, username: str, role: str, password: str = "admin-pass", region_scope: str | None = None) -> None:
    """Create a local account with one role (and a working area, a region code, if given)."""
    with app.app_context():
        sm = app.appbuilder.sm
        role_obj = sm.find_role(role) or sm.add_role(role)
        user = sm.add_user(username, username, "Test", f"{username}@example.org", role_obj, password)
        assert user
        if region_scope:
            user.region_scope = region_scope
            sm.update_user(user)


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


@contextlib.contextmanager
def shipped_app(request: pytest.FixtureRequest, tmp: Path) -> Iterator[Any]:
    """An app on the shipped forms with the demo data (`simpul init`), on the backend `request.param`."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'simpul.db'}"
        else:
            url = stack.enter_context(scratch_database(request.getfixturevalue("postgres_server")))
        config = app_config(url, tmp, FORMS_DIR=str(ROOT / "forms"))
        setup = create_app(config)
        result = setup.test_cli_runner().invoke(args=["simpul", "init"])
        assert result.exit_code == 0, result.output
        dispose_app(setup)
        app = create_app(config)
        app.test_config = config  # type: ignore[attr-defined]
        try:
            yield app
        finally:
            dispose_app(app)
