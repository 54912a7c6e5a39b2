"""Accounts: FAB's user with a region scope, and the admin screens that edit it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.security.sqla.models import User
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext
from wtforms import SelectField

from app.access.security_views import USER_FORMATTERS
from app.extensions import db
from app.forms_engine.fieldtypes import region_code_type, region_range
from app.office import office_district
from app.regions.importer import region_table


class SimpulUser(User):
    """FAB's user, plus the region whose records the user may see (empty: see app/access/scope.py)."""

    __tablename__ = "ab_user"
    __table_args__ = {"extend_existing": True}
    region_scope = sa.Column(region_code_type(), nullable=True)


class ScopeField(SelectField):
    """A select of the office's district, its kecamatan and its desa (choices read when shown)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, choices=[], validate_choice=True, widget=Select2Widget(), **kwargs)

    def process(self, formdata: Any, data: Any = None, **kwargs: Any) -> None:
        self.choices = [("", "—"), *scope_choices()]
        super().process(formdata, data, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.data = self.data or None


SCOPE_LABEL = lazy_gettext("Working area")
SCOPE_HELP = lazy_gettext(
    "The region whose records this user sees and edits: the district, one kecamatan or one desa. "
    "Empty: Admin sees everything, Dinsos the whole district, other roles nothing."
)


class SimpulUserView(UserDBModelView):
    """FAB's user screens with the working area (region scope)."""

    list_columns = [*UserDBModelView.list_columns, "region_scope"]
    add_columns = [*UserDBModelView.add_columns[:6], "region_scope", *UserDBModelView.add_columns[6:]]
    edit_columns = [*UserDBModelView.edit_columns, "region_scope"]
    show_fieldsets = [
        (lazy_gettext("User info"), {"fields": ["username", "active", "roles", "region_scope", "login_count"]}),
        *UserDBModelView.show_fieldsets[1:],
    ]
    add_form_extra_fields = {
        **UserDBModelView.add_form_extra_fields,
        "region_scope": ScopeField(SCOPE_LABEL, description=SCOPE_HELP),
    }
    edit_form_extra_fields = {"region_scope": ScopeField(SCOPE_LABEL, description=SCOPE_HELP)}
    label_columns = {**UserDBModelView.label_columns, "region_scope": SCOPE_LABEL}
    formatters_columns = {**USER_FORMATTERS, "region_scope": lambda code: _region_label(code)}


def scope_choices() -> list[tuple[str, str]]:
    """(code, label) of the office's district and every region inside it, in code order."""
    district = office_district()
    rows = db.session.execute(
        sa.select(region_table.c.code)
        .where(region_range(region_table.c.code, district))
        .where(region_table.c.active.is_(True))
        .order_by(region_table.c.code)
    ).scalars()
    return [(code, _region_label(code)) for code in rows]


def _region_label(code: str | None) -> str:
    if not code:
        return ""
    names = current_app.extensions["simpul_region_names"]
    return f"{code} — {names.label(code)}"
