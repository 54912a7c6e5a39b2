"""Rules across fields and rows, declared by name in a definition's `rules:` list.

    rules:
      - {rule: required_if, fields: [sk_nomor, sk_tanggal], when: {status: aktif}}
      - {rule: unique_when, fields: [desa], when: {status: aktif}}
      - {rule: capacity, reference: angkatan, limit: kapasitas}
      - {rule: unique_via, fields: [nik], via: angkatan, group: acara}
      - {rule: confirm_same, fields: [no_kk], within: [program]}
      - {rule: nik_consistent, nik: nik, birth_date: tanggal_lahir, sex: jenis_kelamin, female: P, male: L}
      - {rule: child_count, child: pengurus, where: {peran: ketua}, max: 1, min: 1, when: {status: aktif}}

Each rule is checked in the same place for screens and API. Errors refuse the save;
warnings (confirm_same, nik_consistent, an unknown NIK region) need an explicit confirmation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from .fieldtypes import column_name, region_within
from .identity import nik_birth
from .messages import N_, Message, RecordRef
from .spec import FieldSpec, FormSpec, RuleSpec

ErrorSink = Callable[..., None]  # error(path, text, **params)


@dataclass(frozen=True)
class Finding:
    """A problem a rule found with a record: on which field, and whether it only warns."""

    field: str
    message: Message
    warning: bool = False


@dataclass
class RuleContext:
    """What a rule check may look at: the record's values and the database."""

    conn: Any  # a Connection or Session
    spec: FormSpec
    tables: Mapping[str, sa.Table]  # every form's table by slug (and "__regions__")
    specs: Mapping[str, FormSpec]
    values: Mapping[str, Any]
    record_id: int | None = None
    parent_id: int | None = None
    parent: FormSpec | None = None
    office_region: str | None = None  # the office's district, for region fields `within: office`
    scope: str | None = None  # the user's working area: the record's region must lie inside (None: anywhere)
    findings: list[Finding] = field(default_factory=list)

    def table(self, spec: FormSpec | None = None) -> sa.Table:
        return self.tables[(spec or self.spec).slug]

    def column(self, name: str, spec: FormSpec | None = None) -> sa.Column:
        spec = spec or self.spec
        return self.table(spec).c[column_name(spec.field(name))]

    def others(self, spec: FormSpec | None = None) -> list[Any]:
        """Conditions that leave the record itself out."""
        return [self.table(spec).c.id != self.record_id] if self.record_id is not None else []

    def add(self, field_name: str, text: str, warning: bool = False, **params: Any) -> None:
        self.findings.append(Finding(field_name, Message(text, params), warning))


def _labels(spec: FormSpec, names: list[str]) -> str:
    return ", ".join(spec.field(n).label.id for n in names)


def _condition(spec: FormSpec, when: Mapping[str, Any]) -> str:
    parts = []
    for name, value in when.items():
        f = spec.field(name)
        shown = f.choice_label(str(value), "id") if f.choices else value
        parts.append(f"{f.label.id} = {shown}")
    return ", ".join(parts)


def _holds(values: Mapping[str, Any], when: Mapping[str, Any]) -> bool:
    return all(values.get(name) == value for name, value in when.items())


# ---------------------------------------------------------------------------- parsing


def _names(
    params: Mapping[str, Any], key: str, live: Mapping[str, FieldSpec], error: ErrorSink, path: str
) -> list[str]:
    names = params.get(key)
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list) or not names:
        error(f"{path}.{key}", N_("must name one or more fields of this form"))
        return []
    for name in names:
        if name not in live:
            error(f"{path}.{key}", N_("'%(name)s' is not a field of this form"), name=name)
    return [n for n in names if n in live]


def _field_name(
    params: Mapping[str, Any],
    key: str,
    live: Mapping[str, FieldSpec],
    error: ErrorSink,
    path: str,
    types: tuple[str, ...] = (),
) -> str | None:
    name = params.get(key)
    if name not in live:
        error(f"{path}.{key}", N_("'%(name)s' is not a field of this form"), name=name)
        return None
    if types and live[name].type not in types:
        error(f"{path}.{key}", N_("'%(name)s' must be a field of type %(types)s"), name=name, types=" or ".join(types))
        return None
    return name


