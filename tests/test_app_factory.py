"""The app factory's configuration and the live app's swap after a publish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import DEFAULT_SECRET_KEY, create_app, instance_secret_key
from app.database import dispose_app
from app.live import LiveApp
from tests.conftest import _BUILT, publish_yaml


def test_settings_come_from_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "simpul.cfg"
    settings.write_text("APP_NAME = 'Simpul Tabalong'\nPAGE_SIZE = 50\n", encoding="utf-8")
    monkeypatch.setenv("SIMPUL_CONFIG", str(settings))
    monkeypatch.setenv("SIMPUL_PAGE_SIZE", "100")
    monkeypatch.setenv("SIMPUL_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    app = create_app()
    try:
        assert app.config["APP_NAME"] == "Simpul Tabalong"
        assert app.config["PAGE_SIZE"] == 100  # the environment wins, parsed as JSON
        assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.db")
    finally:
        dispose_app(app)


def test_live_app_swaps_after_a_publish_and_keeps_the_old_one_whole(empty_app: Any) -> None:
    live = LiveApp(lambda: create_app(empty_app.test_config))
    _BUILT.append(live.app)
    old = live.app
    engine = sa.create_engine(empty_app.test_config["DATABASE_URL"])
    try:
        assert live.refresh(engine) is False
        publish_yaml(empty_app, "form: baru\ntitle: Baru\nfields: [{name: nama, type: text, label: Nama}]\n")
        assert live.refresh(engine) is True
        _BUILT.append(live.app)
        assert live.app is not old and live.version == old.config["SIMPUL_SCHEMA_VERSION"] + 1
        assert "FormApi_baru.get_list" in live.app.view_functions
        # a request that started on the old app is served by it, unchanged
        assert "FormApi_baru.get_list" not in old.view_functions
        assert old.test_client().get("/health").json["schema_version"] == 0
    finally:
        engine.dispose()


def test_the_published_default_secret_key_is_never_used(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    again = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    try:
        assert app.config["SECRET_KEY"] != DEFAULT_SECRET_KEY
        assert app.config["SECRET_KEY"] == again.config["SECRET_KEY"]  # the same key on every start and worker
    finally:
        dispose_app(app)
        dispose_app(again)


def test_the_instance_key_is_private_and_made_once(tmp_path: Path) -> None:
    key = instance_secret_key(tmp_path)
    assert len(key) == 64 and instance_secret_key(tmp_path) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_refuses_to_start_when_no_key_can_be_kept(tmp_path: Path) -> None:
    blocked = tmp_path / "instance"
    blocked.write_text("not a directory", encoding="utf-8")
    with pytest.raises(RuntimeError, match="set SIMPUL_SECRET_KEY"):
        instance_secret_key(blocked)


@pytest.mark.parametrize("key", ["\2\1thisismyscretkey\1\2\\e\\y\\y\\h", "short", "secret"])
def test_refuses_to_start_outside_debug_with_a_published_or_short_key(tmp_path: Path, key: str) -> None:
    with pytest.raises(RuntimeError, match="SECRET_KEY is a published default or shorter than 32"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": key})
    # in debug mode a developer may use anything
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": key, "DEBUG": True})
    dispose_app(app)


def test_session_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    config = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "SECRET_KEY": "k" * 40,
        "HTTPS": True,
        "PROXY_FIX_X_PROTO": 1,
        "TESTING": True,
    }
    app = create_app(config)
    try:
        response = app.test_client().get("/login/", headers={"X-Forwarded-Proto": "https"})
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        dispose_app(app)
