"""Default settings of Simpul.

Every setting can be overridden by an optional config file named in SIMPUL_CONFIG (a Python
file of UPPERCASE names) and then by environment variables with a SIMPUL_ prefix
(SIMPUL_DATABASE_URL=postgresql+psycopg://…, SIMPUL_DEBUG=true; values are read as JSON
when they parse as JSON, else as text).
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

APP_NAME = "Simpul"
# Signs sessions and tokens. Left at this default, Simpul uses instance/secret_key instead
# (created on first start, readable only by its owner), and refuses to start outside debug
# mode when it cannot. Several app servers must share one key: set SIMPUL_SECRET_KEY on each.
SECRET_KEY = "simpul-development-key-change-me"
DEBUG = False
# Served over HTTPS (directly or behind a proxy): session cookies are sent only over HTTPS.
HTTPS = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
# Behind a reverse proxy: how many proxies set X-Forwarded-For / X-Forwarded-Proto (0: none).
# Needed for the right client address in login throttling and the access log.
PROXY_FIX_X_FOR = 0
PROXY_FIX_X_PROTO = 0

# SQLite file by default; PostgreSQL via postgresql+psycopg://user:pass@host/db
DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'simpul.db'}"
SQLALCHEMY_TRACK_MODIFICATIONS = False

# The office's district (kode wilayah) until the office settings name one: Kabupaten Tabalong.
DISTRICT = "63.09"
# Time zone timestamps are shown in: "WIB", "WITA" or "WIT". Empty: the office settings' choice, else
# the district's own zone (63.09 Tabalong: WITA). Timestamps are stored in UTC either way.
TIME_ZONE = ""

# Where shipped form definitions live; `flask simpul forms publish` reads them.
FORMS_DIR = str(BASE_DIR / "forms")
# Uploaded files are stored here, outside any static folder, and served through checked views.
UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
MAX_CONTENT_LENGTH = 10 * 1024 * 1024
# Prints, exports and imports (app/reports/). Larger ones run as background jobs in the scheduler
# process; their files are kept for their owner (REPORT_DIR: beside UPLOAD_DIR unless set).
EXPORT_INLINE_MAX_ROWS = 5000
PRINT_INLINE_MAX_ROWS = 2000
REPORT_KEEP_DAYS = 7
REPORT_CLEAN_SECONDS = 3600
IMPORT_INLINE_ROWS = 5000
IMPORT_MAX_BYTES = 10 * 1024 * 1024

# How often (seconds) each worker checks the published schema version.
SCHEMA_POLL_SECONDS = 1.0
# Development convenience: republish forms/ when a file there changes (run.py only).
WATCH_FORMS = False

# Language: Bahasa Indonesia by default, English selectable.
BABEL_DEFAULT_LOCALE = "id"
BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
LANGUAGES = {
    "id": {"flag": "id", "name": "Bahasa Indonesia"},
    "en": {"flag": "gb", "name": "English"},
}

# Flask-AppBuilder
AUTH_TYPE = 1  # 1: local accounts only; 2: the office directory (LDAP, see README) beside local accounts
# POST /api/v1/security/login gives the REST API's JWT; its "db" and "ldap" providers both run
# Simpul's login (app/security.py). FAB's user/role APIs stay off (FAB_ADD_SECURITY_API).
AUTH_API_LOGIN_ALLOW_MULTIPLE_PROVIDERS = True
# With AUTH_TYPE = 2, True lets directory users in on first login (a local record is made, only
# when a group maps to a role). Never True with AUTH_TYPE = 1: that opens public self-sign-up.
AUTH_USER_REGISTRATION = False
AUTH_USER_REGISTRATION_ROLE = None
AUTH_ROLES_SYNC_AT_LOGIN = True
# Login throttling (app/login_guard.py): lockout per username, limit per address.
LOGIN_LOCKOUT_FAILURES = 5
LOGIN_ADDRESS_FAILURES = 30
LOGIN_WINDOW_MINUTES = 15
FAB_API_SWAGGER_UI = True
FAB_ADD_SECURITY_VIEWS = True
# Worker processes never write permissions while building an app; publishing and
# `flask simpul init` sync them once (app/permissions.py).
FAB_UPDATE_PERMS = False
FAB_API_MAX_PAGE_SIZE = 100
FAB_ROLES = {}
AUTH_ROLE_ADMIN = "Admin"
# Roles whose users see the whole district when no working area is set on their account.
WHOLE_DISTRICT_ROLES = ["Dinsos"]
AUTH_ROLE_PUBLIC = "Public"
PAGE_SIZE = 25

# Server (run.py)
HOST = "127.0.0.1"
PORT = 8080
WORKERS = 2
# The address users reach Simpul at, for links in e-mails (escalations link to the record's page):
# scheme, host and port, and a path prefix if served under one; no trailing slash needed.
BASE_URL = "http://127.0.0.1:8080"

# Scheduler process (`flask simpul scheduler`, started beside the web server by run.py). One is
# active at a time: it holds a lease of SCHEDULER_LEASE_SECONDS, renewed every
# SCHEDULER_HEARTBEAT_SECONDS; a standby takes over within their sum when the active one dies.
SCHEDULER_LEASE_SECONDS = 30
SCHEDULER_HEARTBEAT_SECONDS = 10
SCHEDULER_THREADS = 4
# How often the workflow sweep looks for records due for their next escalation level.
SCHEDULER_SWEEP_SECONDS = 60
# How often the job runner looks for queued jobs (exports, imports); runs of a job in all before
# one whose scheduler keeps dying is marked failed.
JOB_POLL_SECONDS = 5
JOB_MAX_ATTEMPTS = 2

# E-mail. Without SMTP_HOST mail stays in the outbox (readable under Keamanan → Kotak keluar).
SMTP_HOST = ""
SMTP_PORT = 0  # 0: 25, 587 (starttls) or 465 (ssl)
SMTP_SECURITY = "none"  # "none", "starttls" or "ssl"
SMTP_USERNAME = ""
SMTP_PASSWORD = ""
SMTP_TIMEOUT = 30
SMTP_CA_FILE = ""  # PEM file of the CA that signed the server's certificate; empty: the system's CAs
MAIL_FROM = "simpul@localhost"
# The sender: how often it runs, messages per SMTP connection, back-off after a failed attempt
# (doubling from OUTBOX_RETRY_SECONDS up to OUTBOX_RETRY_MAX_SECONDS), and attempts before a
# message the server keeps refusing for now (4xx) is marked failed. A 5xx refusal fails at once;
# an unreachable server never fails a message. A server that closes the connection after some
# messages (a per-connection limit) gets the rest on a new connection at once.
OUTBOX_SEND_SECONDS = 30
OUTBOX_BATCH_SIZE = 1000
OUTBOX_RETRY_SECONDS = 60
OUTBOX_RETRY_MAX_SECONDS = 3600
OUTBOX_MAX_ATTEMPTS = 10
# Office time (hour, 0–23) at which recipients who chose the daily digest get it.
MAIL_DIGEST_HOUR = 7