def _when(
    params: Mapping[str, Any],
    key: str,
    live: Mapping[str, FieldSpec],
    error: ErrorSink,
    path: str,
    required: bool = True,
) -> dict[str, Any]:
    when = params.get(key)
    if not when and not required:
        return {}
    if not isinstance(when, Mapping) or not when:
        error(f"{path}.{key}", N_("must map field names to values"))
        return {}
    for name, value in when.items():
        if name not in live:
            error(f"{path}.{key}", N_("'%(name)s' is not a field of this form"), name=name)
        elif live[name].choices and str(value) not in {c.value for c in live[name].choices}:
            error(f"{path}.{key}.{name}", N_("'%(value)s' is not one of the choices"), value=value)
    return {str(k): (str(v) if k in live and live[k].choices else v) for k, v in when.items()}


def parse_rule(raw: Any, path: str, live: Mapping[str, FieldSpec], error: ErrorSink) -> RuleSpec | None:
    """Check one entry of `rules:` against the form's fields; return its spec."""
    if not isinstance(raw, Mapping) or raw.get("rule") not in RULE_KEYS:
        error(
            f"{path}.rule",
            N_("unknown rule '%(rule)s'; expected one of %(expected)s"),
            rule=(raw or {}).get("rule") if isinstance(raw, Mapping) else raw,
            expected=", ".join(RULE_KEYS),
        )
        return None
    kind = raw["rule"]
    for key in raw:
        if key not in RULE_KEYS[kind] | {"rule"}:
            error(
                f"{path}.{key}",
                N_("unknown key '%(key)s'; expected one of %(expected)s"),
                key=key,
                expected=", ".join(sorted(RULE_KEYS[kind])),
            )
    params: dict[str, Any] = {}
    if kind in ("required_if", "unique_when", "confirm_same", "unique_via"):
        params["fields"] = _names(raw, "fields", live, error, path)
    if kind in ("required_if", "unique_when"):
        params["when"] = _when(raw, "when", live, error, path)
    if kind == "confirm_same":
        params["within"] = _names(raw, "within", live, error, path) if "within" in raw else []
    if kind == "capacity":
        params["reference"] = _field_name(raw, "reference", live, error, path, ("reference",))
        params["limit"] = (
            raw.get("limit")
            if isinstance(raw.get("limit"), str)
            else error(f"{path}.limit", N_("must name a field of the referenced form"))
        )
    if kind == "unique_via":
        params["via"] = _field_name(raw, "via", live, error, path, ("reference",))
        params["group"] = (
            raw.get("group")
            if isinstance(raw.get("group"), str)
            else error(f"{path}.group", N_("must name a field of the referenced form"))
        )
    if kind == "nik_consistent":
        params["nik"] = _field_name(raw, "nik", live, error, path, ("nik",))
        params["birth_date"] = (
            _field_name(raw, "birth_date", live, error, path, ("date",)) if "birth_date" in raw else None
        )
        params["sex"] = _field_name(raw, "sex", live, error, path, ("choice",)) if "sex" in raw else None
        params["female"], params["male"] = str(raw.get("female", "P")), str(raw.get("male", "L"))
    if kind == "child_count":
        child = _field_name(raw, "child", live, error, path, ("child",))
        params["child"] = child
        child_live = {f.name: f for f in live[child].child.live_fields} if child and live[child].child else {}
        params["where"] = _when(raw, "where", child_live, error, path, required=False)
        params["when"] = _when(raw, "when", live, error, path, required=False)
        for key in ("min", "max"):
            value = raw.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                error(f"{path}.{key}", N_("must be a whole number of 0 or more"))
            params[key] = value
    return RuleSpec(kind=kind, params=params)


RULE_KEYS: dict[str, frozenset[str]] = {
    "required_if": frozenset({"fields", "when"}),
    "unique_when": frozenset({"fields", "when"}),
    "capacity": frozenset({"reference", "limit"}),
    "unique_via": frozenset({"fields", "via", "group"}),
    "confirm_same": frozenset({"fields", "within"}),
    "nik_consistent": frozenset({"nik", "birth_date", "sex", "female", "male"}),
    "child_count": frozenset({"child", "where", "min", "max", "when"}),
}


def check_targets(spec: FormSpec, everything: Mapping[str, FormSpec]) -> list[tuple[str, Message]]:
    """Rules naming fields of referenced forms: those fields must exist (path, problem)."""
    problems = []
    for index, rule in enumerate(spec.rules):
        key, ref = {"capacity": ("limit", "reference"), "unique_via": ("group", "via")}.get(rule.kind, (None, None))
        if key is None or not rule.params.get(ref) or not rule.params.get(key):
            continue
        target = everything.get(spec.field(rule.params[ref]).target or "")
        if target is not None and not any(f.name == rule.params[key] for f in target.live_fields):
            problems.append(
                (
                    f"rules[{index}].{key}",
                    Message(
                        N_("'%(name)s' is not a field of form '%(form)s'"),
                        {"name": rule.params[key], "form": target.slug},
                    ),
                )
            )
    return problems


