"""Which records point to a record: for refusing a delete that would orphan them ("masih dipakai
oleh 2 data Angkatan Bimtek") and for showing them on the record's page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from flask_appbuilder.models.filters import FilterRelation
from flask_babel import gettext

from app.access.personal import is_personal
from app.access.scope import scoped
from app.extensions import db
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.identity import mask
from app.views.labels import FORMATTED_TYPES, current_lang, format_value


@dataclass(frozen=True)
class Referrer:
    """A reference field of some form (or child table) that targets a given form."""

    model: Any
    field: Any


def referrers(slug: str) -> list[Referrer]:
    """Every live reference field, in every form and child table, that points to form `slug`."""
    models = current_app.extensions.get("simpul_models", {})
    return [
        Referrer(model, f)
        for model in models.values()
        for f in model.__spec__.live_fields
        if f.type == "reference" and f.target == slug
    ]


def usages(item: Any, session: Any) -> list[tuple[Any, int]]:
    """(form title, number of records) for each form whose records point to `item`, all areas counted."""
    found = []
    for ref in referrers(type(item).__spec__.slug):
        column = getattr(ref.model, column_name(ref.field))
        count = session.execute(sa.select(sa.func.count()).select_from(ref.model).where(column == item.id)).scalar()
        if count:
            found.append((ref.model.__spec__, count))
    return found


def still_used_message(item: Any, session: Any) -> str | None:
    """Why `item` cannot be deleted (plain text: escape it for HTML), or None when nothing points to it."""
    found = usages(item, session)
    if not found:
        return None
    parts = ", ".join(
        gettext("%(count)s %(form)s record(s)", count=count, form=spec.title.get(current_lang()))
        for spec, count in found
    )
    return gettext("Cannot be deleted: still used by %(uses)s.", uses=parts)


# ---------------------------------------------------------------------------- related tabs

MAX_TAB_ROWS = 50  # a tab lists this many; the full list is one link away
MAX_TAB_COLUMNS = 6


@dataclass
class Part:
    """One value of a breakdown: its label, how many records hold it, and its share of all."""

    value: str
    label: str
    count: int
    percent: int


@dataclass
class DaySummary:
    """A grid's records of one group on one day, counted per choice; `unsaved`: rows with none."""

    day: str
    label: str
    parts: list[Part]
    unsaved: int
    fill_url: str | None


@dataclass
class Summary:
    """What a related tab says about the records pointing to one record."""

    count: int
    limit: int | None = None  # the target's capacity field (a `capacity` rule), when set
    limit_label: str = ""
    breakdown: list[Part] | None = None  # counts of the field named by `related: {by: …}`
    breakdown_label: str = ""
    days: list[DaySummary] | None = None  # a grid grouped by this record (attendance per day)
    days_title: str = ""
    grid_url: str | None = None


@dataclass
class RelatedTab:
    """One tab of a record page: the records of one form pointing to the record."""

    anchor: str
    title: str
    summary: Summary
    link_column: int  # the column linking to each record (the form's title field, else the first)
    columns: list[str]
    rows: list[tuple[str | None, list[Any]]]  # (link to the record, cells)
    summary_columns: list[str]  # each row's own tabs, summed up (a batch's participants)
    list_url: str | None
    add_url: str | None


def _relation_filter(spec: Any, name: str) -> str | None:
    """The URL argument of the screen's "is this record" filter on a reference (`_flt_1_angkatan`):
    the list shows just those records, and an add page takes the record and leaves the field out."""
    view = next((v for v in current_app.appbuilder.baseviews if type(v).__name__ == _endpoint(spec)), None)
    found = view._filters._all_filters.get(name, []) if view is not None else []
    index = next((i for i, f in enumerate(found) if isinstance(f, FilterRelation)), None)
    return None if index is None or index > 9 else f"_flt_{index}_{name}"


def _endpoint(spec: Any) -> str:
    return f"FormView_{spec.slug}"


def _may(action: str, spec: Any) -> bool:
    return bool(current_app.appbuilder.sm.has_access(action, f"form_{spec.parent or spec.slug}"))


def _capacity(ref: Referrer) -> str | None:
    """The target's field limiting how many records may point through `ref` (a `capacity` rule)."""
    for rule in ref.model.__spec__.rules:
        if rule.kind == "capacity" and rule.params.get("reference") == ref.field.name:
            return rule.params.get("limit")
    return None


