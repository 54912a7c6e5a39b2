"""A form's list printed as a roster: the office's letterhead and officials, the values a layout's
title and details ask for, and the list's rows in the layout's order.

The rows come from the same selection an export reads (app/reports/selection.py): the user's
filters, order and working area, NIK and No. KK masked. A layout that groups (`group_by`) gets its
rows ordered by the group first, so each desa or kecamatan is one run with its subtotal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app

from app.access.scope import visible
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.identity import PERSONAL_TYPES, mask
from app.forms_engine.record import input_fields
from app.forms_engine.spec import FormSpec
from app.office import SETTINGS_FORM
from app.reports.pdf.layout import REGION_PARTS, PrintLayout
from app.reports.selection import Selection
from app.uploads import upload_path
from app.views.interface import FilterReferenceIs
from app.views.labels import current_lang

if TYPE_CHECKING:  # reportlab loads where a roster is drawn, not in every process that builds the app
    from app.reports.pdf.render import Letterhead, Printed, Signer

OFFICIALS = f"{SETTINGS_FORM}__pejabat"
LEVELS = {part: level for level, part in enumerate(REGION_PARTS, start=1)}  # provinsi 1 … desa 4


def office_letterhead() -> tuple[Letterhead, list[Signer]]:
    """The kop surat and the signing officials, from the office settings (defaults when unset)."""
    from app.reports.pdf.render import Letterhead, Signer

    models = current_app.extensions.get("simpul_models", {})
    office, officials = models.get(SETTINGS_FORM), models.get(OFFICIALS)
    if office is None:
        return Letterhead(), []
    record = db.session.scalars(sa.select(office).order_by(office.id).limit(1)).first()
    if record is None:
        return Letterhead(), []
    spec: FormSpec = office.__spec__
    values = {f.name: getattr(record, column_name(f), None) for f in spec.fields if f.type not in ("child",)}
    logo = upload_path(values["logo"]) if values.get("logo") else None
    signers: list[Signer] = []
    if officials is not None:
        rows = db.session.scalars(sa.select(officials).where(officials.parent_id == record.id).order_by(officials.id))
        child: FormSpec = officials.__spec__
        signers = [Signer.from_row({f.name: getattr(r, column_name(f), None) for f in child.fields}) for r in rows]
    return Letterhead.from_settings(values, logo), signers


def region_part(code: str | None, part: str) -> str | None:
    """The code of a region's wider area: ("63.09.01.2001", "kecamatan") -> "63.09.01"."""
    if not code:
        return None
    pieces = code.split(".")
    level = LEVELS[part]
    return ".".join(pieces[:level]) if len(pieces) >= level else None


def layout_rows(selection: Selection, layout: PrintLayout, names: Any) -> Iterator[list[Any]]:
    """The selection's rows as the layout reads them: its fields in order, a region's wider area by name."""
    at = {c.name: i for i, c in enumerate(selection.columns)}
    picks: list[Callable[[list[Any]], Any]] = []
    for name in layout.fields:
        base, _, part = name.partition(".")
        index = at[base]
        if part:
            picks.append(lambda row, i=index, p=part: names.name(region_part(row[i], p)) or "")
        elif selection.columns[index].field.type == "region":
            picks.append(lambda row, i=index: names.label(row[i]) if row[i] else "")
        else:
            picks.append(lambda row, i=index: row[i])
    for _id, row in selection.rows():
        yield [pick(row) for pick in picks]


def pinned_records(view: Any) -> dict[str, Any]:
    """Reference fields the list is filtered to one record of ("angkatan is Angkatan I"), with
    that record when the user may see it: where a layout's `values:` are read from."""
    spec: FormSpec = view.spec
    references = {f.name: f for f in input_fields(spec) if f.type == "reference"}
    pinned: dict[str, Any] = {}
    for flt, value in zip(view._filters.filters, view._filters.values, strict=False):
        name = getattr(flt, "column_name", None)
        if name not in references or not isinstance(flt, FilterReferenceIs) or name in pinned:
            continue
        if isinstance(value, list):  # FAB keeps a filter's values as given in the address
            if len(value) != 1:
                continue
            value = value[0]
        target = current_app.extensions["simpul_models"].get(references[name].target)
        record = visible(target, value, db.session) if target is not None else None
        if record is not None:
            pinned[name] = record
    return pinned


def layout_values(layout: PrintLayout, pinned: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The values a layout's `values:` say where to find (None where they cannot be found)."""
    office: Any = None
    found: dict[str, Any] = {}
    for key, path in layout.sources.items():
        first, *rest = path.split(".")
        if first == "today":
            found[key] = today
            continue
        if first == "kantor":
            if office is None:
                office = _office_record() or False
            found[key] = _follow(office, rest) if office else None
            continue
        found[key] = _follow(pinned.get(first), rest)
    return found


def _office_record() -> Any:
    model = current_app.extensions.get("simpul_models", {}).get(SETTINGS_FORM)
    return db.session.scalars(sa.select(model).order_by(model.id).limit(1)).first() if model is not None else None


def _follow(record: Any, steps: list[str]) -> Any:
    """A record's value along `steps` (references followed), as a print shows it."""
    for index, step in enumerate(steps):
        if record is None:
            return None
        spec: FormSpec = type(record).__spec__
        try:
            f = spec.field(step)
        except KeyError:
            return None
        if f.type == "reference":
            record = getattr(record, f.name, None)
            if record is not None:  # a referenced record outside the user's area gives nothing
                record = visible(type(record), record.id, db.session)
            if index == len(steps) - 1:
                return None if record is None else str(record)
            continue
        value = getattr(record, column_name(f), None)
        if f.type in PERSONAL_TYPES:
            return mask(value)
        if f.type == "region":
            return current_app.extensions["simpul_region_names"].label(value) if value else None
        if f.type == "choice":
            return next((c.label.get(current_lang()) for c in f.choices if c.value == value), value)
        return value
    return None


def write_roster(
    out: Any,
    selection: Selection,
    layout: PrintLayout,
    values: Mapping[str, Any],
    signed_on: date,
    lang: str,
    progress: Callable[[int], None] | None = None,
) -> Printed:
    """Print the selection with `layout` to `out` (a path or binary file)."""
    from app.reports.pdf.render import render_roster

    letterhead, signers = office_letterhead()
    names = current_app.extensions["simpul_region_names"]
    return render_roster(
        out,
        layout,
        letterhead,
        layout_rows(selection, layout, names),
        values=values,
        signers=signers,
        signed_on=signed_on,
        lang=lang,
        progress=progress,
    )
