"""A private OpenLDAP server (Debian's slapd) on loopback for tests: Kabupaten Tabalong's directory.

`running_slapd(workdir)` makes a throw-away CA and server certificate (openssl CLI), writes a
slapd.conf (Debian's core/cosine/inetorgperson/nis schemas; back_mdb; the memberof overlay, so
groupOfNames membership shows as memberOf; the ppolicy module for pwdAccountLockedTime), starts
/usr/sbin/slapd in the foreground as a child process on two free ports (ldap:// with StartTLS,
and ldaps://) of 127.0.0.1, which the certificate names, and of 127.0.0.2, which it does not,
loads the people and groups below with ldapadd, and stops it at the end. `Slapd.stop()` and
`start()` restart it on the same ports and data; `paused()` freezes it. `left_groups()` and
`attribute_replaced()` change a person's entry for a block (as an administrator would between two
sign-ins) and put it back afterwards, since the server is shared by the whole test run.

The password-policy overlay is deliberately not active: a locked account (pwdAccountLockedTime)
can still bind, so only Simpul's AUTH_LDAP_SEARCH_FILTER keeps it out, and the tests prove that.
`allow bind_anon_dn` makes the server accept a DN with an empty password as an anonymous bind,
the classic trap a client has to avoid.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.postgres import free_port

SLAPD = Path("/usr/sbin/slapd")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMA_DIR = Path("/etc/ldap/schema")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
MODULES = ("back_mdb", "memberof", "ppolicy")

BASE_DN = "dc=tabalong,dc=go,dc=id"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "Root#Tabalong-2024"
SERVICE_DN = f"cn=simpul,ou=services,{BASE_DN}"
SERVICE_PASSWORD = "Layanan#Simpul-2024"
PEOPLE_DN = f"ou=people,{BASE_DN}"
GROUPS_DN = f"ou=groups,{BASE_DN}"
OU_DINAS = f"ou=dinas,{PEOPLE_DN}"
OU_BANUA_LAWAS = f"ou=kecamatan banua lawas,{PEOPLE_DN}"
OU_KELUA = f"ou=kecamatan kelua,{PEOPLE_DN}"
SCOPE_FIELD = "departmentNumber"  # inetOrgPerson's; holds a region code for village operators
LOCKED_FILTER = "(&(objectClass=inetOrgPerson)(!(pwdAccountLockedTime=*)))"


class SlapdMissing(RuntimeError):
    """Debian's slapd / ldap-utils / openssl are not installed."""


@dataclass(frozen=True)
class Person:
    """A test account and what Simpul should make of it with `Slapd.config()`."""

    uid: str
    password: str
    ou: str
    given_name: str
    surname: str
    mail: str
    groups: tuple[str, ...]  # cn of groups under ou=groups
    roles: tuple[str, ...]  # expected roles, sorted
    scope: str | None  # expected region scope
    region: str | None = None  # departmentNumber value
    locked: bool = False

    @property
    def dn(self) -> str:
        return f"uid={escape_dn_value(self.uid)},{self.ou}"