# ---------------------------------------------------------------------------- checks


def _required_if(ctx: RuleContext, rule: RuleSpec) -> None:
    if not _holds(ctx.values, rule.params["when"]):
        return
    for name in rule.params["fields"]:
        if ctx.values.get(name) in (None, "", []):
            ctx.add(name, N_("is required when %(condition)s"), condition=_condition(ctx.spec, rule.params["when"]))


def _same_rows(ctx: RuleContext, names: list[str], extra: list[Any]) -> Any:
    if any(ctx.values.get(n) is None for n in names):
        return None
    table = ctx.table()
    conditions = [ctx.column(n) == ctx.values[n] for n in names] + extra + ctx.others()
    return ctx.conn.execute(sa.select(table.c.id).where(*conditions).order_by(table.c.id).limit(1)).scalar()


def _unique_when(ctx: RuleContext, rule: RuleSpec) -> None:
    when = rule.params["when"]
    if not _holds(ctx.values, when):
        return
    other = _same_rows(ctx, rule.params["fields"], [ctx.column(n) == v for n, v in when.items()])
    if other is not None:
        ctx.add(
            rule.params["fields"][0],
            N_("the same %(fields)s with %(condition)s is already held by %(record)s"),
            record=RecordRef(ctx.spec.slug, other),
            fields=_labels(ctx.spec, rule.params["fields"]),
            condition=_condition(ctx.spec, when),
        )


def _confirm_same(ctx: RuleContext, rule: RuleSpec) -> None:
    within = rule.params["within"]
    if any(ctx.values.get(n) is None for n in within):
        return
    other = _same_rows(ctx, rule.params["fields"], [ctx.column(n) == ctx.values[n] for n in within])
    if other is not None:
        where = f" ({_labels(ctx.spec, within)})" if within else ""
        ctx.add(
            rule.params["fields"][0],
            N_("the same %(fields)s%(where)s is already in %(record)s; check before saving"),
            warning=True,
            record=RecordRef(ctx.spec.slug, other),
            fields=_labels(ctx.spec, rule.params["fields"]),
            where=where,
        )


def _target_column(ctx: RuleContext, reference: str, name: str) -> tuple[sa.Table, sa.Column] | None:
    """The table a reference points to and one of its fields' column."""
    target = ctx.specs.get(ctx.spec.field(reference).target or "")
    if target is None or not any(f.name == name for f in target.live_fields):
        return None
    table = ctx.tables[target.slug]
    return table, table.c[column_name(target.field(name))]


def _capacity(ctx: RuleContext, rule: RuleSpec) -> None:
    reference = rule.params["reference"]
    ref = ctx.values.get(reference)
    found = _target_column(ctx, reference, rule.params["limit"])
    if ref is None or found is None:
        return
    target_table, limit_column = found
    limit = ctx.conn.execute(sa.select(limit_column).where(target_table.c.id == ref)).scalar()
    if limit is None:
        return
    table = ctx.table()
    taken = ctx.conn.execute(
        sa.select(sa.func.count()).select_from(table).where(ctx.column(reference) == ref, *ctx.others())
    ).scalar()
    if taken >= limit:
        ctx.add(reference, N_("is full: all %(limit)s places are taken"), limit=limit)


def _unique_via(ctx: RuleContext, rule: RuleSpec) -> None:
    via, group = rule.params["via"], rule.params["group"]
    ref = ctx.values.get(via)
    names = rule.params["fields"]
    found = _target_column(ctx, via, group)
    if ref is None or found is None or any(ctx.values.get(n) is None for n in names):
        return
    target_table, group_column = found
    group_value = ctx.conn.execute(sa.select(group_column).where(target_table.c.id == ref)).scalar()
    if group_value is None:
        return
    table = ctx.table()
    query = (
        sa.select(table.c.id)
        .join(target_table, ctx.column(via) == target_table.c.id)
        .where(group_column == group_value, *[ctx.column(n) == ctx.values[n] for n in names], *ctx.others())
        .limit(1)
    )
    other = ctx.conn.execute(query).scalar()
    if other is not None:
        group_label = ctx.specs[ctx.spec.field(via).target].field(group).label.id  # type: ignore[index]
        ctx.add(
            names[0],
            N_("already registered for the same %(group)s (%(record)s)"),
            group=group_label,
            record=RecordRef(ctx.spec.slug, other),
        )


