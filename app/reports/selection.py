"""The records a user sees in a form's list, as exports and prints read them.

A selection is built from a list screen's request (its FAB filters `_flt_N_col`, order
`_oc_/_od_` and quick search) through the very view and data interface the list uses, so the
user's working area (app/access/scope.py, applied by FormInterface.apply_filters) and every
filter rule hold exactly as on the screen. Rows are streamed from a server-side cursor in
batches (`yield_per`): a million rows never sit in memory.

Values are typed for a spreadsheet or a print: numbers as int/Decimal, dates as date/datetime,
a reference as its record's title, a choice as its label, a region as its name, and NIK / No. KK
always masked (the reveal permission never unmasks a file that leaves the screen).

A background job rebuilds the same selection with `user_request(...)`: the job records the
user's name and the list's address, and the same filter code runs again under that user.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, session
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_babel import gettext
from flask_login import login_user
from markupsafe import Markup
from sqlalchemy.orm import aliased

from app.access.personal import searched
from app.access.scope import current_scope
from app.forms_engine.fieldtypes import column_name
from app.forms_engine.identity import PERSONAL_TYPES, mask
from app.forms_engine.record import input_fields
from app.forms_engine.spec import FieldSpec, FormSpec
from app.views.labels import current_lang

BATCH_SIZE = 500  # rows per fetch from the server-side cursor (2,000 held 5 MB more, no faster)
LOGGED_IDS = 1000  # record ids kept for the access log (it stores at most this many)

# Column kinds, as a writer needs them.
TEXT, NUMBER, MONEY, DATE, DATETIME, IDENTITY = "text", "number", "money", "date", "datetime", "identity"
_KINDS = {
    "integer": NUMBER,
    "decimal": NUMBER,
    "money": MONEY,
    "date": DATE,
    "datetime": DATETIME,
    "nik": IDENTITY,
    "kk": IDENTITY,
    "nip": IDENTITY,
}
LEFT_OUT = frozenset({"child", "file", "photo"})  # not a value a cell can hold


@dataclass(frozen=True)
class Column:
    """One exported column: the field, its label in the user's language, and its kind."""

    name: str
    label: str
    kind: str  # text, number, money, date, datetime, identity
    field: FieldSpec

    @property
    def max_length(self) -> int | None:
        """The longest text the field holds (for column widths), when it says."""
        return self.field.max_length


@dataclass(frozen=True)
class FilterNote:
    """An active filter as the user reads it ("Status", "Dirujuk")."""

    label: str
    text: str


@dataclass
class Selection:
    """What a list shows: its form, columns, filters and order, and its rows (streamed)."""

    spec: FormSpec
    title: str  # the form's title in the user's language
    columns: list[Column]
    count: int  # rows matching when the selection was made (rows() may differ if records change)
    filters: list[FilterNote]
    order: str  # "Nama (naik)": the order column and direction, as the user reads them
    area: str  # the user's working area, by name ("" when unrestricted)
    _query: Any = field(repr=False)
    _convert: list[Callable[[Any], Any] | None] = field(repr=False)
    _reorder: Callable[[Any], Any] = field(default=lambda query: query, repr=False)  # adds the list's ORDER BY
    batch_size: int = BATCH_SIZE
    logged_ids: list[int] = field(default_factory=list)  # the first LOGGED_IDS ids read
    read: int = 0  # rows read so far

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(record id, typed values per column), streamed in batches in the list's order."""
        pairs = [(i, fn) for i, fn in enumerate(self._convert) if fn is not None]
        ids = self.logged_ids
        for row in self._query.yield_per(self.batch_size):
            values = list(row[1:])
            for i, fn in pairs:
                if values[i] is not None:
                    values[i] = fn(values[i])
            if len(ids) < LOGGED_IDS:
                ids.append(row[0])
            self.read += 1
            yield row[0], values
        searched(self.spec.slug, ids, self.read)  # a whole-NIK search in the filters is logged

    def grouped_by(self, name: str) -> Selection:
        """The same selection ordered by field `name` first, then as the list orders it (a print's
        groups: each desa one run). Raises KeyError for a field the selection does not hold."""
        f = self.spec.field(name)
        model = self._query.column_descriptions[0]["entity"]
        column = getattr(model, column_name(f))
        ordered = self._reorder(self._query.order_by(None).order_by(column))
        return replace(self, _query=ordered, logged_ids=[], read=0)

    def description(self) -> str:
        """The active filters in one line ("Status: Dirujuk; Desa: Hapalah"), for the access log and print titles."""
        parts = [f"{note.label}: {note.text}" for note in self.filters] or [gettext("no filter")]
        return "; ".join(parts)


def _plain(text: Any) -> str:
    """An admin-written label as plain text (AdminText hands it out escaped for HTML)."""
    return Markup(str(text)).unescape() if isinstance(text, Markup) or hasattr(text, "__html__") else str(text)


def columns_of(spec: FormSpec, lang: str) -> list[Column]:
    """The exported columns of a form: every field a cell can hold, in the form's order."""
    return [
        Column(f.name, f.label.get(lang), _KINDS.get(f.type, TEXT), f)
        for f in input_fields(spec)
        if f.type not in LEFT_OUT
    ]


