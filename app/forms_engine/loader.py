"""Read and validate form definitions (YAML or already-parsed data) into FormSpecs.

Every problem is reported with its location: `forms/x.yaml: fields[3].type: …`.
All problems of a file are collected, not just the first one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.dialects.postgresql.base import RESERVED_WORDS as PG_RESERVED
from sqlalchemy.dialects.sqlite.base import SQLiteIdentifierPreparer
from sqlalchemy.sql.compiler import RESERVED_WORDS as ANSI_RESERVED

from .fieldtypes import (
    CONVERTIBLE,
    FIELD_TYPES,
    FILE_EXTENSIONS,
    IMAGE_EXTENSIONS,
    REGION_CODE,
    REGION_LEVELS,
    Invalid,
    column_name,
    convert,
)
from .messages import N_, Message
from .rules import check_targets, parse_rule
from .spec import Choice, FieldSpec, FormSpec, GridSpec, RuleSpec, Text

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME = 40
SQL_KEYWORDS = frozenset(w.lower() for w in PG_RESERVED | ANSI_RESERVED | SQLiteIdentifierPreparer.reserved_words)
SYSTEM_COLUMNS = frozenset(
    {
        "id",
        "created_on",
        "created_by_fk",
        "created_by",
        "changed_on",
        "changed_by_fk",
        "changed_by",
        "region_code",
        "parent_id",
        "parent",
    }
)
# "reveal": may see NIK and No. KK unmasked (each time logged, app/access/personal.py).
ACTIONS = ("view", "add", "edit", "delete", "reveal")
FORM_KEYS = frozenset(
    {
        "form",
        "title",
        "description",
        "category",
        "icon",
        "title_field",
        "order_by",
        "unique_together",
        "region_field",
        "permissions",
        "fields",
        "rules",
        "singleton",
        "grid",
    }
)
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


@dataclass(frozen=True)
class DefinitionError:
    """One located problem in a definition."""

    source: str
    path: str
    message: Message

    def render(self, gettext: Any = None, lang: str = "en") -> str:
        """`source: path: problem`, as shown by `forms check`."""
        where = f"{self.source}: {self.path}: " if self.path else f"{self.source}: "
        return where + self.message.render(gettext, lang)

    def __str__(self) -> str:
        return self.render()


class DefinitionErrors(Exception):
    """Raised with every problem found in one or more definitions."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


