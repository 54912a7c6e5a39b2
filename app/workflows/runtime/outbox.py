"""E-mail as rows: queued inside the caller's transaction, delivered by the scheduler's sender.

- `queue_mail` writes one row in the caller's transaction, so a mail exists exactly when the
  change it reports was committed; a `dedupe_key` (unique) makes a producer's retry a no-op.
- Every subject and body is masked before it is stored: no NIK or No. KK (16 digits, also
  written in groups) ever sits in the outbox, a mail server or an inbox.
- A recipient (`user_id`) who chose the daily digest gets the item held (state `digest`);
  at MAIL_DIGEST_HOUR (office time) the sender merges each recipient's held items into one mail.
- Templates are Jinja text in Bahasa Indonesia with defaults here; an admin may reword them
  (`simpul_mail_template`, edited in the panel). Admin text runs in Jinja's sandbox, and a
  template that no longer renders falls back to the default rather than stop a sweep.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from jinja2 import ChainableUndefined, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.dialects import postgresql, sqlite

from app.access.redaction import redact
from app.database import write_transaction
from app.forms_engine.identity import mask
from app.office import utc_now
from app.workflows.runtime.models import (
    DIGEST,
    DIGESTED,
    FAILED,
    QUEUED,
    outbox_table,
    preference_table,
    template_table,
)

log = logging.getLogger(__name__)

# Sixteen digits written in groups ("6309 0145 0790 0001", "6309.0145.0790.0001"); plain runs
# of 16 are masked by `redact`, the same rule as the logs.
_GROUPED_IDENTITY = re.compile(r"(?<![\d])\d(?:[ .\-]?\d){15}(?![\d])")


# Every text the masking changes holds 16 digits, each pair at most one space, dot or hyphen
# apart; most texts hold none, and this search costs a tenth of the masking.
_IDENTITY_SHAPE = re.compile(r"\d(?:[ .\-]?\d){15}")
# A cheaper test first (the search above walks the text character by character in Python's
# regex engine, ~30 ns each: 10 µs for a mail body): in an ASCII text with the spaces, dots and
# hyphens deleted, every digit turned into "d" and every other character into "x", each such shape
# becomes a run of 16 "d", found by a plain substring search. Without it, no shape; with it, the
# search above decides.
_SHAPE_DIGITS = bytes(0x64 if 0x30 <= b <= 0x39 else 0x78 for b in range(256))
_SIXTEEN_DIGITS = b"d" * 16


def may_hold_identity_numbers(text: str) -> bool:
    """Whether the text may hold a NIK / No. KK shape (False: it certainly holds none)."""
    # only an ASCII text: others may hold other scripts' digits, which \d matches too
    if text.isascii() and _SIXTEEN_DIGITS not in text.encode("ascii").translate(_SHAPE_DIGITS, b" .-"):
        return False
    return _IDENTITY_SHAPE.search(text) is not None


def mask_identity_numbers(text: str) -> str:
    """The text with every NIK / No. KK shape masked (6309********0001)."""
    if not may_hold_identity_numbers(text):
        return text
    text = redact(text)
    return _GROUPED_IDENTITY.sub(lambda m: mask(re.sub(r"\D", "", m.group())), text)


# --- templates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateDefault:
    """A template's default wording and a sample context (to check an admin's edit)."""

    subject: str
    body: str
    description: str
    sample: dict[str, Any]


TEMPLATES: dict[str, TemplateDefault] = {}


def register_template(name: str, subject: str, body: str, description: str, sample: dict[str, Any]) -> None:
    """Add a template's default (its name is what producers render)."""
    TEMPLATES[name] = TemplateDefault(subject, body, description, sample)


