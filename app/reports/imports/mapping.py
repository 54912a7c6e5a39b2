"""Which column of the file fills which field: matched by label (Indonesian or English) or name.

Matching ignores case, spaces, dots, dashes and underscores, so "No. KK", "no_kk" and "NO KK"
all find the field `no_kk`. The user confirms (or changes) the match on the mapping screen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.forms_engine.record import input_fields
from app.forms_engine.spec import FieldSpec, FormSpec

PARENT = "parent_id"  # a column naming the parent record of a child-table row
_NOISE = re.compile(r"[\s._\-/()]+")


def importable_fields(spec: FormSpec) -> tuple[FieldSpec, ...]:
    """Fields a file may fill: what a person types (no files, no workflow state)."""
    return tuple(f for f in input_fields(spec) if f.type not in ("file", "photo") and f.name != spec.state_field)


def header_key(text: str) -> str:
    """A column title or label as matched: no case, spaces, dots, dashes or underscores."""
    return _NOISE.sub("", text).casefold()


def auto_mapping(spec: FormSpec, header: Sequence[str], parent_label: str | None = None) -> list[str | None]:
    """For each column, the field it fills (None: ignored); each field is taken by one column at most."""
    names: dict[str, str] = {}
    for f in importable_fields(spec):
        for text in (f.name, f.label.id, f.label.get("en")):
            names.setdefault(header_key(text), f.name)
    if spec.parent:
        for text in (PARENT, parent_label or "", "parent"):
            if text:
                names.setdefault(header_key(text), PARENT)
    taken: set[str] = set()
    mapping: list[str | None] = []
    for title in header:
        name = names.get(header_key(title)) if title else None
        mapping.append(name if name is not None and name not in taken else None)
        if name is not None:
            taken.add(name)
    return mapping


def checked_mapping(spec: FormSpec, header: Sequence[str], chosen: Sequence[str | None]) -> list[str | None]:
    """The user's choice cut to the header and to fields that exist, each field once."""
    allowed = {f.name for f in importable_fields(spec)} | ({PARENT} if spec.parent else set())
    taken: set[str] = set()
    mapping: list[str | None] = []
    for index in range(len(header)):
        name = chosen[index] if index < len(chosen) else None
        ok = name in allowed and name not in taken
        mapping.append(name if ok else None)
        if ok:
            taken.add(name)  # type: ignore[arg-type]
    return mapping
