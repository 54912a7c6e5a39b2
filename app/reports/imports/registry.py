"""The registry extract (DTKS/DTSEN) as an import profile: who on the rosters is in the national registry.

An extract lists persons by NIK (with No. KK, name, address and desil). Applied to a roster
form that has the profile's fields (`nik`, a boolean `terdaftar_dtks`, an integer `desil`, and
optionally a text `id_dtks`), it marks every roster line of the user's area whose NIK is in the
extract as registered with its desil (and registry id), and every line marked registered whose
NIK is no longer there as not registered. It reports the persons who entered and who left the
registry, and counts per desa. Like every import it is all or nothing: one bad row (a NIK Excel
rounded, a desil out of 1-10, a NIK twice) and nothing changes, and the extract comes back
annotated. Changes go through the ORM, so the audit trail records each one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.access.scope import scope_clause
from app.forms_engine.fieldtypes import Invalid, column_name
from app.forms_engine.messages import N_, Message
from app.forms_engine.spec import FieldSpec, FormSpec

from .cells import raw_value
from .mapping import header_key
from .reading import Table, read_table
from .validation import CHUNK, Plan, RowResult
from .values import Remembered

HEADERS = {  # extract columns, as the registry's exports and offices name them
    "nik": ("nik", "noktp", "nomorinduk kependudukan", "nomorindukkependudukan"),
    "kk": ("nokk", "kk", "nomorkk", "nomorkartukeluarga"),
    "nama": ("nama", "namalengkap", "namaart"),
    "alamat": ("alamat",),
    "desil": ("desil", "desilnasional", "desilkesejahteraan", "peringkatdesil"),
    "registry_id": ("iddtks", "iddtsen", "idart", "idregistri"),
}


@dataclass(frozen=True)
class RegistryProfile:
    """Which fields of a roster form the extract updates."""

    form: str
    nik: str = "nik"
    flag: str = "terdaftar_dtks"
    desil: str = "desil"
    registry_id: str | None = "id_dtks"


def registry_profile(spec: FormSpec) -> RegistryProfile | None:
    """The profile for a form that has the registry's fields, else None."""
    fields = {f.name: f for f in spec.live_fields}
    profile = RegistryProfile(spec.slug)
    wanted = {profile.nik: "nik", profile.flag: "boolean", profile.desil: "integer"}
    if any(name not in fields or fields[name].type != kind for name, kind in wanted.items()):
        return None
    registry_id = profile.registry_id if profile.registry_id in fields else None
    return RegistryProfile(spec.slug, registry_id=registry_id)


def extract_columns(header: list[str]) -> dict[str, int]:
    """The extract's columns by meaning (nik, kk, nama, alamat, desil, registry_id)."""
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        key = header_key(title)
        for meaning, names in HEADERS.items():
            if meaning not in found and key in {header_key(n) for n in names}:
                found[meaning] = index
    return found


def extract_table(data: bytes) -> Table:
    """The extract in an upload. Of a workbook, the first sheet whose header names a NIK column (an
    extract often comes with a cover or summary sheet before its list), else the first holding rows,
    whose missing columns are then reported."""
    return read_table(data, wanted=lambda table: "nik" in extract_columns(table.header))


@dataclass
class Person:
    """One person of the extract."""

    nik: str
    desil: int | None
    registry_id: str | None
    row: int


@dataclass
class RegistryReport:
    """What an extract changed: persons in and out, per desa, and the roster lines updated."""

    rows: int = 0
    entered: list[tuple[str, str, str | None]] = field(default_factory=list)  # (nik, name, desa)
    left: list[tuple[str, str, str | None]] = field(default_factory=list)
    per_desa: dict[str, Counter[str]] = field(default_factory=dict)  # persons entered/left, lines registered/not
    changed_ids: list[int] = field(default_factory=list)
    matched_lines: int = 0


