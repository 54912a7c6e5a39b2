"""A definition exactly at each of the loader's limits publishes on SQLite and PostgreSQL and takes records.

The limits (limits.py) sit below where the databases fail; one step over each is refused by
the loader (test_bad_definitions.py). Here it is published as `forms publish` does.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.forms_engine.limits import MAX_FIELDS, MAX_INDEX_COLUMNS, MAX_NAME, MAX_PRECISION, MAX_VARCHAR
from app.forms_engine.tables import MAX_IDENTIFIER, build_models
from tests.conftest import publish_yaml, spec_of

FORM = "f" * MAX_NAME
CHILD = "c" * (MAX_IDENTIFIER - len(f"form_{FORM}__"))


def widest() -> str:
    """One form at every limit: fields, name lengths, VARCHAR, NUMERIC, BIGINT, columns in one index."""
    fields = [f"  - {{name: t{i}, type: text, label: T}}" for i in range(MAX_FIELDS - 4)]
    fields += [
        f"  - {{name: panjang, type: text, label: Panjang, max_length: {MAX_VARCHAR}}}",
        f"  - {{name: angka, type: decimal, label: Angka, precision: {MAX_PRECISION}, scale: 4}}",
        "  - {name: jumlah, type: integer, label: Jumlah, max: 9223372036854775807}",
        f"  - {{name: {CHILD}, type: child, label: Anak, fields: [{{name: nama, type: text, label: Nama}}]}}",
    ]
    together = ", ".join(f"t{i}" for i in range(MAX_INDEX_COLUMNS))
    return f"form: {FORM}\ntitle: Terlebar\nunique_together: [[{together}]]\nfields:\n" + "\n".join(fields)


def test_a_definition_at_every_limit_publishes_and_takes_a_record(empty_app: Any) -> None:
    text = widest()
    publish_yaml(empty_app, text)
    models = build_models([spec_of(text)])
    parent, child = models[FORM].__table__, models[f"{FORM}__{CHILD}"].__table__
    with empty_app.app_context(), db.engine.begin() as conn:
        assert len(child.name) == MAX_IDENTIFIER and sa.inspect(conn).has_table(child.name)
        values = {f"t{i}": str(i) for i in range(MAX_FIELDS - 4)}
        row = conn.execute(
            parent.insert().values(**values, panjang="x" * 300, angka=1, jumlah=2**63 - 1).returning(parent.c.id)
        ).scalar_one()
        conn.execute(child.insert().values(parent_id=row, nama="Ani"))
        assert conn.execute(sa.select(parent.c.jumlah)).scalar_one() == 2**63 - 1