ADMIN = Person(
    uid="admin.simpul",
    password="Admin#Tabalong1",
    ou=OU_DINAS,
    given_name="Rahmat",
    surname="Hidayat",
    mail="admin@tabalong.go.id",
    groups=("simpul-admin", "pegawai-tabalong"),
    roles=("Admin",),
    scope="63.09",
)
DINSOS = Person(
    uid="andi.dinsos",
    password="Andi#Dinsos1",
    ou=OU_DINAS,
    given_name="Andi",
    surname="Saputra",
    mail="andi@tabalong.go.id",
    groups=("simpul-dinsos", "simpul-pengamat", "pegawai-tabalong"),
    roles=("Dinsos", "Viewer"),
    scope="63.09",
)
KECAMATAN_BANUA_LAWAS = Person(
    uid="budi.banualawas",
    password="Budi#BanuaLawas1",
    ou=OU_BANUA_LAWAS,
    given_name="Budi",
    surname="Santoso",
    mail="budi@tabalong.go.id",
    groups=("simpul-kecamatan",),
    roles=("Kecamatan",),
    scope="63.09.01",
)
KECAMATAN_KELUA = Person(
    uid="kiki.kelua",
    password="Kiki#Kelua1",
    ou=OU_KELUA,
    given_name="Kiki",
    surname="Amalia",
    mail="kiki@tabalong.go.id",
    groups=("simpul-kecamatan",),
    roles=("Kecamatan",),
    scope="63.09.02",
)
# In Banua Lawas' OU (mapped to 63.09.01), but the attribute names her village: the attribute wins.
DESA = Person(
    uid="desi.desa",
    password="Desi#Desa1",
    ou=OU_BANUA_LAWAS,
    given_name="Desi",
    surname="Rahmawati",
    mail="desi@tabalong.go.id",
    groups=("simpul-desa",),
    roles=("Operator Desa",),
    scope="63.09.01.2001",
    region="6309012001",
)
VIEWER = Person(
    uid="vina.viewer",
    password="Vina#Viewer1",
    ou=OU_DINAS,
    given_name="Vina",
    surname="Lestari",
    mail="vina@tabalong.go.id",
    groups=("simpul-viewer",),
    roles=("Viewer",),
    scope="63.09",
)
LOCKED = Person(
    uid="dodi.nonaktif",
    password="Dodi#Nonaktif1",
    ou=OU_DINAS,
    given_name="Dodi",
    surname="Pratama",
    mail="dodi@tabalong.go.id",
    groups=("simpul-dinsos",),
    roles=(),
    scope=None,
    locked=True,
)
# LDAP filter and DN metacharacters in the uid; a member of the groupOfUniqueNames group only.
METACHAR = Person(
    uid="o'brien*(x)\\,+=",
    password="OBrien#Méta✓1",  # non-ASCII: sent as UTF-8, as set
    ou=OU_DINAS,
    given_name="Patrick",
    surname="O'Brien",
    mail="obrien@tabalong.go.id",
    groups=("simpul-pengamat",),
    roles=("Viewer",),
    scope="63.09",
)
PEOPLE = (ADMIN, DINSOS, KECAMATAN_BANUA_LAWAS, KECAMATAN_KELUA, DESA, VIEWER, LOCKED, METACHAR)

GROUP_OF_UNIQUE_NAMES = {"simpul-pengamat"}  # the others are groupOfNames


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS_DN}"


def escape_dn_value(value: str) -> str:
    """An RDN value escaped as RFC 4514 says."""
    escaped = "".join("\\" + c if c in '\\,+"<>;=' else c for c in value)
    if escaped.startswith(("#", " ")):
        escaped = "\\" + escaped
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