def _nik_consistent(ctx: RuleContext, rule: RuleSpec) -> None:
    nik = ctx.values.get(rule.params["nik"])
    if not nik:
        return
    born, sex = nik_birth(nik)
    birth_field, sex_field = rule.params["birth_date"], rule.params["sex"]
    given = ctx.values.get(birth_field) if birth_field else None
    if given is not None and born is not None and given != born:
        ctx.add(
            rule.params["nik"],
            N_("NIK encodes birth date %(nik_date)s but %(field)s is %(given)s"),
            warning=True,
            nik_date=born.strftime("%d-%m-%Y"),
            field=ctx.spec.field(birth_field).label.id,
            given=given.strftime("%d-%m-%Y"),
        )
    given_sex = ctx.values.get(sex_field) if sex_field else None
    expected = {"female": rule.params["female"], "male": rule.params["male"]}.get(sex or "")
    if given_sex is not None and expected is not None and given_sex != expected:
        ctx.add(
            rule.params["nik"],
            N_("NIK encodes sex %(nik_sex)s but %(field)s is %(given)s"),
            warning=True,
            nik_sex=ctx.spec.field(sex_field).choice_label(expected, "id"),
            field=ctx.spec.field(sex_field).label.id,
            given=ctx.spec.field(sex_field).choice_label(given_sex, "id"),
        )


def _child_rows(ctx: RuleContext, child: FormSpec, parent_id: int, where: Mapping[str, Any]) -> Any:
    table = ctx.tables[child.slug]
    conditions = [table.c.parent_id == parent_id] + [
        table.c[column_name(child.field(n))] == v for n, v in where.items()
    ]
    return table, conditions


def _child_count(ctx: RuleContext, rule: RuleSpec) -> None:
    child = ctx.spec.field(rule.params["child"]).child
    if (
        child is None
        or ctx.record_id is None
        or not _holds(ctx.values, rule.params["when"])
        or rule.params["min"] is None
    ):
        return
    table, conditions = _child_rows(ctx, child, ctx.record_id, rule.params["where"])
    count = ctx.conn.execute(sa.select(sa.func.count()).select_from(table).where(*conditions)).scalar()
    if count < rule.params["min"]:
        first = next(iter(rule.params["when"]), None) or next(iter(f.name for f in ctx.spec.live_fields))
        ctx.add(
            first,
            N_("needs at least %(min)s %(child)s rows with %(where)s (now %(count)s)"),
            min=rule.params["min"],
            child=ctx.spec.field(rule.params["child"]).label.id,
            where=_condition(child, rule.params["where"]) or "-",
            count=count,
        )


def _child_row_count(ctx: RuleContext, rule: RuleSpec) -> None:
    """The same rule seen from a child row being saved: its maximum."""
    if ctx.parent_id is None or rule.params["max"] is None or not _holds(ctx.values, rule.params["where"]):
        return
    table, conditions = _child_rows(ctx, ctx.spec, ctx.parent_id, rule.params["where"])
    count = ctx.conn.execute(sa.select(sa.func.count()).select_from(table).where(*conditions, *ctx.others())).scalar()
    if count + 1 > rule.params["max"]:
        target = next(iter(rule.params["where"]), None) or ctx.spec.live_fields[0].name
        ctx.add(
            target,
            N_("at most %(max)s rows may have %(where)s"),
            max=rule.params["max"],
            where=_condition(ctx.spec, rule.params["where"]),
        )


CHECKS: dict[str, Callable[[RuleContext, RuleSpec], None]] = {
    "required_if": _required_if,
    "unique_when": _unique_when,
    "capacity": _capacity,
    "unique_via": _unique_via,
    "confirm_same": _confirm_same,
    "nik_consistent": _nik_consistent,
    "child_count": _child_count,
}


# The fields each rule reads when it reads no stored data; a rule not named here may read some.
_READS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "required_if": lambda params: [*params["fields"], *params["when"]],
    "nik_consistent": lambda params: [params[k] for k in ("nik", "birth_date", "sex") if params.get(k)],
}


