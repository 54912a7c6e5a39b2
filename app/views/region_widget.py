"""The region picker: cascading selects from the field's area down to its level."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup, escape

from app.access.scope import NO_SCOPE, current_scope
from app.forms_engine.fieldtypes import REGION_LEVELS, region_within
from app.forms_engine.rules import region_root
from app.forms_engine.spec import FieldSpec
from app.office import office_district
from app.regions.importer import CODE


class RegionPickerWidget:
    """A hidden input holding the code, and one select per level below the field's area.

    region-picker.js fills each select from /api/v1/wilayah/children/<code> and gives it
    Select2's type-ahead; without JavaScript the code can still be typed.
    """

    def __init__(self, spec_field: FieldSpec) -> None:
        self.spec_field = spec_field

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        value = field._value() if hasattr(field, "_value") else (field.data or "")
        return region_picker(self.spec_field, field.name, field.id, value)


def region_picker(spec_field: FieldSpec, name: str, input_id: str, value: str, any_level: bool = False) -> Markup:
    """The picker's HTML; `any_level` (list filters): the code of the deepest level chosen, any level."""
    root = region_root(spec_field, office_district())
    level = REGION_LEVELS.get(spec_field.level or "", 4)
    scope = current_scope()
    if scope and scope != NO_SCOPE and (not root or region_within(scope, root)):
        root = ".".join(scope.split(".")[:level])  # a scoped user picks only inside their area
    if not value and root and root.count(".") + 1 == level and not any_level:
        value = root  # nothing left to choose
    names = current_app.extensions["simpul_region_names"]
    path = names.path(value) if value and CODE.match(value) else []
    attrs = {
        "class": "simpul-region",
        "data-root": root,
        "data-level": str(level),
        "data-children-url": url_for("RegionApi.children", code="CODE").replace("CODE", ""),
        "data-path": json.dumps(path),
        "data-root-name": names.label(root) if root else "",
    }
    if any_level:
        attrs["data-any-level"] = "1"
    html_attrs = " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items())
    return Markup(
        f"<div {html_attrs}>"
        f'<input class="form-control simpul-region-code" id="{escape(input_id)}" name="{escape(name)}" '
        f'value="{escape(value)}" placeholder="{escape(root + "." if root else "63.09.01.2001")}">'
        "</div>"
    )
