"""The outbox's sender: due messages over one SMTP connection per batch, with back-off.

Delivery, per batch of due rows (state queued, next attempt due):
- connect once (plain, STARTTLS or SSL; login when configured) and send each message;
- a message the server accepted is marked `sent` in its own commit at once. Exactly once, with
  one tiny window: a process killed after the server's "250 OK" and before that commit sends
  the message again on the next run. The Message-ID is stable per row, so mail clients show
  such a repeat as one message;
- the server cannot be reached, refuses the login or drops the connection: the batch's messages
  stay queued, each retried after an exponential back-off (OUTBOX_RETRY_SECONDS doubling up to
  OUTBOX_RETRY_MAX_SECONDS). A dead server delays mail and loses none, however long it is down;
- a recipient or message refused permanently (5xx) is `failed` with the server's answer at
  once; refused for now (4xx) it is retried with back-off and `failed` after
  OUTBOX_MAX_ATTEMPTS. Failed messages are listed in the panel and can be sent again.
Without SMTP_HOST (the default) nothing is sent: mail stays queued, readable in the panel.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import queue
import quopri
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.database import write_transaction
from app.office import ZONES, office_zone, utc_now
from app.workflows.runtime.lease import Clock
from app.workflows.runtime.models import FAILED, QUEUED, SENT, outbox_table
from app.workflows.runtime.outbox import merge_digests
from app.workflows.runtime.periodic import RunContext

log = logging.getLogger(__name__)
SECURITY = ("none", "starttls", "ssl")


class SmtpUnavailable(Exception):
    """The server could not be reached or used (connection, TLS, login): try again later."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send (SMTP_* and MAIL_FROM in config)."""

    host: str
    port: int = 25
    security: str = "none"
    username: str = ""
    password: str = ""
    mail_from: str = "simpul@localhost"
    timeout: float = 30.0
    ca_file: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings | None:
        """The settings, or None when no SMTP server is configured (mail stays in the outbox)."""
        if not config.get("SMTP_HOST"):
            return None
        security = str(config.get("SMTP_SECURITY") or "none").lower()
        if security not in SECURITY:
            raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SECURITY)}, not {security!r}")
        default_port = {"none": 25, "starttls": 587, "ssl": 465}[security]
        return cls(
            host=config["SMTP_HOST"],
            port=int(config.get("SMTP_PORT") or default_port),
            security=security,
            username=config.get("SMTP_USERNAME") or "",
            password=config.get("SMTP_PASSWORD") or "",
            mail_from=config.get("MAIL_FROM") or "simpul@localhost",
            timeout=float(config.get("SMTP_TIMEOUT") or 30),
            ca_file=config.get("SMTP_CA_FILE") or "",
        )

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name checked, against SMTP_CA_FILE or the system's CAs."""
        return ssl.create_default_context(cafile=self.ca_file or None)

    def connect(self) -> smtplib.SMTP:
        """An open, ready connection (TLS and login done); SmtpUnavailable when that fails."""
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = _SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls_context())
            else:
                smtp = _SMTP(self.host, self.port, timeout=self.timeout)
            try:
                if self.security == "starttls":
                    smtp.starttls(context=self.tls_context())
                if self.username:
                    smtp.login(self.username, self.password)
            except BaseException:
                smtp.close()
                raise
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpUnavailable(_describe(exc)) from exc
        return smtp


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off between attempts and when a temporarily refused message is given up."""

    base_seconds: float = 60.0
    max_seconds: float = 3600.0
    max_attempts: int = 10

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        """From OUTBOX_RETRY_SECONDS, OUTBOX_RETRY_MAX_SECONDS and OUTBOX_MAX_ATTEMPTS."""
        return cls(
            float(config.get("OUTBOX_RETRY_SECONDS", 60)),
            float(config.get("OUTBOX_RETRY_MAX_SECONDS", 3600)),
            int(config.get("OUTBOX_MAX_ATTEMPTS", 10)),
        )

    def delay(self, attempts: int) -> timedelta:
        """Wait after the `attempts`-th failed attempt: base, 2×base, 4×base, … up to the maximum."""
        return timedelta(seconds=min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {error}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # readable in the raw source too


def _header(value: str) -> str:
    """A header value on one line (no CR/LF can start another header), RFC 2047-encoded if not ASCII."""
    value = " ".join(value.split())
    return value if value.isascii() else Header(value, "utf-8").encode()


def build_message(row: Any, settings: SmtpSettings) -> bytes:
    """The e-mail of an outbox row; its Message-ID is the row's, the same on every attempt."""
    return MessageBuilder(settings).build(row)


