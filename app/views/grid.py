"""The grid screen: one record per row of a group, filled at once (attendance of a whole batch).

Declared in a definition's `grid:` (see GridSpec). Saving is all-or-nothing: every row is
checked by the same rules as the form's own screen, and nothing is stored if one row fails.
A row with nothing saved for the day shows no choice at all: a default would let one click
record a whole batch's attendance nobody took.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext
from flask_wtf.csrf import generate_csrf

from app.access.scope import scoped, visible
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import validate_values
from app.forms_engine.spec import GridSpec
from app.views.labels import current_lang, render_message
from app.views.record_checks import check_for_user

MAX_DAYS = 62  # a key range longer than this (a mistyped year) offers its first days only
DAY_NAMES = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def key_days(grid: GridSpec, group_item: Any) -> list[date]:
    """The days a grid may be filled for a group record (its `key_range`); [] when not declared or not set."""
    if not grid.key_range or group_item is None:
        return []
    spec = type(group_item).__spec__
    try:
        first_field, last_field = spec.field(grid.key_range[0]), spec.field(grid.key_range[-1])
    except KeyError:  # the group's form dropped the field since: no range
        return []
    first = getattr(group_item, column_name(first_field), None)
    last = getattr(group_item, column_name(last_field), None) or first
    if not isinstance(first, date):
        return []
    span = min(max((last - first).days, 0), MAX_DAYS - 1)
    return [first + timedelta(days=i) for i in range(span + 1)]


def day_label(day: date) -> str:
    """Rabu, 04-11-2020 (the day's name in the reader's language)."""
    return f"{DAY_NAMES[current_lang()][day.weekday()]}, {day:%d-%m-%Y}"


def group_label(group_item: Any) -> str:
    """A group record named with the record its form first references: "Bimtek Puskesos · Angkatan I"."""
    owner = _owner_field(type(group_item).__spec__)
    parent = getattr(group_item, owner.name, None) if owner is not None else None
    return f"{parent} · {group_item}" if parent is not None else str(group_item)


def _owner_field(spec: Any) -> Any:
    return next((f for f in spec.live_fields if f.type == "reference"), None)


def grid_page(view: Any) -> Any:
    """GET shows the grid for ?group=&key=; POST saves every row of it."""
    spec, grid = view.spec, view.spec.grid
    if grid is None:
        abort(404)
    models = current_app.extensions["simpul_models"]
    model = models[spec.slug]
    row_model = models[spec.field(grid.rows).target]
    row_spec = row_model.__spec__
    group_field = row_spec.field(grid.group)
    group_model = models[group_field.target]
    group_id = request.values.get("group", type=int)
    group_item = visible(group_model, group_id, db.session) if group_id else None
    if group_item is None:
        group_id = None
    days = key_days(grid, group_item)
    key_field = spec.field(grid.key)
    key_raw = (request.values.get("key") or "").strip()
    if not key_raw and days:
        key_raw = f"{days[0]:%d-%m-%Y}"  # a batch opens on its first day
    rows = []
    if group_id:
        order = (
            getattr(row_model, column_name(row_spec.field(row_spec.title_field)))
            if row_spec.title_field
            else row_model.id
        )
        rows = (
            scoped(db.session.query(row_model), row_model)
            .filter(getattr(row_model, column_name(group_field)) == group_id)
            .order_by(order, row_model.id)
            .all()
        )
    rows_column, key_column = getattr(model, column_name(spec.field(grid.rows))), getattr(model, column_name(key_field))
    existing: dict[int, Any] = {}
    errors: dict[int, list[str]] = {}
    key_value, key_problem = _key(spec, grid.key, key_raw) if key_raw else (None, None)
    if key_value is not None and days and key_value not in days:
        key_value, key_problem = (
            None,
            gettext(
                "choose one of the days of %(group)s: %(first)s to %(last)s",
                group=str(group_item),
                first=f"{days[0]:%d-%m-%Y}",
                last=f"{days[-1]:%d-%m-%Y}",
            ),
        )
    if isinstance(key_value, date):
        key_raw = f"{key_value:%d-%m-%Y}"  # as the picker writes it, whatever was typed
    if rows and key_value is not None:
        found = db.session.query(model).filter(rows_column.in_([r.id for r in rows]), key_column == key_value)
        existing = {getattr(record, rows_column.key): record for record in found}
    if request.method == "POST" and key_value is not None and rows:
        errors = _save(view, model, rows, existing, key_value)
        if not errors:
            flash(gettext("Saved %(n)s rows.", n=len(rows)), "success")
            return redirect(url_for(f"{type(view).__name__}.grid", group=group_id, key=key_raw))
    saved_per_day = _saved_per_day(rows_column, key_column, [r.id for r in rows]) if days and rows else {}
    lang = current_lang()
    return view.render_template(
        "simpul/grid.html",
        title=spec.title.get(lang),
        lang=lang,
        group_choices=_group_choices(group_model),
        group_id=group_id,
        group_name=group_label(group_item) if group_item is not None else "",
        group_label=group_field.label.get(lang),
        key_label=key_field.label.get(lang),
        key_raw=key_raw,
        key_is_date=key_field.type == "date",
        key_problem=key_problem,
        days=[(f"{d:%d-%m-%Y}", day_label(d), saved_per_day.get(d, 0)) for d in days],
        rows=rows,
        existing=existing,
        choices=[(c.value, c.label.get(lang)) for c in spec.field(grid.cell).choices],
        cell=grid.cell,
        extra=[(name, spec.field(name).label.get(lang)) for name in grid.extra],
        errors=errors,
        posted=request.form if request.method == "POST" else None,
        csrf_token=generate_csrf(),
    )


def _group_choices(group_model: Any) -> list[tuple[str, list[tuple[int, str]]]]:
    """The groups the user may see, under the record each belongs to (the batches of each event)."""
    owner = _owner_field(group_model.__spec__)
    query = scoped(db.session.query(group_model), group_model)
    if owner is None:
        return [("", [(item.id, str(item)) for item in query.order_by(group_model.id)])]
    column = getattr(group_model, column_name(owner))
    sections: dict[Any, tuple[str, list[tuple[int, str]]]] = {}
    for item in query.order_by(column.desc(), group_model.id):
        parent = getattr(item, owner.name, None)
        key = getattr(item, column.key)
        sections.setdefault(key, ("" if parent is None else str(parent), []))[1].append((item.id, str(item)))
    return list(sections.values())


def _saved_per_day(rows_column: Any, key_column: Any, row_ids: list[int]) -> dict[Any, int]:
    """How many of the rows have a saved record, per key (the rows are already the user's)."""
    query = sa.select(key_column, sa.func.count()).where(rows_column.in_(row_ids)).group_by(key_column)
    return {key: count for key, count in db.session.execute(query)}


def _key(spec: Any, name: str, raw: str) -> tuple[Any, str | None]:
    clean, problems = validate_values(spec, {name: raw}, partial=True)
    if problems:
        return None, "; ".join(render_message(m) for m in problems[name])
    return clean[name], None


def _save(view: Any, model: Any, rows: list[Any], existing: dict[int, Any], key_value: Any) -> dict[int, list[str]]:
    spec, grid = view.spec, view.spec.grid
    errors: dict[int, list[str]] = {}
    pending = []
    for row in rows:
        record = existing.get(row.id)
        values = {grid.rows: row.id, grid.key: key_value, grid.cell: request.form.get(f"{grid.cell}_{row.id}")}
        values |= {name: request.form.get(f"{name}_{row.id}") for name in grid.extra}
        clean, problems = validate_values(spec, values)
        if not problems:
            problems, _warnings = check_for_user(
                db.session, spec, view.tables, view.specs, clean, getattr(record, "id", None)
            )
        if problems:
            errors[row.id] = [
                f"{spec.field(n).label.get(current_lang())}: {render_message(m)}"
                for n, ms in problems.items()
                for m in ms
            ]
            continue
        pending.append((record, clean))
    if errors:
        return errors
    from app.views.generated import stamp

    for record, clean in pending:
        item = record or model()
        for name, value in clean.items():
            setattr(item, column_name(spec.field(name)), value)
        stamp(item, spec, is_new=record is None)
        db.session.add(item)
    db.session.commit()
    return {}
