"""The app factory's configuration and the live app's swap after a publish."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app import create_app
from app.access.secret_key import DEFAULT_SECRET_KEY, check_secret_key, estimated_bits, instance_secret_key
from app.database import dispose_app
from app.extensions import db
from app.form_building import check_forms_build
from app.forms_engine.loader import DefinitionErrors
from app.live import LiveApp
from tests.conftest import _BUILT, add_user, login, publish_yaml, rebuilt, spec_of


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
    try:
        assert live.refresh() is False
        publish_yaml(empty_app, "form: baru\ntitle: Baru\nfields: [{name: nama, type: text, label: Nama}]\n")
        assert live.refresh() is True
        _BUILT.append(live.app)
        assert live.app is not old and live.version == old.config["SIMPUL_SCHEMA_VERSION"] + 1
        assert "FormApi_baru.get_list" in live.app.view_functions
        # a request that started on the old app is served by it, unchanged
        assert "FormApi_baru.get_list" not in old.view_functions
        assert old.test_client().get("/health").json["schema_version"] == 0
    finally:
        live.stop()


INDUK = "form: induk\ntitle: Induk\nfields: [{name: nama, type: text, label: Nama}]\n"
ANAK = "form: anak\ntitle: Anak\nfields: [{name: induk, type: reference, target: induk, label: Induk}]\n"
LAIN = "form: lain\ntitle: Lain\nfields: [{name: judul, type: text, label: Judul}]\n"


def spoil_stored_definition(app: Any, slug: str) -> None:
    """Make a stored definition unloadable, as an upgrade with a stricter check would."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE simpul_form_version SET definition = REPLACE(definition, :old, :new) WHERE slug = :slug"),
            {"old": '"type": "text"', "new": '"type": "nik16"', "slug": slug},
        )


def test_a_form_that_cannot_be_built_is_reported_and_the_others_are_served(empty_app: Any) -> None:
    publish_yaml(empty_app, INDUK, ANAK, LAIN)
    spoil_stored_definition(empty_app, "induk")
    app = rebuilt(empty_app)  # as every worker, `flask simpul …` and run.py build it
    health = app.test_client().get("/health").json
    assert health["status"] == "degraded"
    assert sorted(health["broken_forms"]) == ["anak", "induk"]
    assert "unknown type 'nik16'" in health["broken_forms"]["induk"]
    assert health["broken_forms"]["anak"] == "refers to form(s) induk, which cannot be served"
    add_user(app, "admin", "Admin")
    client = app.test_client()
    login(client)
    assert client.get("/api/v1/lain/").status_code == 200
    assert client.get("/api/v1/anak/").status_code == 404


def test_a_publish_whose_app_would_not_build_is_refused(empty_app: Any) -> None:
    with empty_app.app_context(), pytest.raises(DefinitionErrors) as refused:
        check_forms_build({"anak": spec_of(ANAK, "forms/anak.yaml"), "lain": spec_of(LAIN)}, {"anak", "lain"})
    assert [str(e) for e in refused.value.errors] == [
        "forms/anak.yaml: the form cannot be served: refers to form(s) induk, which cannot be served"
    ]
    with empty_app.app_context():
        built = check_forms_build({"induk": spec_of(INDUK), "anak": spec_of(ANAK)}, {"anak"})  # builds: no error
    assert sorted(built.extensions["simpul_specs"]) == ["anak", "induk"]
    dispose_app(built)


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


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("\2\1thisismyscretkey\1\2\\e\\y\\y\\h", "is a published default"),
        ("secret", "is a published default"),
        ("short", "is too predictable"),
        (" " * 40, "is too predictable"),
        ("k" * 32, "is too predictable"),
        ("ab" * 20, "is too predictable"),
        ("abcdefghijklmnopqrstuvwxyz0123456789", "is too predictable"),
        ("password1234" * 3, "is too predictable"),
    ],
)
def test_refuses_to_start_outside_debug_with_a_published_or_guessable_key(
    tmp_path: Path, key: str, problem: str
) -> None:
    with pytest.raises(RuntimeError, match=f"SECRET_KEY {problem}"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": key})
    # in debug mode a developer may use anything
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": key, "DEBUG": True})
    dispose_app(app)


@pytest.mark.parametrize(
    "make", [lambda: secrets.token_hex(16), lambda: secrets.token_urlsafe(16), lambda: uuid.uuid4().hex]
)
def test_random_keys_of_128_bits_pass_whatever_their_length(make: Any) -> None:
    for _ in range(2000):
        key = make()
        assert estimated_bits(key) >= 64, key
    check_secret_key(make())


def test_a_random_key_starts_the_app(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": secrets.token_urlsafe(24)})
    dispose_app(app)


def test_an_instance_key_file_holding_a_weak_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("0" * 64, encoding="utf-8")
    with pytest.raises(RuntimeError, match="holds no usable key"):
        instance_secret_key(tmp_path)


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
