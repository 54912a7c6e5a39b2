"""The filter panel of every generated list: quick search, one filter per field, active filters.

Filters travel as FAB's GET arguments (`_flt_<position>_<column>=value`), so a filtered list is a
shareable address, the export and the way back after a save see the same filters, and the API's
filters are the same objects. The panel offers, per field type, the one filter a clerk needs
(region: within the picked area; choice: equal to a label; number and date: from–to; NIK/KK:
the whole number) and finds its position among the column's filters by its `arg_name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from app.access.personal import PERSONAL_TYPES, mask
from app.access.scope import scoped
from app.forms_engine.fieldtypes import FALSE_WORDS, TRUE_WORDS, column_name, record_id
from app.forms_engine.spec import FieldSpec
from app.office import utc_now
from app.regions.importer import CODE
from app.views.labels import current_lang, lazy_text
from app.views.region_widget import region_picker
from app.workflows.models import stay_table, timer_table

FILTER_ARG = re.compile(r"^_flt_(\d)_(.+)$")
MAX_REFERENCE_OPTIONS = 500  # a reference filter's select lists at most this many records (type-ahead on them)
TEXT_TYPES = ("text", "longtext", "email", "phone", "nip")
RANGE_TYPES = ("integer", "decimal", "money", "date", "datetime")
# The operator the panel uses for each field type (its FAB arg_name).
PANEL_OPERATOR = {
    "region": "rw",
    "reference": "ref",
    "choice": "eq",
    "multichoice": "has",
    "boolean": "eq",
    "nik": "whole",
    "kk": "whole",
    **{t: "ct" for t in TEXT_TYPES},
}


class RequestFilters:
    """Keeps a view's active filters per request.

    FAB holds them in `self._filters` on the view object, which serves every request (and
    thread) alike: one user's filters could run in another's query. Each request gets its own.
    """

    @property
    def _filters(self) -> Any:
        if not has_request_context():
            return self.__dict__.get("_filters_at_build")
        per_request = request.environ.setdefault("simpul.filters", {})
        key = id(self)
        if key not in per_request:
            per_request[key] = with_overdue(
                self.datamodel.get_filters(  # type: ignore[attr-defined]
                    self.search_columns,  # type: ignore[attr-defined]
                    getattr(self, "search_filters", None),
                )
            )
        return per_request[key]

    @_filters.setter
    def _filters(self, value: Any) -> None:
        self.__dict__["_filters_at_build"] = value


# -- the overdue filter of workflow forms ---------------------------------------------------
#
# Hung on the form's state column (FAB filters belong to a column), after the column's own
# filters so their screen positions stay as they were. Its values: yes/no (the record's open
# stay is past its deadline, or not), and for the overdue screen's links the ladder level a
# record has reached ("deadline": overdue, no level yet; "level-2"), or a level that fired
# with nobody to tell ("nobody") or whose mail failed ("failed").

OVERDUE = "overdue"
DEADLINE_VALUE = "deadline"
LEVEL_PREFIX = "level-"
OUTCOME_VALUES = ("nobody", "failed")


def open_stays(model: Any, slug: str) -> Any:
    """The condition on simpul_wf_stay: the record's open stay (the index on form, record_id, left_at)."""
    s = stay_table
    return sa.and_(s.c.form == slug, s.c.record_id == model.id, s.c.left_at.is_(None))


def reached_level(now: Any) -> Any:
    """Per open stay: the highest level (0: the deadline) whose time has come by `now`, else NULL."""
    t = timer_table
    return (
        sa.select(sa.func.max(t.c.level))
        .where(t.c.stay_id == stay_table.c.id, t.c.due_at <= now)
        .correlate(stay_table)
        .scalar_subquery()
    )


def outcome_fired(outcome: str) -> Any:
    """Per stay: some level fired with this outcome (nobody to tell, or the mail failed)."""
    t = timer_table
    return sa.exists().where(t.c.stay_id == stay_table.c.id, t.c.outcome == outcome).correlate(stay_table)


