"""Sign-in against an LDAP directory (Active Directory or OpenLDAP) with ldap3.

A plain client with no Flask imports: `authenticate(app.config, username, password)` checks the
password against the directory and reads the person's name, e-mail, groups, Simpul roles and
region scope. Setting names follow Flask-AppBuilder's AUTH_LDAP_* where FAB has one, with the
same meaning; Simpul adds AUTH_LDAP_GROUP_SEARCH[_FILTER], AUTH_LDAP_SCOPE_FIELD,
AUTH_LDAP_SCOPE_MAPPING and AUTH_LDAP_TIMEOUT.

Two ways to find the person:

* search, then bind (AUTH_LDAP_BIND_USER set): bind as the service account, search
  AUTH_LDAP_SEARCH for ``(&(<AUTH_LDAP_UID_FIELD>=<username>)<AUTH_LDAP_SEARCH_FILTER>)``;
  exactly one entry must match; then bind as that entry with the password on a fresh connection.
* direct bind (no service account): bind as AUTH_LDAP_USERNAME_FORMAT % username (a DN) or as
  username@AUTH_LDAP_APPEND_DOMAIN (an Active Directory UPN), then, as that person, search for
  the own entry with the same filter, so accounts excluded by AUTH_LDAP_SEARCH_FILTER (disabled,
  locked) are refused either way.

An account the filter excludes is told apart from a wrong password (AccountExcluded) only once
its password was accepted by a bind, so the answer tells nothing to someone guessing names.

Several servers (AUTH_LDAP_SERVER as a list or a space-separated string) are tried in order, the
first that answers serves the whole sign-in. ldap3's own ServerPool is not used: a pool checking
for active servers sleeps POOLING_LOOP_TIMEOUT (10 s, process-wide) after a failed round. Every
connect, TLS handshake and response wait is bounded by AUTH_LDAP_TIMEOUT; host names are looked up
with the system resolver and its own timeouts.
"""

from __future__ import annotations

import ast
import logging
import math
import re
import socket
import ssl
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

with warnings.catch_warnings():
    # ldap3 2.9.1, its latest release, reads pyasn1's tagMap/typeMap aliases at import time, which
    # pyasn1 >= 0.6.1 deprecates (fixed in ldap3's repository, not released).
    warnings.filterwarnings("ignore", message=r"(tag|type)Map is deprecated", category=DeprecationWarning)
    import ldap3
    from ldap3.core import exceptions as ldap_errors
    from ldap3.core import results
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn, parse_dn

log = logging.getLogger(__name__)

DEFAULT_GROUP_SEARCH_FILTER = (
    "(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn})))"
)
DEFAULT_TIMEOUT = 5.0
MAX_USERNAME_LENGTH = 256
_PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
_GROUP_PAGE_SIZE = 500
_REGION_PART_LENGTHS = (2, 2, 2, 4)  # province . district . sub-district . village
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# Bind results that mean "not this person with this password" rather than a broken directory.
_BIND_REFUSED = {
    results.RESULT_INVALID_CREDENTIALS,
    results.RESULT_INAPPROPRIATE_AUTHENTICATION,
    results.RESULT_INSUFFICIENT_ACCESS_RIGHTS,
    results.RESULT_UNWILLING_TO_PERFORM,
    results.RESULT_NO_SUCH_OBJECT,
    results.RESULT_INVALID_DN_SYNTAX,
    results.RESULT_CONSTRAINT_VIOLATION,
}
# Results after which another server may well answer.
_SERVER_TROUBLE = {results.RESULT_BUSY, results.RESULT_UNAVAILABLE, results.RESULT_TIME_LIMIT_EXCEEDED}


@dataclass(frozen=True)
class DirectoryAccount:
    """A person the directory vouched for."""

    username: str  # as typed (stripped)
    dn: str
    first_name: str
    last_name: str
    email: str
    groups: frozenset[str]  # group DNs: memberOf values and group-search results
    roles: tuple[str, ...]  # role names from AUTH_ROLES_MAPPING, sorted, deduplicated
    scope: str | None  # region code "63.09.01" / "63.09.01.2001" from the directory, or None


class AccountExcluded(Exception):
    """The password is right, but the entry does not match AUTH_LDAP_SEARCH_FILTER (disabled, locked, …)."""

    def __init__(self, dn: str) -> None:
        super().__init__(f"{dn} does not match AUTH_LDAP_SEARCH_FILTER")
        self.dn = dn