register_template(
    "escalation",
    subject="[Simpul] Eskalasi tingkat {{ level }}: {{ record }} ({{ state }})",
    body=(
        "Yth. {{ recipient }},\n\n"
        'Data {{ form }} "{{ record }}" di {{ region }} berada pada status "{{ state }}" '
        "selama {{ waited }} dan belum ditindaklanjuti. Data ini dinaikkan ke tingkat {{ level }}.\n\n"
        "Buka data: {{ link }}\n\n"
        "Pesan ini dikirim otomatis oleh Simpul. Mohon tidak membalas surel ini.\n"
    ),
    description="One escalation of a record to the next level of its ladder.",
    sample={
        "recipient": "Kepala Bidang Perlindungan Sosial",
        "form": "Rujukan",
        "record": "Rujukan #18",
        "region": "Desa Mabuun, Kecamatan Murung Pudak",
        "state": "Dirujuk",
        "waited": "5 hari kerja",
        "level": 2,
        "link": "https://simpul.example/rujukan/show/18",
    },
)
register_template(
    "digest",
    subject="[Simpul] Ringkasan harian: {{ items|length }} pemberitahuan",
    body=(
        "Yth. {{ recipient }},\n\n"
        "Berikut {{ items|length }} pemberitahuan untuk Anda sejak ringkasan sebelumnya.\n"
        "{% for item in items %}\n"
        "{{ loop.index }}. {{ item.subject }}\n"
        "{{ item.body|indent(4, true) }}\n"
        "{% endfor %}\n"
        "Pesan ini dikirim otomatis oleh Simpul. Mohon tidak membalas surel ini.\n"
    ),
    description="The daily digest: every held item of one recipient in one mail.",
    sample={"recipient": "Operator Desa", "items": [{"subject": "Contoh", "body": "Isi pemberitahuan."}]},
)

_lenient = SandboxedEnvironment(undefined=ChainableUndefined, keep_trailing_newline=True, autoescape=False)
_strict = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


def check_template(name: str, subject: str, body: str) -> str | None:
    """Why an admin's wording cannot be used (syntax, unknown names against the sample), or None."""
    sample = TEMPLATES[name].sample if name in TEMPLATES else {}
    try:
        for text in (subject, body):
            _strict.from_string(text).render(sample)
    except TemplateError as exc:
        return str(exc)
    return None