class _Reader:
    """Walks one definition, collecting located errors."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[DefinitionError] = []

    def error(self, path: str, text: str, **params: Any) -> None:
        self.errors.append(DefinitionError(self.source, path, Message(text, params)))

    def keys(self, data: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
        allowed = frozenset(allowed)
        for key in data:
            if key not in allowed:
                self.error(
                    _join(path, str(key)),
                    N_("unknown key '%(key)s'; expected one of %(expected)s"),
                    key=key,
                    expected=", ".join(sorted(allowed)),
                )

    def text(self, value: Any, path: str, required: bool = True) -> Text | None:
        if value is None:
            if required:
                self.error(path, N_("is required"))
            return None
        if isinstance(value, str) and value.strip():
            return Text(value.strip())
        if isinstance(value, Mapping):
            self.keys(value, ("id", "en"), path)
            text_id, text_en = value.get("id"), value.get("en", "")
            if not isinstance(text_id, str) or not text_id.strip():
                self.error(_join(path, "id"), N_("the Bahasa Indonesia text is required"))
                return None
            if not isinstance(text_en, str):
                self.error(_join(path, "en"), N_("must be text"))
                text_en = ""
            return Text(text_id.strip(), text_en.strip())
        self.error(path, N_("must be text or a mapping with 'id' and 'en'"))
        return None

    def name(self, value: Any, path: str, what: str = "name") -> str | None:
        if not isinstance(value, str) or not value:
            self.error(path, N_("is required"))
            return None
        if not NAME_RE.match(value):
            self.error(path, N_("'%(name)s' must start with a letter and use only a-z, 0-9 and _"), name=value)
            return None
        if len(value) > MAX_NAME:
            self.error(path, N_("'%(name)s' is longer than %(n)s characters"), name=value, n=MAX_NAME)
            return None
        if value in SQL_KEYWORDS:
            self.error(path, N_("'%(name)s' is an SQL keyword; choose another %(what)s"), name=value, what=what)
            return None
        if "__" in value:
            self.error(path, N_("'%(name)s' may not contain a double underscore"), name=value)
            return None
        return value

    def flag(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.error(_join(path, key), N_("must be true or false"))
            return default
        return value

    def integer(self, data: Mapping[str, Any], key: str, path: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.error(_join(path, key), N_("must be a whole number of 0 or more"))
            return None
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse_definition(data: Any, source: str) -> FormSpec:
    """Validate one definition (parsed YAML) and return its spec, or raise DefinitionErrors."""
    reader = _Reader(source)
    spec = _parse_form(reader, data, "", parent=None)
    if reader.errors or spec is None:
        raise DefinitionErrors(reader.errors or [DefinitionError(source, "", Message(N_("is empty")))])
    return spec


def _parse_form(reader: _Reader, data: Any, path: str, parent: str | None, slug: str | None = None) -> FormSpec | None:
    if not isinstance(data, Mapping):
        reader.error(path, N_("a form definition must be a mapping"))
        return None
    allowed = FORM_KEYS if parent is None else FIELD_TYPES["child"].options | {"fields"}
    if parent is None:
        reader.keys(data, allowed, path)
        slug = reader.name(data.get("form"), _join(path, "form"), "form name")
        title = reader.text(data.get("title"), _join(path, "title"))
    else:
        title = None
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        reader.error(_join(path, "fields"), N_("must be a non-empty list of fields"))
        raw_fields = []
    indexed: list[tuple[int, FieldSpec]] = []
    for index, raw in enumerate(raw_fields):
        spec = _parse_field(reader, raw, _join(path, f"fields[{index}]"), slug or "", nested=parent is not None)
        if spec is not None:
            indexed.append((index, spec))
    _check_unique_names(reader, indexed, path)
    fields = [f for _, f in indexed]
    live = {f.name: f for f in fields if not f.retired}

    title_field = data.get("title_field")
    if title_field is not None and title_field not in live:
        reader.error(_join(path, "title_field"), N_("'%(name)s' is not a field of this form"), name=title_field)
        title_field = None
    if title_field is None:
        title_field = next((f.name for f in fields if not f.retired and f.type in ("text", "nik", "email")), None)

    order_by = _parse_order(reader, data.get("order_by"), _join(path, "order_by"), live)
    unique_together = _parse_unique_together(reader, data.get("unique_together"), _join(path, "unique_together"), live)

    region_field = data.get("region_field") if parent is None else None
    if region_field is False:  # a shared list: its region fields describe, they do not scope
        region_field = None
    elif region_field is not None:
        target = live.get(region_field)
        # A region field, or a reference: the record then belongs to the referenced record's region.
        if target is None or target.type not in ("region", "reference"):
            reader.error(
                _join(path, "region_field"),
                N_("'%(name)s' is neither a region nor a reference field of this form"),
                name=region_field,
            )
            region_field = None
    elif parent is None:
        region_field = next((f.name for f in fields if not f.retired and f.type == "region"), None)

    permissions = (
        _parse_permissions(reader, data.get("permissions"), _join(path, "permissions")) if parent is None else {}
    )
    rules = _parse_rules(reader, data.get("rules"), _join(path, "rules"), live) if parent is None else ()
    icon = data.get("icon", "fa-table")
    if not isinstance(icon, str) or not re.fullmatch(r"fa-[a-z0-9-]+", icon):
        reader.error(_join(path, "icon"), N_("must be a Font Awesome icon name such as fa-table"))
        icon = "fa-table"
    if slug is None or (parent is None and title is None):
        return None
    return FormSpec(
        slug=slug,
        title=title or Text(slug),
        fields=tuple(fields),
        category=reader.text(data.get("category"), _join(path, "category"), required=False) if parent is None else None,
        description=reader.text(data.get("description"), _join(path, "description"), required=False)
        if parent is None
        else None,
        icon=icon,
        title_field=title_field,
        order_by=order_by,
        unique_together=unique_together,
        region_field=region_field,
        permissions=permissions,
        rules=rules,
        singleton=reader.flag(data, "singleton", path, False) if parent is None else False,
        grid=_parse_grid(reader, data.get("grid"), _join(path, "grid"), live) if parent is None else None,
        parent=parent,
        source=reader.source,
    )


def _parse_grid(reader: _Reader, value: Any, path: str, live: Mapping[str, FieldSpec]) -> GridSpec | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        reader.error(path, N_("must be a mapping with rows, group, key and cell"))
        return None
    reader.keys(value, ("rows", "group", "key", "cell", "extra"), path)
    wanted = {"rows": ("reference",), "key": (), "cell": ("choice",)}
    for key, types in wanted.items():
        name = value.get(key)
        if name not in live:
            reader.error(_join(path, key), N_("'%(name)s' is not a field of this form"), name=name)
        elif types and live[name].type not in types:
            reader.error(
                _join(path, key),
                N_("'%(name)s' must be a field of type %(types)s"),
                name=name,
                types=" or ".join(types),
            )
    extra = value.get("extra") or []
    for name in extra if isinstance(extra, list) else [extra]:
        if name not in live:
            reader.error(_join(path, "extra"), N_("'%(name)s' is not a field of this form"), name=name)
    if not isinstance(value.get("group"), str):
        reader.error(_join(path, "group"), N_("must name a field of the referenced form"))
        return None
    return GridSpec(str(value.get("rows")), value["group"], str(value.get("key")), str(value.get("cell")), tuple(extra))


def _parse_rules(reader: _Reader, value: Any, path: str, live: Mapping[str, FieldSpec]) -> tuple[RuleSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.error(path, N_("must be a list of rules"))
        return ()
    parsed = (parse_rule(raw, f"{path}[{i}]", live, reader.error) for i, raw in enumerate(value))
    return tuple(rule for rule in parsed if rule is not None)


def _check_unique_names(reader: _Reader, fields: list[tuple[int, FieldSpec]], path: str) -> None:
    names: set[str] = set()
    ids: set[str] = set()
    columns: set[str] = set()
    for index, f in fields:
        where = _join(path, f"fields[{index}]")
        if f.name in names:
            reader.error(_join(where, "name"), N_("duplicate field name '%(name)s'"), name=f.name)
        elif f.id in ids:
            reader.error(_join(where, "id"), N_("duplicate field id '%(name)s'"), name=f.id)
        elif f.type != "child" and column_name(f) in columns:
            reader.error(
                _join(where, "name"),
                N_("field '%(name)s' would use column '%(column)s' of another field"),
                name=f.name,
                column=column_name(f),
            )
        names.add(f.name)
        ids.add(f.id)
        columns.add(column_name(f))


def _parse_field(reader: _Reader, raw: Any, path: str, slug: str, nested: bool) -> FieldSpec | None:
    if not isinstance(raw, Mapping):
        reader.error(path, N_("a field must be a mapping"))
        return None
    before = len(reader.errors)
    name = reader.name(raw.get("name"), _join(path, "name"), "field name")
    if name in SYSTEM_COLUMNS:
        reader.error(_join(path, "name"), N_("'%(name)s' is a system column; choose another name"), name=name)
        name = None
    field_id = raw.get("id", name)
    if "id" in raw and (not isinstance(field_id, str) or not NAME_RE.match(field_id)):
        reader.error(_join(path, "id"), N_("must be a name of a-z, 0-9 and _"))
        field_id = None
    type_name = raw.get("type")
    if type_name not in FIELD_TYPES:
        reader.error(
            _join(path, "type"),
            N_("unknown type '%(type)s'; expected one of %(expected)s"),
            type=type_name,
            expected=", ".join(FIELD_TYPES),
        )
        reader.keys(raw, FIELD_KEYS | {o for t in FIELD_TYPES.values() for o in t.options}, path)
        return None
    ftype = FIELD_TYPES[type_name]
    reader.keys(raw, FIELD_KEYS | ftype.options, path)
    label = reader.text(raw.get("label"), _join(path, "label"))
    help_text = reader.text(raw.get("help"), _join(path, "help"), required=False)
    pattern_message = reader.text(raw.get("pattern_message"), _join(path, "pattern_message"), required=False)
    pattern = raw.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            reader.error(_join(path, "pattern"), N_("is not a valid regular expression: %(error)s"), error=str(exc))
            pattern = None
    choices = _parse_choices(reader, raw, path) if "choices" in ftype.options else ()
    level = raw.get("level")
    if level is not None and level not in REGION_LEVELS:
        reader.error(
            _join(path, "level"),
            N_("unknown level '%(level)s'; expected one of %(expected)s"),
            level=level,
            expected=", ".join(REGION_LEVELS),
        )
        level = None
    within = raw.get("within", "office")
    if (
        type_name == "region"
        and within not in ("office", "all")
        and not (isinstance(within, str) and REGION_CODE.match(within))
    ):
        reader.error(_join(path, "within"), N_("must be office, all or a region code such as 63.09"))
        within = "office"
    target = raw.get("target")
    if type_name == "reference" and not isinstance(target, str):
        reader.error(_join(path, "target"), N_("a reference needs the target form's name"))
    accept = tuple(raw.get("accept") or (IMAGE_EXTENSIONS if type_name == "photo" else FILE_EXTENSIONS))
    if "accept" in ftype.options and not all(isinstance(a, str) and a.isalnum() for a in accept):
        reader.error(_join(path, "accept"), N_("must be a list of file extensions such as pdf, jpg"))
    child = None
    if type_name == "child":
        if nested:
            reader.error(_join(path, "type"), N_("child tables cannot be nested"))
        elif name:
            child = _parse_form(reader, raw, path, parent=slug, slug=f"{slug}__{name}")
            label_text = reader.text(raw.get("label"), _join(path, "label"))
            if child is not None and label_text is not None:
                child = replace(child, title=label_text)  # a child table is titled by its field's label
    if len(reader.errors) > before or name is None or field_id is None or label is None:
        return None
    spec = FieldSpec(
        id=field_id,
        name=name,
        type=type_name,
        label=label,
        help=help_text,
        required=reader.flag(raw, "required", path, False),
        unique=reader.flag(raw, "unique", path, False),
        indexed=reader.flag(raw, "indexed", path, False),
        in_list=reader.flag(raw, "list", path, type_name not in ("longtext", "child", "multichoice")),
        in_search=reader.flag(raw, "search", path, type_name in ("text", "nik", "kk", "nip", "email", "phone")),
        in_filters=reader.flag(
            raw, "filter", path, type_name not in ("longtext", "child", "file", "photo", "multichoice")
        ),
        retired=reader.flag(raw, "retired", path, False),
        default=_plain(raw.get("default")),
        min=_plain(raw.get("min")),
        max=_plain(raw.get("max")),
        min_length=reader.integer(raw, "min_length", path),
        max_length=reader.integer(raw, "max_length", path),
        pattern=pattern,
        pattern_message=pattern_message,
        choices=choices,
        level=level,
        within=within if type_name == "region" else "office",
        target=target if type_name == "reference" else None,
        precision=reader.integer(raw, "precision", path),
        scale=reader.integer(raw, "scale", path),
        accept=tuple(a.lower() for a in accept) if "accept" in ftype.options else (),
        child=child,
    )
    return _check_values(reader, spec, raw, path)


def _plain(value: Any) -> Any:
    """Dates from YAML as ISO text, so a definition compares equal after a trip through JSON."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _parse_choices(reader: _Reader, raw: Mapping[str, Any], path: str) -> tuple[Choice, ...]:
    items = raw.get("choices")
    where = _join(path, "choices")
    if not isinstance(items, list) or not items:
        reader.error(where, N_("a choice field needs a non-empty list of choices"))
        return ()
    choices: list[Choice] = []
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            choices.append(Choice(str(item), Text(str(item))))
        elif isinstance(item, Mapping):
            reader.keys(item, ("value", "label"), at)
            value = item.get("value")
            if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
                reader.error(_join(at, "value"), N_("is required"))
                continue
            label = reader.text(item.get("label", str(value)), _join(at, "label"))
            choices.append(Choice(str(value), label or Text(str(value))))
        else:
            reader.error(at, N_("must be a value or a mapping with 'value' and 'label'"))
            continue
        if len(choices[-1].value) > 64:
            reader.error(at, N_("a choice value may have at most 64 characters"))
    values = [c.value for c in choices]
    for value in {v for v in values if values.count(v) > 1}:
        reader.error(where, N_("duplicate choice '%(value)s'"), value=value)
    return tuple(choices)