def _grids(ref: Referrer) -> list[Any]:
    """Grid forms whose rows are `ref`'s records, grouped by `ref` (attendance by batch)."""
    models = current_app.extensions.get("simpul_models", {})
    slug = ref.model.__spec__.slug
    return [
        model
        for model in models.values()
        if model.__spec__.grid is not None
        and model.__spec__.grid.group == ref.field.name
        and model.__spec__.field(model.__spec__.grid.rows).target == slug
    ]


def _counts(ref: Referrer, ids: list[int], by: Any = None) -> dict[Any, int]:
    """Records the user may see pointing through `ref` to each of `ids` (per (id, value) with `by`)."""
    column = getattr(ref.model, column_name(ref.field))
    keys = [column] if by is None else [column, by]
    query = scoped(sa.select(*keys, sa.func.count()).where(column.in_(ids)).group_by(*keys), ref.model)
    return {(tuple(row[:-1]) if by is not None else row[0]): row[-1] for row in db.session.execute(query)}


def _parts(options: list[tuple[Any, str]], counts: dict[Any, int], total: int) -> list[Part]:
    return [
        Part(str(value), label, counts.get(value, 0), round(100 * counts.get(value, 0) / total) if total else 0)
        for value, label in options
    ]


def _options(field: Any) -> list[tuple[Any, str]]:
    lang = current_lang()
    if field.type == "boolean":
        return [(True, gettext("Yes")), (False, gettext("No"))]
    return [(c.value, c.label.get(lang)) for c in field.choices]


def summaries(ref: Referrer, targets: list[Any]) -> dict[int, Summary]:
    """For each target record: how many records point to it through `ref`, against its capacity,
    counted by the declared field, and a grid grouped by it per day (each count in the user's area)."""
    ids = [t.id for t in targets]
    counts = _counts(ref, ids)
    lang = current_lang()
    result = {t.id: Summary(counts.get(t.id, 0)) for t in targets}
    limit = _capacity(ref)
    target_spec = type(targets[0]).__spec__ if targets else None
    if limit and target_spec is not None:
        try:
            limit_field = target_spec.field(limit)
        except KeyError:
            limit_field = None
        for t in targets if limit_field is not None else ():
            result[t.id].limit = getattr(t, column_name(limit_field), None)
            result[t.id].limit_label = limit_field.label.get(lang)
    if ref.field.related_by:
        by_field = ref.model.__spec__.field(ref.field.related_by)
        by_counts = _counts(ref, ids, getattr(ref.model, column_name(by_field)))
        for t in targets:
            found = {value: n for (key, value), n in by_counts.items() if key == t.id}
            options = _options(by_field)
            if None in found:  # a boolean left empty counts as no; a choice left empty is shown as such
                options = options + [(None, "—")]
            result[t.id].breakdown = _parts(options, found, result[t.id].count)
            result[t.id].breakdown_label = by_field.label.get(lang)
    for grid_model in _grids(ref):
        _day_summaries(ref, grid_model, targets, result)
    return result


def _day_summaries(ref: Referrer, grid_model: Any, targets: list[Any], result: dict[int, Summary]) -> None:
    """Per target (a batch) and day: the grid's records counted by their cell (hadir, izin, …)."""
    from app.views.grid import day_label, key_days

    spec, grid = grid_model.__spec__, grid_model.__spec__.grid
    group_column = getattr(ref.model, column_name(ref.field))
    rows_column = getattr(grid_model, column_name(spec.field(grid.rows)))
    key_column = getattr(grid_model, column_name(spec.field(grid.key)))
    cell_field = spec.field(grid.cell)
    cell_column = getattr(grid_model, column_name(cell_field))
    query = scoped(
        sa.select(group_column, key_column, cell_column, sa.func.count())
        .join(ref.model, rows_column == ref.model.id)
        .where(group_column.in_([t.id for t in targets]))
        .group_by(group_column, key_column, cell_column),
        grid_model,
    )
    found: dict[tuple[int, Any], dict[Any, int]] = {}
    for group_id, key, cell, count in db.session.execute(query):
        found.setdefault((group_id, key), {})[cell] = count
    may_fill = _may("can_add", spec)
    options = _options(cell_field)
    for target in targets:
        summary = result[target.id]
        days = key_days(grid, target)
        days += sorted({key for (group_id, key) in found if group_id == target.id and key not in days})
        summary.days_title = spec.title.get(current_lang())
        summary.grid_url = url_for(f"{_endpoint(spec)}.grid", group=target.id) if may_fill else None
        summary.days = []
        for day in days:
            cells = found.get((target.id, day), {})
            shown_day = f"{day:%d-%m-%Y}" if hasattr(day, "strftime") else str(day)
            summary.days.append(
                DaySummary(
                    shown_day,
                    day_label(day) if hasattr(day, "weekday") else str(day),
                    _parts(options, cells, summary.count),
                    max(summary.count - sum(cells.values()), 0),
                    url_for(f"{_endpoint(spec)}.grid", group=target.id, key=shown_day) if may_fill else None,
                )
            )