def render_mail(session: Any, name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of template `name`: the admin's wording when edited, else the default."""
    default = TEMPLATES[name]
    stored = session.execute(
        sa.select(template_table.c.subject, template_table.c.body, template_table.c.changed_by).where(
            template_table.c.name == name
        )
    ).first()
    if stored is not None and stored.changed_by is not None:  # rows nobody edited follow the code's default
        try:
            return _render(stored.subject, stored.body, context)
        except TemplateError:
            log.exception("mail template %s as edited does not render; the default is used", name)
    return _render(default.subject, default.body, context)


def _render(subject: str, body: str, context: dict[str, Any]) -> tuple[str, str]:
    rendered_subject = _lenient.from_string(subject).render(context)
    return " ".join(rendered_subject.split()), _lenient.from_string(body).render(context)


def ensure_templates(engine: sa.Engine) -> None:
    """A row for every template (so the panel lists them); existing rows are left as they are."""
    with write_transaction(engine) as conn:
        for name, default in TEMPLATES.items():
            conn.execute(
                _insert(conn, template_table)
                .values(name=name, subject=default.subject, body=default.body)
                .on_conflict_do_nothing(index_elements=["name"])
            )


def waited_text(waited: timedelta) -> str:
    """How long something has waited, in Indonesian words: "3 hari 4 jam", "45 menit"."""
    minutes = max(int(waited.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} hari"] if days else []
    if hours:
        parts.append(f"{hours} jam")
    if not days and (minutes or not hours):
        parts.append(f"{minutes} menit")
    return " ".join(parts)


# --- queueing -------------------------------------------------------------------------------


def _dialect_name(session: Any) -> str:
    bind = session.get_bind() if hasattr(session, "get_bind") else session
    return bind.dialect.name


def _insert(session: Any, table: sa.Table) -> Any:
    return (postgresql if _dialect_name(session) == "postgresql" else sqlite).insert(table)


def wants_digest(session: Any, user_id: int | None) -> bool:
    """Whether the user chose one daily digest instead of one mail per item."""
    if user_id is None:
        return False
    return bool(
        session.execute(
            sa.select(preference_table.c.daily_digest).where(preference_table.c.user_id == user_id)
        ).scalar()
    )


def set_daily_digest(session: Any, user_id: int, daily: bool, now: datetime | None = None) -> None:
    """Record a user's choice (inside the caller's transaction)."""
    c = preference_table.c
    now = now or utc_now()
    statement = _insert(session, preference_table).values(user_id=user_id, daily_digest=daily, changed_on=now)
    session.execute(
        statement.on_conflict_do_update(index_elements=[c.user_id], set_={"daily_digest": daily, "changed_on": now})
    )


def queue_mail(
    session: Any,
    to: str,
    subject: str,
    body: str,
    *,
    html: str | None = None,
    dedupe_key: str | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> int | None:
    """Queue a mail inside the caller's transaction (Session or Connection); its id, or None if
    `dedupe_key` was queued before. Held for the digest when `user_id` chose one."""
    now = now or utc_now()
    state = DIGEST if wants_digest(session, user_id) else QUEUED
    return _store(session, to, subject, body, html=html, dedupe_key=dedupe_key, user_id=user_id, state=state, now=now)


def _store(session: Any, to: str, subject: str, body: str, *, state: str, now: datetime, **extra: Any) -> int | None:
    html = extra.pop("html", None)
    statement = (
        _insert(session, outbox_table)
        .values(
            to_addr=to.strip(),
            subject=mask_identity_numbers(" ".join(subject.split()))[:998],
            body_text=mask_identity_numbers(body),
            body_html=mask_identity_numbers(html) if html is not None else None,
            state=state,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            **extra,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(outbox_table.c.id)
    )
    return session.execute(statement).scalar()


def resend(session: Any, ids: list[int], now: datetime | None = None) -> int:
    """Queue failed messages again from the start (the panel's "re-send"); how many."""
    c = outbox_table.c
    result = session.execute(
        outbox_table.update()
        .where(c.id.in_(ids), c.state == FAILED)
        .values(state=QUEUED, attempts=0, next_attempt_at=now or utc_now(), last_error=None)
    )
    return result.rowcount


# --- daily digest ---------------------------------------------------------------------------


def digest_cutoff(now: datetime, zone: ZoneInfo, hour: int) -> datetime:
    """The latest digest time (`hour` o'clock office time) at or before `now`, as naive UTC."""
    local_now = now.replace(tzinfo=UTC).astimezone(zone)
    cutoff = local_now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if cutoff > local_now:
        cutoff -= timedelta(days=1)
    return cutoff.astimezone(UTC).replace(tzinfo=None)


def merge_digests(engine: sa.Engine, now: datetime, zone: ZoneInfo, hour: int) -> int:
    """Merge each recipient's items held before the last digest time into one queued mail.

    One transaction per recipient: the digest is queued and its items marked `digested`
    together, so a crash repeats or loses nothing. Returns the number of digests queued.
    """
    c = outbox_table.c
    cutoff = digest_cutoff(now, zone, hour)
    held = sa.and_(c.state == DIGEST, c.created_at < cutoff)
    with engine.connect() as conn:
        recipients = conn.execute(sa.select(c.user_id, c.to_addr).where(held).distinct()).all()
    made = 0
    for user_id, to_addr in recipients:
        try:
            with write_transaction(engine) as conn:
                made += _merge_one(
                    conn, sa.and_(held, c.to_addr == to_addr, c.user_id.is_not_distinct_from(user_id)), now
                )
        except _MergedMeanwhile:
            continue
    return made


class _MergedMeanwhile(Exception):
    """Another run merged some of these items first: this recipient's transaction is rolled back."""


def _merge_one(conn: sa.Connection, mine: Any, now: datetime) -> int:
    c = outbox_table.c
    items = conn.execute(sa.select(c.id, c.user_id, c.to_addr, c.subject, c.body_text).where(mine).order_by(c.id)).all()
    if not items:
        return 0
    to_addr, user_id = items[0].to_addr, items[0].user_id
    subject, body = render_mail(
        conn, "digest", {"recipient": to_addr, "items": [{"subject": i.subject, "body": i.body_text} for i in items]}
    )
    digest_id = _store(conn, to_addr, subject, body, state=QUEUED, now=now, user_id=user_id)
    merged = conn.execute(
        outbox_table.update()
        .where(c.id.in_([i.id for i in items]), c.state == DIGEST)
        .values(state=DIGESTED, digest_id=digest_id)
    )
    if merged.rowcount != len(items):
        raise _MergedMeanwhile()
    return 1
