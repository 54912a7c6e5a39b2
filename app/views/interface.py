"""The data interface every generated screen and API goes through.

One place for how form records are queried, so paging, counting, region filters and
region scoping (app/access/scope.py) apply to screens, API, pickers, exports and prints alike:
every query FAB builds passes through `apply_filters`, every write through add/edit/delete.

Paging is kept cheap at any depth: the count is a plain `count(*)`, and a page past the
middle is read from the other end in reverse order, so the last page costs what the
first does.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_appbuilder.models.filters import BaseFilter, Filters
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterNotEqual, SQLAFilterConverter, get_field_setup_query
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext

from app.access.personal import is_personal, note_search, searched, whole_identity
from app.access.scope import covers, current_scope, is_scoped, record_region, scope_clause
from app.forms_engine.fieldtypes import Invalid, column_name, convert, record_id, region_range
from app.regions.importer import CODE, region_table

MAX_NAMED_REGIONS = 50  # a region filter by name covers at most this many matching regions


def order_keys(spec: Any) -> list[tuple[str, str]]:
    """The form's `order_by` as (column, direction) pairs."""
    keys = []
    for key in spec.order_by or ("-id",):
        name = key.lstrip("-")
        if name not in ("id", "created_on", "changed_on"):
            name = column_name(spec.field(name))
        keys.append((name, "desc" if key.startswith("-") else "asc"))
    return keys


class FilterRegionWithin(BaseFilter):
    """Records whose region lies inside the given one: a code (63.09.01 → its desa) or a name.

    A name ("Banua") means every region whose name contains it (at most MAX_NAMED_REGIONS).
    """

    name = lazy_gettext("Within region")
    arg_name = "rw"

    def apply(self, query: Any, value: Any) -> Any:
        query, field = get_field_setup_query(query, self.model, self.column_name)
        code = str(value or "").strip().rstrip(".")
        if not code:
            return query
        if not CODE.match(code) and not code[0].isdigit():
            codes = _regions_named(self.datamodel.session, code)
            return query.filter(sa.or_(*(region_range(field, c) for c in codes)) if codes else sa.false())
        # One range, which both databases answer from the index, unlike LIKE/ILIKE or an OR.
        return query.filter(region_range(field, code))


def _regions_named(session: Any, text: str) -> list[str]:
    """Codes of the regions whose name contains `text` (any case), outermost first."""
    escaped = text[:150].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    table = region_table
    query = (
        sa.select(table.c.code)
        .where(table.c.name.ilike(f"%{escaped}%", escape="\\"))
        .order_by(table.c.level, table.c.code)
        .limit(MAX_NAMED_REGIONS)
    )
    codes = [code for (code,) in session.execute(query)]
    # a desa inside a matching kecamatan is already covered by the kecamatan's range
    return [c for c in codes if not any(c != o and c.startswith(o + ".") for o in codes)]


class FilterFrom(BaseFilter):
    """From a value on (inclusive): the lower end of a number or date range."""

    name = lazy_gettext("From")
    arg_name = "from"

    def apply(self, query: Any, value: Any) -> Any:
        if value is None or value == "":
            return query
        query, field = get_field_setup_query(query, self.model, self.column_name)
        return query.filter(field >= value)


class FilterTo(BaseFilter):
    """Up to a value (inclusive); a date on a date-time field includes that whole day."""

    name = lazy_gettext("To")
    arg_name = "to"

    def apply(self, query: Any, value: Any) -> Any:
        if value is None or value == "":
            return query
        query, field = get_field_setup_query(query, self.model, self.column_name)
        if isinstance(value, datetime) and value.time() == datetime.min.time():
            return query.filter(field < value + timedelta(days=1))
        return query.filter(field <= value)


class FilterReferenceIs(BaseFilter):
    """Records pointing to the given record (its number); a number no record can have finds nothing."""

    name = lazy_gettext("Is")
    arg_name = "ref"

    def apply(self, query: Any, value: Any) -> Any:
        key = record_id(value)
        column = getattr(self.model, f"{self.column_name}_id")
        return query.filter(sa.false() if key is None else column == key)