def read_extract(table: Table, spec: FormSpec, profile: RegistryProfile) -> tuple[dict[str, Person], Plan]:
    """The extract's persons by NIK, and its rows with their problems (a NIK Excel rounded, a desil out of range)."""
    columns = extract_columns(table.header)
    judges = {name: Remembered(judge) for name, judge in spec.validator.judges.items()}
    nik_field, desil_field = spec.field(profile.nik), spec.field(profile.desil)
    id_field = spec.field(profile.registry_id) if profile.registry_id else None
    persons: dict[str, Person] = {}
    rows = []
    for cells, number in zip(table.rows, table.row_numbers, strict=True):
        result = RowResult(number)
        rows.append(result)
        nik = _value(result, judges, nik_field, cells, columns.get("nik"), required=True)
        desil = _value(result, judges, desil_field, cells, columns.get("desil"))
        registry_id = _value(result, judges, id_field, cells, columns.get("registry_id")) if id_field else None
        if result.errors or nik is None:
            continue
        if nik in persons:
            result.fail(
                profile.nik,
                Message(
                    N_("the same %(fields)s is already in row %(row)s of this file"),
                    {"fields": nik_field.label.id, "row": persons[nik].row},
                ),
            )
            continue
        persons[nik] = Person(nik, desil, registry_id, number)
    return persons, Plan(rows, {})


def _value(
    result: RowResult,
    judges: dict[str, Remembered],
    f: FieldSpec,
    cells: list[Any],
    index: int | None,
    required: bool = False,
) -> Any:
    if index is None:
        if required:
            result.fail(f.name, Message(N_("is required")))
        return None
    try:
        raw = raw_value(f, cells[index])
    except Invalid as exc:
        result.fail(f.name, exc.message)
        return None
    value, problem = judges[f.name](raw)
    if problem is not None:
        result.fail(f.name, problem)
        return None
    if value is None and required:
        result.fail(f.name, Message(N_("is required")))
    return value


def apply_extract(
    session: Any, model: Any, profile: RegistryProfile, persons: dict[str, Person], scope: str | None, rows: int
) -> RegistryReport:
    """Update the roster lines of the user's area from the extract (flushed, not committed)."""
    from app.views.generated import stamp

    spec: FormSpec = model.__spec__
    table = model.__table__
    title = spec.title_field or profile.nik
    c = {name: table.c[column_name(spec.field(name))] for name in {profile.nik, profile.flag, profile.desil, title}}
    if profile.registry_id:
        c[profile.registry_id] = table.c[column_name(spec.field(profile.registry_id))]
    query = sa.select(table.c.id, table.c.region_code, *c.values()).where(c[profile.nik].is_not(None))
    clause = scope_clause(model, scope)
    names = list(c)
    report = RegistryReport(rows=rows)
    wanted: dict[int, dict[str, Any]] = {}
    seen_in: set[str] = set()
    seen_out: set[str] = set()
    for line in session.execute(query.where(clause) if clause is not None else query):
        stored = dict(zip(names, line[2:], strict=True))
        nik, desa = stored[profile.nik], line.region_code
        person = persons.get(nik)
        counts = report.per_desa.setdefault(desa or "", Counter())
        if person is not None:
            report.matched_lines += 1
            new = {profile.flag: True, profile.desil: person.desil}
            if profile.registry_id and person.registry_id is not None:
                new[profile.registry_id] = person.registry_id
            if not stored[profile.flag] and nik not in seen_in:
                seen_in.add(nik)
                report.entered.append((nik, str(stored[title] or ""), desa))
                counts["entered"] += 1
            counts["registered"] += 1
        else:
            new = {profile.flag: False}
            if stored[profile.flag] and nik not in seen_out:
                seen_out.add(nik)
                report.left.append((nik, str(stored[title] or ""), desa))
                counts["left"] += 1
            counts["not_registered"] += 1
        changes = {k: v for k, v in new.items() if stored.get(k) != v}
        if changes:
            wanted[line.id] = changes
    ids = list(wanted)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for item in session.execute(sa.select(model).where(model.id.in_(chunk))).scalars():
            for name, value in wanted[item.id].items():
                setattr(item, column_name(spec.field(name)), value)
            stamp(item, spec, is_new=False)
        session.flush()
    report.changed_ids = ids
    return report