def overdue_condition(model: Any, slug: str, value: Any, now: Any = None) -> Any:
    """SQL: the form's records matching an overdue filter value (an unreadable value: none)."""
    now = now or utc_now()
    word = str(value or "").strip().lower()
    s = stay_table
    if word in TRUE_WORDS or word in FALSE_WORDS:
        late = sa.exists().where(open_stays(model, slug), s.c.due_at <= now)
        return late if word in TRUE_WORDS else ~late
    if word == DEADLINE_VALUE or word.startswith(LEVEL_PREFIX):
        level = 0 if word == DEADLINE_VALUE else record_id(word.removeprefix(LEVEL_PREFIX))
        if level is None:
            return sa.false()
        return sa.exists().where(open_stays(model, slug), reached_level(now) == level)
    if word in OUTCOME_VALUES:
        return sa.exists().where(open_stays(model, slug), outcome_fired(word))
    return sa.false()


class FilterOverdue(BaseFilter):
    """Records of a workflow form whose open stay is past its deadline (or at a ladder level)."""

    name = lazy_gettext("Overdue")
    arg_name = OVERDUE

    def apply(self, query: Any, value: Any) -> Any:
        if value is None or str(value).strip() == "":
            return query
        return query.filter(overdue_condition(self.model, self.datamodel.spec.slug, value))


def with_overdue(filters: Any) -> Any:
    """A workflow form's filters with the overdue filter on its state column (screens and API)."""
    spec = getattr(filters.datamodel, "spec", None)
    if spec is None or spec.workflow is None:
        return filters
    column = spec.state_field
    for found in (filters._all_filters, filters.get_search_filters()):
        if column in found and not any(f.arg_name == OVERDUE for f in found[column]):
            # A screen address names a filter by one digit: FAB gives a text column ten filters,
            # so this one takes the last place a screen can name and FAB's last ("not in", for
            # the API, which names filters by operator) moves behind it.
            found[column] = list(found[column])
            found[column].insert(min(9, len(found[column])), FilterOverdue(column, filters.datamodel))
    return filters


def overdue_value_text(value: str) -> str:
    """An overdue filter value as the clerk reads it."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return gettext("Yes")
    if word in FALSE_WORDS:
        return gettext("No")
    if word == DEADLINE_VALUE:
        return gettext("past the deadline, not yet escalated")
    if word.startswith(LEVEL_PREFIX) and record_id(word.removeprefix(LEVEL_PREFIX)) is not None:
        return gettext("escalation level %(level)s", level=word.removeprefix(LEVEL_PREFIX))
    if word == "nobody":
        return gettext("escalation with nobody to notify")
    if word == "failed":
        return gettext("escalation whose e-mail failed")
    return value


class PagedListWidget(ListWidget):
    """FAB's list table with the pager below it too."""

    template = "simpul/list_widget.html"


@dataclass
class Input:
    """One input of the panel."""

    name: str
    value: str
    placeholder: str = ""


@dataclass
class PanelField:
    """One field's filter in the panel."""

    column: str
    label: Any
    kind: str  # region, select, range, date_range, text, whole
    inputs: list[Input]
    options: list[tuple[str, str]] = field(default_factory=list)
    picker: Markup | None = None


@dataclass
class Chip:
    """An active filter as the clerk reads it, with the address of the list without it."""

    label: Any
    text: str
    remove_url: str


@dataclass
class Panel:
    """Everything list.html needs to draw the filter panel."""

    quick: Input | None
    quick_fields: str
    fields: list[PanelField]
    chips: list[Chip]
    kept: list[tuple[str, str]]  # arguments the panel's form carries along (order, page size, other filters)
    clear_url: str
    active: int = 0  # how many of the panel's boxes are filled in
    lang: str = "id"


def _position(filters: Any, column: str, operator: str) -> int | None:
    """The screen position of a column's filter with this arg_name (FAB reads one digit)."""
    names = [flt.arg_name for flt in filters.get_search_filters().get(column, [])]
    if operator not in names or names.index(operator) > 9:
        return None
    return names.index(operator)