def _check_values(reader: _Reader, spec: FieldSpec, raw: Mapping[str, Any], path: str) -> FieldSpec | None:
    """Defaults and limits must themselves be valid values of the field."""
    if spec.type in ("child", "file", "photo", "reference") and "default" in raw:
        reader.error(_join(path, "default"), N_("a %(type)s field cannot have a default"), type=spec.type)
        return None
    for key in ("min", "max", "default"):
        if raw.get(key) is None:
            continue
        try:
            convert(spec, raw[key])
        except Invalid as exc:
            reader.error(_join(path, key), N_("%(value)r %(problem)s"), value=raw[key], problem=exc.message.render())
            return None
    if spec.min is not None and spec.max is not None and convert(spec, spec.min) > convert(spec, spec.max):
        reader.error(_join(path, "max"), N_("must not be smaller than min"))
        return None
    return spec


def _parse_order(reader: _Reader, value: Any, path: str, live: Mapping[str, FieldSpec]) -> tuple[str, ...]:
    if value is None:
        return ("-id",)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        reader.error(path, N_("must be a field name or a list of field names"))
        return ("-id",)
    for index, item in enumerate(items):
        name = item[1:] if isinstance(item, str) and item.startswith("-") else item
        if name not in live and name not in ORDER_SYSTEM:
            reader.error(f"{path}[{index}]", N_("'%(name)s' is not a field of this form"), name=item)
        elif name in live and live[name].type in ("child", "multichoice"):
            reader.error(f"{path}[{index}]", N_("cannot order by '%(name)s'"), name=item)
    return tuple(items)


