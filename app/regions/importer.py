"""Region master data (kode wilayah Kemendagri): the table, reading a list, importing it.

An import is one transaction and all-or-nothing: a malformed line is reported with its
line number and nothing is written. Re-importing the same list changes nothing. A code
that disappeared from a newer list is deleted only when no record uses it; codes still in
use are kept, marked inactive, so records keep the code they were filed under.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from app.forms_engine.fieldtypes import column_name, region_code_type
from app.forms_engine.messages import N_, Message
from app.forms_engine.store import metadata, published_specs
from app.forms_engine.tables import all_tables

SHIPPED_LIST = Path(__file__).resolve().parent / "data" / "wilayah.csv"
CODE = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
BATCH = 5000

region_table = sa.Table(
    "simpul_region",
    metadata,
    sa.Column("code", region_code_type(), primary_key=True),
    sa.Column("name", sa.String(150), nullable=False),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("parent_code", region_code_type(), nullable=True, index=True),
    sa.Column("active", sa.Boolean, nullable=False),
)


@dataclass(frozen=True)
class LineError:
    """A malformed line of a region list."""

    line: int
    message: Message

    def render(self, gettext: object = None, lang: str = "en") -> str:
        """`line 12: …`"""
        return f"line {self.line}: {self.message.render(gettext, lang)}"  # type: ignore[arg-type]


class RegionFileError(Exception):
    """The list has malformed lines; nothing was imported."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__("\n".join(e.render() for e in errors))
        self.errors = errors


@dataclass
class ImportReport:
    """What an import did."""

    added: int = 0
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # code, old name, new name
    unchanged: int = 0
    removed: int = 0
    kept_in_use: list[str] = field(default_factory=list)
    reactivated: int = 0


def level_of(code: str) -> int:
    """1 province, 2 kabupaten/kota, 3 kecamatan, 4 desa/kelurahan."""
    return code.count(".") + 1


def parent_of(code: str) -> str | None:
    """The code one level up, or None for a province."""
    return code.rsplit(".", 1)[0] if "." in code else None


def read_regions(text: Iterable[str]) -> dict[str, str]:
    """Parse `kode,nama` lines into {code: name}; raise RegionFileError with every bad line."""
    errors: list[LineError] = []
    regions: dict[str, str] = {}
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != ["kode", "nama"]:
        raise RegionFileError([LineError(1, Message(N_("the first line must be the header 'kode,nama'")))])
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            errors.append(LineError(line, Message(N_("expected 2 columns (kode,nama), found %(n)s"), {"n": len(row)})))
            continue
        code, name = row[0].strip(), row[1].strip()
        if not CODE.match(code):
            errors.append(LineError(line, Message(N_("'%(code)s' is not a region code"), {"code": code})))
        elif not name:
            errors.append(LineError(line, Message(N_("the name of %(code)s is empty"), {"code": code})))
        elif len(name) > 150:
            errors.append(
                LineError(line, Message(N_("the name of %(code)s is longer than 150 characters"), {"code": code}))
            )
        elif code in regions:
            errors.append(LineError(line, Message(N_("%(code)s appears twice"), {"code": code})))
        else:
            regions[code] = name
    for code in regions:
        parent = parent_of(code)
        if parent is not None and parent not in regions:
            errors.append(
                LineError(
                    0, Message(N_("%(code)s has no parent %(parent)s in the list"), {"code": code, "parent": parent})
                )
            )
    if errors:
        raise RegionFileError(sorted(errors, key=lambda e: e.line))
    return regions


def read_region_file(path: Path) -> dict[str, str]:
    """Read a region list file (UTF-8, with or without a byte-order mark)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return read_regions(io.StringIO(handle.read()))


def codes_in_use(conn: sa.Connection, codes: set[str]) -> set[str]:
    """Which of `codes` some record of a published form holds (region fields or region_code)."""
    used: set[str] = set()
    if not codes:
        return used
    wanted = sorted(codes)
    for spec in published_specs(conn, include_retired=True).values():
        for part in all_tables(spec):
            columns = ["region_code", *(column_name(f) for f in part.column_fields if f.type == "region")]
            table = sa.table(part.table_name, *[sa.column(c) for c in columns])
            for name in columns:
                for start in range(0, len(wanted), 1000):
                    chunk = wanted[start : start + 1000]
                    used.update(
                        conn.execute(sa.select(table.c[name]).where(table.c[name].in_(chunk)).distinct()).scalars()
                    )
    return used


def import_regions(conn: sa.Connection, regions: dict[str, str]) -> ImportReport:
    """Upsert `regions` inside the caller's transaction and report what changed."""
    report = ImportReport()
    existing = {
        r.code: (r.name, r.active)
        for r in conn.execute(sa.select(region_table.c.code, region_table.c.name, region_table.c.active))
    }
    added = [
        {"code": code, "name": name, "level": level_of(code), "parent_code": parent_of(code), "active": True}
        for code, name in regions.items()
        if code not in existing
    ]
    changed = []
    for code, name in regions.items():
        if code not in existing:
            continue
        old_name, active = existing[code]
        if old_name != name:
            report.renamed.append((code, old_name, name))
        elif active:
            report.unchanged += 1
            continue
        if not active:
            report.reactivated += 1
        changed.append({"b_code": code, "name": name})
    gone = set(existing) - set(regions)
    in_use = codes_in_use(conn, gone)
    report.kept_in_use = sorted(in_use)
    for start in range(0, len(added), BATCH):
        conn.execute(region_table.insert(), added[start : start + BATCH])
    if changed:
        conn.execute(
            region_table.update()
            .where(region_table.c.code == sa.bindparam("b_code"))
            .values(name=sa.bindparam("name"), active=True),
            changed,
        )
    removable = sorted(gone - in_use)
    for start in range(0, len(removable), 1000):
        conn.execute(region_table.delete().where(region_table.c.code.in_(removable[start : start + 1000])))
    if in_use:
        conn.execute(region_table.update().where(region_table.c.code.in_(sorted(in_use))).values(active=False))
    report.added, report.removed = len(added), len(removable)
    return report


def region_count(conn: sa.Connection) -> int:
    """How many region codes are loaded."""
    return conn.execute(sa.select(sa.func.count()).select_from(region_table)).scalar() or 0
