"""Values a person writes in a spreadsheet for references and choices: names, not record numbers.

A reference cell may hold the record number or the target's title (case and spaces ignored),
looked up only among records the importing user may see; a choice cell its value or its label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.forms_engine.fieldtypes import Invalid, column_name
from app.forms_engine.messages import N_, Message
from app.forms_engine.spec import FieldSpec, FormSpec


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


class RecordNames:
    """The visible records of one form: their ids, and ids by title (None when a title is shared)."""

    def __init__(self, conn: Any, model: Any, clause: Any) -> None:
        spec: FormSpec = model.__spec__
        title = _title_field(spec)
        table = model.__table__
        columns = [table.c.id, table.c.region_code] + ([table.c[column_name(title)]] if title else [])
        query = sa.select(*columns)
        if clause is not None:
            query = query.where(clause)
        self.ids: set[int] = set()
        self.regions: dict[int, str | None] = {}
        self.by_title: dict[str, int | None] = {}
        for row in conn.execute(query):
            self.ids.add(row[0])
            self.regions[row[0]] = row[1]
            if title and row[2] is not None:
                key = _fold(str(row[2]))
                self.by_title[key] = None if key in self.by_title else row[0]

    def resolve(self, value: Any) -> Any:
        """The record number a cell names, or the cell unchanged for the engine to judge."""
        if isinstance(value, str) and value.strip() and not value.strip().isdigit():
            key = _fold(value)
            if key not in self.by_title:
                raise Invalid(Message(N_("no record named '%(value)s'"), {"value": value.strip()[:60]}))
            found = self.by_title[key]
            if found is None:
                raise Invalid(Message(N_("more than one record is named '%(value)s'"), {"value": value.strip()[:60]}))
            return found
        return value

    def check_visible(self, record_id: int | None) -> None:
        """Refuse a record number the user may not see (or that does not exist)."""
        if record_id is not None and record_id not in self.ids:
            raise Invalid(Message(N_("no such record")))


def _title_field(spec: FormSpec) -> FieldSpec | None:
    if spec.title_field:
        return spec.field(spec.title_field)
    return next((f for f in spec.live_fields if f.type == "text"), None)


def choice_labels(field: FieldSpec) -> Mapping[str, str]:
    """Choice values by their folded labels (Indonesian and English) and values."""
    found: dict[str, str] = {}
    for choice in field.choices:
        for text in (choice.value, choice.label.id, choice.label.get("en")):
            found.setdefault(_fold(text), choice.value)
    return found


def resolve_choice(labels: Mapping[str, str], value: Any) -> Any:
    """A choice cell's value when it names one by label; else the cell for the engine to judge."""
    if isinstance(value, str):
        return labels.get(_fold(value), value)
    return value
