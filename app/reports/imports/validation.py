"""Every row of a file checked with the engine's own rules, as the screens and API check one record.

Per row, the same steps as an API save (app/views/generated.py `_validated`): the engine's value
rules (`validate_values`: types, required, lengths, patterns, choices, min/max), references only
to records the user may see, the parent record within the user's area, then uniqueness and the
form's rules (`check_record`). Rules that need no stored data (`required_if`, `nik_consistent`,
region roots, the working area) run through `check_rules` itself; the ones that query stored data
(uniqueness, `unique_when`, `confirm_same`, `capacity`, `unique_via`, `child_count`, the region
list) run here in bulk: one query per rule for the whole file instead of several per row, with
the file's own earlier rows counted as if already saved, and with the same messages.

A row whose upsert key (e.g. program + NIK) matches a stored record updates that record; the
key is the form's `unique_together` group or `unique` field the user chose on the screen.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import eq
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from app.access.scope import scope_clause
from app.forms_engine.fieldtypes import UNSET, Invalid, column_name, region_within
from app.forms_engine.fieldtypes import record_id as as_record_id
from app.forms_engine.messages import N_, Message, RecordRef
from app.forms_engine.record import Errors, input_fields
from app.forms_engine.rules import Finding, RuleContext, check_rules, region_root, rule_inputs
from app.forms_engine.spec import FieldSpec, FormSpec
from app.regions.importer import region_table

from .bulk import without_gc
from .cells import raw_value
from .lookups import RecordNames, choice_labels, resolve_choice
from .mapping import PARENT, importable_fields
from .reading import Table
from .values import MEMO_SIZE, Remembered, each_distinct, judged_column

ADD, UPDATE, SAME = "add", "update", "same"
PURE_RULES = frozenset({"required_if", "nik_consistent"})  # checked by the engine's check_rules
IN_FILE = N_("the same %(fields)s is already in row %(row)s of this file")
IN_FILE_WARNING = N_("the same %(fields)s is also in row %(row)s of this file; check before saving")
CHUNK = 500
ID_CHUNK = 5000  # ids per IN (...): well under SQLite's 32,766 and PostgreSQL's 65,535 parameters


@dataclass
class RowResult:
    """One data row: what it becomes (add, update, same) and what is wrong with it."""

    row: int
    values: dict[str, Any] = field(default_factory=dict)
    action: str = ADD
    record_id: int | None = None
    parent_id: int | None = None
    region: str | None = None
    errors: Errors = field(default_factory=dict)
    warnings: Errors = field(default_factory=dict)

    def fail(self, name: str, message: Message, warning: bool = False) -> None:
        """Note a problem with one field of the row."""
        (self.warnings if warning else self.errors).setdefault(name, []).append(message)


@dataclass
class ImportTarget:
    """Where rows go and who imports them: the form, its models, the user's area, the key."""

    session: Any
    spec: FormSpec
    models: dict[str, Any]
    scope: str | None
    office_region: str | None
    key: tuple[str, ...] = ()
    parent_id: int | None = None  # the parent of every row, when chosen on the screen
    may_update: bool = True

    @property
    def model(self) -> Any:
        return self.models[self.spec.slug]

    @property
    def table(self) -> sa.Table:
        return self.model.__table__

    @property
    def specs(self) -> dict[str, FormSpec]:
        return {slug: model.__spec__ for slug, model in self.models.items()}

    def column(self, name: str, spec: FormSpec | None = None) -> sa.Column:
        spec = spec or self.spec
        return self.models[spec.slug].__table__.c[column_name(spec.field(name))]


