"""The e-mail outbox against a real SMTP server (aiosmtpd on loopback), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import random
import smtplib
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app.extensions import db
from app.workflows.runtime import mailer
from app.workflows.runtime.mailer import RetryPolicy, SmtpSettings, deliver_due, quote_address, send_outbox
from app.workflows.runtime.models import outbox_table
from app.workflows.runtime.outbox import (
    _IDENTITY_SHAPE,
    check_template,
    digest_cutoff,
    ensure_templates,
    mask_identity_numbers,
    may_hold_identity_numbers,
    merge_digests,
    queue_mail,
    render_mail,
    resend,
    set_daily_digest,
    waited_text,
)
from app.workflows.runtime.periodic import RunContext
from tests.conftest import login
from tests.postgres import free_port
from tests.test_workflow_runtime import FakeClock

T0 = datetime(2026, 11, 26, 1, 0, 0)
NIK = "6309014507900001"
RETRY = RetryPolicy(base_seconds=60, max_seconds=600, max_attempts=3)


class Inbox:
    """aiosmtpd handler: keeps every message; refuses recipients starting with "nobody" (550)
    and "busy" (451)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("nobody"):
            return "550 5.1.1 No such mailbox"
        if address.startswith("busy"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@contextlib.contextmanager
def smtp_server(port: int) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1:port until the block ends."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def engine(empty_app: Any) -> Any:
    with empty_app.app_context():
        yield db.engine


def _queue(engine: Any, *mails: tuple[str, str, str], **options: Any) -> list[int | None]:
    with engine.begin() as conn:
        return [queue_mail(conn, to, subject, body, now=T0, **options) for to, subject, body in mails]


def _rows(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.select(outbox_table).order_by(outbox_table.c.id)).all()


def test_no_nik_or_kk_is_ever_stored(engine: Any) -> None:
    _queue(
        engine,
        ("kabid@example.org", f"Rujukan NIK {NIK}", f"NIK {NIK}, KK 6309 0123 1220 0005, NIK lagi 6309.0145.0790.0001"),
        html=f"<p>{NIK}</p>",
    )
    (row,) = _rows(engine)
    stored = " ".join([row.subject, row.body_text, row.body_html])
    assert "0145079" not in stored and "0123 1220" not in stored and "0123122" not in stored
    assert "6309********0001" in row.subject and "6309********0005" in row.body_text


def test_a_producer_retry_queues_once(engine: Any) -> None:
    first = _queue(engine, ("a@example.org", "Eskalasi", "isi"), dedupe_key="escalation:rujukan:18:2")
    again = _queue(engine, ("a@example.org", "Eskalasi", "isi"), dedupe_key="escalation:rujukan:18:2")
    assert first[0] is not None and again == [None]
    assert len(_rows(engine)) == 1


def test_server_down_then_up_delivers_each_message_exactly_once(engine: Any) -> None:
    port, clock = free_port(), FakeClock(T0)
    settings = SmtpSettings(host="127.0.0.1", port=port, timeout=5)
    _queue(engine, *[(f"user{i}@example.org", f"Pesan {i}", f"Isi {i}") for i in range(5)])

    report = deliver_due(engine, settings, retry=RETRY, clock=clock)  # nothing listens
    assert (report.sent, report.deferred) == (0, 5)
    rows = _rows(engine)
    assert {(r.state, r.attempts, r.next_attempt_at) for r in rows} == {("queued", 1, T0 + timedelta(seconds=60))}
    assert all(r.last_error for r in rows)

    clock.advance(61)
    deliver_due(engine, settings, retry=RETRY, clock=clock)  # still down: the back-off doubles
    assert {(r.attempts, r.next_attempt_at) for r in _rows(engine)} == {(2, clock.now + timedelta(seconds=120))}

    with smtp_server(port) as inbox:
        clock.advance(60)
        assert deliver_due(engine, settings, retry=RETRY, clock=clock).sent == 0  # not due yet
        clock.advance(61)
        assert deliver_due(engine, settings, retry=RETRY, clock=clock).sent == 5
        clock.advance(3600)
        assert deliver_due(engine, settings, retry=RETRY, clock=clock).sent == 0
    assert sorted(inbox.subjects()) == [f"Pesan {i}" for i in range(5)]
    assert {(r.state, r.last_error) for r in _rows(engine)} == {("sent", None)}


def test_a_dead_server_never_fails_a_message(engine: Any) -> None:
    clock = FakeClock(T0)
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=5)
    _queue(engine, ("a@example.org", "Pesan", "Isi"))
    for _ in range(RETRY.max_attempts + 3):
        deliver_due(engine, settings, retry=RETRY, clock=clock)
        clock.advance(RETRY.max_seconds + 1)
    (row,) = _rows(engine)
    assert row.state == "queued" and row.attempts == RETRY.max_attempts + 3


