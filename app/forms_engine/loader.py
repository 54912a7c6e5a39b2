"""Read and validate form definitions (YAML or already-parsed data) into FormSpecs.

Every problem is reported with its location: `forms/x.yaml: fields[3].type: … (line 12)`.
Three stages, each refusing what the next could not handle: yamlsource.py reads the bytes
(bounded, duplicate keys refused), shapes.py checks the shape of every key, and this module
checks their meaning and the limits of the databases (limits.py). All problems of a stage
are collected, not just the first one; a definition with shape problems is not read further.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .fieldtypes import (
    CONVERTIBLE,
    FIELD_TYPES,
    FILE_EXTENSIONS,
    IMAGE_EXTENSIONS,
    REGION_CODE,
    REGION_LEVELS,
    Invalid,
    check,
    column_name,
    convert,
    region_within,
)
from .limits import MAX_CHOICE_VALUE, MAX_NAME, MAX_PRECISION, MAX_ROLE_NAME, MAX_VARCHAR
from .messages import N_, Message, printable, shown
from .names import field_name_problem, is_name, name_problem
from .patterns import pattern_problem
from .rules import check_targets, parse_rule
from .shapes import FORM, conform
from .spec import Choice, FieldSpec, FormSpec, GridSpec, RuleSpec, Text, join_path, line_of
from .tables import MAX_IDENTIFIER
from .yamlsource import YamlProblem, read_bounded, read_yaml

# "reveal": may see NIK and No. KK unmasked (each time logged, app/access/personal.py).
ACTIONS = ("view", "add", "edit", "delete", "reveal")
FORM_KEYS = frozenset(FORM.known)
FIELD_KEYS = frozenset(
    {
        "name",
        "id",
        "type",
        "label",
        "help",
        "required",
        "unique",
        "default",
        "indexed",
        "list",
        "search",
        "filter",
        "retired",
    }
)
ORDER_SYSTEM = ("id", "created_on", "changed_on")
# A workflow's roles must see the form: those with `view` in its permissions, and Admin.
WORKFLOW_ROLES_ALWAYS = ("Admin",)
NOT_A_COLUMN = ("child", "multichoice")  # no ordering, grouping, naming or index by these
EXTENSION = re.compile(r"[a-z0-9]{1,10}")


@dataclass(frozen=True)
class DefinitionError:
    """One located problem in a definition: file, path inside it, and line where known."""

    source: str
    path: str
    message: Message
    line: int | None = None
    column: int | None = None

    def render(self, gettext: Any = None, lang: str = "en") -> str:
        """`source: path: problem (line N)`, or `source: line N, column M: problem` without a path."""
        text = N_("line %(line)s, column %(column)s") if self.column else N_("line %(line)s")
        line = Message(text, {"line": self.line, "column": self.column}).render(gettext, lang)
        if not self.path:
            where = f"{self.source}: {line}: " if self.line is not None else f"{self.source}: "
            return where + self.message.render(gettext, lang)
        at = f" ({line})" if self.line is not None else ""
        return f"{self.source}: {self.path}: " + self.message.render(gettext, lang) + at

    def __str__(self) -> str:
        return self.render()


class DefinitionErrors(Exception):
    """Raised with every problem found in one or more definitions."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def located(spec: FormSpec, path: str, message: Message) -> DefinitionError:
    """A problem at `path` of a loaded definition, with its line when the spec came from a file."""
    return DefinitionError(spec.source, path, message, spec.line(path))


