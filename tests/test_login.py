"""Logins: local accounts and the office directory (a real slapd), lockout, throttling, JWT."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import _BUILT, add_user
from tests.slapd import DESA, DINSOS, KECAMATAN_BANUA_LAWAS, KECAMATAN_KELUA, LOCKED, METACHAR

LOCKED_OUT = "Terlalu banyak percobaan masuk yang gagal untuk akun ini"
INVALID = "Nama pengguna atau kata sandi salah"
DIRECTORY_DOWN = "Direktori kantor (LDAP) tidak dapat dihubungi"


@pytest.fixture
def app(empty_app: Any, slapd: Any) -> Any:
    """Directory logins (search-then-bind with a service account) beside local accounts."""
    config = {**empty_app.test_config, **slapd.config(), "AUTH_TYPE": 2, "AUTH_USER_REGISTRATION": True}
    app = create_app(config)
    app.test_config = config
    _BUILT.append(app)
    add_user(app, "admin", "Admin")
    return app


def attempt(app: Any, username: str, password: str) -> tuple[int, str]:
    """Log in through the screen; (status of the POST, text of the page it leads to)."""
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": password}, follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


def logged_in(app: Any, username: str, password: str) -> bool:
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": password})
    # a refused login goes back to the login page; an accepted one to where the user was going
    return response.status_code == 302 and "/login" not in response.location


def user_record(app: Any, username: str) -> Any:
    with app.app_context():
        user = app.appbuilder.sm.find_user(username)
        return None if user is None else (sorted(r.name for r in user.roles), user.region_scope, user.email)


def test_directory_users_get_roles_and_working_area_from_the_directory(app: Any) -> None:
    assert logged_in(app, KECAMATAN_BANUA_LAWAS.uid, KECAMATAN_BANUA_LAWAS.password)
    assert user_record(app, "budi.banualawas")[:2] == (["Kecamatan"], "63.09.01")  # OU mapping
    assert logged_in(app, KECAMATAN_KELUA.uid, KECAMATAN_KELUA.password)
    assert user_record(app, "kiki.kelua")[:2] == (["Kecamatan"], "63.09.02")
    assert logged_in(app, DESA.uid, DESA.password)
    assert user_record(app, "desi.desa")[:2] == (["Operator Desa"], "63.09.01.2001")  # attribute wins
    assert logged_in(app, DINSOS.uid, DINSOS.password)  # memberOf and a groupOfUniqueNames search
    assert user_record(app, "andi.dinsos")[:2] == (["Dinsos", "Viewer"], "63.09")
    # no password is kept for directory accounts: they never log in locally
    with app.app_context():
        assert not app.appbuilder.sm.find_user("budi.banualawas").password


def test_wrong_password_disabled_account_and_filter_injection_are_refused(app: Any) -> None:
    assert attempt(app, KECAMATAN_BANUA_LAWAS.uid, "salah")[1].count(INVALID) == 1
    assert not logged_in(app, LOCKED.uid, LOCKED.password)  # locked in the directory
    assert user_record(app, "dodi.nonaktif") is None
    for injected in ("*", "budi*", "*)(uid=*", "budi.banualawas)(|(uid=*", "*)(|(objectClass=*"):
        assert not logged_in(app, injected, KECAMATAN_BANUA_LAWAS.password), injected
    assert logged_in(app, METACHAR.uid, METACHAR.password)  # metacharacters are just characters


def test_directory_down_mid_test_says_so_and_local_accounts_still_work(app: Any, slapd: Any) -> None:
    assert logged_in(app, KECAMATAN_KELUA.uid, KECAMATAN_KELUA.password)
    slapd.stop()
    try:
        started = time.monotonic()
        status, page = attempt(app, KECAMATAN_KELUA.uid, KECAMATAN_KELUA.password)
        assert status == 200 and DIRECTORY_DOWN in page
        assert time.monotonic() - started < 5
        assert logged_in(app, "admin", "admin-pass")  # the break-glass local account
        # a directory outage does not count towards anyone's lockout
        for _ in range(6):
            attempt(app, KECAMATAN_KELUA.uid, KECAMATAN_KELUA.password)
    finally:
        slapd.start()
    assert logged_in(app, KECAMATAN_KELUA.uid, KECAMATAN_KELUA.password)


def test_lockout_after_repeated_failures_even_with_the_right_password(app: Any) -> None:
    for _ in range(5):
        assert INVALID in attempt(app, "admin", "tebakan")[1]
    status, page = attempt(app, "admin", "admin-pass")
    assert LOCKED_OUT in page
    assert not logged_in(app, "admin", "admin-pass")
    # the API login is held by the same lock
    client = app.test_client()
    response = client.post(
        "/api/v1/security/login", json={"username": "admin", "password": "admin-pass", "provider": "db"}
    )
    assert response.status_code == 401
    result = app.test_cli_runner().invoke(args=["simpul", "users", "unlock", "admin"])
    assert result.exit_code == 0 and "forgotten" in result.output
    assert logged_in(app, "admin", "admin-pass")


def test_one_address_trying_many_accounts_is_throttled(app: Any) -> None:
    app.config["LOGIN_ADDRESS_FAILURES"] = 4
    for name in ("a1", "a2", "a3", "a4"):
        attempt(app, name, "x")
    assert (
        "Terlalu banyak percobaan masuk yang gagal dari alamat ini"
        in attempt(app, KECAMATAN_BANUA_LAWAS.uid, KECAMATAN_BANUA_LAWAS.password)[1]
    )
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    response = other.post("/login/", data={"username": "budi.banualawas", "password": KECAMATAN_BANUA_LAWAS.password})
    assert response.status_code == 302 and "/login" not in response.location


def test_local_accounts_only_without_directory(empty_app: Any) -> None:
    assert "register" not in empty_app.test_client().get("/login/").get_data(as_text=True).lower()  # no self-sign-up
    add_user(empty_app, "lokal", "Viewer")
    assert logged_in(empty_app, "lokal", "admin-pass")
    assert INVALID in attempt(empty_app, "lokal", "salah")[1]
    with empty_app.app_context():
        assert db.session.execute(db.text("SELECT count(*) FROM simpul_login_failure")).scalar() == 1