@dataclass
class Plan:
    """The checked rows and the stored values of the records they update."""

    rows: list[RowResult]
    stored: dict[int, dict[str, Any]]

    @property
    def failed(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    @property
    def warned(self) -> list[RowResult]:
        return [r for r in self.rows if r.warnings]

    def count(self, action: str) -> int:
        """Rows that add, update or leave a record as it is."""
        return sum(1 for r in self.rows if r.action == action)


def key_choices(spec: FormSpec) -> list[tuple[str, ...]]:
    """Field groups a re-run may match stored records on: `unique_together`, then `unique` fields."""
    groups = [tuple(g) for g in spec.unique_together]
    return groups + [(f.name,) for f in importable_fields(spec) if f.unique and (f.name,) not in groups]


@without_gc
def plan_import(
    target: ImportTarget, table: Table, mapping: Sequence[str | None], progress: Callable[[int], None] | None = None
) -> Plan:
    """Check every row of `table` (columns mapped to fields by `mapping`); nothing is written."""
    spec = target.spec
    fields = {f.name: f for f in importable_fields(spec)}
    columns = [(i, fields[name]) for i, name in enumerate(mapping) if name in fields]
    parent_column = mapping.index(PARENT) if PARENT in mapping else None
    references = {  # every reference: a mapped one is read from the file, an owner gives the region
        f.name: _names(target, target.models[f.target])  # type: ignore[index]
        for f in fields.values()
        if f.type == "reference" and f.target in target.models
    }
    parents = _names(target, target.model.parent.property.mapper.class_) if spec.parent else None
    file = _FileValues(target, table, columns, references)
    rows: list[tuple[RowResult, int]] = []
    for index, number in enumerate(table.row_numbers):
        result = RowResult(number)
        if index in file.problems:
            for name, problem in file.cell_problems(index):
                result.fail(name, problem)
        if parents is not None:
            cell = table.rows[index][parent_column] if parent_column is not None else None
            _parent_of(result, cell, target, parents)
        rows.append((result, index))
    keys = StoredKeys(target.session)
    stored = _match_keys(target, rows, file, keys)
    rules = _RowRules(target)
    region_of = _region_source(target, references)
    for done, (result, index) in enumerate(rows, 1):
        _check_values(result, index, file, stored, rules, region_of)
        if progress is not None and done % 5000 == 0:
            progress(done)
    checkable = [r for r, _index in rows if not r.errors]
    StoredChecks(target, checkable, stored, keys).run()
    for result in checkable:
        if result.action == UPDATE and not result.errors and _unchanged(result, stored[result.record_id]):  # type: ignore[index]
            result.action = SAME
    return Plan([r for r, _index in rows], stored)


CELL, VALUE, VISIBLE = "cell", "value", "visible"  # where a cell's problem was found


class _FileValues:
    """The mapped columns of a file judged column by column, each distinct cell once.

    A cell is read as the engine's raw input (cells.raw_value: a number Excel rounded is refused; a
    choice by its label, a reference by its title), then judged by the field's own judge, the one
    `validate_values` calls; a reference must name a record the user may see. `values(index,
    kept)` then gives exactly what `validate_values(spec, raw)` gives for the row's raw values
    (merged over `kept`, a stored record's values, for a row that updates it).
    """

    def __init__(
        self,
        target: ImportTarget,
        table: Table,
        columns: list[tuple[int, FieldSpec]],
        references: dict[str, RecordNames],
    ) -> None:
        spec = target.spec
        self.validator = spec.validator
        self.state_field = spec.state_field
        self.names = [f.name for _i, f in columns]
        cells = list(zip(*table.rows, strict=True)) if table.rows else [() for _name in table.header]
        self.values: list[list[Any]] = []
        self.problems: dict[int, list[tuple[str, tuple[Any, Message, str]]]] = {}
        for i, f in columns:
            labels = choice_labels(f) if f.type in ("choice", "multichoice") else None
            judge = _cell_judge(f, self.validator.judges[f.name], labels, references.get(f.name))
            values, problems = judged_column(cells[i], judge)
            self.values.append(values)
            for index, answer in problems.items():
                self.problems.setdefault(index, []).append((f.name, answer))
        self.rows = list(zip(*self.values, strict=True)) if self.values else [() for _row in table.rows]
        # What validate_values gives the fields no column fills; a row without problems adds its values.
        absent, self.absent_errors = self.validator({}, judged={name: (None, None) for name in self.names})
        self.absent = {name: value for name, value in absent.items() if name not in self.names}
        # A stored record's values of the fields the file leaves alone, judged again as validate_values
        # judges them: each distinct value once (they repeat: most are empty).
        self.kept_judges = [
            (f.name, Remembered(self.validator.judges[f.name]))
            for f in self.validator.fields
            if f.name != self.state_field
        ]

    def cell_problems(self, index: int) -> list[tuple[str, Message]]:
        """Cells that are not the engine's input (the row leaves their fields out), in the file's order."""
        return [(name, answer[1]) for name, answer in self.problems.get(index, ()) if answer[2] == CELL]

    def keys(self, names: Sequence[str]) -> list[tuple[Any, ...] | None]:
        """Each row's values of `names` as they would be stored, or None when one is missing or refused."""
        if any(name not in self.names for name in names):
            return [None] * len(self.rows)
        parts = [self.values[self.names.index(name)] for name in names]
        keys: list[tuple[Any, ...] | None] = [None if None in key else key for key in zip(*parts, strict=True)]
        for index, problems in self.problems.items():
            if any(name in names and answer[2] != VISIBLE for name, answer in problems):
                keys[index] = None
        return keys

    def values_of(self, index: int, kept: dict[str, Any] | None) -> tuple[dict[str, Any], Errors, Errors]:
        """validate_values(spec, raw) of the row's raw values over `kept`: (clean, errors, reference problems)."""
        problems = self.problems.get(index)
        if kept is None and problems is None and not self.absent_errors:  # the usual row: nothing to merge
            clean = self.absent.copy()
            clean.update(zip(self.names, self.rows[index], strict=True))
            return clean, {}, {}
        judged: dict[str, tuple[Any, Message | None]] = {
            name: (value, None) for name, value in zip(self.names, self.rows[index], strict=True)
        }
        unseen: Errors = {}
        for name, (value, problem, where) in problems or ():
            if where == CELL:
                del judged[name]  # left out of raw: the stored value or the default stays
            elif where == VALUE:
                judged[name] = (value, problem)
            else:
                unseen[name] = [problem]
        if kept is not None:  # its values stand for the fields not in the row (the state stays out)
            for name, judge in self.kept_judges:
                if name not in judged:
                    judged[name] = judge(kept[name])
        clean, errors = self.validator({}, judged=judged)
        return clean, errors, unseen


def _cell_judge(
    f: FieldSpec,
    judge: Callable[[Any], tuple[Any, Message | None]],
    labels: Mapping[str, str] | None,
    names: RecordNames | None,
) -> Callable[[Any], tuple[Any, Message | None, str | None]]:
    """A cell's (stored value or UNSET, problem, where the problem was found)."""

    def judged(cell: Any) -> tuple[Any, Message | None, str | None]:
        try:
            raw = raw_value(f, cell)
            if labels is not None:
                raw = resolve_choice(labels, raw)
            if names is not None:
                raw = names.resolve(raw)
        except Invalid as exc:
            return UNSET, exc.message, CELL
        value, problem = judge(raw)
        if problem is not None:
            return value, problem, VALUE
        if names is not None:
            try:
                names.check_visible(value)
            except Invalid as exc:
                return value, exc.message, VISIBLE
        return value, None, None

    return judged


def _names(target: ImportTarget, model: Any) -> RecordNames:
    return RecordNames(target.session, model, scope_clause(model, target.scope))


def _parent_of(result: RowResult, cell: Any, target: ImportTarget, parents: RecordNames) -> None:
    """The row's parent record: its column, else the one chosen on the screen; visible to the user."""
    value = cell if cell not in (None, "") else target.parent_id
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        parent_id = as_record_id(parents.resolve(value))
        parents.check_visible(parent_id)
    except Invalid as exc:
        result.fail(PARENT, exc.message)
        return
    if parent_id is None:
        result.fail(PARENT, Message(N_("no such parent record")))
        return
    result.parent_id = parent_id
    result.region = parents.regions.get(parent_id)


def _match_keys(
    target: ImportTarget, rows: list[tuple[RowResult, int]], file: _FileValues, keys: StoredKeys
) -> dict[int, dict[str, Any]]:
    """Rows whose key a stored record holds become its update; returns those records' stored values."""
    if not target.key:
        return {}
    existing = keys(target.table, [target.column(n) for n in target.key])
    matched: dict[int, RowResult] = {}
    first_row: dict[tuple[Any, ...], int] = {}
    file_keys = file.keys(target.key)
    for result, index in rows:
        key = file_keys[index]
        if key is None:
            continue
        if key in first_row:
            result.fail(target.key[0], _in_file(target.spec, target.key, first_row[key]))
            continue
        first_row[key] = result.row
        found = existing.get(key)
        if found:
            result.action, result.record_id = UPDATE, found[0]
            matched[found[0]] = result
    visible = _visible_ids(target, list(matched))
    for record_id, result in matched.items():
        if record_id not in visible:  # someone else's record: named as "another record" when shown
            result.fail(
                target.key[0],
                Message(N_("already used by %(record)s"), {"record": RecordRef(target.spec.slug, record_id)}),
            )
        elif not target.may_update:
            result.fail(target.key[0], Message(N_("a record with this key exists; you may not change records")))
    return _stored_values(target, [i for i in matched if i in visible])


def _visible_ids(target: ImportTarget, ids: list[int]) -> set[int]:
    """Those of `ids` (stored records' ids just read) inside the user's area."""
    clause = scope_clause(target.model, target.scope)
    if clause is None:  # an unlimited area: every stored record
        return set(ids)
    found: set[int] = set()
    for chunk in _chunks(ids, ID_CHUNK):
        query = sa.select(target.table.c.id).where(target.table.c.id.in_(chunk))
        found.update(target.session.execute(query.where(clause)).scalars())
    return found


def _stored_values(target: ImportTarget, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Stored values by record id, by field name (and the parent and region of child rows)."""
    table = target.table
    fields = input_fields(target.spec)
    extra = [c for c in ("parent_id", "region_code") if c in table.c]
    names = [f.name for f in fields] + extra
    stored: dict[int, dict[str, Any]] = {}
    query = sa.select(table.c.id, *[table.c[column_name(f)] for f in fields], *[table.c[c] for c in extra])
    postgresql = target.session.get_bind().dialect.name == "postgresql"
    for chunk in [ids] if postgresql else _chunks(ids, ID_CHUNK):
        # PostgreSQL: all ids as one array parameter; an IN list of thousands costs more to plan than to run.
        where = table.c.id == sa.any_(sa.bindparam("ids", chunk, ARRAY(sa.Integer))) if postgresql else None
        for row in all_rows(target.session, query.where(where if where is not None else table.c.id.in_(chunk))):
            stored[row[0]] = dict(zip(names, row[1:], strict=True))
    return stored


def all_rows(conn: Any, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """A Core select's rows as tuples of the values SQLAlchemy gives, each column's result processor run once per distinct value.

    SQLAlchemy builds a Row object per row and runs a column's processor (SQLite's date text to a
    date, its REAL to a Decimal) per value; on the keys of every stored record, or the values of
    100,000 records, that is most of the time. The driver's rows are processed here the same way,
    column by column (a JSON value, which may be a list, each time: each row its own).
    """
    result = conn.execute(query)
    try:
        cursor = result.cursor
        rows = cursor.fetchall()
        description = cursor.description
        dialect = result.context.dialect
    finally:
        result.close()
    columns = list(query.selected_columns)
    processors = [
        column.type._cached_result_processor(dialect, described[1])
        for column, described in zip(columns, description, strict=True)
    ]
    if not rows or not any(processors):
        return [tuple(row) for row in rows]
    values = list(zip(*rows, strict=True))
    for i, process in enumerate(processors):
        if process is None:
            continue
        if isinstance(columns[i].type, sa.JSON):
            values[i] = tuple(map(process, values[i]))
        else:
            values[i] = each_distinct(values[i], process)  # type: ignore[call-overload]
    return list(zip(*values, strict=True))


def _check_values(
    result: RowResult,
    index: int,
    file: _FileValues,
    stored: dict[int, dict[str, Any]],
    rules: _RowRules,
    region_of: Callable[[RowResult], str | None],
) -> None:
    """The engine's value rules and the rules needing no stored data, for one row."""
    kept = None
    if result.record_id is not None and result.record_id in stored:
        kept = stored[result.record_id]  # fields not in the file stay
        if result.parent_id is None and "parent_id" in kept:
            result.parent_id = kept["parent_id"]
    clean, errors, unseen = file.values_of(index, kept)
    for name, messages in errors.items():
        result.errors.setdefault(name, messages)
    for name, messages in unseen.items():  # a reference to a record the user may not see
        if name not in result.errors:
            result.errors[name] = messages
    result.values = clean
    if result.errors:
        return
    for finding in rules.findings(clean, result.record_id, result.parent_id):
        result.fail(finding.field, finding.message, finding.warning)
    result.region = region_of(result)


class _RowRules:
    """The engine's check_rules with the rules that read no stored data, asked once per distinct input.

    The rules that query stored data run in bulk (StoredChecks). What the others find depends only
    on the values of a few fields (rules.rule_inputs: e.g. the status and the date a `required_if`
    looks at, the region codes): rows alike in those share the answer, worked out once.
    """

    def __init__(self, target: ImportTarget) -> None:
        self.spec = _pure(target.spec)
        self.specs = target.specs
        self.office_region = target.office_region
        self.scope = target.scope
        self.inputs = rule_inputs(self.spec)
        self.memo: dict[tuple[Any, ...], list[Finding]] = {}

    def findings(self, values: dict[str, Any], record_id: int | None, parent_id: int | None) -> list[Finding]:
        """check_rules' findings for a record with `values` (read only: shared by rows alike)."""
        key: tuple[Any, ...] | None = None
        if self.inputs is not None:
            key = tuple(map(values.get, self.inputs))
            try:
                found = self.memo.get(key)
            except TypeError:  # a list (a multichoice value): checked every time
                key = found = None
            if found is not None:
                return found
        context = RuleContext(
            None,  # no stored data is read here
            self.spec,
            {},
            self.specs,
            values,
            record_id,
            parent_id,
            office_region=self.office_region,
            scope=self.scope,
        )
        found = check_rules(context)
        if key is not None and len(self.memo) < MEMO_SIZE:
            self.memo[key] = found
        return found


_PURE_SPECS: dict[int, FormSpec] = {}


def _pure(spec: FormSpec) -> FormSpec:
    """The spec with only the rules that read no stored data (cached per spec object)."""
    found = _PURE_SPECS.get(id(spec))
    if found is None or found.slug != spec.slug:
        found = dataclasses.replace(spec, rules=tuple(r for r in spec.rules if r.kind in PURE_RULES))
        _PURE_SPECS[id(spec)] = found
    return found


def _region_source(target: ImportTarget, references: dict[str, RecordNames]) -> Callable[[RowResult], str | None]:
    """How a row's region code is found: the code the record will belong to (scope.record_region)."""
    spec = target.spec
    if spec.region_field:
        f = spec.field(spec.region_field)
        name = f.name
        if f.type == "region":
            return lambda result: result.values.get(name)
        names = references.get(name)
        if names is None:
            return lambda result: None
        regions = names.regions
        return lambda result: regions.get(result.values.get(name))  # type: ignore[arg-type]
    if spec.parent:
        return lambda result: result.region
    return lambda result: None


def _unchanged(result: RowResult, kept: dict[str, Any]) -> bool:
    if result.parent_id is not None and kept.get("parent_id") not in (None, result.parent_id):
        return False
    values = result.values
    return all(map(eq, map(kept.get, values), values.values()))  # kept.get(name) == value, for each field


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StoredKeys:
    """`_first_ids` of one plan, each set of columns read once (the upsert key is often also a unique group)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.read: dict[tuple[str, ...], dict[tuple[Any, ...], list[int]]] = {}

    def __call__(self, table: sa.Table, columns: list[Any], *where: Any) -> dict[tuple[Any, ...], list[int]]:
        """Stored value tuples of `columns` (none empty, rows matching `where`) -> their ids (two, lowest first)."""
        if where:
            return _first_ids(self.conn, table, columns, *where)
        key = (table.name, *[c.name for c in columns])
        if key not in self.read:
            self.read[key] = _first_ids(self.conn, table, columns)
        return self.read[key]


def _first_ids(conn: Any, table: sa.Table, columns: list[Any], *where: Any) -> dict[tuple[Any, ...], list[int]]:
    """Stored value tuples of `columns` (none empty) -> the ids holding them, lowest first (two at most)."""
    query = sa.select(table.c.id, *columns).where(*[c.is_not(None) for c in columns], *where).order_by(table.c.id)
    found: dict[tuple[Any, ...], list[int]] = {}
    for row in all_rows(conn, query):
        ids = found.setdefault(tuple(row[1:]), [])
        if len(ids) < 2:
            ids.append(row[0])
    return found


def _other(ids: list[int] | None, record_id: int | None) -> int | None:
    """The first stored record holding a value, other than the row's own."""
    return next((i for i in ids or () if i != record_id), None)


def _labels(spec: FormSpec, names: Sequence[str]) -> str:
    return ", ".join(spec.field(n).label.id for n in names)


def _in_file(spec: FormSpec, names: Sequence[str], row: int, warning: bool = False) -> Message:
    return Message(IN_FILE_WARNING if warning else IN_FILE, {"fields": _labels(spec, names), "row": row})


def _holds(values: dict[str, Any], when: dict[str, Any]) -> bool:
    return all(values.get(name) == value for name, value in when.items())


def _condition(spec: FormSpec, when: dict[str, Any]) -> str:
    parts = []
    for name, value in when.items():
        f = spec.field(name)
        parts.append(f"{f.label.id} = {f.choice_label(str(value), 'id') if f.choices else value}")
    return ", ".join(parts)


class StoredChecks:
    """The checks against stored data, for all rows at once; each row sees the earlier rows as saved."""

    def __init__(
        self,
        target: ImportTarget,
        rows: list[RowResult],
        stored: dict[int, dict[str, Any]],
        keys: StoredKeys | None = None,
    ) -> None:
        self.target = target
        self.spec = target.spec
        self.rows = rows
        self.stored = stored
        self.conn = target.session
        self.keys = keys or StoredKeys(target.session)

    def run(self) -> None:
        """Run every check that reads stored records."""
        if not self.rows:
            return
        self.unique()
        self.region_list()
        for rule in self.spec.rules:
            check = getattr(self, f"rule_{rule.kind}", None)
            if check is not None:
                check(rule.params)
        parent = self.target.specs.get(self.spec.parent or "")
        if parent is not None:
            child_name = self.spec.slug.split("__", 1)[1]
            for rule in parent.rules:
                if rule.kind == "child_count" and rule.params["child"] == child_name:
                    self.child_row_count(rule.params)

    def _same(
        self,
        names: Sequence[str],
        existing: dict[tuple[Any, ...], list[int]],
        message: Callable[[int], Message],
        warning: bool = False,
        only: Callable[[RowResult], bool] | None = None,
    ) -> None:
        """Rows whose values of `names` a stored record (message) or an earlier row of the file hold."""
        seen: dict[tuple[Any, ...], int] = {}
        for r in self.rows:
            values = tuple(map(r.values.get, names))
            if None in values or (only is not None and not only(r)):
                continue
            ids = existing.get(values) if existing else None  # none on a first import
            other = _other(ids, r.record_id) if ids else None
            if other is not None:
                r.fail(names[0], message(other), warning)
            elif values in seen:
                r.fail(names[0], _in_file(self.spec, names, seen[values], warning), warning)
            else:
                seen[values] = r.row

    def unique(self) -> None:
        """`unique` fields and `unique_together` groups (record.unique_conflicts)."""
        groups = [(f.name,) for f in input_fields(self.spec) if f.unique] + list(self.spec.unique_together)
        for group in groups:
            existing = self.keys(self.target.table, [self.target.column(n) for n in group])
            others = _labels(self.spec, group[1:])

            def message(
                other: int, single: bool = len(group) == 1, others: str = others, slug: str = self.spec.slug
            ) -> Message:
                if single:
                    return Message(N_("already used by %(record)s"), {"record": RecordRef(slug, other)})
                return Message(
                    N_("already used together with %(others)s by %(record)s"),
                    {"record": RecordRef(slug, other), "others": others},
                )

            self._same(group, existing, message)

    def rule_unique_when(self, params: dict[str, Any]) -> None:
        """One record per value while a condition holds (rules._unique_when)."""
        names, when = params["fields"], params["when"]
        existing = self.keys(
            self.target.table,
            [self.target.column(n) for n in names],
            *[self.target.column(n) == v for n, v in when.items()],
        )
        fields, condition = _labels(self.spec, names), _condition(self.spec, when)
        self._same(
            names,
            existing,
            lambda other: Message(
                N_("the same %(fields)s with %(condition)s is already held by %(record)s"),
                {"record": RecordRef(self.spec.slug, other), "fields": fields, "condition": condition},
            ),
            only=lambda r: _holds(r.values, when),
        )

    def rule_confirm_same(self, params: dict[str, Any]) -> None:
        """A warning when another record shares the values (rules._confirm_same)."""
        names, within = params["fields"], params["within"]
        group = list(names) + [n for n in within if n not in names]
        existing = self.keys(self.target.table, [self.target.column(n) for n in group])
        fields = _labels(self.spec, names)
        where = f" ({_labels(self.spec, within)})" if within else ""
        self._same(
            group,
            existing,
            lambda other: Message(
                N_("the same %(fields)s%(where)s is already in %(record)s; check before saving"),
                {"record": RecordRef(self.spec.slug, other), "fields": fields, "where": where},
            ),
            warning=True,
        )

    def _targets(self, reference: str, name: str) -> tuple[sa.Table, sa.Column, FormSpec] | None:
        spec = self.target.specs.get(self.spec.field(reference).target or "")
        if spec is None or not any(f.name == name for f in spec.live_fields):
            return None
        table = self.target.models[spec.slug].__table__
        return table, table.c[column_name(spec.field(name))], spec

    def _moved(self, r: RowResult, name: str) -> bool:
        """Whether the row adds a record or changes its `name` (so takes a new place)."""
        return r.record_id is None or self.stored[r.record_id].get(name) != r.values.get(name)

    def rule_capacity(self, params: dict[str, Any]) -> None:
        """Places of the referenced record (rules._capacity), the file's rows counted in turn."""
        reference, found = params["reference"], self._targets(params["reference"], params["limit"])
        refs = sorted({r.values[reference] for r in self.rows if r.values.get(reference) is not None})
        if found is None or not refs:
            return
        target_table, limit_column, _spec = found
        column = self.target.column(reference)
        limits: dict[int, Any] = {}
        taken: dict[int, int] = {}
        for chunk in _chunks(refs):
            limits.update(
                self.conn.execute(sa.select(target_table.c.id, limit_column).where(target_table.c.id.in_(chunk))).all()
            )
            counted = sa.select(column, sa.func.count()).where(column.in_(chunk)).group_by(column)
            taken.update(self.conn.execute(counted).all())
        for r in self.rows:
            ref = r.values.get(reference)
            limit = limits.get(ref) if ref is not None else None
            if limit is None or not self._moved(r, reference):
                continue
            if taken.get(ref, 0) >= limit:
                r.fail(reference, Message(N_("is full: all %(limit)s places are taken"), {"limit": limit}))
            else:
                taken[ref] = taken.get(ref, 0) + 1

    def rule_unique_via(self, params: dict[str, Any]) -> None:
        """Once per group of the referenced record, e.g. one NIK per bimtek (rules._unique_via)."""
        via, names, found = params["via"], params["fields"], self._targets(params["via"], params["group"])
        refs = sorted({r.values[via] for r in self.rows if r.values.get(via) is not None})
        if found is None or not refs:
            return
        target_table, group_column, target_spec = found
        groups: dict[int, Any] = {}
        for chunk in _chunks(refs):
            groups.update(
                self.conn.execute(sa.select(target_table.c.id, group_column).where(target_table.c.id.in_(chunk))).all()
            )
        table = self.target.table
        query = (
            sa.select(table.c.id, group_column, *[self.target.column(n) for n in names])
            .join(target_table, self.target.column(via) == target_table.c.id)
            .where(group_column.in_(sorted({g for g in groups.values() if g is not None})))
            .order_by(table.c.id)
        )
        existing: dict[tuple[Any, ...], list[int]] = {}
        for row in self.conn.execute(query):
            ids = existing.setdefault(tuple(row[1:]), [])
            if len(ids) < 2:
                ids.append(row[0])
        label = target_spec.field(params["group"]).label.id
        seen: dict[tuple[Any, ...], int] = {}
        for r in self.rows:
            group = groups.get(r.values.get(via))  # type: ignore[arg-type]
            values = (group, *[r.values.get(n) for n in names])
            if any(v is None for v in values):
                continue
            other = _other(existing.get(values), r.record_id)
            if other is not None:
                r.fail(
                    names[0],
                    Message(
                        N_("already registered for the same %(group)s (%(record)s)"),
                        {"group": label, "record": RecordRef(self.spec.slug, other)},
                    ),
                )
            elif values in seen:
                r.fail(names[0], _in_file(self.spec, names, seen[values]))
            else:
                seen[values] = r.row

    def rule_child_count(self, params: dict[str, Any]) -> None:
        """Records updated must keep their minimum of child rows (rules._child_count)."""
        child_field = self.spec.field(params["child"])
        child, minimum = child_field.child, params["min"]
        rows = [r for r in self.rows if r.record_id is not None and _holds(r.values, params["when"])]
        if child is None or minimum is None or not rows:
            return
        counts = self._child_counts(child, params["where"], [r.record_id for r in rows])  # type: ignore[misc]
        for r in rows:
            count = counts.get(r.record_id, 0)  # type: ignore[arg-type]
            if count < minimum:
                first = next(iter(params["when"]), None) or self.spec.live_fields[0].name
                r.fail(
                    first,
                    Message(
                        N_("needs at least %(min)s %(child)s rows with %(where)s (now %(count)s)"),
                        {
                            "min": minimum,
                            "child": child_field.label.id,
                            "where": _condition(child, params["where"]) or "-",
                            "count": count,
                        },
                    ),
                )

    def _child_counts(self, child: FormSpec, where: dict[str, Any], parent_ids: list[int]) -> dict[int, int]:
        table = self.target.models[child.slug].__table__
        counts: dict[int, int] = {}
        for chunk in _chunks(parent_ids):
            query = (
                sa.select(table.c.parent_id, sa.func.count())
                .where(
                    table.c.parent_id.in_(chunk), *[table.c[column_name(child.field(n))] == v for n, v in where.items()]
                )
                .group_by(table.c.parent_id)
            )
            counts.update(self.conn.execute(query).all())
        return counts

    def child_row_count(self, params: dict[str, Any]) -> None:
        """The parent's maximum of child rows with some values (rules._child_row_count)."""
        maximum, where = params["max"], params["where"]
        rows = [r for r in self.rows if r.parent_id is not None and _holds(r.values, where)]
        if maximum is None or not rows:
            return
        counts = self._child_counts(self.spec, where, sorted({r.parent_id for r in rows}))  # type: ignore[misc]
        name = next(iter(where), None) or self.spec.live_fields[0].name
        for r in rows:
            kept = self.stored.get(r.record_id) if r.record_id is not None else None
            if kept is not None and kept.get("parent_id") == r.parent_id and _holds(kept, where):
                continue  # already counted among its parent's rows
            count = counts.get(r.parent_id, 0)  # type: ignore[arg-type]
            if count + 1 > maximum:
                r.fail(
                    name,
                    Message(
                        N_("at most %(max)s rows may have %(where)s"),
                        {"max": maximum, "where": _condition(self.spec, where)},
                    ),
                )
            else:
                counts[r.parent_id] = count + 1  # type: ignore[index]

    def region_list(self) -> None:
        """Region codes must be in the region list, NIK regions should be (rules._region_codes, _nik_regions)."""
        regions = [f for f in self.spec.live_fields if f.type == "region"]
        niks = [f for f in self.spec.live_fields if f.type == "nik"]
        if not regions and not niks:
            return
        codes = set(self.conn.execute(sa.select(region_table.c.code)).scalars())
        if not codes:  # no region list loaded: nothing to check against
            return
        # Each distinct code looked up once: a file names a few dozen desas and kecamatans.
        unlisted: list[tuple[str, str, dict[str, bool]]] = [
            (f.name, region_root(f, self.target.office_region), {}) for f in regions
        ]
        nik_regions: list[tuple[str, dict[str, str | None]]] = [(f.name, {}) for f in niks]
        for r in self.rows:
            values = r.values
            for name, root, region_memo in unlisted:
                value = values.get(name)
                if not value:
                    continue
                bad = region_memo.get(value)
                if bad is None:
                    bad = region_memo[value] = bool((not root or region_within(value, root)) and value not in codes)
                if bad and name not in r.errors:
                    r.fail(name, Message(N_("%(code)s is not in the region list"), {"code": value}))
            for name, nik_memo in nik_regions:
                value = values.get(name)
                if not value:
                    continue
                if value[0:6] not in nik_memo:
                    code = f"{value[0:2]}.{value[2:4]}.{value[4:6]}"
                    nik_memo[value[0:6]] = None if code in codes else code
                unknown = nik_memo[value[0:6]]
                if unknown is not None:
                    r.fail(
                        name,
                        Message(N_("NIK: region %(code)s is not in the region list (an old code?)"), {"code": unknown}),
                        warning=True,
                    )


def field_label(spec: FormSpec, name: str, lang: str, parent_label: str) -> str:
    """How a field is named to the user in a message."""
    if name == PARENT:
        return parent_label
    try:
        f: FieldSpec = spec.field(name)
    except KeyError:
        return name
    return f.label.get(lang)
