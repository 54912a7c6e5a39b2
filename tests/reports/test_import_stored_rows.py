"""The import's bulk reads and writes give what SQLAlchemy gives, and leave the pooled connection as it was."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.reports.imports.validation import all_rows
from app.reports.imports.write import IMPORT_CACHE_KIB, larger_cache

METADATA = sa.MetaData()
ROWS = sa.Table(
    "rows_read",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40)),
    sa.Column("born", sa.Date),
    sa.Column("at", sa.DateTime),
    sa.Column("amount", sa.Numeric(18, 2)),
    sa.Column("ratio", sa.Numeric(18, 4)),
    sa.Column("count", sa.BigInteger),
    sa.Column("done", sa.Boolean),
    sa.Column("tags", sa.JSON),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    METADATA.create_all(engine)
    rng = random.Random(5)
    pool: dict[str, list[Any]] = {
        "name": ["Ani", "", None, "Ñ ال"],
        "born": [date(1990, 2, 28), date(2000, 2, 29), None],
        "at": [datetime(2026, 3, 1, 8, 0), datetime(2026, 3, 1, 8, 0, 0, 5), None],
        "amount": [Decimal("0.00"), Decimal("1250000.50"), Decimal("-0.00"), Decimal("7"), None],
        "ratio": [Decimal("0.0001"), Decimal("3.25"), None],
        "count": [0, 1, 2**40, None],
        "done": [True, False, None],
        "tags": [["a", "b"], [], None, {"x": 1}],
    }
    with engine.begin() as conn:
        conn.execute(ROWS.insert(), [{name: rng.choice(values) for name, values in pool.items()} for _ in range(700)])
    yield engine
    METADATA.drop_all(engine)
    engine.dispose()


def test_stored_rows_are_read_as_sqlalchemy_reads_them(engine: sa.Engine) -> None:
    query = sa.select(*ROWS.c).order_by(ROWS.c.id)
    with engine.connect() as conn:
        expected = [tuple(row) for row in conn.execute(query)]
        got = all_rows(conn, query)
    assert len(got) == 700
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs
        assert [type(v) for v in mine] == [type(v) for v in theirs]
        assert [str(v) for v in mine] == [str(v) for v in theirs]  # Decimal 0.00 stays 0.00
    lists = [row[-1] for row in got if isinstance(row[-1], list)]
    assert len({id(value) for value in lists}) == len(lists)  # each row its own list
    with Session(engine) as session:
        some = query.where(ROWS.c.id.in_([3, 5, 8]))
        assert all_rows(session, some) == [tuple(row) for row in session.execute(some)]
        assert all_rows(session, query.where(ROWS.c.id < 0)) == []


def test_the_larger_cache_lasts_for_the_writes_only(engine: sa.Engine) -> None:
    with Session(engine) as session:
        if engine.dialect.name != "sqlite":
            with larger_cache(session):  # nothing to change
                session.execute(sa.text("SELECT 1"))
            return
        before = session.execute(sa.text("PRAGMA cache_size")).scalar()
        with larger_cache(session):
            assert session.execute(sa.text("PRAGMA cache_size")).scalar() == -IMPORT_CACHE_KIB
            session.execute(ROWS.insert().values(name="inside"))
        assert session.execute(sa.text("PRAGMA cache_size")).scalar() == before
        with pytest.raises(RuntimeError), larger_cache(session):
            raise RuntimeError("a failed write")
        assert session.execute(sa.text("PRAGMA cache_size")).scalar() == before
        session.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.select(ROWS.c.name).where(ROWS.c.name == "inside")).scalar() == "inside"
