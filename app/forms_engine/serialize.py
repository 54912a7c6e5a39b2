"""Turn a FormSpec back into definition data (what is stored per published version)."""

from __future__ import annotations

from typing import Any

from .spec import FieldSpec, FormSpec, Text

_FIELD_DEFAULTS = FieldSpec(id="", name="", type="text", label=Text(""))


def _text(value: Text | None) -> Any:
    return None if value is None else value.as_dict()


def field_to_definition(f: FieldSpec) -> dict[str, Any]:
    """Definition data of one field, leaving out values equal to the defaults."""
    data: dict[str, Any] = {"name": f.name, "id": f.id, "type": f.type, "label": f.label.as_dict()}
    for key, attr in (("required", "required"), ("unique", "unique"), ("indexed", "indexed"), ("retired", "retired")):
        if getattr(f, attr):
            data[key] = True
    data["list"], data["search"], data["filter"] = f.in_list, f.in_search, f.in_filters
    for key in (
        "default",
        "min",
        "max",
        "min_length",
        "max_length",
        "pattern",
        "level",
        "target",
        "precision",
        "scale",
    ):
        value = getattr(f, key)
        if value is not None:
            data[key] = value
    if f.help:
        data["help"] = _text(f.help)
    if f.pattern_message:
        data["pattern_message"] = _text(f.pattern_message)
    if f.choices:
        data["choices"] = [{"value": c.value, "label": c.label.as_dict()} for c in f.choices]
    if f.type in ("file", "photo"):
        data["accept"] = list(f.accept)
    if f.type == "reference" and not f.related:
        data["related"] = False
    elif f.type == "reference" and f.related_by:
        data["related"] = {"by": f.related_by}
    if f.type == "region" and f.within != "office":
        data["within"] = f.within
    if f.child is not None:
        data.update(_table_part(f.child))
    return data


def _table_part(spec: FormSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"fields": [field_to_definition(f) for f in spec.fields]}
    if spec.title_field:
        data["title_field"] = spec.title_field
    data["order_by"] = list(spec.order_by)
    if spec.unique_together:
        data["unique_together"] = [list(group) for group in spec.unique_together]
    return data


def to_definition(spec: FormSpec) -> dict[str, Any]:
    """Definition data that `parse_definition` turns back into an equal spec."""
    data: dict[str, Any] = {"form": spec.slug, "title": spec.title.as_dict()}
    if spec.description:
        data["description"] = spec.description.as_dict()
    if spec.category:
        data["category"] = spec.category.as_dict()
    data["icon"] = spec.icon
    if spec.region_field:
        data["region_field"] = spec.region_field
    elif not spec.parent and any(f.type == "region" for f in spec.live_fields):
        data["region_field"] = False  # kept unscoped on reload (else the first region field is taken)
    if spec.permissions:
        data["permissions"] = {role: list(actions) for role, actions in spec.permissions.items()}
    if spec.rules:
        data["rules"] = [
            {"rule": r.kind, **{k: v for k, v in r.params.items() if v not in (None, {})}} for r in spec.rules
        ]
    if spec.grid:
        grid = spec.grid
        data["grid"] = {"rows": grid.rows, "group": grid.group, "key": grid.key, "cell": grid.cell}
        if grid.extra:
            data["grid"]["extra"] = list(grid.extra)
        if grid.key_range:
            data["grid"]["key_range"] = list(grid.key_range)
    if spec.singleton:
        data["singleton"] = True
    if spec.workflow is not None:
        from app.workflows.definition import as_definition  # it imports the loader, which needs this package

        data["workflow"] = as_definition(spec.workflow)
    data.update(_table_part(spec))
    return data