class _Reader:
    """Walks one definition, collecting located errors."""

    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.source = source
        self.lines = lines
        self.errors: list[DefinitionError] = []

    def error(self, path: str, text: str, **params: Any) -> None:
        # Whoever builds the message (here or rules.py), text quoted from the definition stays on one line.
        self.add(path, Message(text, {k: printable(v) if isinstance(v, str) else v for k, v in params.items()}))

    def add(self, path: str, message: Message) -> None:
        path = printable(path)
        self.errors.append(DefinitionError(self.source, path, message, line_of(self.lines, path)))

    def keys(self, data: Mapping[Any, Any], allowed: Iterable[str], path: str) -> None:
        allowed = frozenset(allowed)
        for key in data:
            if key not in allowed:
                self.error(
                    join_path(path, key),
                    N_("unknown key '%(key)s'; expected one of %(expected)s"),
                    key=shown(key),
                    expected=", ".join(sorted(allowed)),
                )

    def text(self, value: str | Mapping[str, str] | None, path: str, required: bool = True) -> Text | None:
        if isinstance(value, Mapping):
            self.keys(value, ("id", "en"), path)
            text_id = value.get("id", "").strip()
            if not text_id:
                self.error(join_path(path, "id"), N_("the Bahasa Indonesia text is required"))
                return None
            return Text(text_id, value.get("en", "").strip())
        if value is not None and value.strip():
            return Text(value.strip())
        if required:
            self.error(path, N_("is required"))
        return None

    def name(self, value: str | None, path: str, problem_of: Callable[[str], Message | None]) -> str | None:
        """A name that `problem_of` finds nothing wrong with, or None after reporting why not."""
        if not value:
            self.error(path, N_("is required"))
            return None
        problem = problem_of(value)
        if problem is not None:
            self.add(path, problem)
            return None
        return value

    def natural(self, data: Mapping[str, Any], key: str, path: str, largest: int, lowest: int = 0) -> int | None:
        """A whole number from `lowest` to `largest`, or None (absent, or reported)."""
        value = data.get(key)
        if value is not None and not lowest <= value <= largest:
            self.error(
                join_path(path, key), N_("must be a whole number from %(min)s to %(max)s"), min=lowest, max=largest
            )
            return None
        return value


def _form_name_problem(value: str) -> Message | None:
    return name_problem(value, N_("form name"))


def parse_definition(data: Any, source: str, lines: Mapping[str, int] | None = None) -> FormSpec:
    """Validate one definition (parsed YAML) and return its spec, or raise DefinitionErrors.

    `lines` (path -> line, from a file) puts the line in every error and in the spec.
    """
    reader = _Reader(source, lines or {})
    if data is None:
        reader.error("", N_("is empty"))
        raise DefinitionErrors(reader.errors)
    clean = conform(FORM, data, "", reader.error)
    if reader.errors:  # not read further: every key is assumed to have its shape from here on
        raise DefinitionErrors(reader.errors)
    spec = _parse_form(reader, clean, "", parent=None)
    if reader.errors or spec is None:
        raise DefinitionErrors(reader.errors or [DefinitionError(source, "", Message(N_("is empty")))])
    spec = replace(spec, lines=dict(lines or {}))
    return _with_workflow(spec, clean["workflow"]) if clean.get("workflow") is not None else spec


def workflow_roles(spec: FormSpec) -> tuple[str, ...]:
    """Roles a form's workflow may name: those that may view the form, and Admin."""
    viewers = {role for role, actions in spec.permissions.items() if "view" in actions}
    return tuple(sorted(viewers | set(WORKFLOW_ROLES_ALWAYS)))


def _with_workflow(spec: FormSpec, raw: Any) -> FormSpec:
    """The form with its `workflow:` read and its state field among the fields (raises DefinitionErrors).

    The engine adds the state field at the end; a stored version carries it already (a choice
    field whose choices are the states), and keeps its place and id.
    """
    from app.workflows.definition import parse_workflow, state_field_spec  # it imports this module
    from app.workflows.rules import RULES

    workflow, errors = parse_workflow(raw, spec, workflow_roles(spec), tuple(RULES))
    if workflow is None:
        raise DefinitionErrors(errors)
    made = state_field_spec(workflow)
    fields = list(spec.fields)
    for index, f in enumerate(fields):
        if f.name != made.name:
            continue
        if f.retired:  # parse_workflow looks at live fields only
            message = Message(
                N_("'%(name)s' is a retired field of this form; choose another state_field"), {"name": f.name}
            )
            raise DefinitionErrors([located(spec, "workflow.state_field", message)])
        fields[index] = replace(made, id=f.id, label=f.label, help=f.help)
        break
    else:
        fields.append(made)
    return replace(spec, fields=tuple(fields), workflow=workflow)


