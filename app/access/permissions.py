"""Per-form permissions from definitions onto FAB roles (run when forms are published)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from app.forms_engine.spec import FormSpec
from app.views.generated import ACTION_PERMISSIONS, menu_name, permission_view_name
from app.views.labels import current_lang
from app.views.workflow_dashboard import grant_overdue_screen

# Seeded on every sync (editable afterwards): Admin has everything; the others get what the
# form definitions give them, within their working area (app/access/scope.py).
ROLES = ("Admin", "Dinsos", "Kecamatan", "Operator Desa", "Viewer")


def sync_permissions(appbuilder: Any, specs: dict[str, FormSpec]) -> None:
    """Create permissions for every view and menu, then give each role what its forms say.

    A definition's `permissions` is the truth for the roles it names: actions it leaves
    out are taken away. Admin always has everything (FAB adds it).
    """
    appbuilder.add_permissions(update_perms=True)
    sm = appbuilder.sm
    for role_name in ROLES:
        sm.find_role(role_name) or sm.add_role(role_name)
    sync_history_permissions(appbuilder, specs)
    sync_profile_permissions(appbuilder)
    grant_overdue_screen(appbuilder, specs)
    for spec in specs.values():
        view = permission_view_name(spec)
        for role_name, actions in spec.permissions.items():
            role = sm.find_role(role_name) or sm.add_role(role_name)
            wanted = {ACTION_PERMISSIONS[a] for a in actions}
            for perm in ACTION_PERMISSIONS.values():
                pv = sm.find_permission_view_menu(perm, view)
                if pv is None:
                    continue
                if perm in wanted:
                    sm.add_permission_role(role, pv)
                else:
                    sm.del_permission_role(role, pv)
            for menu in filter(None, (menu_name(spec), spec.category.id if spec.category else None)):
                pv = sm.find_permission_view_menu("menu_access", menu)
                if pv is not None and actions:
                    sm.add_permission_role(role, pv)
                elif pv is not None and menu == menu_name(spec):
                    sm.del_permission_role(role, pv)


def history_roles(specs: dict[str, FormSpec]) -> set[str]:
    """Roles that may view some form holding a NIK: they may use the recipient history."""
    return {
        role
        for spec in specs.values()
        if any(f.type == "nik" for part in (spec, *spec.children) for f in part.live_fields)
        for role, actions in spec.permissions.items()
        if "view" in actions
    }


def sync_history_permissions(appbuilder: Any, specs: dict[str, FormSpec]) -> None:
    """Give the recipient history (screen and menu) to the roles that see NIK-holding forms."""
    sm = appbuilder.sm
    for role_name in history_roles(specs):
        role = sm.find_role(role_name) or sm.add_role(role_name)
        for perm, view in (("can_read", "RecipientHistory"), ("menu_access", "menu_riwayat")):
            pv = sm.find_permission_view_menu(perm, view)
            if pv is not None:
                sm.add_permission_role(role, pv)


def sync_profile_permissions(appbuilder: Any) -> None:
    """Every role may open its own profile (FAB gives `userinfo` to no role but Admin)."""
    sm = appbuilder.sm
    user_views = [v for v in appbuilder.baseviews if isinstance(v, sm.userdbmodelview)]
    for view in user_views:
        pv = sm.find_permission_view_menu("can_userinfo", view.class_permission_name)
        if pv is None:
            continue
        for role_name in ROLES:
            role = sm.find_role(role_name) or sm.add_role(role_name)
            sm.add_permission_role(role, pv)


# --- labels: FAB's permission and view names as the role screens show them --------------------

ACTION_LABELS = {
    "can_list": lazy_gettext("View the list"),
    "can_show": lazy_gettext("View details"),
    "can_read": lazy_gettext("View"),
    "can_add": lazy_gettext("Add"),
    "can_edit": lazy_gettext("Edit"),
    "can_delete": lazy_gettext("Delete"),
    "can_reveal": lazy_gettext("Reveal full NIK and No. KK"),
    "can_download": lazy_gettext("Download files"),
    "can_userinfo": lazy_gettext("Open own profile"),
    "userinfoedit": lazy_gettext("Edit own profile"),
    "resetmypassword": lazy_gettext("Change own password"),
    "resetpasswords": lazy_gettext("Reset passwords of users"),
    "copyrole": lazy_gettext("Copy roles"),
    "can_chart": lazy_gettext("View the chart"),
    "can_get": lazy_gettext("Read through the API"),
    "can_info": lazy_gettext("Read field descriptions through the API"),
    "can_post": lazy_gettext("Add through the API"),
    "can_put": lazy_gettext("Edit through the API"),
    "can_this_form_get": lazy_gettext("Open the form"),
    "can_this_form_post": lazy_gettext("Send the form"),
    "menu_access": lazy_gettext("Menu entry"),
}
# Views without a menu entry of their own (FAB's and Simpul's), by permission name.
VIEW_LABELS = {
    "SimpulIndexView": lazy_gettext("Home page"),
    "UtilView": lazy_gettext("Back link"),
    "LocaleView": lazy_gettext("Language choice"),
    "SecurityApi": lazy_gettext("Login through the API"),
    "SimpulAuthView": lazy_gettext("Login page"),
    "UserInfoEditView": lazy_gettext("Own profile form"),
    "ResetPasswordView": lazy_gettext("Password reset form"),
    "ResetMyPasswordView": lazy_gettext("Own password form"),
    "SimpulUserView": lazy_gettext("Users"),
    "RoleModelView": lazy_gettext("Roles"),
    "UserGroupModelView": lazy_gettext("Groups"),
    "UserStatsChartView": lazy_gettext("User statistics"),
    "PermissionModelView": lazy_gettext("Base permissions"),
    "ViewMenuModelView": lazy_gettext("Views and menus"),
    "PermissionViewModelView": lazy_gettext("Permissions on views and menus"),
    "OpenApi": lazy_gettext("API specification (OpenAPI)"),
    "SwaggerView": lazy_gettext("API documentation"),
    "MenuApi": lazy_gettext("Menu through the API"),
    "RegionApi": lazy_gettext("Region list through the API"),
    "RecipientHistory": lazy_gettext("Recipient history"),
    "MailPreferenceView": lazy_gettext("Own e-mail choice"),
}


def action_label(name: str, view_name: str | None = None) -> str:
    """A permission name (`can_list`) as people say it, in the reader's language; a view's own
    action (`copyrole`, `resend`) by the text its @action gives it."""
    label = ACTION_LABELS.get(name)
    if label is not None:
        return str(label)
    for view in current_app.appbuilder.baseviews:
        action = getattr(view, "actions", {}).get(name)
        if action is not None and view_name in (None, view.class_permission_name):
            return str(action.text)
    return name.removeprefix("can_").replace("_", " ")


def view_label(name: str) -> str:
    """A view or menu name (`form_rujukan`, `menu_audit`, `List Users`) as its screen is called."""
    label = VIEW_LABELS.get(name)
    if label is not None:
        return str(label)
    specs = current_app.extensions.get("simpul_specs", {})
    for prefix in ("form_", "menu_"):
        spec = specs.get(name.removeprefix(prefix)) if name.startswith(prefix) else None
        if spec is not None:
            return spec.title.get(current_lang())
    for item in _menu_items(current_app.appbuilder.menu.get_list()):
        view = getattr(item.baseview, "class_permission_name", None)
        if item.label and name in (item.name, view):
            label = str(item.label)  # an admin-written label is escaped already (AdminText)
            label = label.unescape() if isinstance(label, Markup) else label
            return gettext("%(menu)s (menu group)", menu=label) if item.childs else label
    for view in current_app.appbuilder.baseviews:  # a view without a menu entry: by its title
        if view.class_permission_name == name:
            for attribute in ("list_title", "form_title", "chart_title", "title"):
                title = getattr(view, attribute, None)
                if title:
                    return str(title)
    return name


def _menu_items(items: Iterable[Any]) -> Iterable[Any]:
    for item in items:
        yield item
        yield from _menu_items(item.childs or ())


def permission_label(permission_view: Any) -> str:
    """One permission on one view: "View the list · Users" (FAB shows "can list on SimpulUserView")."""
    view = permission_view.view_menu.name
    return f"{action_label(permission_view.permission.name, view)} · {view_label(view)}"


ACTION_ORDER = {name: i for i, name in enumerate(ACTION_LABELS)}


def permission_sort_key(permission_view: Any) -> tuple[str, int, str]:
    """Permissions ordered by screen, then by what they allow (list, show, add, edit, delete...)."""
    action = permission_view.permission.name
    return view_label(permission_view.view_menu.name).casefold(), ACTION_ORDER.get(action, len(ACTION_ORDER)), action
