"""Per-form permissions from definitions onto FAB roles (run when forms are published)."""

from __future__ import annotations

from typing import Any

from app.forms_engine.spec import FormSpec
from app.views.generated import ACTION_PERMISSIONS, menu_name, permission_view_name

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