def _parse_form(
    reader: _Reader, data: Mapping[str, Any], path: str, parent: str | None, slug: str | None = None
) -> FormSpec | None:
    allowed = FORM_KEYS if parent is None else FIELD_TYPES["child"].options | {"fields"}
    if parent is None:
        reader.keys(data, allowed, path)
        slug = reader.name(data.get("form"), join_path(path, "form"), _form_name_problem)
        title = reader.text(data.get("title"), join_path(path, "title"))
    else:
        title = None
    raw_fields = data.get("fields")
    if not raw_fields:
        reader.error(join_path(path, "fields"), N_("must be a non-empty list of fields"))
        raw_fields = []
    indexed: list[tuple[int, FieldSpec]] = []
    for index, raw in enumerate(raw_fields):
        spec = _parse_field(reader, raw, f"{join_path(path, 'fields')}[{index}]", slug or "", nested=parent is not None)
        if spec is not None:
            indexed.append((index, spec))
    _check_unique_names(reader, indexed, path)
    fields = [f for _, f in indexed]
    live = {f.name: f for f in fields if not f.retired}
    for index, f in indexed:
        by = live.get(f.related_by) if f.related_by else None
        if f.related_by and (by is None or by.type not in ("choice", "boolean")):
            reader.error(
                f"{join_path(path, 'fields')}[{index}].related.by",
                N_("'%(name)s' is not a choice or boolean field of this form"),
                name=shown(f.related_by),
            )

    title_field = data.get("title_field")
    if title_field is not None and title_field not in live:
        reader.error(
            join_path(path, "title_field"), N_("'%(name)s' is not a field of this form"), name=shown(title_field)
        )
        title_field = None
    elif title_field is not None and live[title_field].type in NOT_A_COLUMN:
        reader.error(join_path(path, "title_field"), N_("records cannot be named by '%(name)s'"), name=title_field)
        title_field = None
    if title_field is None:
        # A NIK would only be shown masked: records are named by text or e-mail by default.
        title_field = next((f.name for f in fields if not f.retired and f.type in ("text", "email")), None)

    order_by = _parse_order(reader, data.get("order_by"), join_path(path, "order_by"), live)
    unique_together = _parse_unique_together(
        reader, data.get("unique_together"), join_path(path, "unique_together"), live
    )

    region_field = data.get("region_field") if parent is None else None
    if region_field is False:  # a shared list: its region fields describe, they do not scope
        region_field = None
    elif region_field is not None:
        target = live.get(region_field) if isinstance(region_field, str) else None
        # A region field, or a reference: the record then belongs to the referenced record's region.
        if target is None or target.type not in ("region", "reference"):
            reader.error(
                join_path(path, "region_field"),
                N_("'%(name)s' is neither a region nor a reference field of this form"),
                name=shown(region_field),
            )
            region_field = None
    elif parent is None:
        region_field = next((f.name for f in fields if not f.retired and f.type == "region"), None)

    permissions = (
        _parse_permissions(reader, data.get("permissions"), join_path(path, "permissions")) if parent is None else {}
    )
    rules = _parse_rules(reader, data.get("rules"), join_path(path, "rules"), live) if parent is None else ()
    icon = data.get("icon", "fa-table")
    if not re.fullmatch(r"fa-[a-z0-9-]{1,60}", icon):
        reader.error(join_path(path, "icon"), N_("must be a Font Awesome icon name such as fa-table"))
        icon = "fa-table"
    if slug is None or (parent is None and title is None):
        return None
    return FormSpec(
        slug=slug,
        title=title or Text(slug),
        fields=tuple(fields),
        category=reader.text(data.get("category"), join_path(path, "category"), required=False)
        if parent is None
        else None,
        description=reader.text(data.get("description"), join_path(path, "description"), required=False)
        if parent is None
        else None,
        icon=icon,
        title_field=title_field,
        order_by=order_by,
        unique_together=unique_together,
        region_field=region_field,
        permissions=permissions,
        rules=rules,
        singleton=data.get("singleton", False) if parent is None else False,
        grid=_parse_grid(reader, data.get("grid"), join_path(path, "grid"), live) if parent is None else None,
        parent=parent,
        source=reader.source,
    )