def test_one_connection_carries_a_batch_in_order(engine: Any) -> None:
    port = free_port()
    _queue(engine, *[(f"u{i}@example.org", f"Pesan {i:02}", "Isi") for i in range(12)])
    with smtp_server(port) as inbox:
        report = deliver_due(engine, SmtpSettings(host="127.0.0.1", port=port), clock=FakeClock(T0), batch_size=5)
    assert report.sent == 12
    assert inbox.subjects() == [f"Pesan {i:02}" for i in range(12)]
    message = inbox.messages[0]
    assert message["From"] == "simpul@localhost" and message["Message-ID"].startswith("<simpul-outbox-")


def test_batches_go_on_while_the_sent_marks_of_the_last_are_still_uncommitted(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next batch is read after the last row handled, not after the marks commit: none goes twice."""
    monkeypatch.setattr(mailer, "MARK_EVERY", 0.5)  # marks commit long after their batch is sent
    port, clock = free_port(), FakeClock(T0)
    _queue(engine, *[(f"u{i}@example.org", f"Pesan {i:02}", "Isi") for i in range(9)])
    with smtp_server(port) as inbox:
        report = deliver_due(engine, SmtpSettings(host="127.0.0.1", port=port), clock=clock, batch_size=2)
        assert report.sent == 9 and inbox.subjects() == [f"Pesan {i:02}" for i in range(9)]
        clock.advance(1)
        assert deliver_due(engine, SmtpSettings(host="127.0.0.1", port=port), clock=clock).sent == 0
    assert len(inbox.messages) == 9
    assert {(r.state, r.sent_at, r.attempts, r.last_error) for r in _rows(engine)} == {("sent", T0, 1, None)}


@pytest.mark.parametrize(
    "address",
    [
        "op_a@example.org",
        "Kabid.Linjamsos+eskalasi@dinsos.tabalong.go.id",
        "x_%-1@a-b.example",
        "Kabid <kabid@example.org>",  # a display name: quoteaddr takes the address out
        "kabid@example.org (Kabid)",
        "a..b@example.org",
        "<kabid@example.org>",
        "kabid@",
        "",
        "nama dengan spasi@example.org",
        '"kutip"@example.org',
    ],
)
def test_addresses_are_quoted_as_smtplib_quotes_them(address: str) -> None:
    assert quote_address(address) == smtplib.quoteaddr(address)


def test_the_masking_shortcut_agrees_with_the_full_search() -> None:
    """`may_hold_identity_numbers` is False only for texts the NIK search finds nothing in."""
    rng = random.Random(12)
    for alphabet in ("0123456789 .-x", "0123456789 .-x_\n\u0663\u00e9", "0123 .-"):
        for _ in range(20_000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
            assert may_hold_identity_numbers(text) == (_IDENTITY_SHAPE.search(text) is not None), text
    assert mask_identity_numbers(f"NIK \u0663{NIK[1:]}") != f"NIK \u0663{NIK[1:]}"  # other scripts' digits too


class HangsUp(Inbox):
    """Accepts `limit` messages per connection, then answers the next one 421 and closes (a
    per-connection message limit, as Postfix's smtpd_client_message_rate_limit or Exchange do)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.closed = limit, 0

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if getattr(session, "accepted", 0) == self.limit:
            self.closed += 1
            server.transport.close()
            return "421 4.7.0 Too many messages on this connection, closing"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        session.accepted = getattr(session, "accepted", 0) + 1
        return await super().handle_DATA(server, session, envelope)


def test_a_server_that_hangs_up_mid_batch_gets_the_rest_on_a_new_connection_at_once(engine: Any) -> None:
    port = free_port()
    _queue(engine, *[(f"u{i}@example.org", f"Pesan {i:02}", "Isi") for i in range(10)])
    handler = HangsUp(limit=3)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = deliver_due(engine, SmtpSettings(host="127.0.0.1", port=port), clock=FakeClock(T0), batch_size=100)
    finally:
        controller.stop()
    assert report.sent == 10 and report.deferred == 0  # nothing waits for the retry delay
    assert sorted(handler.subjects()) == [f"Pesan {i:02}" for i in range(10)]  # each once
    assert handler.closed == 3 and {r.state for r in _rows(engine)} == {"sent"}
    assert {r.attempts for r in _rows(engine)} == {1}  # a closed connection is no failed attempt


def test_a_refused_recipient_fails_and_can_be_sent_again(empty_app: Any, engine: Any) -> None:
    port, clock = free_port(), FakeClock(T0)
    settings = SmtpSettings(host="127.0.0.1", port=port)
    _queue(engine, ("nobody@example.org", "Ditolak", "Isi"), ("kabid@example.org", "Diterima", "Isi"))
    with smtp_server(port) as inbox:
        report = deliver_due(engine, settings, retry=RETRY, clock=clock)
        assert (report.sent, report.failed) == (1, 1)
        refused, accepted = _rows(engine)
        assert (
            refused.state == "failed"
            and refused.last_error.startswith("550")
            and "No such mailbox" in refused.last_error
        )
        assert accepted.state == "sent" and inbox.subjects() == ["Diterima"]

        client = empty_app.test_client()
        _admin(empty_app)
        login(client)
        listing = client.get("/keamanan/kotak-keluar/list/").get_data(as_text=True)
        assert "nobody@example.org" in listing and "No such mailbox" in listing
        answer = client.post("/keamanan/kotak-keluar/action_post", data={"action": "resend", "rowid": [refused.id]})
        assert answer.status_code == 302
        assert _rows(engine)[0].state == "queued"


def test_a_temporary_refusal_is_retried_then_failed(engine: Any) -> None:
    port, clock = free_port(), FakeClock(T0)
    settings = SmtpSettings(host="127.0.0.1", port=port)
    _queue(engine, ("busy@example.org", "Nanti", "Isi"))
    with smtp_server(port):
        for attempt in range(1, RETRY.max_attempts + 1):
            deliver_due(engine, settings, retry=RETRY, clock=clock)
            (row,) = _rows(engine)
            assert row.attempts == attempt and row.last_error.startswith("451")
            clock.advance(RETRY.max_seconds + 1)
    assert row.state == "failed"


def test_resend_queues_only_failed_messages(engine: Any) -> None:
    ids = _queue(engine, ("a@example.org", "A", "a"), ("b@example.org", "B", "b"))
    with engine.begin() as conn:
        conn.execute(outbox_table.update().where(outbox_table.c.id == ids[0]).values(state="failed", attempts=3))
        assert resend(conn, ids, now=T0) == 1
    assert [(r.state, r.attempts) for r in _rows(engine)] == [("queued", 0), ("queued", 0)]


def test_without_smtp_mail_stays_in_the_outbox(empty_app: Any, engine: Any) -> None:
    _queue(engine, ("a@example.org", "Pesan", "Isi"))
    with empty_app.app_context():
        assert send_outbox(RunContext(empty_app, engine, "a", FakeClock(T0), lambda: True)) is None
    assert _rows(engine)[0].state == "queued"


def test_the_sender_job_delivers_with_the_configured_server(empty_app: Any, engine: Any) -> None:
    port = free_port()
    empty_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="dinsos@tabalong.go.id")
    _queue(engine, ("a@example.org", "Pesan", "Isi"))
    with smtp_server(port) as inbox, empty_app.app_context():
        report = send_outbox(RunContext(empty_app, engine, "a", FakeClock(T0), lambda: True))
    assert report.sent == 1 and inbox.messages[0]["From"] == "dinsos@tabalong.go.id"


def test_a_recipient_with_the_daily_digest_gets_one_mail(engine: Any) -> None:
    zone = ZoneInfo("Asia/Makassar")  # WITA: 07:00 local is 23:00 UTC the day before
    with engine.begin() as conn:
        set_daily_digest(conn, 7, True, now=T0)
    with engine.begin() as conn:
        for i in range(3):
            queue_mail(conn, "desa@example.org", f"Eskalasi {i}", f"Data {i}, NIK {NIK}", user_id=7, now=T0)
        queue_mail(conn, "lain@example.org", "Langsung", "Isi", user_id=8, now=T0)
    assert [r.state for r in _rows(engine)] == ["digest", "digest", "digest", "queued"]
    # T0 is 09:00 WITA on 26 Nov: the items wait for 07:00 WITA on 27 Nov.
    assert merge_digests(engine, T0 + timedelta(hours=12), zone, 7) == 0
    assert merge_digests(engine, T0 + timedelta(hours=22), zone, 7) == 1
    assert merge_digests(engine, T0 + timedelta(hours=23), zone, 7) == 0
    rows = _rows(engine)
    digest = rows[-1]
    assert [r.state for r in rows] == ["digested"] * 3 + ["queued", "queued"]
    assert {r.digest_id for r in rows[:3]} == {digest.id}
    assert digest.to_addr == "desa@example.org" and "3 pemberitahuan" in digest.subject
    assert all(f"Eskalasi {i}" in digest.body_text for i in range(3)) and NIK not in digest.body_text


def test_digest_cutoff_is_the_last_digest_hour_in_office_time() -> None:
    zone = ZoneInfo("Asia/Makassar")
    assert digest_cutoff(datetime(2026, 11, 26, 1, 0), zone, 7) == datetime(2026, 11, 25, 23, 0)
    assert digest_cutoff(datetime(2026, 11, 25, 22, 59), zone, 7) == datetime(2026, 11, 24, 23, 0)


def test_templates_render_in_indonesian_and_admin_wording_wins(engine: Any) -> None:
    context = {
        "recipient": "Camat",
        "form": "Rujukan",
        "record": "Rujukan #18",
        "region": "Desa Mabuun",
        "state": "Dirujuk",
        "waited": waited_text(timedelta(days=3, hours=4)),
        "level": 2,
        "link": "https://simpul.example/rujukan/show/18",
    }
    ensure_templates(engine)
    with engine.connect() as conn:
        subject, body = render_mail(conn, "escalation", context)
    assert subject == "[Simpul] Eskalasi tingkat 2: Rujukan #18 (Dirujuk)"
    assert "Desa Mabuun" in body and "3 hari 4 jam" in body and "https://simpul.example/rujukan/show/18" in body
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE simpul_mail_template SET subject = :s, changed_by = 'admin' WHERE name = 'escalation'"),
            {"s": "Segera: {{ record }}"},
        )
        assert render_mail(conn, "escalation", context)[0] == "Segera: Rujukan #18"


