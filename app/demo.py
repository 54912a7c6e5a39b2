"""Deterministic demo records for a fresh installation (Kabupaten Tabalong)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import validate_values
from app.forms_engine.spec import FormSpec
from app.forms_engine.tables import build_table

AGENCIES = [
    {
        "nama": "Dinas Sosial Kabupaten Tabalong",
        "jenis": "opd",
        "telepon": "0526-2021234",
        "alamat": "Jl. Tanjung Selatan, Tanjung",
    },
    {"nama": "Dinas Kesehatan Kabupaten Tabalong", "jenis": "opd", "alamat": "Jl. Ir. P. H. M. Noor, Tanjung"},
    {"nama": "Dinas Pendidikan Kabupaten Tabalong", "jenis": "opd", "alamat": "Jl. Pangeran Antasari, Tanjung"},
    {"nama": "Dinas Perumahan Rakyat dan Kawasan Permukiman", "jenis": "opd"},
    {"nama": "Badan Perencanaan Pembangunan Daerah (Bappeda)", "jenis": "opd"},
    {"nama": "Dinas Kependudukan dan Pencatatan Sipil", "jenis": "opd"},
    {"nama": "BPJS Kesehatan Cabang Tanjung", "jenis": "bpjs", "email": "kc-tanjung@bpjs-kesehatan.go.id"},
    {"nama": "Kementerian Sosial RI", "jenis": "vertikal"},
]


def load_demo(conn: sa.Connection, specs: dict[str, FormSpec]) -> dict[str, int]:
    """Insert the demo records into empty demo forms; return how many went into each."""
    loaded: dict[str, int] = {}
    spec = specs.get("instansi")
    if spec is not None:
        loaded["instansi"] = _fill(conn, spec, AGENCIES)
    return loaded


def _fill(conn: sa.Connection, spec: FormSpec, records: list[dict[str, Any]]) -> int:
    table = build_table(spec, sa.MetaData(), None)
    if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar():
        return 0
    now = datetime.now()
    rows = []
    for record in records:
        clean, errors = validate_values(spec, record)
        if errors:
            raise ValueError(f"demo record {record} for {spec.slug} is invalid: {errors}")
        rows.append({column_name(spec.field(k)): v for k, v in clean.items()} | {"created_on": now, "changed_on": now})
    columns = sorted({key for row in rows for key in row})
    conn.execute(table.insert(), [{c: row.get(c) for c in columns} for row in rows])
    return len(rows)