@dataclass
class Slapd:
    """A slapd child process; see the module docstring."""

    workdir: Path
    port: int
    ldaps_port: int
    ca_file: Path
    base_dn: str = BASE_DN
    admin_dn: str = ADMIN_DN
    admin_password: str = ADMIN_PASSWORD
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def url_outside_certificate(self, scheme: str = "ldaps") -> str:
        """This server under an address its certificate does not name (127.0.0.2)."""
        return f"{scheme}://127.0.0.2:{self.ldaps_port if scheme == 'ldaps' else self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Start slapd (again) on the same ports and data and wait until it answers."""
        if self.process is not None and self.process.poll() is None:
            return
        # 127.0.0.2 too: an address the certificate does not name.
        listen = " ".join(f"ldap://{a}:{self.port}/ ldaps://{a}:{self.ldaps_port}/" for a in ("127.0.0.1", "127.0.0.2"))
        log = open(self.workdir / "slapd.log", "ab")  # noqa: SIM115 - the child keeps it
        try:
            self.process = subprocess.Popen(
                [str(SLAPD), "-d", "0", "-h", listen, "-f", str(self.workdir / "slapd.conf")],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while not _answers(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.process.returncode}:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"slapd did not answer within {timeout} s:\n{self._log_tail()}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop slapd; the data stays for `start()`."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        process.send_signal(signal.SIGCONT)  # in case it is paused
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """slapd frozen (SIGSTOP): connections are accepted by the kernel, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            if self.process is not None:
                self.process.send_signal(signal.SIGCONT)

    def modify(self, ldif: str) -> None:
        """Apply LDIF change records (ldapmodify) as the directory's administrator."""
        command = ["ldapmodify", "-x", "-H", self.url, "-D", self.admin_dn, "-y", str(_admin_secret(self))]
        done = subprocess.run(
            command, input=ldif.encode(), capture_output=True, env={**os.environ, "LDAPNOINIT": "1"}, timeout=10
        )
        if done.returncode:
            raise RuntimeError(f"ldapmodify failed ({done.returncode}): {done.stderr.decode(errors='replace')}")

    @contextlib.contextmanager
    def left_groups(self, person: Person, *groups: str) -> Iterator[None]:
        """The person out of these groups (cn; default: all of theirs) inside the block."""
        cns = groups or person.groups
        self.modify(_membership_ldif(person, cns, "delete"))
        try:
            yield
        finally:
            self.modify(_membership_ldif(person, cns, "add"))

    @contextlib.contextmanager
    def attribute_replaced(self, person: Person, attribute: str, *values: str) -> Iterator[None]:
        """The person's attribute holding these values (none: removed) inside the block."""
        self.modify(_replace_ldif(person, attribute, values))
        try:
            yield
        finally:
            loaded = [value for name, value in person_attributes(person) if name.lower() == attribute.lower()]
            self.modify(_replace_ldif(person, attribute, loaded))

    def config(self, **overrides: Any) -> dict[str, Any]:
        """Complete AUTH_LDAP_* settings for this server: search, then bind as the service account."""
        settings: dict[str, Any] = {
            "AUTH_LDAP_SERVER": self.url,
            "AUTH_LDAP_USE_TLS": False,
            "AUTH_LDAP_TLS_CACERTFILE": str(self.ca_file),
            "AUTH_LDAP_ALLOW_SELF_SIGNED": False,
            "AUTH_LDAP_BIND_USER": SERVICE_DN,
            "AUTH_LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
            "AUTH_LDAP_SEARCH": PEOPLE_DN,
            "AUTH_LDAP_SEARCH_FILTER": LOCKED_FILTER,
            "AUTH_LDAP_UID_FIELD": "uid",
            "AUTH_LDAP_FIRSTNAME_FIELD": "givenName",
            "AUTH_LDAP_LASTNAME_FIELD": "sn",
            "AUTH_LDAP_EMAIL_FIELD": "mail",
            "AUTH_LDAP_GROUP_FIELD": "memberOf",
            "AUTH_LDAP_GROUP_SEARCH": GROUPS_DN,
            "AUTH_ROLES_MAPPING": {
                # Written as an administrator might: other case, spaces after the commas.
                "CN=Simpul-Admin, OU=Groups, DC=Tabalong, DC=go, DC=id": ["Admin"],
                group_dn("simpul-dinsos"): ["Dinsos"],
                group_dn("simpul-kecamatan"): ["Kecamatan"],
                group_dn("simpul-desa"): ["Operator Desa"],
                group_dn("simpul-viewer"): ["Viewer"],
                group_dn("simpul-pengamat"): ["Viewer"],
            },
            "AUTH_LDAP_SCOPE_FIELD": SCOPE_FIELD,
            "AUTH_LDAP_SCOPE_MAPPING": {
                OU_DINAS: "63.09",
                "ou=Kecamatan Banua Lawas, ou=People, dc=tabalong, dc=go, dc=id": "630901",
                OU_KELUA: "63.09.02",
            },
            "AUTH_LDAP_TIMEOUT": 2,
        }
        settings.update(overrides)
        return settings

    def _log_tail(self) -> str:
        try:
            return (self.workdir / "slapd.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""


@contextlib.contextmanager
def running_slapd(workdir: Path) -> Iterator[Slapd]:
    """A started slapd holding Tabalong's test directory; stopped (killed if need be) on exit."""
    _check_installed()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "data").mkdir()
    ca_file, ca_key = make_ca(workdir / "tls", "Simpul test CA")
    cert, key = _server_certificate(workdir / "tls", ca_file, ca_key)
    port = free_port()
    ldaps_port = free_port()
    while ldaps_port == port:
        ldaps_port = free_port()
    (workdir / "slapd.conf").write_text(_slapd_conf(workdir, ca_file, cert, key))
    (workdir / "tabalong.ldif").write_text(directory_ldif())
    slapd = Slapd(workdir, port, ldaps_port, ca_file)
    try:
        slapd.start()
        _load(slapd, workdir / "tabalong.ldif")
        yield slapd
    finally:
        slapd.stop()


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA certificate and its key (EC P-256), valid for two days."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = name.lower().replace(" ", "-")
    cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/O=Simpul tests/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


def _server_certificate(directory: Path, ca_file: Path, ca_key: Path) -> tuple[Path, Path]:
    """slapd's certificate for 127.0.0.1 and localhost, signed by the CA."""
    cert, key, csr, ext = (directory / f"server.{suffix}" for suffix in ("pem", "key", "csr", "ext"))
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", "/O=Simpul tests/CN=localhost",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_file), "-CAkey", str(ca_key), "-days", "2",
        "-set_serial", f"0x{secrets.token_hex(8)}", "-extfile", str(ext), "-out", str(cert),
    )  # fmt: skip
    return cert, key


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True)
    if done.returncode:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")