class DirectoryUnavailable(Exception):
    """The directory could not be reached or answered (connection refused, timeout, TLS failure,
    server down mid-operation, service-account bind refused, unusable LDAP settings)."""


class _ServerFailed(Exception):
    """This server did not answer properly; the next configured one may."""


def authenticate(config: Mapping[str, Any], username: str, password: str) -> DirectoryAccount | None:
    """The directory's account for username/password, or None.

    None: unknown user, wrong password, empty username or password, or several entries for the
    name. Raises AccountExcluded when the password is right but AUTH_LDAP_SEARCH_FILTER excludes
    the account (e.g. disabled), DirectoryUnavailable when the directory can't be used. Never
    hangs: every network operation has a timeout (AUTH_LDAP_TIMEOUT seconds, default 5).
    """
    name = _clean_username(username)
    if name is None or not isinstance(password, str) or not password:
        return None  # an empty password would be an unauthenticated bind: "success" on many servers
    settings = _Settings(config)
    failures: list[str] = []
    for server in settings.servers():
        if isinstance(server, str):  # a URL that could not be resolved
            failures.append(server)
            continue
        try:
            return _authenticate_on(server, settings, name, password)
        except _ServerFailed as failure:
            log.warning("LDAP server %s failed: %s", server.name, failure)
            failures.append(f"{server.name}: {failure}")
    reason = "; ".join(failures) or "no LDAP server configured"
    log.error("LDAP directory unavailable: no configured server answered")
    raise DirectoryUnavailable(f"LDAP directory unavailable ({reason})")


def gives_scope(config: Mapping[str, Any]) -> bool:
    """Whether the settings take working areas from the directory (AUTH_LDAP_SCOPE_FIELD or _MAPPING)."""
    return bool(_field(config, "AUTH_LDAP_SCOPE_FIELD", None) or config.get("AUTH_LDAP_SCOPE_MAPPING"))