class MessageBuilder:
    """Builds the e-mails of outbox rows; what is the same for many rows (sender, dates) worked out once.

    A plain-text message (every mail Simpul writes) is put together directly: quoted-printable
    UTF-8 body, one-line headers — about 15 times faster than the email package's generator, which
    is most of the sender's own time in a batch of thousands. One with an HTML part goes through
    the email package (compat32 classes).
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self.sender = _header(settings.mail_from)
        self.domain = _header(settings.mail_from.rpartition("@")[2] or "localhost")
        self.dates: dict[datetime, tuple[str, str]] = {}  # created_at -> (Date header, Message-ID stamp)

    def build(self, row: Any) -> bytes:
        """The e-mail of `row` (to_addr, subject, body_text, body_html, created_at, id)."""
        dates = self.dates.get(row.created_at)
        if dates is None:  # the rows of one sweep share their creation time
            if len(self.dates) > 10_000:
                self.dates.clear()
            dates = (email.utils.format_datetime(row.created_at.replace(tzinfo=UTC)), f"{row.created_at:%Y%m%d%H%M%S}")
            self.dates[row.created_at] = dates
        headers = {
            "From": self.sender,
            "To": _header(row.to_addr),
            "Subject": _header(row.subject),
            "Date": dates[0],
            "Message-ID": f"<simpul-outbox-{row.id}.{dates[1]}@{self.domain}>",
        }
        if not row.body_html:
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            return (
                head.encode("ascii")
                + b'MIME-Version: 1.0\r\nContent-Type: text/plain; charset="utf-8"\r\n'
                + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                + quopri.encodestring(row.body_text.replace("\r\n", "\n").encode("utf-8")).replace(b"\n", b"\r\n")
            )
        message: Any = MIMEMultipart("alternative")
        message.attach(MIMEText(row.body_text, "plain", _UTF8_QP))
        message.attach(MIMEText(row.body_html, "html", _UTF8_QP))
        for name, value in headers.items():
            message[name] = value
        return message.as_bytes()


# An address smtplib's quoteaddr() gives back unchanged in <>: dot-separated atoms of letters, digits
# and _%+- on both sides of one @ (what users' addresses are). Anything else goes through quoteaddr.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*")


def quote_address(address: str) -> str:
    """An address as MAIL FROM / RCPT TO take it (smtplib.quoteaddr's result, quicker for plain ones)."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


class _QuickAddresses(smtplib.SMTP):
    """smtplib's MAIL FROM and RCPT TO, with plain addresses quoted without the email package.

    smtplib parses every address with email.utils.parseaddr (about 25 µs; two per message), a
    fifth of the client's time per message against a local server. Otherwise as smtplib's own.
    """

    def mail(self, sender: str, options: Any = ()) -> tuple[int, bytes]:
        if any(option.lower() == "smtputf8" for option in options):  # smtplib switches the encoding
            return super().mail(sender, options)
        extra = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("mail", f"FROM:{quote_address(sender)}{extra}")
        return self.getreply()

    def rcpt(self, recip: str, options: Any = ()) -> tuple[int, bytes]:
        extra = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("rcpt", f"TO:{quote_address(recip)}{extra}")
        return self.getreply()


class _SMTP(_QuickAddresses):
    """A plain or STARTTLS connection."""


class _SMTP_SSL(_QuickAddresses, smtplib.SMTP_SSL):  # noqa: N801 - as smtplib names it
    """An SSL connection."""


@contextmanager
def _closing(smtp: smtplib.SMTP) -> Iterator[smtplib.SMTP]:
    """QUIT and close at the end; a server that answers QUIT badly changes nothing sent."""
    try:
        yield smtp
    finally:
        with suppress(OSError, smtplib.SMTPException):
            smtp.quit()
        smtp.close()


def _due(engine: sa.Engine, now: datetime, limit: int, after: tuple[datetime, int] | None) -> list[Any]:
    """Queued rows due by `now`, in sending order, after the row `after` (next_attempt_at, id) if given."""
    c = outbox_table.c
    query = (
        sa.select(c.id, c.to_addr, c.subject, c.body_text, c.body_html, c.created_at, c.attempts, c.next_attempt_at)
        .where(c.state == QUEUED, c.next_attempt_at <= now)
        .order_by(c.next_attempt_at, c.id)
        .limit(limit)
    )
    if after is not None:  # `>=` bounds the index range; the OR alone would not
        query = query.where(c.next_attempt_at >= after[0], sa.or_(c.next_attempt_at > after[0], c.id > after[1]))
    with engine.connect() as conn:
        return conn.execute(query).all()


def _update(engine: sa.Engine, row_id: int, **values: Any) -> None:
    c = outbox_table.c
    with write_transaction(engine) as conn:
        conn.execute(outbox_table.update().where(c.id == row_id, c.state == QUEUED).values(**values))


def _defer(engine: sa.Engine, rows: list[Any], error: str, now: datetime, retry: RetryPolicy) -> None:
    """The server could not be used: the rows stay queued, each backing off by its own count."""
    c = outbox_table.c
    with write_transaction(engine) as conn:
        for row in rows:
            conn.execute(
                outbox_table.update()
                .where(c.id == row.id, c.state == QUEUED)
                .values(
                    attempts=row.attempts + 1, next_attempt_at=now + retry.delay(row.attempts + 1), last_error=error
                )
            )


MARK_EVERY = 0.02  # seconds: at most this much sending rides on one commit of "sent" marks


class _SentMarks:
    """The "sent" marks of a delivery run, committed by a writer thread while the next messages go out.

    Each accepted message is handed to the writer at once; the writer commits what accumulates
    over MARK_EVERY (20 ms, a few dozen marks at full speed) in one transaction, so the SMTP
    conversation never waits for the database and the database sees one commit per few dozen
    messages. The marks do not wait for the disk either: SQLite gets `synchronous=NORMAL` on this
    connection (in WAL mode a commit survives the process being killed), PostgreSQL
    `synchronous_commit = off`. If this process (or the database server) dies, the marks not yet
    committed — the last 20 ms of sending — are lost and those messages go again, with the same
    Message-ID, so mail clients show each once; no message is ever lost. `close()` waits for every
    mark and raises the writer's error, if any.

    The writer talks to the driver itself, one statement per commit with the rows as plain values
    (SQLite: BEGIN IMMEDIATE and an executemany of tuples; PostgreSQL: one UPDATE over arrays, in
    autocommit: one round trip): it shares Python's lock with the sending thread, and SQLAlchemy's
    own work per commit (a millisecond) was a quarter of the sender's time beside the SMTP
    conversation. The connection goes back to the pool as it came (synchronous, not autocommit).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.conn = engine.connect()
        self.raw: Any = self.conn.connection.driver_connection
        self.sqlite = engine.dialect.name == "sqlite"
        self.restore: Any = None
        if self.sqlite:  # not inside a transaction: SQLite refuses it there
            self.restore = self.raw.execute("PRAGMA synchronous").fetchone()[0]
            self.raw.execute("PRAGMA synchronous=NORMAL")
        else:  # each commit is one UPDATE: its own transaction
            self.raw.autocommit = True
            self.raw.execute("SET synchronous_commit TO OFF")
        to_db = sa.DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        self.to_db: Callable[[datetime], Any] = to_db or (lambda value: value)
        self.pending: queue.SimpleQueue[tuple[int, datetime, int] | None] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.writer = threading.Thread(target=self._write, name="outbox-marks", daemon=True)
        self.writer.start()

    def sent(self, row_id: int, sent_at: datetime, attempts: int) -> None:
        """Row `row_id` was accepted by the server at `sent_at`, on its `attempts`-th try."""
        if self.error is not None:
            raise self.error
        self.pending.put((row_id, sent_at, attempts))

    def _write(self) -> None:
        done = False
        while not done:
            marks = [self.pending.get()]
            time.sleep(MARK_EVERY)  # let a few more accumulate: one commit for them all
            with suppress(queue.Empty):
                while True:
                    marks.append(self.pending.get_nowait())
            if marks[-1] is None:
                done = True
                marks.pop()
            if not marks or self.error is not None:
                continue
            try:
                self._commit(marks)  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - handed to close(); those messages go again
                self.error = exc

    _SQLITE = (
        f"UPDATE {outbox_table.name} SET state = ?, sent_at = ?, attempts = ?, last_error = NULL "
        "WHERE id = ? AND state = ?"
    )
    _POSTGRESQL = (
        f"UPDATE {outbox_table.name} AS o SET state = %s, sent_at = v.sent_at, attempts = v.attempts, "
        "last_error = NULL FROM unnest(%s::integer[], %s::timestamp[], %s::integer[]) AS v(id, sent_at, attempts) "
        "WHERE o.id = v.id AND o.state = %s"
    )

    def _commit(self, marks: list[tuple[int, datetime, int]]) -> None:
        if self.sqlite:  # the driver is in autocommit mode (app/database.py): the transaction is ours
            cursor = self.raw.cursor()
            cursor.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for the write lock
            try:
                cursor.executemany(
                    self._SQLITE,
                    [(SENT, self.to_db(sent_at), attempts, row_id, QUEUED) for row_id, sent_at, attempts in marks],
                )
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            return
        ids, times, attempts = zip(*marks, strict=True)
        self.raw.execute(self._POSTGRESQL, (SENT, list(ids), list(times), list(attempts), QUEUED))

    def close(self) -> None:
        self.pending.put(None)
        self.writer.join()
        try:
            if self.sqlite and self.restore is not None and not self.raw.in_transaction:
                self.raw.execute(f"PRAGMA synchronous={int(self.restore)}")
            elif not self.sqlite and not self.raw.closed:
                self.raw.execute("RESET synchronous_commit")
                self.raw.autocommit = False
        finally:
            self.conn.close()
        if self.error is not None:
            raise self.error


def _refused(engine: sa.Engine, row: Any, code: int, error: str, now: datetime, retry: RetryPolicy) -> bool:
    """A refusal of this message: failed when permanent (5xx) or tried too often; True if failed."""
    attempts = row.attempts + 1
    if code >= 500 or attempts >= retry.max_attempts:
        _update(engine, row.id, state=FAILED, attempts=attempts, last_error=error[:2000])
        return True
    _update(engine, row.id, attempts=attempts, next_attempt_at=now + retry.delay(attempts), last_error=error[:2000])
    return False


def deliver_due(
    engine: sa.Engine,
    settings: SmtpSettings,
    *,
    retry: RetryPolicy | None = None,
    clock: Clock = utc_now,
    active: Callable[[], bool] = lambda: True,
    batch_size: int = 1000,
) -> DeliveryReport:
    """Send every due message, `batch_size` per SMTP connection, while `active()`.

    Each batch is read after the last message handled before it (sent, refused or failed), in
    sending order, so a message whose "sent" mark is not committed yet is never read again, and the
    next batch need not wait for the marks: they are committed by one writer for the whole run.
    """
    retry = retry or RetryPolicy()
    report = DeliveryReport()
    builder = MessageBuilder(settings)
    after: tuple[datetime, int] | None = None
    with contextlib.closing(_SentMarks(engine)) as marks:
        while active():
            rows = _due(engine, clock(), batch_size, after)
            if not rows:
                break
            try:
                smtp = settings.connect()
            except SmtpUnavailable as exc:
                log.warning("SMTP server %s:%s unavailable: %s", settings.host, settings.port, exc)
                _defer(engine, rows, str(exc), clock(), retry)
                report.deferred += len(rows)
                break
            handled = 0  # rows of this batch sent or refused (the next batch starts after them)
            sent_here = 0  # on this connection: a server that hangs up after some is reconnected, not waited for
            with _closing(smtp):
                for index, row in enumerate(rows):
                    if not active():
                        return report
                    try:
                        smtp.sendmail(settings.mail_from, [row.to_addr], builder.build(row))
                    except smtplib.SMTPRecipientsRefused as exc:
                        code, error = next(iter(exc.recipients.values()), (550, b"refused"))
                        text = f"{code} {error.decode(errors='replace') if isinstance(error, bytes) else error}"
                        report.failed += _refused(engine, row, code, text, clock(), retry)
                    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                        if exc.smtp_code == 421 and sent_here:  # "closing": a per-connection message limit
                            log.info("SMTP server %s closed the connection after %s messages", settings.host, sent_here)
                            break
                        report.failed += _refused(engine, row, exc.smtp_code, _describe(exc), clock(), retry)
                    except (OSError, smtplib.SMTPException) as exc:  # connection lost
                        if sent_here:  # after some were accepted: the rest go on a new connection at once
                            log.info(
                                "SMTP connection to %s closed after %s messages: %s", settings.host, sent_here, exc
                            )
                            break
                        log.warning("SMTP connection to %s lost: %s", settings.host, _describe(exc))
                        _defer(engine, rows[index:], _describe(exc), clock(), retry)  # this and the rest wait
                        report.deferred += len(rows) - index
                        return report
                    else:
                        marks.sent(row.id, clock(), row.attempts + 1)
                        report.sent += 1
                        sent_here += 1
                    handled = index + 1
            last = rows[handled - 1] if handled else None
            after = (last.next_attempt_at, last.id) if last is not None else after
            if len(rows) < batch_size and handled == len(rows):
                break
    return report


def send_outbox(ctx: RunContext) -> DeliveryReport | None:
    """The periodic sender: merge due daily digests, then deliver what is due (if SMTP is configured)."""
    config = ctx.app.config
    now = ctx.clock()
    merge_digests(ctx.engine, now, ZoneInfo(ZONES[office_zone()]), int(config.get("MAIL_DIGEST_HOUR", 7)))
    settings = SmtpSettings.from_config(config)
    if settings is None:
        return None
    report = deliver_due(
        ctx.engine,
        settings,
        retry=RetryPolicy.from_config(config),
        clock=ctx.clock,
        active=ctx.active,
        batch_size=int(config.get("OUTBOX_BATCH_SIZE", 1000)),
    )
    if report.sent or report.failed or report.deferred:
        log.info("outbox: %s sent, %s failed, %s deferred", report.sent, report.failed, report.deferred)
    return report