def _slapd_conf(workdir: Path, ca_file: Path, cert: Path, key: Path) -> str:
    schemas = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in SCHEMAS)
    modules = "\n".join(f"moduleload {name}" for name in MODULES)
    return f"""\
{schemas}
modulepath {MODULE_DIR}
{modules}
pidfile {workdir / "slapd.pid"}
argsfile {workdir / "slapd.args"}
loglevel none
TLSCACertificateFile {ca_file}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
allow bind_anon_dn

database mdb
suffix "{BASE_DN}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {workdir / "data"}
maxsize 33554432
dbnosync
index objectClass,uid,member,uniqueMember eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

access to attrs=userPassword
    by self read
    by anonymous auth
    by * none
access to dn.base=""
    by * read
access to *
    by users read
    by * none
"""


def directory_ldif() -> str:
    """The test directory as LDIF (passwords as salted SHA-1, {SSHA})."""
    entries: list[list[tuple[str, str]]] = [
        [
            ("dn", BASE_DN),
            ("objectClass", "dcObject"),
            ("objectClass", "organization"),
            ("dc", "tabalong"),
            ("o", "Pemerintah Kabupaten Tabalong"),
        ],
        [("dn", f"ou=services,{BASE_DN}"), ("objectClass", "organizationalUnit"), ("ou", "services")],
        [
            ("dn", SERVICE_DN),
            ("objectClass", "organizationalRole"),
            ("objectClass", "simpleSecurityObject"),
            ("cn", "simpul"),
            ("description", "Simpul's service account: searches people and groups"),
            ("userPassword", _ssha(SERVICE_PASSWORD)),
        ],
        [("dn", PEOPLE_DN), ("objectClass", "organizationalUnit"), ("ou", "people")],
        [
            ("dn", OU_DINAS),
            ("objectClass", "organizationalUnit"),
            ("ou", "dinas"),
            ("description", "Dinas Sosial Kabupaten Tabalong"),
        ],
        [("dn", OU_BANUA_LAWAS), ("objectClass", "organizationalUnit"), ("ou", "kecamatan banua lawas")],
        [("dn", OU_KELUA), ("objectClass", "organizationalUnit"), ("ou", "kecamatan kelua")],
        [("dn", GROUPS_DN), ("objectClass", "organizationalUnit"), ("ou", "groups")],
    ]
    for person in PEOPLE:
        entries.append([("dn", person.dn), *person_attributes(person), ("userPassword", _ssha(person.password))])
    groups = sorted({cn for person in PEOPLE for cn in person.groups})
    for cn in groups:
        members = [person.dn for person in PEOPLE if cn in person.groups]
        if cn in GROUP_OF_UNIQUE_NAMES:
            entry = [("dn", group_dn(cn)), ("objectClass", "groupOfUniqueNames"), ("cn", cn)]
            entry += [("uniqueMember", dn) for dn in members]
        else:
            entry = [("dn", group_dn(cn)), ("objectClass", "groupOfNames"), ("cn", cn)]
            entry += [("member", dn) for dn in members]
        entries.append(entry)
    return "\n".join("".join(_ldif_line(name, value) for name, value in entry) for entry in entries)