def normalize_region_code(value: Any) -> str | None:
    """A region code in dotted form: "63.09.01", "630901" → "63.09.01"; "6309012001" → "63.09.01.2001".

    Codes have 2, 2.2, 2.2.2 or 2.2.2.4 digits; anything else gives None.
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    if "." in text:
        parts = text.split(".")
    else:
        parts, start = [], 0
        for length in _REGION_PART_LENGTHS:
            if start >= len(text):
                break
            parts.append(text[start : start + length])
            start += length
        if start != len(text):
            return None
    if not 1 <= len(parts) <= len(_REGION_PART_LENGTHS):
        return None
    for part, length in zip(parts, _REGION_PART_LENGTHS, strict=False):
        if len(part) != length or not re.fullmatch(r"[0-9]+", part):
            return None
    return ".".join(parts)


# --- settings -----------------------------------------------------------------------------------


class _Settings:
    """AUTH_LDAP_* settings read once per sign-in; bad values raise DirectoryUnavailable."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.urls = _server_urls(config.get("AUTH_LDAP_SERVER"))
        self.use_tls = _flag(config.get("AUTH_LDAP_USE_TLS", False))
        timeout = config.get("AUTH_LDAP_TIMEOUT", DEFAULT_TIMEOUT)
        try:
            timeout = float(timeout)
        except (TypeError, ValueError):
            timeout = -1.0
        if not 0 < timeout <= 300:
            raise DirectoryUnavailable(
                f"AUTH_LDAP_TIMEOUT must be a number of seconds, not {config.get('AUTH_LDAP_TIMEOUT')!r}"
            )
        self.connect_timeout = timeout
        # ldap3 sets SO_RCVTIMEO from this value as whole seconds.
        self.receive_timeout = max(1, math.ceil(timeout))

        self.bind_user = _text(config.get("AUTH_LDAP_BIND_USER"))
        self.bind_password = config.get("AUTH_LDAP_BIND_PASSWORD") or ""
        if isinstance(self.bind_password, int) and not isinstance(self.bind_password, bool):
            self.bind_password = str(self.bind_password)  # SIMPUL_* variables are read as JSON
        if not isinstance(self.bind_password, str):
            raise DirectoryUnavailable("AUTH_LDAP_BIND_PASSWORD must be text")
        self.username_format = _text(config.get("AUTH_LDAP_USERNAME_FORMAT"))
        self.append_domain = _text(config.get("AUTH_LDAP_APPEND_DOMAIN"))
        if self.bind_user and not self.bind_password:
            raise DirectoryUnavailable("AUTH_LDAP_BIND_USER is set but AUTH_LDAP_BIND_PASSWORD is empty")
        if not self.bind_user and not self.username_format and not self.append_domain:
            raise DirectoryUnavailable(
                "set AUTH_LDAP_BIND_USER (search, then bind) or AUTH_LDAP_USERNAME_FORMAT / AUTH_LDAP_APPEND_DOMAIN (direct bind)"
            )
        if self.username_format and self.username_format.count("%s") != 1:
            raise DirectoryUnavailable("AUTH_LDAP_USERNAME_FORMAT must contain %s exactly once")

        self.search_base = _text(config.get("AUTH_LDAP_SEARCH"))
        if not self.search_base:
            raise DirectoryUnavailable("AUTH_LDAP_SEARCH (base DN of the people to search) is not set")
        self.search_filter = _text(config.get("AUTH_LDAP_SEARCH_FILTER")) or ""
        if self.search_filter and not (self.search_filter.startswith("(") and self.search_filter.endswith(")")):
            raise DirectoryUnavailable("AUTH_LDAP_SEARCH_FILTER must be a parenthesised LDAP filter")
        self.uid_field = _text(config.get("AUTH_LDAP_UID_FIELD")) or "uid"
        self.first_name_field = _field(config, "AUTH_LDAP_FIRSTNAME_FIELD", "givenName")
        self.last_name_field = _field(config, "AUTH_LDAP_LASTNAME_FIELD", "sn")
        self.email_field = _field(config, "AUTH_LDAP_EMAIL_FIELD", "mail")
        self.group_field = _field(config, "AUTH_LDAP_GROUP_FIELD", "memberOf")
        self.scope_field = _field(config, "AUTH_LDAP_SCOPE_FIELD", None)
        self.group_search = _text(config.get("AUTH_LDAP_GROUP_SEARCH"))
        self.group_filter = _text(config.get("AUTH_LDAP_GROUP_SEARCH_FILTER")) or DEFAULT_GROUP_SEARCH_FILTER
        if "{dn}" not in self.group_filter:
            raise DirectoryUnavailable("AUTH_LDAP_GROUP_SEARCH_FILTER must contain {dn}")

        self.roles_by_group: dict[_DnKey, tuple[str, ...]] = {}
        roles_mapping = config.get("AUTH_ROLES_MAPPING") or {}
        if callable(roles_mapping):  # FAB allows a callable returning the dict
            roles_mapping = roles_mapping() or {}
        if not isinstance(roles_mapping, Mapping):
            raise DirectoryUnavailable("AUTH_ROLES_MAPPING must map group DNs to lists of role names")
        for group, roles in roles_mapping.items():
            key = _dn_key(group)
            names = (roles,) if isinstance(roles, str) else tuple(roles or ())
            if key is None:
                log.error("AUTH_ROLES_MAPPING: %r is not a DN; ignored", group)
                continue
            self.roles_by_group[key] = tuple(dict.fromkeys(self.roles_by_group.get(key, ()) + names))
        self.scope_by_dn: dict[_DnKey, str] = {}
        scope_mapping = config.get("AUTH_LDAP_SCOPE_MAPPING") or {}
        if not isinstance(scope_mapping, Mapping):
            raise DirectoryUnavailable("AUTH_LDAP_SCOPE_MAPPING must map DNs to region codes")
        for dn, code in scope_mapping.items():
            key, region = _dn_key(dn), normalize_region_code(code)
            if key is None or region is None:
                log.error("AUTH_LDAP_SCOPE_MAPPING: %r → %r is not a DN and a region code; ignored", dn, code)
                continue
            self.scope_by_dn[key] = region

        self.tls_context = _tls_context(config) if self.use_tls or any(u.scheme == "ldaps" for u in self.urls) else None

    def servers(self) -> Iterator[_Server | str]:
        """One server per address of each URL, in order; a string for a URL that won't resolve."""
        for url in self.urls:
            try:
                infos = socket.getaddrinfo(url.host, url.port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                yield f"{url.text}: cannot resolve {url.host} ({exc})"
                continue
            seen: set[tuple[int, str]] = set()
            for family, _type, _proto, _name, sockaddr in infos:
                address = str(sockaddr[0])
                if family not in (socket.AF_INET, socket.AF_INET6) or (family, address) in seen:
                    continue
                seen.add((family, address))
                yield _Server(url, family, address, self)

    def bind_name(self, username: str) -> str:
        """Whom to bind as in direct-bind mode."""
        if self.username_format:
            return self.username_format % escape_rdn(username)
        return f"{username}@{self.append_domain}"

    def user_filter(self, username: str, filtered: bool = True) -> str:
        """The search for username's entry, with AUTH_LDAP_SEARCH_FILTER unless filtered is False."""
        extra = self.search_filter if filtered else ""
        return f"(&({self.uid_field}={escape_filter_chars(username)}){extra})"

    def attributes(self) -> list[str]:
        wanted = [
            self.uid_field,
            self.first_name_field,
            self.last_name_field,
            self.email_field,
            self.group_field,
            self.scope_field,
        ]
        return list(dict.fromkeys(a for a in wanted if a))


@dataclass(frozen=True)
class _Url:
    text: str
    scheme: str
    host: str
    port: int


def _server_urls(value: Any) -> list[_Url]:
    if isinstance(value, str):
        items = [item for item in re.split(r"[\s,]+", value) if item]
    elif isinstance(value, list | tuple):
        items = [str(item).strip() for item in value if str(item).strip()]
    else:
        items = []
    if not items:
        raise DirectoryUnavailable("AUTH_LDAP_SERVER is not set")
    urls = []
    for item in items:
        try:
            parts = urlsplit(item)
            port = parts.port
        except ValueError as exc:
            raise DirectoryUnavailable(f"AUTH_LDAP_SERVER: bad URL {item!r} ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ("ldap", "ldaps") or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise DirectoryUnavailable(
                f"AUTH_LDAP_SERVER: expected ldap://host:port or ldaps://host:port, not {item!r}"
            )
        urls.append(_Url(item, scheme, parts.hostname, port or (636 if scheme == "ldaps" else 389)))
    return urls


def _tls_context(config: Mapping[str, Any]) -> ssl.SSLContext:
    """Certificate checks as configured: the CA file or directory (else the system CAs) and the host name."""
    cafile = _text(config.get("AUTH_LDAP_TLS_CACERTFILE"))
    capath = _text(config.get("AUTH_LDAP_TLS_CACERTDIR"))
    certfile = _text(config.get("AUTH_LDAP_TLS_CERTFILE"))
    keyfile = _text(config.get("AUTH_LDAP_TLS_KEYFILE"))
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile, capath=capath)
        if _flag(config.get("AUTH_LDAP_ALLOW_SELF_SIGNED", False)):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if certfile:
            context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise DirectoryUnavailable(f"LDAP TLS settings unusable: {exc}") from None
    return context


