"""The grid screen: one record per row of a group, filled at once (attendance of a whole batch).

Declared in a definition's `grid:` (see GridSpec). Saving is all-or-nothing: every row is
checked by the same rules as the form's own screen, and nothing is stored if one row fails.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext
from flask_wtf.csrf import generate_csrf

from app.access.scope import scoped
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.record import validate_values
from app.views.labels import current_lang, render_message
from app.views.record_checks import check_for_user


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
    key_field = spec.field(grid.key)
    key_raw = (request.values.get("key") or "").strip()
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
            .order_by(order)
            .all()
        )
    rows_column, key_column = getattr(model, column_name(spec.field(grid.rows))), getattr(model, column_name(key_field))
    existing: dict[int, Any] = {}
    errors: dict[int, list[str]] = {}
    key_value, key_problem = _key(spec, grid.key, key_raw) if key_raw else (None, None)
    if rows and key_value is not None:
        found = db.session.query(model).filter(rows_column.in_([r.id for r in rows]), key_column == key_value)
        existing = {getattr(record, rows_column.key): record for record in found}
    if request.method == "POST" and key_value is not None and rows:
        errors = _save(view, model, rows, existing, key_value)
        if not errors:
            flash(gettext("Saved %(n)s rows.", n=len(rows)), "success")
            return redirect(url_for(f"{type(view).__name__}.grid", group=group_id, key=key_raw))
    lang = current_lang()
    return view.render_template(
        "simpul/grid.html",
        title=spec.title.get(lang),
        groups=scoped(db.session.query(group_model), group_model).order_by(group_model.id).all(),
        group_id=group_id,
        group_label=group_field.label.get(lang),
        key_label=key_field.label.get(lang),
        key_raw=key_raw,
        key_problem=key_problem,
        rows=rows,
        existing=existing,
        choices=[(c.value, c.label.get(lang)) for c in spec.field(grid.cell).choices],
        cell=grid.cell,
        default=spec.field(grid.cell).default,
        extra=[(name, spec.field(name).label.get(lang)) for name in grid.extra],
        errors=errors,
        posted=request.form if request.method == "POST" else None,
        csrf_token=generate_csrf(),
    )


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