def _field_of(spec: Any, column: str) -> FieldSpec | None:
    return next((f for f in spec.live_fields if column in (f.name, column_name(f))), None)


def _args_without(drop: set[str]) -> str:
    """This list's address without the given arguments (and its page number: a new filter starts at page 1)."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in drop and not k.startswith("page_")]
    return request.path + ("?" + urlencode(kept) if kept else "")


def _reference_options(view: Any, spec_field: FieldSpec) -> list[tuple[str, str]]:
    """(id, title) of the target's records the user may see, by title."""
    target = view.datamodel.get_related_model(spec_field.name)
    session = view.datamodel.session
    query = scoped(session.query(target), target)
    target_spec = getattr(target, "__spec__", None)
    title = target_spec.field(target_spec.title_field) if target_spec and target_spec.title_field else None
    if title is not None and title.type not in PERSONAL_TYPES:  # a NIK's order would tell part of it
        query = query.order_by(getattr(target, column_name(title)), target.id)
    else:
        query = query.order_by(target.id)
    return [(str(item.id), str(item)) for item in query.limit(MAX_REFERENCE_OPTIONS)]


def _reference_title(view: Any, spec_field: FieldSpec, value: str) -> str:
    """The title of a referenced record the user may see; its number otherwise (nothing more is told)."""
    key = record_id(value)
    if key is None:
        return value
    target = view.datamodel.get_related_model(spec_field.name)
    item = scoped(view.datamodel.session.query(target), target).filter(target.id == key).one_or_none()
    return f"#{key}" if item is None else str(item)


def _shown_value(view: Any, spec_field: FieldSpec | None, operator: str, value: str) -> str:
    """A filter value as the clerk reads it (region and record names, choice labels, Ya/Tidak)."""
    if spec_field is None:
        return value
    kind = spec_field.type
    if kind in ("nik", "kk"):
        return mask(value)
    if kind == "region" and CODE.match(value):
        label = current_app.extensions["simpul_region_names"].label(value)
        return f"Kec. {label}" if value.count(".") == 2 and label != value else label
    if kind == "reference" and operator == "ref":
        return _reference_title(view, spec_field, value)
    if kind in ("choice", "multichoice"):
        return spec_field.choice_label(value, current_lang())
    if kind == "boolean":
        word = value.strip().lower()
        return gettext("Yes") if word in TRUE_WORDS else gettext("No") if word in FALSE_WORDS else value
    return value


def _chip_text(operator: str, shown: str, name: Any) -> str:
    if operator == "from":
        return gettext("from %(value)s", value=shown)
    if operator == "to":
        return gettext("to %(value)s", value=shown)
    if operator in ("ct", "any", "rw", "ref", "eq", "has", "whole"):
        return shown
    return f"{name} {shown}"  # another of FAB's operators, from an address: its name says which


def _chips(view: Any, filters: Any) -> list[Chip]:
    chips = []
    for key, value in request.args.items(multi=True):
        match = FILTER_ARG.match(key)
        if not match or not value.strip():
            continue
        position, column = int(match.group(1)), match.group(2)
        available = filters.get_search_filters().get(column, [])
        if position >= len(available):
            continue  # ignored by the query too
        flt = available[position]
        spec_field = _field_of(view.spec, column)
        if flt.arg_name == "any":
            label: Any = lazy_gettext("Search")
            text = mask(value) if _looks_like_identity(value) else value
        elif flt.arg_name == OVERDUE:
            label, text = lazy_gettext("Overdue"), overdue_value_text(value)
        else:
            label = view.label_columns.get(column, column)
            text = _chip_text(flt.arg_name, _shown_value(view, spec_field, flt.arg_name, value), flt.name)
        chips.append(Chip(label=label, text=text, remove_url=_args_without({key})))
    return chips


def _looks_like_identity(value: str) -> bool:
    digits = "".join(ch for ch in value if ch.isdigit())
    return len(digits) >= 16 and len(digits) == len(value.replace(" ", "").replace(".", ""))