class _ContextTls(ldap3.Tls):
    """ldap3's Tls on a ready SSLContext, so the standard library checks the certificate's name.

    ldap3 2.9.1 turns the context's host-name check off and calls ssl.match_hostname, deprecated
    since Python 3.7 and gone in 3.12.
    """

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        super().__init__(validate=context.verify_mode)
        self.context = context
        self.host = host

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        connection.socket = self.context.wrap_socket(
            connection.socket, server_side=False, do_handshake_on_connect=do_handshake, server_hostname=self.host
        )


class _Server:
    """One address of one configured URL."""

    def __init__(self, url: _Url, family: int, address: str, settings: _Settings) -> None:
        self.name = url.text if url.host == address else f"{url.text} ({address})"
        tls = _ContextTls(settings.tls_context, url.host) if settings.tls_context else None
        self.ldap = ldap3.Server(
            address,
            port=url.port,
            use_ssl=url.scheme == "ldaps",
            tls=tls,
            get_info=ldap3.NONE,
            connect_timeout=settings.connect_timeout,
            mode=ldap3.IP_V4_ONLY if family == socket.AF_INET else ldap3.IP_V6_ONLY,
        )
        self.start_tls = settings.use_tls and url.scheme == "ldap"
        self.receive_timeout = settings.receive_timeout