def _parse_grid(
    reader: _Reader, value: Mapping[str, Any] | None, path: str, live: Mapping[str, FieldSpec]
) -> GridSpec | None:
    if value is None:
        return None
    reader.keys(value, ("rows", "group", "key", "cell", "extra", "key_range"), path)
    wanted = {"rows": ("reference",), "key": (), "cell": ("choice",)}
    for key, types in wanted.items():
        name = value.get(key)
        if name not in live:
            reader.error(join_path(path, key), N_("'%(name)s' is not a field of this form"), name=shown(name))
        elif types and live[name].type not in types:
            reader.error(
                join_path(path, key),
                N_("'%(name)s' must be a field of type %(types)s"),
                name=name,
                types=" or ".join(types),
            )
    extra = value.get("extra", [])
    for name in extra:
        if name not in live:
            reader.error(join_path(path, "extra"), N_("'%(name)s' is not a field of this form"), name=shown(name))
    key_range = tuple(value.get("key_range", ()))
    if key_range and not 1 <= len(key_range) <= 2:
        reader.error(join_path(path, "key_range"), N_("must name the first and the last date field of the group"))
    elif key_range and value.get("key") in live and live[value["key"]].type != "date":
        reader.error(join_path(path, "key_range"), N_("needs a key of type date"))
    if "group" not in value:
        reader.error(join_path(path, "group"), N_("must name a field of the referenced form"))
        return None
    return GridSpec(
        str(value.get("rows")), value["group"], str(value.get("key")), str(value.get("cell")), tuple(extra), key_range
    )


def _parse_rules(
    reader: _Reader, value: list[Any] | None, path: str, live: Mapping[str, FieldSpec]
) -> tuple[RuleSpec, ...]:
    if value is None:
        return ()
    parsed = (parse_rule(raw, f"{path}[{i}]", live, reader.error) for i, raw in enumerate(value))
    return tuple(rule for rule in parsed if rule is not None)


def _check_unique_names(reader: _Reader, fields: list[tuple[int, FieldSpec]], path: str) -> None:
    names: set[str] = set()
    ids: set[str] = set()
    columns: set[str] = set()
    for index, f in fields:
        where = f"{join_path(path, 'fields')}[{index}]"
        if f.name in names:
            reader.error(join_path(where, "name"), N_("duplicate field name '%(name)s'"), name=f.name)
        elif f.id in ids:
            reader.error(join_path(where, "id"), N_("duplicate field id '%(name)s'"), name=f.id)
        elif f.type != "child" and column_name(f) in columns:
            reader.error(
                join_path(where, "name"),
                N_("field '%(name)s' would use column '%(column)s' of another field"),
                name=f.name,
                column=column_name(f),
            )
        names.add(f.name)
        ids.add(f.id)
        columns.add(column_name(f))