def _converter(f: FieldSpec, lang: str) -> Callable[[Any], Any] | None:
    """How a stored value becomes the value a cell shows (None: as stored)."""
    kind = f.type
    if kind in PERSONAL_TYPES:
        return mask
    if kind == "choice":
        labels = {c.value: c.label.get(lang) for c in f.choices}
        return lambda v: labels.get(v, v)
    if kind == "multichoice":
        labels = {c.value: c.label.get(lang) for c in f.choices}
        return lambda v: ", ".join(labels.get(x, x) for x in v or ())
    if kind == "boolean":
        yes, no = gettext("Yes"), gettext("No")
        return lambda v: yes if v else no
    if kind == "region":
        names = current_app.extensions["simpul_region_names"]
        cache: dict[str, str] = {}

        def region(code: str) -> str:
            found = cache.get(code)
            if found is None:
                found = cache[code] = names.label(code)
            return found

        return region
    if kind in ("decimal", "money"):
        # A whole amount as int: exact in any writer, and what clerks see ("Rp 1.250.000").
        return lambda v: int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v
    return None


def _reference_title(model: Any, f: FieldSpec) -> tuple[Any, Any, Any, Callable[[Any], Any] | None]:
    """(outer-joined alias, join condition, title expression, converter) of a reference column.

    Named as FormRecord.__str__ names a record: its title field as text (masked if a NIK), else
    "#id"; one SQL expression, so no record is loaded per row."""
    target = getattr(model, f.name).property.mapper.class_
    alias = aliased(target)
    key = getattr(model, column_name(f))
    spec = target.__spec__
    title = spec.field(spec.title_field) if spec.title_field else None
    number = sa.literal("#") + sa.cast(key, sa.String)
    if title is None:
        return alias, alias.id == key, number, None
    text = sa.func.nullif(sa.cast(getattr(alias, column_name(title)), sa.String), "")
    conv = (lambda v: v if v.startswith("#") else mask(v)) if title.type in PERSONAL_TYPES else None
    return alias, alias.id == key, sa.func.coalesce(text, number), conv


def order_of(view: Any) -> tuple[str, str]:
    """The list's (order column, direction) from the address, as the list itself reads it."""
    order = tuple(get_order_args().get(type(view).__name__) or view.base_order or ())
    column, direction = (*order, "", "")[:2]
    model = view.datamodel
    if column not in model.sortable:
        column, direction = model.default_order[0]
    return column, direction if direction in ("asc", "desc") else "asc"


def _order_text(view: Any, column: str, direction: str) -> str:
    label = view.label_columns.get(column, column)
    arrow = gettext("ascending") if direction == "asc" else gettext("descending")
    return f"{_plain(label)} ({arrow})"


def _area_name() -> str:
    scope = current_scope()
    if scope is None:
        return ""
    names = current_app.extensions["simpul_region_names"]
    label = names.label(scope)
    return f"Kec. {label}" if scope.count(".") == 2 and label != scope else label


def list_selection(view: Any, batch_size: int = BATCH_SIZE, reveal: bool = False) -> Selection:
    """The records of `view`'s list as this request asks for them (filters, order, search, area).

    Call inside the request (or `user_request`) whose address carries the list's arguments.
    `reveal`: NIK and No. KK in full — only for a user with the form's reveal permission who
    stated a purpose (the caller checks and logs it).
    """
    from app.views.list_filters import _chips  # the filter chips the list shows above its table

    spec: FormSpec = view.spec
    model = view.datamodel.obj
    lang = current_lang()
    get_filter_args(view._filters)  # the list's filters, read from the same URL arguments
    filters = view._filters.get_joined_filters(view._base_filters)
    column, direction = order_of(view)
    datamodel = view.datamodel
    count = datamodel.count(filters)
    query = datamodel.apply_all(datamodel.session.query(model), filters, column, direction)
    columns = columns_of(spec, lang)
    entities: list[Any] = [model.id]
    converters: list[Callable[[Any], Any] | None] = []
    joins = []
    for c in columns:
        if c.field.type == "reference":
            alias, on, expr, conv = _reference_title(model, c.field)
            joins.append((alias, on))
            entities.append(expr)
            converters.append(conv)
        else:
            entities.append(getattr(model, column_name(c.field)))
            converters.append(None if reveal and c.field.type in PERSONAL_TYPES else _converter(c.field, lang))
    query = query.with_entities(*entities)
    for alias, on in joins:
        query = query.outerjoin(alias, on)
    notes = [FilterNote(_plain(chip.label), chip.text) for chip in _chips(view, view._filters)]
    return Selection(
        spec=spec,
        title=spec.title.get(lang),
        columns=columns,
        count=count,
        filters=notes,
        order=_order_text(view, column, direction),
        area=_area_name(),
        _query=query,
        _convert=converters,
        _reorder=lambda q: datamodel.apply_order_by(q, column, direction),
        batch_size=batch_size,
    )


def form_view(slug: str) -> Any:
    """The list view (FAB view instance) of a form or child table in the current app."""
    name = f"FormView_{slug}"
    for view in current_app.appbuilder.baseviews:
        if type(view).__name__ == name:
            return view
    raise LookupError(slug)


@contextlib.contextmanager
def user_request(app: Any, username: str, url: str, lang: str) -> Iterator[Any]:
    """A request to `url` (path and query) made by `username` in `lang`: the list's filters, area
    and language apply exactly as they did on the screen. Raises LookupError for an unknown or
    inactive user."""
    with app.test_request_context(url):
        user = app.appbuilder.sm.find_user(username=username)
        if user is None or not user.is_active:
            raise LookupError(username)
        session["locale"] = lang
        login_user(user)
        g.user = user
        yield user
