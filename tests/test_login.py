"""Logins: local accounts and the office directory (a real slapd), lockout, throttling, JWT."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import _BUILT, add_user, login
from tests.slapd import (
    DESA,
    DINSOS,
    KECAMATAN_BANUA_LAWAS,
    KECAMATAN_KELUA,
    LOCKED,
    METACHAR,
    OU_DINAS,
    PEOPLE,
    SCOPE_FIELD,
    VIEWER,
    group_dn,
)

LOCKED_OUT = "Terlalu banyak percobaan masuk yang gagal untuk akun ini"
INVALID = "Nama pengguna atau kata sandi salah"
DIRECTORY_DOWN = "Direktori kantor (LDAP) tidak dapat dihubungi"
# Refusals after the password was found right: each says what is wrong and whom to ask.
NO_GROUP = "tidak satu pun grup Anda di direktori kantor memberi akses ke Simpul"
EXCLUDED = "akun Anda di direktori kantor tidak diizinkan masuk ke Simpul"
EMAIL_TAKEN = "sudah dipakai akun Simpul lain"
DEACTIVATED = "Akun ini telah dinonaktifkan di Simpul"
NOT_REGISTERED = "belum memiliki akun Simpul"
UNSAVED = "Simpul tidak dapat menyimpan akun Anda"
REFUSALS = (INVALID, LOCKED_OUT, DIRECTORY_DOWN, NO_GROUP, EXCLUDED, EMAIL_TAKEN, DEACTIVATED, NOT_REGISTERED, UNSAVED)
SECURITY_LOG = "app.access.security"
AUDIT_TRAIL = "/keamanan/audit/list/"


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


def refused_with(app: Any, username: str, password: str) -> list[str]:
    """The refusal messages the login screen shows for these credentials (none: signed in)."""
    status, page = attempt(app, username, password)
    assert status == 200
    return [message for message in REFUSALS if message in page]


def api_login(app: Any, username: str, password: str) -> tuple[int, str]:
    """The JWT login of the API: (status, message or access token)."""
    response = app.test_client().post(
        "/api/v1/security/login", json={"username": username, "password": password, "provider": "ldap"}
    )
    body = response.get_json()
    return response.status_code, body.get("message") or body.get("access_token") or ""


def refusal_logged(caplog: pytest.LogCaptureFixture, username: str, reason: str) -> bool:
    """Whether the security log has a refusal line for username giving this reason."""
    return any(
        record.name == SECURITY_LOG and repr(username) in record.getMessage() and reason in record.getMessage()
        for record in caplog.records
    )


def set_user(app: Any, username: str, **values: Any) -> None:
    """Change an account as an administrator would on Keamanan → Daftar Pengguna."""
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user(username)
        for name, value in values.items():
            setattr(user, name, [sm.find_role(r) for r in value] if name == "roles" else value)
        sm.update_user(user)


def grant_audit_trail(app: Any, role: str) -> None:
    """Let a role read the audit trail, a screen an app without forms has."""
    with app.app_context():
        sm = app.appbuilder.sm
        sm.add_permission_role(sm.find_role(role), sm.find_permission_view_menu("can_list", "AuditView"))


@pytest.fixture(autouse=True)
def no_password_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every test here: whatever was logged, no password of a test account is in it."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    for person in PEOPLE:
        assert person.password not in caplog.text
    assert "admin-pass" not in caplog.text


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


# --- the directory changes between two sign-ins -------------------------------------------------------


def test_leaving_every_group_refuses_the_next_sign_in_and_removes_the_roles(
    app: Any, slapd: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert logged_in(app, DINSOS.uid, DINSOS.password)
    with slapd.left_groups(DINSOS, "simpul-dinsos"):
        assert logged_in(app, DINSOS.uid, DINSOS.password)
        assert user_record(app, DINSOS.uid)[:2] == (["Viewer"], "63.09")  # still in simpul-pengamat
    with slapd.left_groups(DINSOS):
        # only someone who knows the password learns more than "wrong password"
        assert refused_with(app, DINSOS.uid, DINSOS.password + "x") == [INVALID]
        for _ in range(5):  # a refusal with the right password never locks the account
            assert refused_with(app, DINSOS.uid, DINSOS.password) == [NO_GROUP]
        assert user_record(app, DINSOS.uid)[:2] == ([], "63.09")
    assert refusal_logged(caplog, DINSOS.uid, "no directory group maps to a role")
    # back in the groups, back in Simpul
    assert logged_in(app, DINSOS.uid, DINSOS.password)
    assert user_record(app, DINSOS.uid)[:2] == (["Dinsos", "Viewer"], "63.09")


def test_a_new_user_without_a_mapped_group_is_refused(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    app.config["AUTH_ROLES_MAPPING"] = {group_dn("simpul-dinsos"): ["Dinsos"]}
    assert refused_with(app, VIEWER.uid, VIEWER.password + "x") == [INVALID]
    assert refused_with(app, VIEWER.uid, VIEWER.password) == [NO_GROUP]
    assert user_record(app, VIEWER.uid) is None
    assert refusal_logged(caplog, VIEWER.uid, "no directory group maps to a role")


def test_a_removed_region_attribute_leaves_the_region_of_the_ou_or_none(app: Any, slapd: Any) -> None:
    assert logged_in(app, DESA.uid, DESA.password)
    assert user_record(app, DESA.uid)[:2] == (["Operator Desa"], "63.09.01.2001")
    with slapd.attribute_replaced(DESA, SCOPE_FIELD):
        assert logged_in(app, DESA.uid, DESA.password)
        assert user_record(app, DESA.uid)[:2] == (["Operator Desa"], "63.09.01")  # her OU's region
        app.config["AUTH_LDAP_SCOPE_MAPPING"] = {OU_DINAS: "63.09"}  # her OU no longer mapped
        assert logged_in(app, DESA.uid, DESA.password)
        assert user_record(app, DESA.uid)[:2] == (["Operator Desa"], None)  # none, not the old desa
    with slapd.attribute_replaced(DESA, SCOPE_FIELD, "6309022003"):  # moved to another desa
        assert logged_in(app, DESA.uid, DESA.password)
        assert user_record(app, DESA.uid)[:2] == (["Operator Desa"], "63.09.02.2003")


def test_the_registration_role_does_not_keep_a_removed_user_in(app: Any, slapd: Any) -> None:
    app.config["AUTH_USER_REGISTRATION_ROLE"] = "Viewer"
    assert logged_in(app, DINSOS.uid, DINSOS.password)
    assert user_record(app, DINSOS.uid)[0] == ["Dinsos", "Viewer"]
    with slapd.left_groups(DINSOS):
        assert refused_with(app, DINSOS.uid, DINSOS.password) == [NO_GROUP]
        assert user_record(app, DINSOS.uid)[0] == []
    # nor does it let in someone new whose groups map to no role
    app.config["AUTH_ROLES_MAPPING"] = {group_dn("simpul-dinsos"): ["Dinsos"]}
    assert refused_with(app, VIEWER.uid, VIEWER.password) == [NO_GROUP]


def test_without_a_roles_mapping_roles_are_kept_as_set_in_simpul(app: Any) -> None:
    app.config.update(AUTH_ROLES_MAPPING={}, AUTH_USER_REGISTRATION_ROLE="Viewer")
    assert logged_in(app, DINSOS.uid, DINSOS.password)
    assert user_record(app, DINSOS.uid)[:2] == (["Viewer"], "63.09")  # the registration role
    set_user(app, DINSOS.uid, roles=["Dinsos"])
    assert logged_in(app, DINSOS.uid, DINSOS.password)
    assert user_record(app, DINSOS.uid)[:2] == (["Dinsos"], "63.09")


def test_without_sync_the_directory_fills_roles_and_area_once(app: Any, slapd: Any) -> None:
    app.config["AUTH_ROLES_SYNC_AT_LOGIN"] = False
    assert logged_in(app, DINSOS.uid, DINSOS.password)
    assert user_record(app, DINSOS.uid)[:2] == (["Dinsos", "Viewer"], "63.09")  # first sign-in
    set_user(app, DINSOS.uid, roles=["Kecamatan"], region_scope="63.09.01")
    with slapd.left_groups(DINSOS):
        # leaving the groups does not revoke anything: deactivating the account in Simpul does
        assert logged_in(app, DINSOS.uid, DINSOS.password)
        assert user_record(app, DINSOS.uid)[:2] == (["Kecamatan"], "63.09.01")
    # someone new still needs a mapped group, or the registration role
    app.config["AUTH_ROLES_MAPPING"] = {group_dn("simpul-dinsos"): ["Dinsos"]}
    assert refused_with(app, VIEWER.uid, VIEWER.password) == [NO_GROUP]
    app.config["AUTH_USER_REGISTRATION_ROLE"] = "Viewer"
    assert logged_in(app, VIEWER.uid, VIEWER.password)
    assert user_record(app, VIEWER.uid)[:2] == (["Viewer"], "63.09")


def test_an_account_the_filter_excludes_is_told_so_after_the_right_password(
    app: Any, slapd: Any, caplog: pytest.LogCaptureFixture
) -> None:
    assert refused_with(app, LOCKED.uid, LOCKED.password + "x") == [INVALID]
    assert refused_with(app, LOCKED.uid, LOCKED.password) == [EXCLUDED]
    assert user_record(app, LOCKED.uid) is None
    assert refusal_logged(caplog, LOCKED.uid, "AUTH_LDAP_SEARCH_FILTER")
    # locked in the directory after having signed in: refused, and the roles go
    assert logged_in(app, DINSOS.uid, DINSOS.password)
    with slapd.attribute_replaced(DINSOS, "pwdAccountLockedTime", "000001010000Z"):
        assert refused_with(app, DINSOS.uid, DINSOS.password) == [EXCLUDED]
        assert user_record(app, DINSOS.uid)[0] == []
    assert logged_in(app, DINSOS.uid, DINSOS.password)


def test_an_email_used_by_a_local_account_is_named(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    with app.app_context():
        sm = app.appbuilder.sm
        assert sm.add_user("andi.lokal", "Andi", "Lokal", DINSOS.mail, sm.find_role("Viewer"), "admin-pass")
    assert refused_with(app, DINSOS.uid, DINSOS.password + "x") == [INVALID]
    status, page = attempt(app, DINSOS.uid, DINSOS.password)
    assert EMAIL_TAKEN in page and DINSOS.mail in page and INVALID not in page
    assert user_record(app, DINSOS.uid) is None
    assert refusal_logged(caplog, DINSOS.uid, "already used by the account 'andi.lokal'")
    # the same mailbox written in other letters is the same address
    set_user(app, "andi.lokal", email=DINSOS.mail.upper())
    assert refused_with(app, DINSOS.uid, DINSOS.password) == [EMAIL_TAKEN]
    set_user(app, "andi.lokal", email="andi.lokal@example.org")
    assert logged_in(app, DINSOS.uid, DINSOS.password)


def test_without_registration_a_new_directory_user_is_told_to_ask(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    app.config["AUTH_USER_REGISTRATION"] = False
    assert refused_with(app, VIEWER.uid, VIEWER.password + "x") == [INVALID]
    assert refused_with(app, VIEWER.uid, VIEWER.password) == [NOT_REGISTERED]
    assert refusal_logged(caplog, VIEWER.uid, "AUTH_USER_REGISTRATION")


def test_a_user_deactivated_in_simpul_stays_out_and_their_session_ends(
    app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    grant_audit_trail(app, "Viewer")
    session = app.test_client()
    login(session, DINSOS.uid, DINSOS.password)
    assert session.get(AUDIT_TRAIL).status_code == 200
    api = app.test_client()
    tokens = api.post(
        "/api/v1/security/login",
        json={"username": DINSOS.uid, "password": DINSOS.password, "provider": "ldap", "refresh": True},
    ).get_json()
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert api.get("/api/v1/wilayah/children/", headers=access).status_code == 200
    set_user(app, DINSOS.uid, active=False)
    # the open session and the API's tokens stop working at once
    assert session.get(AUDIT_TRAIL).status_code == 302
    assert api.get("/api/v1/wilayah/children/", headers=access).status_code == 401
    assert api.post("/api/v1/security/refresh", headers=refresh).status_code == 401
    assert refused_with(app, DINSOS.uid, DINSOS.password + "x") == [INVALID]
    assert refused_with(app, DINSOS.uid, DINSOS.password) == [DEACTIVATED]
    status, message = api_login(app, DINSOS.uid, DINSOS.password)
    assert status == 401 and DEACTIVATED in message
    with app.app_context():
        assert not app.appbuilder.sm.find_user(DINSOS.uid).active  # signing in does not re-activate
    assert refusal_logged(caplog, DINSOS.uid, "deactivated")
    # a local account alike
    set_user(app, "admin", active=False)
    assert refused_with(app, "admin", "salah") == [INVALID]
    assert refused_with(app, "admin", "admin-pass") == [DEACTIVATED]


def test_an_open_session_loses_its_rights_once_the_next_sign_in_is_refused(app: Any, slapd: Any) -> None:
    grant_audit_trail(app, "Dinsos")
    session = app.test_client()
    login(session, DINSOS.uid, DINSOS.password)
    assert session.get(AUDIT_TRAIL).status_code == 200
    with slapd.left_groups(DINSOS):
        # an open session is not checked against the directory again (README says so) …
        assert session.get(AUDIT_TRAIL).status_code == 200
        # … but the roles it runs on are gone as soon as a sign-in is refused
        assert refused_with(app, DINSOS.uid, DINSOS.password) == [NO_GROUP]
        assert session.get(AUDIT_TRAIL).status_code == 403


def test_the_api_login_is_refused_alike_and_says_why(app: Any, slapd: Any) -> None:
    status, token = api_login(app, DINSOS.uid, DINSOS.password)
    assert status == 200 and token
    assert api_login(app, DINSOS.uid, DINSOS.password + "x")[0] == 401
    assert INVALID in api_login(app, DINSOS.uid, DINSOS.password + "x")[1]
    with slapd.left_groups(DINSOS):
        status, message = api_login(app, DINSOS.uid, DINSOS.password)
        assert status == 401 and NO_GROUP in message
    assert EXCLUDED in api_login(app, LOCKED.uid, LOCKED.password)[1]


def test_a_name_longer_than_simpul_keeps_is_cut_not_refused(app: Any, slapd: Any) -> None:
    long_name = "Raden Ajeng " + "Siti " * 20
    with slapd.attribute_replaced(DINSOS, "givenName", long_name):
        assert logged_in(app, DINSOS.uid, DINSOS.password)  # PostgreSQL enforces the 64 characters
    with app.app_context():
        assert app.appbuilder.sm.find_user(DINSOS.uid).first_name == long_name[:64]


def test_an_account_that_cannot_be_saved_is_not_called_a_wrong_password(
    app: Any, slapd: Any, caplog: pytest.LogCaptureFixture
) -> None:
    if not app.test_config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("SQLite does not enforce the length of the e-mail column")
    with slapd.attribute_replaced(VIEWER, "mail", "v" * 320 + "@tabalong.go.id"):
        assert refused_with(app, VIEWER.uid, VIEWER.password) == [UNSAVED]
    assert user_record(app, VIEWER.uid) is None  # nothing half made: the next sign-in starts afresh
    assert refusal_logged(caplog, VIEWER.uid, "could not be saved")
    assert logged_in(app, VIEWER.uid, VIEWER.password)