def _parse_field(reader: _Reader, raw: Mapping[str, Any], path: str, slug: str, nested: bool) -> FieldSpec | None:
    before = len(reader.errors)
    name = reader.name(raw.get("name"), join_path(path, "name"), field_name_problem)
    field_id = raw.get("id", name)
    if "id" in raw and not (is_name(field_id) and len(field_id) <= MAX_NAME):
        reader.error(join_path(path, "id"), N_("must be a name of a-z, 0-9 and _"))
        field_id = None
    type_name = raw.get("type")
    if type_name not in FIELD_TYPES:
        reader.error(
            join_path(path, "type"),
            N_("unknown type '%(type)s'; expected one of %(expected)s"),
            type=shown(type_name),
            expected=", ".join(FIELD_TYPES),
        )
        reader.keys(raw, FIELD_KEYS | {o for t in FIELD_TYPES.values() for o in t.options}, path)
        return None
    ftype = FIELD_TYPES[type_name]
    reader.keys(raw, FIELD_KEYS | ftype.options | ({"related"} if type_name == "reference" else set()), path)
    label = reader.text(raw.get("label"), join_path(path, "label"))
    help_text = reader.text(raw.get("help"), join_path(path, "help"), required=False)
    pattern_message = reader.text(raw.get("pattern_message"), join_path(path, "pattern_message"), required=False)
    pattern = raw.get("pattern")
    if pattern is not None and (problem := pattern_problem(pattern)) is not None:
        reader.add(join_path(path, "pattern"), problem)
        pattern = None
    choices = _parse_choices(reader, raw, path, type_name) if "choices" in ftype.options else ()
    level = raw.get("level")
    if level is not None and level not in REGION_LEVELS:
        reader.error(
            join_path(path, "level"),
            N_("unknown level '%(level)s'; expected one of %(expected)s"),
            level=shown(level),
            expected=", ".join(REGION_LEVELS),
        )
        level = None
    within = raw.get("within", "office")
    if type_name == "region" and within not in ("office", "all") and not REGION_CODE.fullmatch(within):
        reader.error(join_path(path, "within"), N_("must be office, all or a region code such as 63.09"))
        within = "office"
    target = raw.get("target")
    if type_name == "reference":
        if target is None:
            reader.error(join_path(path, "target"), N_("a reference needs the target form's name"))
        elif (problem := _form_name_problem(target)) is not None:
            reader.add(join_path(path, "target"), problem)
    related = raw.get("related", True)
    related_by = None
    if isinstance(related, Mapping):
        reader.keys(related, ("by",), join_path(path, "related"))
        related_by = related.get("by")
        if related_by is None:
            reader.error(
                join_path(join_path(path, "related"), "by"), N_("must name a choice or boolean field of this form")
            )
        related = True
    accept = tuple(
        a.lower() for a in raw.get("accept") or (IMAGE_EXTENSIONS if type_name == "photo" else FILE_EXTENSIONS)
    )
    if "accept" in ftype.options and not all(EXTENSION.fullmatch(a) for a in accept):
        reader.error(join_path(path, "accept"), N_("must be a list of file extensions such as pdf, jpg"))
    child = None
    if type_name == "child":
        if nested:
            reader.error(join_path(path, "type"), N_("child tables cannot be nested"))
        elif name:
            child = _parse_child(reader, raw, path, slug, name)
    if len(reader.errors) > before or name is None or field_id is None or label is None:
        return None
    spec = FieldSpec(
        id=field_id,
        name=name,
        type=type_name,
        label=label,
        help=help_text,
        required=raw.get("required", False),
        unique=raw.get("unique", False),
        indexed=raw.get("indexed", False),
        in_list=raw.get("list", type_name not in ("longtext", "child", "multichoice")),
        in_search=raw.get("search", type_name in ("text", "nik", "kk", "nip", "email", "phone")),
        in_filters=raw.get("filter", type_name not in ("longtext", "child", "file", "photo", "multichoice")),
        retired=raw.get("retired", False),
        default=_plain(raw.get("default"), type_name),
        min=_plain(raw.get("min"), type_name),
        max=_plain(raw.get("max"), type_name),
        min_length=raw.get("min_length"),
        max_length=raw.get("max_length"),
        pattern=pattern,
        pattern_message=pattern_message,
        choices=choices,
        level=level,
        within=within if type_name == "region" else "office",
        target=target if type_name == "reference" else None,
        precision=raw.get("precision"),
        scale=raw.get("scale"),
        accept=accept if "accept" in ftype.options else (),
        child=child,
        related=related,
        related_by=related_by,
    )
    return _check_values(reader, spec, raw, path)


def _parse_child(reader: _Reader, raw: Mapping[str, Any], path: str, slug: str, name: str) -> FormSpec | None:
    """A child table: its own fields, in table form_<form>__<field>, which must fit an SQL name."""
    table = f"form_{slug}__{name}"
    if len(table.encode()) > MAX_IDENTIFIER:
        reader.error(
            join_path(path, "name"),
            N_(
                "the child table %(table)s would have a name of %(n)s characters; PostgreSQL allows %(max)s: shorten the field's or the form's name"
            ),
            table=table,
            n=len(table),
            max=MAX_IDENTIFIER,
        )
        return None
    child = _parse_form(reader, raw, path, parent=slug, slug=f"{slug}__{name}")
    label = reader.text(raw.get("label"), join_path(path, "label"))
    if child is not None and label is not None:
        child = replace(child, title=label)  # a child table is titled by its field's label
    return child