def test_an_admin_template_is_checked_and_sandboxed() -> None:
    assert check_template("escalation", "{{ record }}", "{{ link }}") is None
    assert "recod" in check_template("escalation", "{{ recod }}", "")
    assert check_template("escalation", "{{ record", "") is not None
    assert check_template("escalation", "{{ ''.__class__.__mro__ }}", "") is not None


def test_waited_text() -> None:
    assert waited_text(timedelta(minutes=45)) == "45 menit"
    assert waited_text(timedelta(hours=2)) == "2 jam"
    assert waited_text(timedelta(days=5)) == "5 hari"


def _admin(app: Any) -> None:
    from tests.conftest import add_user

    add_user(app, "admin", "Admin")


def test_the_panel_shows_a_message_and_checks_template_edits(empty_app: Any, engine: Any) -> None:
    (mail_id,) = _queue(engine, ("kabid@example.org", "Pesan", f"Baris satu\nNIK {NIK}"))
    ensure_templates(engine)
    _admin(empty_app)
    client = empty_app.test_client()
    login(client)
    page = client.get(f"/keamanan/kotak-keluar/show/{mail_id}").get_data(as_text=True)
    assert "Baris satu" in page and "6309********0001" in page and NIK not in page
    refused = client.post(
        "/keamanan/templat-surel/edit/escalation", data={"subject": "{{ recod }}", "body": "x"}, follow_redirects=True
    )
    assert "&#39;recod&#39; is undefined" in refused.get_data(as_text=True)
    with engine.connect() as conn:
        assert render_mail(conn, "escalation", {"record": "R", "level": 1, "state": "S"})[0].startswith("[Simpul]")
    client.post(
        "/keamanan/templat-surel/edit/escalation", data={"subject": "Segera: {{ record }}", "body": "{{ link }}"}
    )
    with engine.connect() as conn:
        assert render_mail(conn, "escalation", {"record": "R", "link": "L"}) == ("Segera: R", "L")


def test_every_user_chooses_the_daily_digest_for_themselves(empty_app: Any, engine: Any) -> None:
    from tests.conftest import add_user

    add_user(empty_app, "operator", "Operator Desa")
    client = empty_app.test_client()
    assert client.get("/surel/preferensi").status_code == 302  # signed out: to the login
    login(client, "operator")
    page = client.get("/surel/preferensi").get_data(as_text=True)
    assert "Satu ringkasan harian pukul 07.00 WITA" in page
    assert client.post("/surel/preferensi", data={"daily_digest": "1"}).status_code == 302
    with empty_app.app_context():
        user_id = empty_app.appbuilder.sm.find_user(username="operator").id
    with engine.begin() as conn:
        assert queue_mail(conn, "operator@example.org", "Eskalasi", "Isi", user_id=user_id) is not None
    assert _rows(engine)[0].state == "digest"
