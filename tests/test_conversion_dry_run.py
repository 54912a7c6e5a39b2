"""A type change's dry run predicts its apply exactly, on SQLite and PostgreSQL.

Stored values, including hostile ones ("Infinity", "1e30", values too big for the new column),
are either refused by the dry run, naming the row, or carried over by the apply; the apply never
fails after a clean dry run, and both read "1.000" by the same rule.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.changes import ChangeRefused
from app.forms_engine.publish import publish
from app.forms_engine.schema_lock import schema_change
from tests.conftest import spec_of

REFUSED = object()
LONG = "x" * 300

# field: (old type, new type, [(stored value, value after the change or REFUSED), ...])
CASES: dict[str, tuple[str, str, list[tuple[Any, Any]]]] = {
    "a": (
        "text",
        "integer",
        [
            ("1.000", 1000),  # one rule: "1.000" is one thousand, as money reads it
            ("Infinity", REFUSED),
            ("1e30", REFUSED),
            ("9223372036854775808", REFUSED),  # one past BIGINT
            (" 41 ", 41),
            ("1e1000000", REFUSED),  # bounded cost: refused at once, never built
            ("sNaN", REFUSED),
            ("٤٢", 42),
            ("1,000", REFUSED),  # thousands or one? ambiguous
            ("-0", 0),
        ],
    ),
    "b": (
        "text",
        "decimal",
        [
            ("1.000", REFUSED),  # the field keeps 4 decimals: thousands or one? ambiguous
            ("12,5", Decimal("12.5")),
            ("1e30", REFUSED),
            ("Infinity", REFUSED),
            ("123456789012.5", REFUSED),  # 16 significant digits: SQLite would round them
            ("99999999999.9999", Decimal("99999999999.9999")),
            ("NaN", REFUSED),
            ("1.000.000", Decimal("1000000")),
        ],
    ),
    "c": (
        "text",
        "money",
        [
            ("Rp 1.250.000", Decimal("1250000")),
            ("1.000", Decimal("1000")),
            ("1e30", REFUSED),
            ("10000000000000", REFUSED),
            ("12,500", REFUSED),
            ("9.999.999.999.999,99", Decimal("9999999999999.99")),
        ],
    ),
    "d": ("integer", "decimal", [(10**12, REFUSED), (42, Decimal(42)), (-(2**63), REFUSED)]),
    "e": ("integer", "money", [(2**63 - 1, REFUSED), (1250000, Decimal(1250000))]),
    "f": ("decimal", "integer", [(Decimal("3.5"), REFUSED), (Decimal("7"), 7), (Decimal("-0.0000"), 0)]),
    "g": ("boolean", "integer", [(True, 1), (False, 0)]),
    "h": ("boolean", "text", [(True, "1"), (False, "0")]),
    "i": ("datetime", "date", [(datetime(2020, 11, 5, 8, 30), date(2020, 11, 5))]),
    "j": ("datetime", "text", [(datetime(2020, 11, 5, 8, 30), "2020-11-05 08:30:00")]),
    "k": ("money", "text", [(Decimal("1250000"), "1250000.00"), (Decimal("0.5"), "0.50")]),
    "l": ("longtext", "text", [(LONG, REFUSED), ("pendek", "pendek")]),
    "m": (
        "text",
        "nik",
        [("６３０９０１４５０７９００００１", "6309014507900001"), ("6309 0145 0790 0001", "6309014507900001")],
    ),
    "n": ("text", "boolean", [("ya", True), ("False", False), ("mungkin", REFUSED)]),
    "o": ("date", "datetime", [(date(2020, 11, 4), datetime(2020, 11, 4))]),
    "p": ("integer", "boolean", [(1, True), (2, REFUSED)]),
}


def definition(which: int) -> str:
    lines = ["form: nilai", "title: Nilai", "fields:"]
    for name, types in CASES.items():
        lines.append(f"  - {{name: {name}, type: {types[which]}, label: {name.upper()}}}")
    return "\n".join(lines) + "\n"


def run_publish(app: Any, text: str, dry_run: bool) -> Any:
    spec = spec_of(text)
    with app.app_context(), schema_change(db.engine) as conn:
        return publish(conn, {spec.slug: spec}, "test", dry_run_only=dry_run)


def table(conn: sa.Connection) -> sa.Table:
    return sa.Table("form_nilai", sa.MetaData(), autoload_with=conn)


@pytest.fixture
def app(empty_app: Any) -> Any:
    run_publish(empty_app, definition(0), dry_run=False)
    rows = max(len(cases) for _, _, cases in CASES.values())
    with empty_app.app_context(), db.engine.begin() as conn:
        t = table(conn)
        for i in range(rows):
            values = {name: cases[i][0] if i < len(cases) else None for name, (_, _, cases) in CASES.items()}
            conn.execute(t.insert().values(id=i + 1, **values))
    return empty_app


def refusals(app: Any, dry_run: bool) -> set[tuple[str, int | None]]:
    with pytest.raises(ChangeRefused) as refused:
        run_publish(app, definition(1), dry_run=dry_run)
    return {(p.field, p.row_id) for p in refused.value.problems}


def test_dry_run_refuses_exactly_the_rows_the_apply_could_not_carry(app: Any) -> None:
    started = time.monotonic()
    predicted = refusals(app, dry_run=True)
    assert time.monotonic() - started < 10  # "1e1000000" once held a worker for 37 s
    expected = {
        (name, i + 1) for name, (_, _, cases) in CASES.items() for i, (_, after) in enumerate(cases) if after is REFUSED
    }
    assert predicted == expected
    assert refusals(app, dry_run=False) == predicted  # the real publish refuses the same rows, nothing else


def test_after_a_clean_dry_run_the_apply_writes_what_was_predicted(app: Any) -> None:
    with app.app_context(), db.engine.begin() as conn:  # clear the cells the dry run would refuse
        t = table(conn)
        for name, (_, _, cases) in CASES.items():
            for i, (_, after) in enumerate(cases):
                if after is REFUSED:
                    conn.execute(t.update().where(t.c.id == i + 1).values({name: None}))
    assert run_publish(app, definition(1), dry_run=True).plans  # clean: nothing refused
    run_publish(app, definition(1), dry_run=False)
    with app.app_context(), db.engine.connect() as conn:
        t = table(conn)
        stored = {row.id: row for row in conn.execute(sa.select(t))}
    for name, (_, _, cases) in CASES.items():
        for i, (_, after) in enumerate(cases):
            got = getattr(stored[i + 1], name)
            if after is REFUSED:
                assert got is None, (name, i)
            elif isinstance(after, bool):
                assert got is after or got == int(after), (name, i, got)
            else:
                assert got == after and type(got) is type(after), (name, i, got)


UNIQUE = """
form: kode
title: Kode
fields:
  - {name: nomor, type: text, label: Nomor, unique: true}
"""


def test_values_that_become_equal_when_converted_are_refused_on_a_unique_field(empty_app: Any) -> None:
    run_publish(empty_app, UNIQUE, dry_run=False)
    with empty_app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO form_kode (id, nomor) VALUES (1, '1.000'), (2, '1000'), (3, '7')"))
    with pytest.raises(ChangeRefused, match="must be unique"):
        run_publish(empty_app, UNIQUE.replace("type: text", "type: integer"), dry_run=True)