def _plain(value: Any, type_name: str = "") -> Any:
    """Dates from YAML as ISO text, so a definition compares equal after a trip through JSON.

    A date field given a date and time keeps the date: the time would not read back as a date.
    """
    if isinstance(value, datetime) and type_name == "date":
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _parse_choices(reader: _Reader, raw: Mapping[str, Any], path: str, type_name: str) -> tuple[Choice, ...]:
    items = raw.get("choices")
    where = join_path(path, "choices")
    if not items:
        reader.error(where, N_("a choice field needs a non-empty list of choices"))
        return ()
    choices: list[Choice] = []
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if isinstance(item, Mapping):
            reader.keys(item, ("value", "label"), at)
            value = item.get("value")
            if value is None or str(value) == "":
                reader.error(join_path(at, "value"), N_("is required"))
                continue
            label = reader.text(item.get("label", str(value)), join_path(at, "label"))
            choices.append(Choice(str(value), label or Text(str(value))))
        else:
            choices.append(Choice(str(item), Text(str(item))))
        text = choices[-1].value
        if len(text) > MAX_CHOICE_VALUE:
            reader.error(at, N_("a choice value may have at most %(n)s characters"), n=MAX_CHOICE_VALUE)
        elif text != text.strip():  # values typed or sent are stripped: this one could never be chosen
            reader.error(
                at, N_("'%(value)s' begins or ends with a space, so it could never be chosen"), value=shown(text)
            )
        elif type_name == "multichoice" and "," in text:  # "a,b" from a screen or import means a and b
            reader.error(
                at,
                N_("'%(value)s' contains a comma, which separates the choices of a multichoice field"),
                value=shown(text),
            )
    values = [c.value for c in choices]
    for value in sorted({v for v in values if values.count(v) > 1}):
        reader.error(where, N_("duplicate choice '%(value)s'"), value=shown(value))
    return tuple(choices)


def _check_values(reader: _Reader, spec: FieldSpec, raw: Mapping[str, Any], path: str) -> FieldSpec | None:
    """Sizes fit the columns, and defaults and limits are themselves valid values of the field."""
    before = len(reader.errors)
    if spec.type in ("child", "file", "photo", "reference") and "default" in raw:
        reader.error(join_path(path, "default"), N_("a %(type)s field cannot have a default"), type=spec.type)
        return None
    for flag in ("unique", "indexed"):
        if raw.get(flag) and spec.type in NOT_A_COLUMN:
            reader.error(join_path(path, flag), N_("a %(type)s field cannot be %(flag)s"), type=spec.type, flag=flag)
    max_length = reader.natural(raw, "max_length", path, MAX_VARCHAR, lowest=1)
    longest = max_length or (255 if spec.type == "text" else MAX_VARCHAR)  # 255: a text column's default
    min_length = reader.natural(raw, "min_length", path, MAX_VARCHAR)
    if min_length is not None and min_length > longest:
        reader.error(join_path(path, "min_length"), N_("must not be larger than max_length (%(n)s)"), n=longest)
    precision = reader.natural(raw, "precision", path, MAX_PRECISION, lowest=1)
    reader.natural(raw, "scale", path, precision or 18)  # 18: a decimal column's precision when none is given
    if len(reader.errors) > before:
        return None
    values: dict[str, Any] = {}
    for key in ("min", "max", "default"):
        if raw.get(key) is None:
            continue
        try:
            values[key] = convert(spec, raw[key])
        except Invalid as exc:
            reader.error(
                join_path(path, key), N_("'%(value)s' %(problem)s"), value=shown(_plain(raw[key])), problem=exc.message
            )
            return None
    if values.get("min") is not None and values.get("max") is not None and values["min"] > values["max"]:
        reader.error(join_path(path, "max"), N_("must not be smaller than min"))
        return None
    if values.get("default") is not None:
        problem = check(spec, values["default"])
        inside = (
            spec.type != "region" or spec.within in ("office", "all") or region_within(values["default"], spec.within)
        )
        if problem is None and not inside:
            problem = Message(N_("must lie within %(within)s"), {"within": spec.within})
        if problem is not None:
            reader.error(
                join_path(path, "default"),
                N_("'%(value)s' %(problem)s"),
                value=shown(_plain(raw["default"])),
                problem=problem,
            )
            return None
    return spec


def _parse_order(reader: _Reader, items: list[str] | None, path: str, live: Mapping[str, FieldSpec]) -> tuple[str, ...]:
    if items is None:
        return ("-id",)
    for index, item in enumerate(items):
        name = item.removeprefix("-")
        if name not in live and name not in ORDER_SYSTEM:
            reader.error(f"{path}[{index}]", N_("'%(name)s' is not a field of this form"), name=shown(item))
        elif name in live and live[name].type in NOT_A_COLUMN:
            reader.error(f"{path}[{index}]", N_("cannot order by '%(name)s'"), name=item)
    return tuple(items)