class FilterHasChoice(BaseFilter):
    """Multiple-choice fields: the record has this choice among its chosen ones."""

    name = lazy_gettext("Includes")
    arg_name = "has"

    def apply(self, query: Any, value: Any) -> Any:
        text = str(value or "").strip()
        if not text:
            return query
        # stored as a JSON list of strings: the quoted value is a whole choice, never part of one
        quoted = json.dumps(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        column = sa.cast(getattr(self.model, self.column_name), sa.Text)
        return query.filter(column.like(f"%{quoted}%", escape="\\"))


class FilterWholeIdentity(BaseFilter):
    """The only filter on a NIK / No. KK: the whole number, exactly; each search is logged.

    Partial operators (starts with, contains, not equal, in) would let a user rebuild a masked
    number digit by digit, so none are offered, to anyone; an incomplete number finds nothing.
    """

    name = lazy_gettext("Is (whole number)")
    # Not "eq": FAB maps each arg_name to one filter class process-wide (map_args_filter), and
    # this one must never stand in for FilterEqual on other columns.
    arg_name = "whole"

    def apply(self, query: Any, value: Any) -> Any:
        number = whole_identity(value)
        if number is None:
            return query.filter(sa.false())
        note_search(self.datamodel.spec.slug)
        return query.filter(getattr(self.model, self.column_name) == number)


class FilterAnyText(BaseFilter):
    """Quick search: any of the form's searchable fields (`search: true`) contains the text.

    NIK and No. KK fields match only a whole number, exactly (and the search is logged).
    """

    name = lazy_gettext("Search all searchable fields")
    arg_name = "any"

    def apply(self, query: Any, value: Any) -> Any:
        text = str(value or "").strip()
        if not text or not self.datamodel.search_fields:
            return query
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches = [
            getattr(self.model, name).ilike(f"%{escaped}%", escape="\\")
            for name in self.datamodel.search_fields
            if name not in self.datamodel.personal_columns
        ]
        number = whole_identity(text)
        personal = [name for name in self.datamodel.search_fields if name in self.datamodel.personal_columns]
        if number is not None and personal:
            note_search(self.datamodel.spec.slug)
            matches += [getattr(self.model, name) == number for name in personal]
        return query.filter(sa.or_(*matches) if matches else sa.false())


RANGE_TYPES = frozenset({"integer", "decimal", "money", "date", "datetime"})


class FormFilterConverter(SQLAFilterConverter):
    """FAB's filters, plus 'within region' for region codes and a quick search on the title field."""

    conversion_table = (
        ("is_region", [FilterRegionWithin, FilterEqual, FilterNotEqual]),
        *SQLAFilterConverter.conversion_table,
    )

    def convert(self, col_name: str) -> list[BaseFilter] | None:
        if col_name in self.datamodel.personal_columns:
            personal: list[BaseFilter] = [FilterWholeIdentity(col_name, self.datamodel)]
            if col_name == self.datamodel.search_anchor:
                personal.insert(0, FilterAnyText(col_name, self.datamodel))
            return personal
        filters = super().convert(col_name)
        kind = self.datamodel.field_types.get(col_name)
        if kind == "reference":
            filters = [FilterReferenceIs(col_name, self.datamodel), *(filters or [])]
        elif kind == "multichoice":
            filters = [FilterHasChoice(col_name, self.datamodel)]
        elif kind in RANGE_TYPES:  # after FAB's own, so their screen positions stay as they were
            filters = [*(filters or []), FilterFrom(col_name, self.datamodel), FilterTo(col_name, self.datamodel)]
        if col_name == self.datamodel.search_anchor:
            return [FilterAnyText(col_name, self.datamodel), *(filters or [])]
        return filters


class FormFilters(Filters):
    """FAB's filters; a screen filter index that does not exist (`_flt_9_nama`) is ignored.

    A view builds one per request (generated.py): FAB kept one on the view, shared by every request.
    """

    def add_filter_index(self, column_name: str, filter_instance_index: int, value: Any) -> None:
        """One filter from the address; an empty one (a box left blank in the panel) is no filter."""
        values = value if isinstance(value, list) else [value]
        if all(v is None or str(v).strip() == "" for v in values):
            return
        if 0 <= filter_instance_index < len(self._all_filters.get(column_name, [])):
            super().add_filter_index(column_name, filter_instance_index, value)


class OutOfScope(PermissionError):
    """A write of a record whose region lies outside the user's working area."""


class FormInterface(SQLAInterface):
    """SQLAInterface over a generated form model; knows the form's spec."""

    filter_converter_class = FormFilterConverter

    def __init__(self, obj: Any, session: Any = None) -> None:
        super().__init__(obj, session=session)
        self.spec = obj.__spec__
        self._regions = {f.name for f in self.spec.live_fields if f.type == "region"} | {"region_code"}
        self.search_fields = [
            column_name(f)
            for f in self.spec.live_fields
            if f.in_search and f.type not in ("reference", "child", "multichoice")
        ]
        # Columns whose filter values are read as the field reads input (numbers, dates), so the
        # database compares like with like ("1.000" on money is one thousand; "abc" finds nothing).
        self._typed_columns = {
            column_name(f): f
            for f in self.spec.live_fields
            if f.type in ("integer", "decimal", "money", "date", "datetime", "boolean")
        }
        # The field type of each column a filter may name (references by their relation's name).
        self.field_types = {
            (f.name if f.type == "reference" else column_name(f)): f.type for f in self.spec.live_fields
        }
        self.personal_columns = frozenset(column_name(f) for f in self.spec.live_fields if is_personal(f))
        # Columns a list may be sorted by: never a NIK / No. KK (the order would give it away).
        self.sortable = frozenset(
            {"id", "created_on", "changed_on"}
            | {
                column_name(f)
                for f in self.spec.live_fields
                if f.type not in ("child", "multichoice", "file", "photo") and not is_personal(f)
            }
            | {f.name for f in self.spec.live_fields if f.type == "reference"}
        )
        # The quick search hangs off the title field (FAB filters belong to a column).
        self.search_anchor = self.spec.title_field if self.search_fields else None
        self.default_order = order_keys(self.spec)

    def get_filters(self, search_columns: list[str] | None = None, search_filters: Any = None) -> Filters:
        return FormFilters(
            self.filter_converter_class, self, search_columns=search_columns or [], search_filters=search_filters
        )

    def apply_filters(self, query: Any, filters: Filters | None) -> Any:
        """The requested filters, always narrowed to the user's region scope."""
        typed = _typed(filters, self._typed_columns) if filters else filters
        query = query.filter(sa.false()) if typed is _UNREADABLE else super().apply_filters(query, typed)
        clause = scope_clause(self.obj, current_scope())
        return query if clause is None else query.filter(clause)

    def get(
        self, id: Any, filters: Filters | None = None, select_columns: Any = None, outer_default_load: bool = False
    ) -> Any:
        """The record with this id, or None; ids no record can have (2**63, "1e9") never reach SQL."""
        if isinstance(id, list) and len(id) == 1:  # FAB passes URL filter values as lists
            id = id[0]
        key = record_id(id)
        return None if key is None else super().get(key, filters, select_columns, outer_default_load)

    def get_related_interface(self, col_name: str) -> Any:
        """Lookups of related records (API `related`, `_info`, pickers) are scoped too."""
        model = self.get_related_model(col_name)
        return FormInterface(model) if hasattr(model, "__spec__") else SQLAInterface(model)

    def get_related_obj(self, col_name: str, value: Any) -> Any:
        return self.get_related_interface(col_name).get(value)

    def add(self, item: Any, commit: bool = True) -> None:
        self._check_scope(item)
        super().add(item, commit)

    def edit(self, item: Any, commit: bool = True) -> None:
        self._check_scope(item)
        super().edit(item, commit)

    def delete(self, item: Any, commit: bool = True) -> None:
        self._check_scope(item)
        super().delete(item, commit)

    def delete_all(self, items: list[Any]) -> None:
        for item in items:
            self._check_scope(item)
        super().delete_all(items)

    def _check_scope(self, item: Any) -> None:
        """Last line of defence behind validation: no write lands outside the user's scope."""
        if current_scope() is None or not is_scoped(self.obj):
            return
        region = record_region(item)
        if not covers(current_scope(), region):
            self.session.rollback()
            raise OutOfScope(region)

    def is_region(self, col_name: str) -> bool:
        """Whether a column holds a region code."""
        return col_name in self._regions

    def count(self, filters: Filters | None) -> int:
        """Exact `count(*)` of the rows matching `filters`.

        Exact on purpose: reading deep pages from the other end needs the true count (a
        planner estimate made pages skip rows after inserts). `count(*)`, not FAB's count
        over a subquery of every column, lets both databases count from an index alone.
        """
        query = self.apply_filters(self.session.query(sa.func.count()).select_from(self.obj), filters)
        return query.scalar() or 0

    def apply_order_by(
        self,
        query: Any,
        order_column: str,
        order_direction: str,
        aliases_mapping: Any = None,
        bypass_many_to_many: bool = False,
        add_pk: bool = False,
    ) -> Any:
        """FAB's ordering, plus the form's further `order_by` keys when sorting by its first;
        region columns sort by the region's name (then code), as clerks read them."""
        if order_column in self._regions:
            query = query.order_by(*self._order_terms(order_column, order_direction))
        else:
            query = super().apply_order_by(query, order_column, order_direction, aliases_mapping, bypass_many_to_many)
        if order_column and order_column == self.default_order[0][0]:
            flip = order_direction != self.default_order[0][1]
            for name, direction in self.default_order[1:]:
                if flip:
                    direction = "desc" if direction == "asc" else "asc"
                query = query.order_by(*self._order_terms(name, direction))
        if add_pk and order_column and order_column != "id":
            query = query.order_by(self.obj.id.asc() if order_direction == "asc" else self.obj.id.desc())
        return query

    def _order_terms(self, name: str, direction: str) -> list[Any]:
        """ORDER BY terms for one column; a region column by its region's name, then its code."""
        column = getattr(self.obj, name)
        terms = [column]
        if name in self._regions:
            region_name = sa.select(region_table.c.name).where(region_table.c.code == column).scalar_subquery()
            terms = [region_name, column]
        return [term.asc() if direction == "asc" else term.desc() for term in terms]

    def query(
        self,
        filters: Filters | None = None,
        order_column: str = "",
        order_direction: str = "",
        page: int | None = None,
        page_size: int | None = None,
        select_columns: list[str] | None = None,
        outer_default_load: bool = False,
    ) -> tuple[int, list[Any]]:
        """FAB's query with a cheap count and pages past the middle read in reverse.

        An order column the form does not offer falls back to the form's own order.
        """
        count = self.count(filters)
        page = max(page, 0) if isinstance(page, int) else None  # a negative page would be a negative OFFSET
        page_size = page_size if isinstance(page_size, int) and page_size > 0 else None
        if order_column not in self.sortable:
            order_column, order_direction = self.default_order[0]
        if order_direction not in ("asc", "desc"):
            order_direction = "asc"
        count, rows = self._query(
            count, filters, order_column, order_direction, page, page_size, select_columns, outer_default_load
        )
        searched(self.spec.slug, [row.id for row in rows], count)
        return count, rows

    def _query(
        self,
        count: int,
        filters: Filters | None,
        order_column: str,
        order_direction: str,
        page: int | None,
        page_size: int | None,
        select_columns: list[str] | None,
        outer_default_load: bool,
    ) -> tuple[int, list[Any]]:
        offset = (page or 0) * (page_size or 0)
        reverse = (
            bool(page_size) and offset > count // 2 and not (select_columns and self.exists_col_to_many(select_columns))
        )
        if not reverse:
            query = self.apply_all(
                self.session.query(self.obj),
                filters,
                order_column,
                order_direction,
                page,
                page_size,
                select_columns,
                outer_default_load,
            )
            return count, _entities(self.obj, query.all())
        flipped = "desc" if order_direction == "asc" else "asc"
        size = max(min(page_size, count - offset), 0)  # type: ignore[type-var]
        query = self.apply_all(
            self.session.query(self.obj), filters, order_column, flipped, None, None, select_columns, outer_default_load
        )
        rows = query.offset(max(count - offset - size, 0)).limit(size).all() if size else []
        return count, _entities(self.obj, list(reversed(rows)))


_UNREADABLE = object()


def _typed(filters: Filters, columns: dict[str, Any]) -> Any:
    """A copy of `filters` with values of typed columns converted, or _UNREADABLE if one cannot be."""
    if not any(f.column_name in columns for f in filters.filters):
        return filters
    typed = Filters(filters.filter_converter, filters.datamodel)
    typed.filters = list(filters.filters)
    typed.values = []
    for flt, value in zip(filters.filters, filters.values, strict=True):
        field = columns.get(flt.column_name)
        try:
            if field is None:
                typed.values.append(value)
            elif isinstance(value, list):
                typed.values.append([_filter_value(field, v) for v in value])
            else:
                typed.values.append(_filter_value(field, value))
        except Invalid:
            return _UNREADABLE
    return typed


def _filter_value(field: Any, value: Any) -> Any:
    """A filter value read as the field reads input; a date-time filter also takes a date as clerks
    write it (05-01-2026: that day from midnight, or all of it as the end of a range)."""
    try:
        return convert(field, value)
    except Invalid:
        if field.type != "datetime":
            raise
        day = convert(dataclasses.replace(field, type="date"), value)
        return datetime(day.year, day.month, day.day)


def _entities(model: type, rows: list[Any]) -> list[Any]:
    """Model objects from a result that may hold rows of (model, …) as FAB's joins give."""
    return [getattr(row, model.__name__) if hasattr(row, model.__name__) else row for row in rows]