def person_attributes(person: Person) -> list[tuple[str, str]]:
    """The attributes a person's entry is loaded with, but the password."""
    attributes = [
        ("objectClass", "inetOrgPerson"),
        ("uid", person.uid),
        ("cn", f"{person.given_name} {person.surname}"),
        ("givenName", person.given_name),
        ("sn", person.surname),
        ("mail", person.mail),
    ]
    if person.region:
        attributes.append((SCOPE_FIELD, person.region))
    if person.locked:
        attributes.append(("pwdAccountLockedTime", "000001010000Z"))  # locked for good
    return attributes


def _membership_ldif(person: Person, groups: tuple[str, ...], change: str) -> str:
    """LDIF adding the person to (change="add") or deleting them from ("delete") the groups."""
    records = []
    for cn in groups:
        member = "uniqueMember" if cn in GROUP_OF_UNIQUE_NAMES else "member"
        change_lines = f"changetype: modify\n{change}: {member}\n"
        records.append(_ldif_line("dn", group_dn(cn)) + change_lines + _ldif_line(member, person.dn))
    return "\n".join(records)


def _replace_ldif(person: Person, attribute: str, values: tuple[str, ...] | list[str]) -> str:
    lines = "".join(_ldif_line(attribute, value) for value in values)
    return _ldif_line("dn", person.dn) + f"changetype: modify\nreplace: {attribute}\n{lines}-\n"


def _ldif_line(name: str, value: str) -> str:
    safe = value.isascii() and value.isprintable() and not value.startswith((" ", ":", "<")) and not value.endswith(" ")
    if safe:
        return f"{name}: {value}\n"
    return f"{name}:: {base64.b64encode(value.encode()).decode()}\n"


def _ssha(password: str) -> str:
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _admin_secret(slapd: Slapd) -> Path:
    """The administrator's password in a file only we can read, for the ldap-utils' -y."""
    secret = slapd.workdir / "admin.secret"
    if not secret.exists():
        secret.touch(mode=0o600)
        secret.write_text(slapd.admin_password)
    return secret


def _load(slapd: Slapd, ldif: Path) -> None:
    command = ["ldapadd", "-x", "-H", slapd.url, "-D", slapd.admin_dn, "-y", str(_admin_secret(slapd)), "-f", str(ldif)]
    done = subprocess.run(command, capture_output=True, env={**os.environ, "LDAPNOINIT": "1"})
    if done.returncode:
        raise RuntimeError(f"ldapadd failed ({done.returncode}): {done.stderr.decode(errors='replace')}")


def _answers(port: int) -> bool:
    """Whether an LDAP server on the port answers an anonymous bind."""
    anonymous_bind = bytes.fromhex("300c020101600702010304008000")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(anonymous_bind)
            return sock.recv(64).startswith(b"\x30")
    except OSError:
        return False


def _check_installed() -> None:
    missing = [str(SLAPD)] if not SLAPD.exists() else []
    missing += [f"{MODULE_DIR}/{name}.la" for name in MODULES if not (MODULE_DIR / f"{name}.la").exists()]
    missing += [f"{SCHEMA_DIR}/{name}.schema" for name in SCHEMAS if not (SCHEMA_DIR / f"{name}.schema").exists()]
    missing += [tool for tool in ("ldapadd", "ldapmodify", "openssl") if shutil.which(tool) is None]
    if missing:
        raise SlapdMissing(
            f"OpenLDAP is not installed (missing {', '.join(missing)}; apt-get install slapd ldap-utils openssl)"
        )