def _parse_unique_together(
    reader: _Reader, value: list[list[str]] | None, path: str, live: Mapping[str, FieldSpec]
) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    for index, group in enumerate(value):
        at = f"{path}[{index}]"
        if len(group) < 2:
            reader.error(at, N_("must be a list of lists of two or more field names"))
        for name in group:
            if name not in live or live[name].type in NOT_A_COLUMN:
                reader.error(at, N_("'%(name)s' is not a field of this form"), name=shown(name))
        for name in sorted({n for n in group if group.count(n) > 1}):
            reader.error(at, N_("'%(name)s' is named twice"), name=shown(name))
    return tuple(tuple(group) for group in value)


def _parse_permissions(reader: _Reader, value: Mapping[str, Any] | None, path: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for role, actions in value.items():
        at = join_path(path, role)
        if not role.strip() or role != role.strip() or len(role) > MAX_ROLE_NAME:
            reader.error(
                at, N_("a role name must be 1 to %(n)s characters without spaces at either end"), n=MAX_ROLE_NAME
            )
            continue
        if actions == "all":
            actions = list(ACTIONS)
        if not isinstance(actions, list) or any(a not in ACTIONS for a in actions):
            reader.error(at, N_("must be a list of %(actions)s"), actions=", ".join(ACTIONS))
            continue
        if actions and "view" not in actions:
            reader.error(at, N_("a role that may add, edit or delete must also have view"))
            continue
        result[role] = tuple(a for a in ACTIONS if a in actions)
    return result


# ---------------------------------------------------------------------------
# Sets of forms: files, cross-form references, changes against a published version


def read_file(path: Path, display: str | None = None) -> tuple[Any, list[DefinitionError]]:
    """Parse a definition file; return (Document or None, errors), each error with its line."""
    source = display or str(path)
    try:
        return read_yaml(read_bounded(path)), []
    except OSError as exc:
        return None, [
            DefinitionError(source, "", Message(N_("cannot read file: %(error)s"), {"error": exc.strerror or str(exc)}))
        ]
    except YamlProblem as exc:
        return None, [DefinitionError(source, "", exc.message, exc.line, exc.column)]


def definition_files(path: Path) -> list[Path]:
    """The YAML files a path names: the file itself or a directory's *.yaml / *.yml."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_paths(
    paths: Iterable[Path], base: Path | None = None
) -> tuple[dict[str, tuple[FormSpec, Any]], list[DefinitionError]]:
    """Load every definition under `paths`; return ({slug: (spec, raw)}, errors)."""
    found: dict[str, tuple[FormSpec, Any]] = {}
    errors: list[DefinitionError] = []
    for root in paths:
        for file in definition_files(root):
            display = _display(file, base)
            document, problems = read_file(file, display)
            errors.extend(problems)
            if document is None:
                continue
            try:
                spec = parse_definition(document.data, display, document.lines)
            except DefinitionErrors as exc:
                errors.extend(exc.errors)
                continue
            if spec.slug in found:
                message = Message(
                    N_("form '%(slug)s' is also defined in %(other)s"),
                    {"slug": spec.slug, "other": found[spec.slug][0].source},
                )
                errors.append(located(spec, "form", message))
                continue
            found[spec.slug] = (spec, document.data)
    return found, errors


def _display(file: Path, base: Path | None) -> str:
    try:
        return str(file.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(file)


def check_references(specs: Mapping[str, FormSpec], known: Mapping[str, FormSpec]) -> list[DefinitionError]:
    """References must name existing forms (new or published) and must not form a cycle."""
    errors: list[DefinitionError] = []
    everything = {**known, **specs}
    graph: dict[str, set[str]] = {}
    first_path: dict[tuple[str, str], str] = {}  # (form, target) -> where the form first references it
    for spec in specs.values():
        for owner, prefix in [(spec, "")] + [(f.child, f"fields[{i}].") for i, f in enumerate(spec.fields) if f.child]:
            for index, f in enumerate(owner.fields):
                if f.type != "reference" or f.retired or f.target is None:
                    continue
                at = f"{prefix}fields[{index}].target"
                if f.target not in everything:
                    errors.append(
                        located(spec, at, Message(N_("references unknown form '%(target)s'"), {"target": f.target}))
                    )
                else:
                    graph.setdefault(spec.slug, set()).add(f.target)
                    first_path.setdefault((spec.slug, f.target), at)
    for spec in known.values():
        if spec.slug not in specs:
            graph.setdefault(spec.slug, set()).update(
                f.target
                for owner in (spec, *spec.children)
                for f in owner.live_fields
                if f.type == "reference" and f.target
            )
    for spec in specs.values():
        for where, message in [*check_targets(spec, everything), *_check_grid_range(spec, everything)]:
            errors.append(located(spec, where, message))
    for slug in specs:
        cycle = _find_cycle(graph, slug)
        if cycle:
            message = Message(N_("references form a cycle: %(cycle)s"), {"cycle": " -> ".join(cycle)})
            errors.append(located(specs[slug], first_path[(slug, cycle[1])], message))
    return errors


def _check_grid_range(spec: FormSpec, everything: Mapping[str, FormSpec]) -> list[tuple[str, Message]]:
    """A grid's `key_range` names date fields of the group's form (path, problem)."""
    grid = spec.grid
    if grid is None or not grid.key_range:
        return []
    rows = next((f for f in spec.live_fields if f.name == grid.rows), None)
    row_form = everything.get(rows.target or "") if rows is not None else None
    group = next((f for f in row_form.live_fields if f.name == grid.group), None) if row_form else None
    group_form = everything.get(group.target or "") if group is not None and group.type == "reference" else None
    if group_form is None:
        return [("grid.group", Message(N_("must name a field of the referenced form")))]
    dates = {f.name for f in group_form.live_fields if f.type == "date"}
    return [
        (
            "grid.key_range",
            Message(N_("'%(name)s' is not a date field of form '%(form)s'"), {"name": name, "form": group_form.slug}),
        )
        for name in grid.key_range
        if name not in dates
    ]


def _find_cycle(graph: Mapping[str, set[str]], start: str) -> list[str] | None:
    """The shortest way from `start` back to itself, or None (breadth first, each form once)."""
    trails: list[list[str]] = [[start]]
    seen = {start}
    while trails:
        trail = trails.pop(0)
        for nxt in sorted(graph.get(trail[-1], ())):
            if nxt == start:
                return trail + [start]
            if nxt not in seen:
                seen.add(nxt)
                trails.append(trail + [nxt])
    return None


def check_change(old: FormSpec, new: FormSpec) -> list[DefinitionError]:
    """Problems with changing the published `old` into `new` that no dry run could fix."""
    errors: list[DefinitionError] = []
    for owner_old, owner_new, prefix in _paired_tables(old, new):
        old_names = {f.name: f for f in owner_old.fields}
        for index, f in enumerate(owner_new.fields):
            before = owner_old.field_by_id(f.id)
            at = f"{prefix}fields[{index}]"
            if before is None:
                clash = old_names.get(f.name)
                if clash is not None:
                    errors.append(
                        located(
                            new,
                            f"{at}.name",
                            Message(
                                N_(
                                    "'%(name)s' is still used by field id '%(id)s' (retired fields keep their column); restore that field or choose another name"
                                ),
                                {"name": f.name, "id": clash.id},
                            ),
                        )
                    )
                continue
            if before.type != f.type and f.type not in CONVERTIBLE.get(before.type, frozenset()):
                errors.append(
                    located(
                        new,
                        f"{at}.type",
                        Message(N_("cannot change type from %(old)s to %(new)s"), {"old": before.type, "new": f.type}),
                    )
                )
            if before.type == f.type == "reference" and before.target != f.target:
                errors.append(
                    located(
                        new,
                        f"{at}.target",
                        Message(N_("cannot change the target of a reference; add a new field instead")),
                    )
                )
    return errors


def carry_retired(old: FormSpec, new: FormSpec) -> FormSpec:
    """Keep fields that `new` leaves out as retired, so their columns and data stay."""
    fields = list(new.fields)
    for index, f in enumerate(fields):
        before = old.field_by_id(f.id)
        if f.child is not None and before is not None and before.child is not None:
            fields[index] = replace(f, child=carry_retired(before.child, f.child))
    for f in old.fields:
        if new.field_by_id(f.id) is None:
            fields.append(replace(f, retired=True))
    return replace(new, fields=tuple(fields))


def _paired_tables(old: FormSpec, new: FormSpec) -> list[tuple[FormSpec, FormSpec, str]]:
    pairs = [(old, new, "")]
    for index, f in enumerate(new.fields):
        before = old.field_by_id(f.id)
        if f.child is not None and before is not None and before.child is not None:
            pairs.append((before.child, f.child, f"fields[{index}]."))
    return pairs