# --- the sign-in ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    dn: str
    attributes: dict[str, list[str]]  # lower-case attribute names

    def first(self, name: str | None) -> str:
        values = self.attributes.get(name.lower(), []) if name else []
        return values[0].strip() if values else ""

    def all(self, name: str | None) -> list[str]:
        return self.attributes.get(name.lower(), []) if name else []


def _authenticate_on(server: _Server, settings: _Settings, username: str, password: str) -> DirectoryAccount | None:
    try:
        if settings.bind_user:
            with _session(server, settings.bind_user, settings.bind_password) as (conn, result):
                if result["result"] != results.RESULT_SUCCESS:
                    if result["result"] in _SERVER_TROUBLE:
                        raise _ServerFailed(f"service account bind: {_describe(result)}")
                    raise DirectoryUnavailable(
                        f"LDAP service account bind refused ({_describe(result)}); check AUTH_LDAP_BIND_USER/AUTH_LDAP_BIND_PASSWORD"
                    )
                entry, excluded = _find_person(conn, settings, username)
                if entry is None:
                    return None
                with _session(server, entry.dn, password) as (_user_conn, user_result):
                    if not _bind_accepted(user_result, entry.dn):
                        return None
                if excluded:
                    raise _excluded(username, entry)
                groups = _groups_of(conn, settings, entry)
        else:
            bind_name = settings.bind_name(username)
            with _session(server, bind_name, password) as (conn, result):
                if not _bind_accepted(result, bind_name):
                    return None
                entry, excluded = _find_person(conn, settings, username)
                if entry is None:
                    return None
                if settings.username_format and _dn_key(entry.dn) != _dn_key(bind_name):
                    log.info("LDAP: %r bound as %s but the search found %s; refused", username, bind_name, entry.dn)
                    return None
                if excluded:
                    raise _excluded(username, entry)
                groups = _groups_of(conn, settings, entry)
    except (
        ldap_errors.LDAPCommunicationError,
        ldap_errors.LDAPStartTLSError,
        ldap_errors.LDAPResponseTimeoutError,
        OSError,
    ) as exc:
        raise _ServerFailed(_exception_text(exc)) from None
    except ldap_errors.LDAPException as exc:
        raise DirectoryUnavailable(f"LDAP error: {_exception_text(exc)}") from None
    account = _account(settings, username, entry, groups)
    log.info("LDAP: %r signed in as %s, roles %s, scope %s", username, entry.dn, list(account.roles), account.scope)
    return account


@contextmanager
def _session(server: _Server, user: str, password: str) -> Iterator[tuple[ldap3.Connection, dict[str, Any]]]:
    """An open connection bound (or not: see the result) as user; always closed afterwards."""
    conn = ldap3.Connection(
        server.ldap,
        user=user,
        # UTF-8 bytes go out as they are; a str would get SASLprep, which rewrites some characters
        # and rejects others with an exception.
        password=password.encode("utf-8"),
        authentication=ldap3.SIMPLE,
        client_strategy=ldap3.SYNC,
        auto_bind=ldap3.AUTO_BIND_NONE,
        read_only=True,
        raise_exceptions=False,
        receive_timeout=server.receive_timeout,
        auto_referrals=False,
    )
    try:
        conn.open(read_server_info=False)
        if server.start_tls:
            conn.start_tls(read_server_info=False)
        conn.bind(read_server_info=False)
        yield conn, dict(conn.result or {"result": results.RESULT_OTHER, "description": "no bind response"})
    finally:
        _close(conn)


def _close(conn: ldap3.Connection) -> None:
    with suppress(Exception):  # a broken connection: its socket is closed below all the same
        if not conn.closed:
            conn.unbind()
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with suppress(OSError):
            sock.close()


def _bind_accepted(result: dict[str, Any], who: str) -> bool:
    code = result["result"]
    if code == results.RESULT_SUCCESS:
        return True
    if code in _BIND_REFUSED:
        log.info("LDAP: bind as %s refused (%s)", who, _describe(result))
        return False
    if code in _SERVER_TROUBLE:
        raise _ServerFailed(f"bind: {_describe(result)}")
    raise DirectoryUnavailable(f"LDAP bind failed ({_describe(result)})")