class _FormChecks:
    """What `check_rules` runs for one form, worked out once per spec rather than for every record."""

    def __init__(self, spec: FormSpec) -> None:
        self.rules = tuple((CHECKS[rule.kind], rule) for rule in spec.rules)
        self.niks = tuple(f for f in spec.live_fields if f.type == "nik")
        self.regions = tuple(f for f in spec.live_fields if f.type == "region")
        self.inputs: tuple[str, ...] | None = None
        if all(rule.kind in _READS for rule in spec.rules):
            names = [name for rule in spec.rules for name in _READS[rule.kind](rule.params)]
            names += [f.name for f in self.regions]  # NIKs are read only against the region table
            names += [spec.region_field] if spec.region_field else []
            self.inputs = tuple(dict.fromkeys(names))


def rule_inputs(spec: FormSpec) -> tuple[str, ...] | None:
    """The fields whose values alone decide what `check_rules` finds for `spec` given no tables and no parent.

    With the same office region and working area, two records equal in these fields get the same
    findings. None when one of the spec's rules reads stored data.
    """
    return _form_checks(spec).inputs


def _form_checks(spec: FormSpec) -> _FormChecks:
    # Kept in the spec's __dict__ as cached_property keeps what it derives (specs are frozen):
    # `dataclasses.replace` builds a fresh spec, which works its own out.
    found = spec.__dict__.get("_form_checks")
    if found is None:
        found = spec.__dict__["_form_checks"] = _FormChecks(spec)
    return found  # type: ignore[no-any-return]


def check_rules(ctx: RuleContext) -> list[Finding]:
    """Run the form's rules (and, for a child row, its parent's rules about child rows)."""
    checks = _form_checks(ctx.spec)
    for check, rule in checks.rules:
        check(ctx, rule)
    if ctx.parent is not None:
        child_name = ctx.spec.slug.split("__", 1)[1]
        for rule in ctx.parent.rules:
            if rule.kind == "child_count" and rule.params["child"] == child_name:
                _child_row_count(ctx, rule)
    if checks.niks:
        _nik_regions(ctx, checks.niks)
    if checks.regions:
        _region_codes(ctx, checks.regions)
    _working_area(ctx)
    return ctx.findings


def region_root(field: FieldSpec, office_region: str | None) -> str:
    """The code a region field's values must lie within ('' for anywhere)."""
    if field.within == "all":
        return ""
    return (office_region or "") if field.within == "office" else field.within


def _region_list(ctx: RuleContext) -> sa.Table | None:
    """The region table when a region list is loaded (checks against an empty list would refuse everything)."""
    regions = ctx.tables.get("__regions__")
    if regions is None or ctx.conn.execute(sa.select(regions.c.code).limit(1)).first() is None:
        return None
    return regions


def _in_region_list(ctx: RuleContext, regions: sa.Table, code: str) -> bool:
    return ctx.conn.execute(sa.select(regions.c.code).where(regions.c.code == code)).first() is not None


def _region_codes(ctx: RuleContext, region_fields: tuple[FieldSpec, ...]) -> None:
    """Region codes must be in the region list (when loaded) and inside the field's area."""
    fields = [f for f in region_fields if ctx.values.get(f.name)]
    regions = _region_list(ctx) if fields else None
    for f in fields:
        value = ctx.values[f.name]
        root = region_root(f, ctx.office_region)
        if root and not region_within(value, root):
            ctx.add(f.name, N_("must lie within region %(root)s"), root=root)
        elif regions is not None and not _in_region_list(ctx, regions, value):
            ctx.add(f.name, N_("%(code)s is not in the region list"), code=value)


def _working_area(ctx: RuleContext) -> None:
    """A user cannot create a record, or move one, outside their working area."""
    name = ctx.spec.region_field
    if ctx.scope is None or not name:
        return
    value = ctx.values.get(name)
    if region_within(value, ctx.scope) or (not value and region_within(ctx.office_region, ctx.scope)):
        return
    ctx.add(name, N_("lies outside your working area (%(scope)s)"), scope=ctx.scope)


def _nik_regions(ctx: RuleContext, nik_fields: tuple[FieldSpec, ...]) -> None:
    niks = [f for f in nik_fields if ctx.values.get(f.name)]
    regions = _region_list(ctx) if niks else None
    if regions is None:
        return
    for f in niks:
        value = ctx.values[f.name]
        code = f"{value[0:2]}.{value[2:4]}.{value[4:6]}"
        if not _in_region_list(ctx, regions, code):
            ctx.add(
                f.name, N_("NIK: region %(code)s is not in the region list (an old code?)"), warning=True, code=code
            )
