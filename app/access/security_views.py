"""FAB's security screens in the reader's language: readable permission and view names instead of
FAB's internal ones ("View the list · Users", not "can list on SimpulUserView"), yes/no instead
of True/False, names instead of Python lists, local times.

Each view keeps FAB's permission name (`class_permission_name`), so roles keep their rights.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_appbuilder.charts.widgets import DirectChartWidget
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import Select2ManyWidget
from flask_appbuilder.security.views import (
    PermissionModelView,
    PermissionViewModelView,
    RoleListWidget,
    RoleModelView,
    UserGroupModelView,
    UserStatsChartView,
    ViewMenuModelView,
)
from flask_appbuilder.widgets import ShowWidget
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from app.access.permissions import action_label, permission_label, permission_sort_key, view_label
from app.extensions import db
from app.office import local_timestamp


def yes_no(value: Any) -> str:
    """A yes/no column as a word (FAB prints True and False)."""
    return gettext("Yes") if value else gettext("No")


def names(items: Iterable[Any] | None) -> str:
    """Related records (roles, groups, users) by name, comma-separated (FAB prints a Python list)."""
    return ", ".join(str(getattr(item, "name", None) or item) for item in items or ())


def count(value: int | None) -> int:
    """A counter FAB leaves empty until the first time (logins): 0, not "None"."""
    return value or 0


def blank(value: Any) -> Any:
    """An empty value as nothing (FAB prints "None")."""
    return "" if value is None else value


def permissions_by_screen(permission_views: Iterable[Any] | None) -> Markup:
    """A role's permissions one screen per line ("Users: View the list, Edit"), then its menu entries."""
    screens: dict[str, list[str]] = {}
    menus: list[str] = []
    for pv in sorted(permission_views or (), key=permission_sort_key):
        screen = view_label(pv.view_menu.name)
        if pv.permission.name == "menu_access":
            menus.append(screen)
        else:
            screens.setdefault(screen, []).append(action_label(pv.permission.name, pv.view_menu.name))
    lines = list(screens.items())
    if menus:
        lines.append((gettext("Menu entries"), menus))
    return Markup("<br>").join(
        Markup("<strong>{}</strong>: {}").format(name, ", ".join(items)) for name, items in lines
    )


def _all_permissions() -> list[Any]:
    from flask_appbuilder.security.sqla.models import PermissionView

    return sorted(db.session.query(PermissionView).all(), key=permission_sort_key)


def permissions_field() -> QuerySelectMultipleField:
    """The role form's permission picker: readable labels, ordered by screen."""
    return QuerySelectMultipleField(
        lazy_gettext("Permissions"),
        query_func=_all_permissions,
        get_pk_func=lambda pv: pv.id,
        get_label=permission_label,
        widget=Select2ManyWidget(),
    )


class SimpulRoleListWidget(RoleListWidget):
    template = "simpul/roles/list.html"


class SimpulRoleView(RoleModelView):
    """Roles with their permissions named as people say them."""

    class_permission_name = "RoleModelView"
    list_widget = SimpulRoleListWidget
    show_widget = ShowWidget  # FAB's role show template prints values unformatted; Simpul has no builtin roles
    label_columns = {
        **RoleModelView.label_columns,
        "user": lazy_gettext("Users"),
        "groups": lazy_gettext("Groups"),
    }
    formatters_columns = {"permissions": permissions_by_screen}
    add_form_extra_fields = {"permissions": permissions_field()}
    edit_form_extra_fields = {"permissions": permissions_field()}


class SimpulGroupView(UserGroupModelView):
    """Groups, with labels FAB leaves out."""

    class_permission_name = "UserGroupModelView"
    label_columns = {
        "name": lazy_gettext("Name"),
        "label": lazy_gettext("Label"),
        "description": lazy_gettext("Description"),
        "users": lazy_gettext("Users"),
        "roles": lazy_gettext("Roles"),
    }
    formatters_columns = {"users": names, "roles": names}


class SimpulPermissionView(PermissionModelView):
    """FAB's base permissions, by what they allow."""

    class_permission_name = "PermissionModelView"
    formatters_columns = {"name": action_label}


class SimpulViewMenuView(ViewMenuModelView):
    """FAB's views and menus, by the screen they stand for."""

    class_permission_name = "ViewMenuModelView"
    formatters_columns = {"name": view_label}


class SimpulPermissionViewView(PermissionViewModelView):
    """Permissions on views and menus, both named as people say them."""

    class_permission_name = "PermissionViewModelView"
    label_columns = {**PermissionViewModelView.label_columns, "role": lazy_gettext("Role")}
    formatters_columns = {
        "permission": lambda permission: action_label(permission.name),
        "view_menu": lambda view: view_label(view.name),
    }


USER_LABELS = {
    "first_name": lazy_gettext("First Name"),
    "last_name": lazy_gettext("Last Name"),
    "username": lazy_gettext("User Name"),
    "email": lazy_gettext("Email"),
    "active": lazy_gettext("Is Active?"),
    "roles": lazy_gettext("Role"),
    "groups": lazy_gettext("Groups"),
    "created_on": lazy_gettext("Created on"),
    "changed_on": lazy_gettext("Changed on"),
    "last_login": lazy_gettext("Last login"),
    "login_count": lazy_gettext("Login count"),
    "fail_login_count": lazy_gettext("Failed login count"),
}
USER_FORMATTERS = {
    "active": yes_no,
    "roles": names,
    "groups": names,
    "login_count": count,
    "fail_login_count": count,
    "last_login": local_timestamp,
    "created_on": local_timestamp,
    "changed_on": local_timestamp,
    "created_by": blank,
    "changed_by": blank,
}


class StatsTableWidget(DirectChartWidget):
    """The chart's data as a table with bars (FAB's Google chart loads a script from Google)."""

    template = "simpul/user_stats_chart.html"


class SimpulUserStatsView(UserStatsChartView):
    """Login counts per user, with every label and chart name translated."""

    class_permission_name = "UserStatsChartView"
    chart_widget = StatsTableWidget
    route_base = "/userstatschartview"
    definitions = [
        {"label": lazy_gettext("Login count"), "group": "username", "series": ["login_count"]},
        {"label": lazy_gettext("Failed login count"), "group": "username", "series": ["fail_login_count"]},
    ]

    def __init__(self, **kwargs: Any) -> None:
        self.label_columns = dict(USER_LABELS)
        super().__init__(**kwargs)
        # FAB's chart setup relabels the group column with the chart's name and the series with
        # their column names prettified in English ("Login Count"): put the real labels back.
        self.label_columns.update(USER_LABELS)