def _find_person(conn: ldap3.Connection, settings: _Settings, username: str) -> tuple[_Entry | None, bool]:
    """The one entry for username, and whether AUTH_LDAP_SEARCH_FILTER excludes it; (None, False): none.

    The entry that passes the filter, else the one entry of that name without the filter, so
    that a right password on an excluded account can be answered as such after its bind.
    """
    entry = _search_person(conn, settings, username, filtered=True)
    if entry is None and settings.search_filter:
        entry = _search_person(conn, settings, username, filtered=False)
        if entry is not None:
            return entry, True
    if entry is None:
        log.info("LDAP: no entry for %r under %s", username, settings.search_base)
    return entry, False


def _excluded(username: str, entry: _Entry) -> AccountExcluded:
    log.warning("LDAP: %r (%s) gave the right password but does not match AUTH_LDAP_SEARCH_FILTER", username, entry.dn)
    return AccountExcluded(entry.dn)


def _search_person(conn: ldap3.Connection, settings: _Settings, username: str, filtered: bool) -> _Entry | None:
    """The one entry for username (with or without AUTH_LDAP_SEARCH_FILTER), or None."""
    conn.search(
        settings.search_base,
        settings.user_filter(username, filtered),
        search_scope=ldap3.SUBTREE,
        attributes=settings.attributes(),
        size_limit=2,
        time_limit=settings.receive_timeout,
    )
    result = conn.result or {}
    code = result.get("result")
    if code == results.RESULT_SIZE_LIMIT_EXCEEDED:
        log.warning("LDAP: %r matches several entries under %s; refused", username, settings.search_base)
        return None
    _check_search(result, "AUTH_LDAP_SEARCH", settings.search_base)
    entries = _entries(conn)
    if len(entries) > 1:
        log.warning("LDAP: %r matches %d entries under %s; refused", username, len(entries), settings.search_base)
    return entries[0] if len(entries) == 1 else None


def _groups_of(conn: ldap3.Connection, settings: _Settings, entry: _Entry) -> list[str]:
    """Group DNs: the entry's group attribute, then the groups found under AUTH_LDAP_GROUP_SEARCH."""
    groups = list(entry.all(settings.group_field))
    if not settings.group_search:
        return groups
    search_filter = settings.group_filter.replace("{dn}", escape_filter_chars(entry.dn))
    cookie: bytes | None = None
    while True:
        conn.search(
            settings.group_search,
            search_filter,
            search_scope=ldap3.SUBTREE,
            attributes=[ldap3.NO_ATTRIBUTES],
            paged_size=_GROUP_PAGE_SIZE,
            paged_cookie=cookie,
            time_limit=settings.receive_timeout,
        )
        result = conn.result or {}
        partial = result.get("result") == results.RESULT_SIZE_LIMIT_EXCEEDED
        if not partial:
            _check_search(result, "AUTH_LDAP_GROUP_SEARCH", settings.group_search)
        groups.extend(found.dn for found in _entries(conn))
        if partial:
            log.warning(
                "LDAP: group search under %s hit the server's size limit; some groups may be missing",
                settings.group_search,
            )
            return groups
        cookie = ((result.get("controls") or {}).get(_PAGED_RESULTS_OID) or {}).get("value", {}).get("cookie")
        if not cookie:
            return groups


def _check_search(result: dict[str, Any], setting: str, base: str) -> None:
    code = result.get("result")
    if code == results.RESULT_SUCCESS:
        return
    if code in _SERVER_TROUBLE:
        raise _ServerFailed(f"search: {_describe(result)}")
    if code == results.RESULT_NO_SUCH_OBJECT:
        raise DirectoryUnavailable(f"{setting} {base!r} does not exist or cannot be read")
    raise DirectoryUnavailable(f"LDAP search under {base!r} failed ({_describe(result)})")


def _entries(conn: ldap3.Connection) -> list[_Entry]:
    found = []
    for item in conn.response or []:
        if item.get("type") != "searchResEntry":
            continue  # referrals are not followed
        attributes: dict[str, list[str]] = {}
        for name, values in (item.get("attributes") or {}).items():
            values = values if isinstance(values, list) else [values]
            attributes[name.lower()] = [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values
            ]
        found.append(_Entry(item["dn"], attributes))
    return found