def _parse_unique_together(
    reader: _Reader, value: Any, path: str, live: Mapping[str, FieldSpec]
) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(group, list) and len(group) >= 2 for group in value):
        reader.error(path, N_("must be a list of lists of two or more field names"))
        return ()
    for index, group in enumerate(value):
        for name in group:
            if name not in live or live[name].type in ("child", "multichoice"):
                reader.error(f"{path}[{index}]", N_("'%(name)s' is not a field of this form"), name=name)
    return tuple(tuple(group) for group in value)


def _parse_permissions(reader: _Reader, value: Any, path: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        reader.error(path, N_("must map role names to lists of %(actions)s"), actions=", ".join(ACTIONS))
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for role, actions in value.items():
        at = _join(path, str(role))
        if actions == "all":
            actions = list(ACTIONS)
        if not isinstance(actions, list) or any(a not in ACTIONS for a in actions):
            reader.error(at, N_("must be a list of %(actions)s"), actions=", ".join(ACTIONS))
            continue
        if actions and "view" not in actions:
            reader.error(at, N_("a role that may add, edit or delete must also have view"))
            continue
        result[str(role)] = tuple(a for a in ACTIONS if a in actions)
    return result


# ---------------------------------------------------------------------------
# Sets of forms: files, cross-form references, changes against a published version


def read_file(path: Path, display: str | None = None) -> tuple[Any, list[DefinitionError]]:
    """Parse a YAML file safely; return (data, errors)."""
    source = display or str(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), []
    except (OSError, UnicodeDecodeError) as exc:
        return None, [DefinitionError(source, "", Message(N_("cannot read file: %(error)s"), {"error": str(exc)}))]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [DefinitionError(source, where, Message(N_("invalid YAML: %(error)s"), {"error": problem}))]


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
            data, problems = read_file(file, display)
            errors.extend(problems)
            if problems:
                continue
            try:
                spec = parse_definition(data, display)
            except DefinitionErrors as exc:
                errors.extend(exc.errors)
                continue
            if spec.slug in found:
                errors.append(
                    DefinitionError(
                        display,
                        "form",
                        Message(
                            N_("form '%(slug)s' is also defined in %(other)s"),
                            {"slug": spec.slug, "other": found[spec.slug][0].source},
                        ),
                    )
                )
                continue
            found[spec.slug] = (spec, data)
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
    for spec in specs.values():
        for owner, prefix in [(spec, "")] + [(f.child, f"fields[{i}].") for i, f in enumerate(spec.fields) if f.child]:
            for index, f in enumerate(owner.fields):
                if f.type != "reference" or f.retired:
                    continue
                if f.target not in everything:
                    errors.append(
                        DefinitionError(
                            spec.source,
                            f"{prefix}fields[{index}].target",
                            Message(N_("references unknown form '%(target)s'"), {"target": f.target}),
                        )
                    )
                else:
                    graph.setdefault(spec.slug, set()).add(f.target)  # type: ignore[arg-type]
    for spec in known.values():
        if spec.slug not in specs:
            graph.setdefault(spec.slug, set()).update(
                f.target
                for owner in (spec, *spec.children)
                for f in owner.live_fields
                if f.type == "reference" and f.target
            )
    for spec in specs.values():
        for where, message in check_targets(spec, everything):
            errors.append(DefinitionError(spec.source, where, message))
    for slug in specs:
        cycle = _find_cycle(graph, slug)
        if cycle:
            errors.append(
                DefinitionError(
                    specs[slug].source,
                    "fields",
                    Message(N_("references form a cycle: %(cycle)s"), {"cycle": " -> ".join(cycle)}),
                )
            )
    return errors


def _find_cycle(graph: Mapping[str, set[str]], start: str) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    while stack:
        node, trail = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return trail + [start]
            if nxt not in trail:
                stack.append((nxt, trail + [nxt]))
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
                        DefinitionError(
                            new.source,
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
                    DefinitionError(
                        new.source,
                        f"{at}.type",
                        Message(N_("cannot change type from %(old)s to %(new)s"), {"old": before.type, "new": f.type}),
                    )
                )
            if before.type == f.type == "reference" and before.target != f.target:
                errors.append(
                    DefinitionError(
                        new.source,
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
