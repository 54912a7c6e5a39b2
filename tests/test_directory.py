"""Sign-in against a real OpenLDAP server (tests/slapd.py): no mocks."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.access.directory import (
    AccountExcluded,
    DirectoryAccount,
    DirectoryUnavailable,
    authenticate,
    normalize_region_code,
)
from tests.postgres import free_port
from tests.slapd import (
    ADMIN,
    DESA,
    DINSOS,
    GROUPS_DN,
    KECAMATAN_BANUA_LAWAS,
    KECAMATAN_KELUA,
    LOCKED,
    METACHAR,
    OU_BANUA_LAWAS,
    OU_DINAS,
    OU_KELUA,
    PEOPLE,
    PEOPLE_DN,
    VIEWER,
    Person,
    Slapd,
    group_dn,
    make_ca,
)

ACTIVE = [person for person in PEOPLE if not person.locked]


@pytest.fixture
def running(slapd: Slapd) -> Iterator[Slapd]:
    """The server, started again after a test that stops or pauses it."""
    yield slapd
    slapd.start()


def direct_bind(slapd: Slapd, ou: str, **overrides: object) -> dict[str, object]:
    """Settings without a service account: bind as uid=<name>,<ou>, then read the own entry."""
    return slapd.config(
        AUTH_LDAP_BIND_USER=None, AUTH_LDAP_BIND_PASSWORD=None, AUTH_LDAP_USERNAME_FORMAT=f"uid=%s,{ou}", **overrides
    )


def whoami(slapd: Slapd, dn: str, password: str) -> subprocess.CompletedProcess[str]:
    """What the server itself says to a simple bind (ldapwhoami)."""
    command = ["ldapwhoami", "-x", "-H", slapd.url, "-D", dn, "-w", password]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, "LDAPNOINIT": "1"}, timeout=10)


def lower(dns: frozenset[str]) -> set[str]:
    return {dn.lower() for dn in dns}


# --- who signs in, with what ------------------------------------------------------------------------


def test_search_then_bind_reads_the_account(slapd: Slapd) -> None:
    account = authenticate(slapd.config(), f"  {DINSOS.uid} ", DINSOS.password)

    assert isinstance(account, DirectoryAccount)
    assert (account.username, account.dn, account.first_name, account.last_name, account.email) == (
        "andi.dinsos",
        "uid=andi.dinsos,ou=dinas,ou=people,dc=tabalong,dc=go,dc=id",
        "Andi",
        "Saputra",
        "andi@tabalong.go.id",
    )
    assert lower(account.groups) == {group_dn(cn) for cn in ("simpul-dinsos", "simpul-pengamat", "pegawai-tabalong")}
    assert (account.roles, account.scope) == (("Dinsos", "Viewer"), "63.09")


@pytest.mark.parametrize("person", ACTIVE, ids=[p.uid for p in ACTIVE])
def test_every_test_user_gets_the_expected_roles_and_scope(slapd: Slapd, person: Person) -> None:
    account = authenticate(slapd.config(), person.uid, person.password)

    assert account is not None
    assert (account.roles, account.scope, account.email) == (person.roles, person.scope, person.mail)
    assert lower(account.groups) == {group_dn(cn) for cn in person.groups}


def test_roles_mapping_compares_dns_without_case_or_spaces(slapd: Slapd) -> None:
    # Slapd.config() writes the admin group as "CN=Simpul-Admin, OU=Groups, DC=Tabalong, …".
    assert "CN=Simpul-Admin, OU=Groups" in next(iter(slapd.config()["AUTH_ROLES_MAPPING"]))
    account = authenticate(slapd.config(), ADMIN.uid, ADMIN.password)

    assert account is not None and account.roles == ("Admin",)
    assert group_dn("pegawai-tabalong") in lower(account.groups)  # a group without a role is kept, gives none


def test_direct_bind_with_username_format(slapd: Slapd) -> None:
    account = authenticate(direct_bind(slapd, OU_KELUA), KECAMATAN_KELUA.uid, KECAMATAN_KELUA.password)

    assert account is not None
    assert (account.dn, account.first_name, account.roles, account.scope) == (
        KECAMATAN_KELUA.dn,
        "Kiki",
        ("Kecamatan",),
        "63.09.02",
    )
    assert authenticate(direct_bind(slapd, OU_KELUA), KECAMATAN_KELUA.uid, "Kiki#Kelua2") is None
    # Someone from another OU is not found where the format points.
    assert authenticate(direct_bind(slapd, OU_KELUA), ADMIN.uid, ADMIN.password) is None


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", [ADMIN, DINSOS, DESA, METACHAR], ids=lambda p: p.uid)
def test_wrong_password_is_refused(slapd: Slapd, person: Person) -> None:
    assert authenticate(slapd.config(), person.uid, person.password + "x") is None
    assert authenticate(slapd.config(), person.uid, person.password.upper()) is None
    assert authenticate(slapd.config(), person.uid, person.password) is not None  # the right one works


def test_odd_passwords_are_wrong_passwords_not_errors(slapd: Slapd) -> None:
    for password in (DINSOS.password + "\x07", "\x00", "\u00a0", "\ufffe", "é" * 300, DINSOS.password + " "):
        assert authenticate(slapd.config(), DINSOS.uid, password) is None
    assert not METACHAR.password.isascii()  # and it signs in: tests below


def test_unknown_user_is_refused(slapd: Slapd) -> None:
    assert authenticate(slapd.config(), "siti.tidakada", "Siti#Tidakada1") is None
    assert authenticate(direct_bind(slapd, OU_DINAS), "siti.tidakada", "Siti#Tidakada1") is None


def test_empty_password_is_refused_though_the_server_would_bind_anonymously(slapd: Slapd) -> None:
    # The trap: this server answers a DN with an empty password with an anonymous "success".
    trap = whoami(slapd, DINSOS.dn, "")
    assert (trap.returncode, trap.stdout.strip()) == (0, "anonymous")

    for settings in (slapd.config(), direct_bind(slapd, OU_DINAS)):
        assert authenticate(settings, DINSOS.uid, "") is None
    assert authenticate(slapd.config(), DINSOS.uid, None) is None  # type: ignore[arg-type]
    assert authenticate(slapd.config(), "", DINSOS.password) is None
    assert authenticate(slapd.config(), "   ", DINSOS.password) is None


def test_empty_credentials_do_not_touch_the_network() -> None:
    unreachable = {
        "AUTH_LDAP_SERVER": f"ldap://127.0.0.1:{free_port()}",
        "AUTH_LDAP_BIND_USER": "cn=x",
        "AUTH_LDAP_BIND_PASSWORD": "x",
    }
    assert authenticate(unreachable, DINSOS.uid, "") is None  # no DirectoryUnavailable: nothing was tried
    assert authenticate(unreachable, "", "x") is None


def test_locked_account_is_refused_in_both_modes(slapd: Slapd) -> None:
    # The server itself still lets the locked account bind: only the search filter keeps it out.
    assert whoami(slapd, LOCKED.dn, LOCKED.password).returncode == 0

    for settings in (slapd.config(), direct_bind(slapd, OU_DINAS)):
        # With the right password it is told apart from a wrong one; with a wrong one it is not.
        with pytest.raises(AccountExcluded, match="AUTH_LDAP_SEARCH_FILTER") as excluded:
            authenticate(settings, LOCKED.uid, LOCKED.password)
        assert excluded.value.dn == LOCKED.dn
        assert authenticate(settings, LOCKED.uid, LOCKED.password + "x") is None
    # Without the filter it would have been let in.
    assert authenticate(slapd.config(AUTH_LDAP_SEARCH_FILTER=""), LOCKED.uid, LOCKED.password) is not None


def test_an_account_locked_between_two_sign_ins_is_excluded(slapd: Slapd) -> None:
    assert authenticate(slapd.config(), VIEWER.uid, VIEWER.password) is not None
    with slapd.attribute_replaced(VIEWER, "pwdAccountLockedTime", "000001010000Z"):
        for settings in (slapd.config(), direct_bind(slapd, OU_DINAS)):
            with pytest.raises(AccountExcluded):
                authenticate(settings, VIEWER.uid, VIEWER.password)
            assert authenticate(settings, VIEWER.uid, "Vina#Salah1") is None
            assert authenticate(settings, "siti.tidakada", VIEWER.password) is None
    assert authenticate(slapd.config(), VIEWER.uid, VIEWER.password) is not None


def test_a_name_matching_several_entries_is_refused(slapd: Slapd) -> None:
    # Searching by objectClass instead of uid: every person matches.
    assert authenticate(slapd.config(AUTH_LDAP_UID_FIELD="objectClass"), "inetOrgPerson", ADMIN.password) is None


# --- LDAP injection ---------------------------------------------------------------------------------


def test_username_with_ldap_metacharacters_signs_in(slapd: Slapd) -> None:
    assert set("*()\\,+=") <= set(METACHAR.uid)
    account = authenticate(slapd.config(), METACHAR.uid, METACHAR.password)

    assert account is not None
    assert (account.username, account.last_name, account.roles, account.scope) == (
        METACHAR.uid,
        "O'Brien",
        ("Viewer",),
        "63.09",
    )
    # DN escaping in direct-bind mode too.
    direct = authenticate(direct_bind(slapd, OU_DINAS), METACHAR.uid, METACHAR.password)
    assert direct is not None and direct.dn == account.dn


INJECTIONS = [
    "*",
    "a*",
    "admin*",
    "a*)(uid=*",
    "*)(|(uid=*",
    "admin.simpul)(uid=*",
    "*)(uid=admin.simpul",
    "admin.simpul)(|(objectClass=*",
    "admin.simpul\x00",
    "admin.simpul\\00",
    "admin.simpul\\2a",
    "admin\\2e*",
    "admin.simpul,ou=dinas",
    "uid=admin.simpul,ou=dinas,ou=people,dc=tabalong,dc=go,dc=id",
    "o'brien*",
]


@pytest.mark.parametrize("username", INJECTIONS)
def test_injection_never_reaches_another_account(slapd: Slapd, username: str) -> None:
    for settings in (slapd.config(), direct_bind(slapd, OU_DINAS)):
        assert authenticate(settings, username, ADMIN.password) is None
        assert authenticate(settings, username, METACHAR.password) is None


# --- roles and scope ------------------------------------------------------------------------------


def test_roles_from_member_of_and_from_the_group_search(slapd: Slapd) -> None:
    both = authenticate(slapd.config(), DINSOS.uid, DINSOS.password)
    member_of_only = authenticate(slapd.config(AUTH_LDAP_GROUP_SEARCH=None), DINSOS.uid, DINSOS.password)
    search_only = authenticate(slapd.config(AUTH_LDAP_GROUP_FIELD=None), DINSOS.uid, DINSOS.password)

    assert both is not None and member_of_only is not None and search_only is not None
    assert both.roles == ("Dinsos", "Viewer")
    assert member_of_only.roles == ("Dinsos",)  # memberOf covers groupOfNames only
    assert search_only.roles == ("Dinsos", "Viewer")  # member= and uniqueMember= both found
    assert lower(search_only.groups) == lower(both.groups)
    # The group search filter carries the escaped DN of the metacharacter user.
    meta = authenticate(slapd.config(AUTH_LDAP_GROUP_FIELD=None), METACHAR.uid, METACHAR.password)
    assert meta is not None and lower(meta.groups) == {group_dn("simpul-pengamat")}


def test_no_group_mapped_means_no_roles(slapd: Slapd) -> None:
    account = authenticate(slapd.config(AUTH_ROLES_MAPPING={}), ADMIN.uid, ADMIN.password)
    assert account is not None and account.roles == () and account.groups


def test_scope_attribute_wins_over_ou_mapping(slapd: Slapd) -> None:
    settings = slapd.config()
    assert settings["AUTH_LDAP_SCOPE_MAPPING"]  # her OU, Banua Lawas, is mapped to 63.09.01
    account = authenticate(settings, DESA.uid, DESA.password)
    assert account is not None and (DESA.region, account.scope) == ("6309012001", "63.09.01.2001")

    without_attribute = authenticate(slapd.config(AUTH_LDAP_SCOPE_FIELD=None), DESA.uid, DESA.password)
    assert without_attribute is not None and without_attribute.scope == "63.09.01"


def test_scope_from_the_kecamatan_ous(slapd: Slapd) -> None:
    scopes = {p.uid: authenticate(slapd.config(), p.uid, p.password) for p in (KECAMATAN_BANUA_LAWAS, KECAMATAN_KELUA)}
    assert {uid: account.scope if account else None for uid, account in scopes.items()} == {
        KECAMATAN_BANUA_LAWAS.uid: "63.09.01",
        KECAMATAN_KELUA.uid: "63.09.02",
    }


def test_longest_mapped_suffix_then_groups(slapd: Slapd) -> None:
    nested = {PEOPLE_DN: "63.09", OU_KELUA: "630902"}
    kelua = authenticate(slapd.config(AUTH_LDAP_SCOPE_MAPPING=nested), KECAMATAN_KELUA.uid, KECAMATAN_KELUA.password)
    dinas = authenticate(slapd.config(AUTH_LDAP_SCOPE_MAPPING=nested), VIEWER.uid, VIEWER.password)
    assert (kelua and kelua.scope, dinas and dinas.scope) == ("63.09.02", "63.09")

    by_group = {group_dn("simpul-viewer").upper(): "63.09.01"}
    viewer = authenticate(slapd.config(AUTH_LDAP_SCOPE_MAPPING=by_group), VIEWER.uid, VIEWER.password)
    admin = authenticate(slapd.config(AUTH_LDAP_SCOPE_MAPPING=by_group), ADMIN.uid, ADMIN.password)
    assert (viewer and viewer.scope, admin and admin.scope) == ("63.09.01", None)


def test_unusable_scope_values_are_ignored(slapd: Slapd) -> None:
    # cn holds "Desi Rahmawati", not a code: the OU mapping applies; a bad mapping value is dropped.
    settings = slapd.config(
        AUTH_LDAP_SCOPE_FIELD="cn", AUTH_LDAP_SCOPE_MAPPING={OU_BANUA_LAWAS: "63.9.1", OU_DINAS: "63.09"}
    )
    desa = authenticate(settings, DESA.uid, DESA.password)
    admin = authenticate(settings, ADMIN.uid, ADMIN.password)
    assert (desa and desa.scope, admin and admin.scope) == (None, "63.09")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("63", "63"),
        ("6309", "63.09"),
        ("63.09", "63.09"),
        ("630901", "63.09.01"),
        (" 63.09.01 ", "63.09.01"),
        ("6309012001", "63.09.01.2001"),
        ("63.09.01.2001", "63.09.01.2001"),
        (6309012001, "63.09.01.2001"),
        (b"630902", "63.09.02"),
        ("6", None),
        ("630", None),
        ("63090120", None),
        ("63090120011", None),
        ("63.9.1", None),
        ("63.09.01.201", None),
        ("63..09", None),
        ("63.09.01.2001.1", None),
        ("6309.01", None),
        ("６３.０９", None),  # fullwidth digits
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_normalize_region_code(value: object, expected: str | None) -> None:
    assert normalize_region_code(value) == expected


# --- TLS -----------------------------------------------------------------------------------------------


def test_ldaps_verifies_against_the_ca_file(slapd: Slapd) -> None:
    for url in (slapd.ldaps_url, f"ldaps://localhost:{slapd.ldaps_port}"):
        account = authenticate(slapd.config(AUTH_LDAP_SERVER=url), VIEWER.uid, VIEWER.password)
        assert account is not None and account.roles == ("Viewer",)


def test_starttls_verifies_against_the_ca_file(slapd: Slapd, tmp_path: Path) -> None:
    account = authenticate(slapd.config(AUTH_LDAP_USE_TLS=True), VIEWER.uid, VIEWER.password)
    assert account is not None and account.roles == ("Viewer",)
    # StartTLS really happens: a CA that did not sign the certificate makes it fail.
    other_ca, _key = make_ca(tmp_path, "Other CA")
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        authenticate(
            slapd.config(AUTH_LDAP_USE_TLS=True, AUTH_LDAP_TLS_CACERTFILE=str(other_ca)), VIEWER.uid, VIEWER.password
        )


def test_wrong_ca_makes_the_directory_unavailable(slapd: Slapd, tmp_path: Path) -> None:
    other_ca, _key = make_ca(tmp_path, "Other CA")
    settings = slapd.config(AUTH_LDAP_SERVER=slapd.ldaps_url, AUTH_LDAP_TLS_CACERTFILE=str(other_ca))
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        authenticate(settings, VIEWER.uid, VIEWER.password)
    # The system CAs did not sign it either.
    with pytest.raises(DirectoryUnavailable, match="certificate verify failed"):
        authenticate(
            slapd.config(AUTH_LDAP_SERVER=slapd.ldaps_url, AUTH_LDAP_TLS_CACERTFILE=None), VIEWER.uid, VIEWER.password
        )
    # AUTH_LDAP_ALLOW_SELF_SIGNED turns the check off.
    unchecked = authenticate({**settings, "AUTH_LDAP_ALLOW_SELF_SIGNED": True}, VIEWER.uid, VIEWER.password)
    assert unchecked is not None and unchecked.roles == ("Viewer",)


@pytest.mark.parametrize("scheme", ["ldaps", "ldap"])
def test_certificate_must_name_the_server(slapd: Slapd, scheme: str) -> None:
    settings = slapd.config(AUTH_LDAP_SERVER=slapd.url_outside_certificate(scheme), AUTH_LDAP_USE_TLS=True)
    with pytest.raises(DirectoryUnavailable, match="IP address mismatch"):
        authenticate(settings, VIEWER.uid, VIEWER.password)
    assert authenticate({**settings, "AUTH_LDAP_ALLOW_SELF_SIGNED": True}, VIEWER.uid, VIEWER.password) is not None


def test_missing_ca_file_is_a_configuration_error(slapd: Slapd, tmp_path: Path) -> None:
    settings = slapd.config(AUTH_LDAP_SERVER=slapd.ldaps_url, AUTH_LDAP_TLS_CACERTFILE=str(tmp_path / "none.pem"))
    with pytest.raises(DirectoryUnavailable, match="TLS settings"):
        authenticate(settings, VIEWER.uid, VIEWER.password)


# --- an unavailable directory ---------------------------------------------------------------------------


def test_directory_stopped_mid_test_then_back(running: Slapd) -> None:
    settings = running.config(AUTH_LDAP_TIMEOUT=2)
    assert authenticate(settings, VIEWER.uid, VIEWER.password) is not None

    running.stop()
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable, match="refused"):
        authenticate(settings, VIEWER.uid, VIEWER.password)
    assert time.monotonic() - started < 6

    running.start()
    account = authenticate(settings, VIEWER.uid, VIEWER.password)
    assert account is not None and account.roles == ("Viewer",)


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_hung_directory_times_out(running: Slapd, tls: bool) -> None:
    settings = running.config(AUTH_LDAP_TIMEOUT=1, AUTH_LDAP_USE_TLS=tls)
    with running.paused():
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable, match="timed out"):
            authenticate(settings, VIEWER.uid, VIEWER.password)
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 4
    assert authenticate(settings, VIEWER.uid, VIEWER.password) is not None


def test_closed_port_fails_fast(slapd: Slapd) -> None:
    for url in (f"ldap://127.0.0.1:{free_port()}", f"ldaps://127.0.0.1:{free_port()}"):
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable, match="refused"):
            authenticate(slapd.config(AUTH_LDAP_SERVER=url, AUTH_LDAP_TIMEOUT=2), VIEWER.uid, VIEWER.password)
        assert time.monotonic() - started < 2


def test_unresolvable_host_is_unavailable(slapd: Slapd) -> None:
    with pytest.raises(DirectoryUnavailable, match="cannot resolve"):
        authenticate(slapd.config(AUTH_LDAP_SERVER="ldap://ldap.invalid:389"), VIEWER.uid, VIEWER.password)


def test_next_server_answers_when_the_first_is_down(slapd: Slapd) -> None:
    down = f"ldap://127.0.0.1:{free_port()}"
    for servers in ([down, slapd.url], f"{down} {slapd.url}"):
        account = authenticate(slapd.config(AUTH_LDAP_SERVER=servers), VIEWER.uid, VIEWER.password)
        assert account is not None and account.roles == ("Viewer",)
    # A wrong password stays a wrong password; no server is "down" because of it.
    assert authenticate(slapd.config(AUTH_LDAP_SERVER=[down, slapd.url]), VIEWER.uid, "nope") is None


def test_wrong_service_password_is_a_misconfiguration(slapd: Slapd) -> None:
    settings = slapd.config(AUTH_LDAP_BIND_PASSWORD="not-the-service-password")
    with pytest.raises(DirectoryUnavailable, match="service account"):
        authenticate(settings, VIEWER.uid, VIEWER.password)
    with pytest.raises(DirectoryUnavailable, match="service account"):
        authenticate(
            slapd.config(AUTH_LDAP_BIND_USER=f"cn=nobody,ou=services,{slapd.base_dn}"), VIEWER.uid, VIEWER.password
        )


def test_missing_search_base_is_a_misconfiguration(slapd: Slapd) -> None:
    with pytest.raises(DirectoryUnavailable, match="AUTH_LDAP_SEARCH"):
        authenticate(slapd.config(AUTH_LDAP_SEARCH=f"ou=orang,{slapd.base_dn}"), VIEWER.uid, VIEWER.password)
    with pytest.raises(DirectoryUnavailable, match="AUTH_LDAP_GROUP_SEARCH"):
        authenticate(slapd.config(AUTH_LDAP_GROUP_SEARCH=f"ou=grup,{slapd.base_dn}"), VIEWER.uid, VIEWER.password)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"AUTH_LDAP_SERVER": None}, "AUTH_LDAP_SERVER is not set"),
        ({"AUTH_LDAP_SERVER": "http://127.0.0.1:389"}, "expected ldap://"),
        ({"AUTH_LDAP_SERVER": "ldap://127.0.0.1:99999"}, "bad URL"),
        ({"AUTH_LDAP_BIND_USER": None}, "AUTH_LDAP_USERNAME_FORMAT"),
        ({"AUTH_LDAP_SEARCH": ""}, "AUTH_LDAP_SEARCH"),
        ({"AUTH_LDAP_SEARCH_FILTER": "objectClass=*"}, "parenthesised"),
        ({"AUTH_LDAP_TIMEOUT": 0}, "AUTH_LDAP_TIMEOUT"),
        ({"AUTH_LDAP_GROUP_SEARCH_FILTER": "(member=x)"}, "{dn}"),
    ],
)
def test_bad_settings_are_reported(slapd: Slapd, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(DirectoryUnavailable, match=message.replace("{", r"\{").replace("}", r"\}")):
        authenticate(slapd.config(**overrides), VIEWER.uid, VIEWER.password)


def test_passwords_never_reach_the_log(slapd: Slapd, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    authenticate(slapd.config(), ADMIN.uid, ADMIN.password)
    authenticate(slapd.config(), ADMIN.uid, "Salah#Sandi99")
    with pytest.raises(AccountExcluded):
        authenticate(slapd.config(), LOCKED.uid, LOCKED.password)
    with pytest.raises(DirectoryUnavailable):
        authenticate(slapd.config(AUTH_LDAP_BIND_PASSWORD="Salah#Layanan99"), ADMIN.uid, ADMIN.password)

    assert "signed in" in caplog.text and "refused" in caplog.text  # something was logged
    for secret in (ADMIN.password, "Salah#Sandi99", LOCKED.password, "Salah#Layanan99"):
        assert secret not in caplog.text


def test_group_search_filter_for_members_only(slapd: Slapd) -> None:
    # A custom filter, as for AD's nested groups; here: groupOfNames members only.
    account = authenticate(
        slapd.config(
            AUTH_LDAP_GROUP_FIELD=None, AUTH_LDAP_GROUP_SEARCH=GROUPS_DN, AUTH_LDAP_GROUP_SEARCH_FILTER="(member={dn})"
        ),
        DINSOS.uid,
        DINSOS.password,
    )
    assert account is not None and account.roles == ("Dinsos",)
