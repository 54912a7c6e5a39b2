"""Which print layouts a form has: the list as it stands, the layouts shipped in
app/reports/pdf/layouts/, and those an administrator wrote or changed in the panel.

A stored layout (table simpul_print_layout, its YAML as typed) replaces the shipped one of the same
name; deleting it brings the shipped one back. Every layout is checked against its form's fields
when it is saved and again when it is used: a form changed since is reported, never printed wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import yaml
from flask_babel import gettext
from sqlalchemy.orm import Mapped, mapped_column

from app.core_model import CoreModel
from app.forms_engine.loader import DefinitionError, DefinitionErrors
from app.forms_engine.record import input_fields
from app.forms_engine.spec import FieldSpec, FormSpec, Text
from app.forms_engine.yamlsource import YamlProblem, read_yaml
from app.reports.pdf.layout import Column, PrintLayout, SignatureSpec, load_layout, parse_layout, shipped_layouts
from app.views.labels import current_lang

LIST_LAYOUT = "daftar"  # any form: the list's own columns
NAME_LENGTH = 64
WIDE = 6  # a list of more columns prints landscape
UNPRINTABLE = ("child", "file", "photo")
PRINT_FORMATS = {"money": "rupiah", "integer": "number", "decimal": "number", "date": "date"}
IDENTITY_WIDTHS = {"nik": 31.0, "kk": 31.0, "nip": 36.0}  # mm: 16 or 18 digits at the table's 9 pt


class StoredLayout(CoreModel):
    """A layout written in the panel (YAML text as typed, so its comments and order stay)."""

    __tablename__ = "simpul_print_layout"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH), unique=True)
    form: Mapped[str] = mapped_column(sa.String(64))
    definition: Mapped[str] = mapped_column(sa.Text)
    changed_on: Mapped[datetime] = mapped_column(sa.DateTime)
    changed_by: Mapped[str | None] = mapped_column(sa.String(256), nullable=True)


layout_table = StoredLayout.__table__


@dataclass(frozen=True)
class Choice:
    """A layout a user may print a form's list with, or why it cannot be used now."""

    name: str
    title: Text
    layout: PrintLayout | None
    problems: tuple[str, ...] = ()
    stored: bool = False  # written in the panel (else shipped, or the list's own)

    def heading(self, lang: str) -> str:
        """The layout's title on one line, its {values} left out ("DAFTAR PENYALURAN BANTUAN")."""
        text = re.sub(r"\{[^{}]*\}", "", self.title.get(lang))
        return " · ".join(line.strip() for line in text.splitlines() if line.strip()) or self.name


def field_types(spec: FormSpec) -> dict[str, str]:
    """The form's fields a layout may name, with their types."""
    return {f.name: f.type for f in input_fields(spec)}


def list_layout(spec: FormSpec, shown: list[FieldSpec]) -> PrintLayout:
    """The list as it stands: No., the list's columns, the head of office signing."""
    fields = [f for f in shown if f.type not in UNPRINTABLE]
    columns = [Column(kind="no", label=Text("No.", "No."), width_mm=10.0, align="center")]
    for f in fields:
        numeric = f.type in ("integer", "decimal", "money")
        columns.append(
            Column(
                kind="field",
                label=f.label,
                field=f.name,
                width_mm=IDENTITY_WIDTHS.get(f.type),  # a masked NIK on one line
                weight=0.8 if numeric or f.type == "date" else 1.5,
                align="right" if numeric else "left",
                format=PRINT_FORMATS.get(f.type, "text"),
            )
        )
    return PrintLayout(
        title=Text(spec.title.id.upper(), spec.title.en.upper()),
        columns=tuple(columns),
        orientation="landscape" if len(fields) > WIDE else "portrait",
        signature=SignatureSpec(signer="kepala"),
        form=spec.slug,
        source=LIST_LAYOUT,
    )


def read_stored(row: StoredLayout | Mapping[str, str], fields: Mapping[str, str] | None) -> PrintLayout:
    """A stored layout's YAML read and checked (raises DefinitionErrors, located by line)."""
    name, text = (row.name, row.definition) if isinstance(row, StoredLayout) else (row["name"], row["definition"])
    source = f"{name}.yaml"
    try:
        document = read_yaml(text.encode("utf-8"))
    except YamlProblem as exc:
        raise DefinitionErrors([DefinitionError(source, "", exc.message, exc.line, exc.column)]) from None
    return parse_layout(document.data, source, document.lines, fields)


def choices(session: sa.orm.Session, spec: FormSpec, shown: list[FieldSpec]) -> list[Choice]:
    """The layouts a form's list prints with: its own list first, then the form's shipped and
    stored layouts by name (a stored one replaces the shipped one of its name)."""
    fields = field_types(spec)
    found: dict[str, Choice] = {}
    for name, path in shipped_layouts().items():
        if form_of(path.read_text(encoding="utf-8")) == spec.slug:
            found[name] = _choice(name, lambda path=path, name=name: load_layout(path, fields, f"layouts/{name}.yaml"))
    stored = session.scalars(sa.select(StoredLayout).order_by(StoredLayout.name))
    for row in stored:
        found.pop(row.name, None)
        if row.form == spec.slug:
            found[row.name] = _choice(row.name, lambda row=row: read_stored(row, fields), stored=True)
    own = list_layout(spec, shown)
    return [Choice(LIST_LAYOUT, own.title, own), *sorted(found.values(), key=lambda c: c.name)]


def _choice(name: str, read: Callable[[], PrintLayout], stored: bool = False) -> Choice:
    try:
        layout = read()
    except DefinitionErrors as exc:
        return Choice(
            name, Text(name, name), None, tuple(e.render(gettext, current_lang()) for e in exc.errors), stored
        )
    return Choice(name, layout.title, layout, (), stored)


def definition_text(session: sa.orm.Session, name: str) -> str | None:
    """The YAML a layout is written in: the stored text, else the shipped file's, else None."""
    stored = session.scalar(sa.select(StoredLayout.definition).where(StoredLayout.name == name))
    if stored is not None:
        return stored
    path = shipped_layouts().get(name)
    return path.read_text(encoding="utf-8") if path is not None else None


def form_of(text: str) -> str | None:
    """The `form:` a layout's YAML names (None when unreadable or absent)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    form = data.get("form") if isinstance(data, dict) else None
    return form if isinstance(form, str) else None