def _panel_field(view: Any, filters: Any, column: str) -> PanelField | None:
    spec_field = _field_of(view.spec, column)
    if spec_field is None:
        return None
    label = view.label_columns.get(column, lazy_text(spec_field.label))
    kind = spec_field.type

    def arg(operator: str) -> str | None:
        position = _position(filters, column, operator)
        return None if position is None else f"_flt_{position}_{column}"

    def current(name: str) -> str:
        return request.args.get(name, "")

    if kind in RANGE_TYPES:
        low, high = arg("from"), arg("to")
        if low is None or high is None:
            return None
        date_kind = kind in ("date", "datetime")
        hint = "dd-mm-yyyy" if date_kind else ""
        return PanelField(
            column,
            label,
            "date_range" if date_kind else "range",
            [Input(low, current(low), hint), Input(high, current(high), hint)],
        )
    operator = PANEL_OPERATOR.get(kind)
    name = arg(operator) if operator else None
    if name is None:
        return None
    value = current(name)
    if kind == "region":
        picker = region_picker(spec_field, name, f"flt-{column}", value, any_level=True)
        return PanelField(column, label, "region", [Input(name, value)], picker=picker)
    if kind == "reference":
        return PanelField(column, label, "select", [Input(name, value)], _reference_options(view, spec_field))
    if kind in ("choice", "multichoice"):
        options = [(c.value, c.label.get(current_lang())) for c in spec_field.choices]
        return PanelField(column, label, "select", [Input(name, value)], options)
    if kind == "boolean":
        options = [("true", gettext("Yes")), ("false", gettext("No"))]
        return PanelField(column, label, "select", [Input(name, value.strip().lower())], options)
    if kind in ("nik", "kk"):
        return PanelField(column, label, "whole", [Input(name, value, gettext("the whole number, 16 digits"))])
    return PanelField(column, label, "text", [Input(name, value, gettext("contains…"))])


def _overdue_field(view: Any, filters: Any) -> PanelField | None:
    """Yes/no: past the deadline (workflow forms only)."""
    workflow = view.spec.workflow
    if workflow is None:
        return None
    column = view.spec.state_field
    position = _position(filters, column, OVERDUE)
    if position is None:
        return None
    name = f"_flt_{position}_{column}"
    value = request.args.get(name, "").strip().lower()
    options = [("true", gettext("Yes")), ("false", gettext("No"))]
    if value and value not in ("true", "false"):  # a level from the overdue screen: kept, by its name
        options.append((value, overdue_value_text(value)))
    return PanelField(f"{column}-overdue", lazy_gettext("Overdue"), "select", [Input(name, value)], options)


def filter_panel(view: Any) -> Panel:
    """The panel for this request's list (its filters already read from the address)."""
    filters = view._filters
    model = view.datamodel
    quick = None
    quick_fields = ""
    if model.search_anchor:
        position = _position(filters, model.search_anchor, "any")
        if position is not None:
            name = f"_flt_{position}_{model.search_anchor}"
            labels = [str(view.label_columns.get(c, c)) for c in model.search_fields]
            quick_fields = ", ".join(labels)
            quick = Input(name, request.args.get(name, ""), gettext("Search %(fields)s", fields=quick_fields))
    fields = [f for f in (_panel_field(view, filters, column) for column in view.search_columns) if f is not None]
    overdue = _overdue_field(view, filters)
    if overdue is not None:
        fields.append(overdue)
    panel_names = {i.name for f in fields for i in f.inputs} | ({quick.name} if quick else set())
    kept = [
        (k, v)
        for k, v in request.args.items(multi=True)
        if k not in panel_names and not k.startswith("page_") and v.strip()
    ]
    chips = _chips(view, filters)
    filter_keys = {k for k in request.args if FILTER_ARG.match(k)}
    active = sum(1 for f in fields for i in f.inputs if i.value.strip())
    return Panel(
        quick=quick,
        quick_fields=quick_fields,
        fields=fields,
        chips=chips,
        kept=kept,
        clear_url=_args_without(filter_keys),
        active=active,
        lang=current_lang(),
    )