def _account(settings: _Settings, username: str, entry: _Entry, group_dns: list[str]) -> DirectoryAccount:
    groups: dict[_DnKey, str] = {}
    for dn in group_dns:
        key = _dn_key(dn)
        if key is not None:
            groups.setdefault(key, dn)
    roles = {role for key in groups for role in settings.roles_by_group.get(key, ())}
    return DirectoryAccount(
        username=username,
        dn=entry.dn,
        first_name=entry.first(settings.first_name_field),
        last_name=entry.first(settings.last_name_field),
        email=entry.first(settings.email_field),
        groups=frozenset(groups.values()),
        roles=tuple(sorted(roles)),
        scope=_scope(settings, entry, groups),
    )


def _scope(settings: _Settings, entry: _Entry, groups: Mapping[_DnKey, str]) -> str | None:
    """The region: the scope attribute, else the longest mapped suffix of the DN, else a mapped group."""
    for value in entry.all(settings.scope_field):
        code = normalize_region_code(value)
        if code:
            return code
        log.warning("LDAP: %s has %s=%r, not a region code; ignored", entry.dn, settings.scope_field, value)
    key = _dn_key(entry.dn)
    if key is not None:
        for start in range(len(key)):
            code = settings.scope_by_dn.get(key[start:])
            if code:
                return code
    codes = sorted({settings.scope_by_dn[g] for g in groups if g in settings.scope_by_dn}, key=lambda c: (-len(c), c))
    if len(codes) > 1:
        log.warning("LDAP: groups of %s map to regions %s; using the most specific, %s", entry.dn, codes, codes[0])
    return codes[0] if codes else None


# --- small helpers --------------------------------------------------------------------------------

_DnKey = tuple[tuple[tuple[str, str], ...], ...]  # RDNs, each a sorted tuple of (attribute, value)


def _dn_key(dn: Any) -> _DnKey | None:
    """A DN for comparison: attribute names and values without case, escapes or extra spaces."""
    if not isinstance(dn, str) or not dn.strip():
        return None
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except ldap_errors.LDAPInvalidDnError:
        return None
    rdns: list[tuple[tuple[str, str], ...]] = []
    current: list[tuple[str, str]] = []
    for attribute, value, separator in parts:
        current.append((attribute.strip().lower(), " ".join(_unescape_dn_value(value).split()).casefold()))
        if separator != "+":
            rdns.append(tuple(sorted(current)))
            current = []
    if current:
        rdns.append(tuple(sorted(current)))
    return tuple(rdns)


def _unescape_dn_value(value: str) -> str:
    r"""RFC 4514 escapes undone: "\2C" and "\," both become ","."""
    out = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            pair = value[i + 1 : i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                out.append(int(pair, 16))
                i += 3
                continue
            out.extend(value[i + 1].encode())
            i += 2
            continue
        out.extend(char.encode())
        i += 1
    return out.decode("utf-8", "replace")


def _clean_username(username: Any) -> str | None:
    if not isinstance(username, str):
        return None
    name = username.strip()
    if not name or len(name) > MAX_USERNAME_LENGTH or _CONTROL_CHARACTERS.search(name):
        return None
    return name


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _field(config: Mapping[str, Any], name: str, default: str | None) -> str | None:
    """An attribute-name setting: default when absent, none when set empty."""
    return _text(config[name]) if name in config else default


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _describe(result: Mapping[str, Any]) -> str:
    text = str(result.get("description") or result.get("result"))
    message = str(result.get("message") or "").strip()
    return f"{text}: {message}" if message else text


_LDAP3_PREFIXES = {
    "socket connection error while opening: ": "cannot connect: ",
    "socket ssl wrapping error: ": "TLS handshake failed: ",
    "wrap socket error: ": "StartTLS handshake failed: ",
    "error receiving data: ": "no answer: ",
    "error sending data: ": "cannot send: ",
}


def _exception_text(exc: BaseException) -> str:
    """A short reason from an ldap3 exception, which often wraps another's repr: ('("…",)',)."""
    text = str(exc).strip()
    for _ in range(5):
        if not text.startswith("("):
            break
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            break
        if not (isinstance(value, tuple) and value and isinstance(value[0], str)):
            break
        text = value[0].strip()
    text = re.sub(r"^\[SSL: [A-Z_]+\] |\s*\(_ssl\.c:\d+\)", "", text)
    for prefix, short in _LDAP3_PREFIXES.items():
        if text.startswith(prefix):
            text = short + re.sub(r"^\[SSL: [A-Z_]+\] ", "", text[len(prefix) :])
            break
    return text or type(exc).__name__