def _tab_fields(ref: Referrer) -> list[Any]:
    """The referring form's list columns, but the reference itself (it is this record)."""
    fields = [
        f
        for f in ref.model.__spec__.live_fields
        if f.in_list and f.name != ref.field.name and f.type not in ("child", "file", "photo")
    ]
    return fields[:MAX_TAB_COLUMNS]


def _cell(field: Any, item: Any) -> Any:
    """A value as list screens show it; NIK and No. KK always masked (a reveal is for one record)."""
    if field.type == "reference":
        target = getattr(item, field.name, None)
        return "" if target is None else str(target)
    value = getattr(item, column_name(field), None)
    if is_personal(field):
        return mask(value) or ""
    if field.type in FORMATTED_TYPES:
        return format_value(field, value)
    return "" if value is None else value


def _order(ref: Referrer) -> list[Any]:
    model, spec = ref.model, ref.model.__spec__
    keys = []
    for key in spec.order_by or ("-id",):
        name = key.lstrip("-")
        try:
            column = getattr(
                model, name if name in ("id", "created_on", "changed_on") else column_name(spec.field(name))
            )
        except KeyError:
            continue
        keys.append(column.desc() if key.startswith("-") else column.asc())
    return [*keys, model.id]


def related_tabs(item: Any) -> list[RelatedTab]:
    """The tabs of a record's page: for each reference pointing to its form (but those declared
    `related: false`), the records the user may see that point to it, with what they sum up to."""
    tabs = []
    lang = current_lang()
    found = [ref for ref in referrers(type(item).__spec__.slug) if ref.field.related]
    for ref in found:
        spec = ref.model.__spec__
        if not _may("can_read", spec):
            continue
        column = getattr(ref.model, column_name(ref.field))
        summary = summaries(ref, [item])[item.id]
        records = (
            db.session.execute(
                scoped(sa.select(ref.model).where(column == item.id), ref.model)
                .order_by(*_order(ref))
                .limit(MAX_TAB_ROWS)
            )
            .scalars()
            .all()
        )
        fields = _tab_fields(ref)
        rows = [(url_for(f"{_endpoint(spec)}.show", pk=r.id), [_cell(f, r) for f in fields]) for r in records]
        summary_columns: list[str] = []
        for own in [r for r in referrers(spec.slug) if r.field.related] if records else ():
            if not _may("can_read", own.model.__spec__):
                continue
            own_summaries = summaries(own, records)
            if not any(s.limit or s.breakdown or s.days for s in own_summaries.values()):
                continue
            summary_columns.append(own.model.__spec__.title.get(lang))
            for (_url, cells), record in zip(rows, records, strict=True):
                cells.append(own_summaries[record.id])
        title = spec.title.get(lang)
        if sum(1 for other in found if other.model is ref.model) > 1:
            title = f"{title} ({ref.field.label.get(lang)})"
        flt = _relation_filter(spec, ref.field.name)
        filter_arg = {flt: item.id} if flt else {}
        tabs.append(
            RelatedTab(
                anchor=f"related-{spec.slug}-{ref.field.name}",
                title=title,
                link_column=next((i for i, f in enumerate(fields) if f.name == spec.title_field), 0),
                summary=summary,
                columns=[f.label.get(lang) for f in fields],
                rows=rows,
                summary_columns=summary_columns,
                list_url=url_for(f"{_endpoint(spec)}.list", **filter_arg) if flt and not spec.parent else None,
                add_url=url_for(f"{_endpoint(spec)}.add", **filter_arg)
                if flt and not spec.parent and _may("can_add", spec)
                else None,
            )
        )
    return tabs


def child_count(child_model: Any, parent_id: int) -> int:
    """Rows of a child table inside one record (the record is already one the user may see)."""
    query = sa.select(sa.func.count()).select_from(child_model).where(child_model.parent_id == parent_id)
    return db.session.execute(query).scalar() or 0
