"""Per-form permissions from definitions onto FAB roles (run when forms are published)."""

from __future__ import annotations

from typing import Any

from app.forms_engine.spec import FormSpec
from app.views.generated import ACTION_PERMISSIONS, menu_name, permission_view_name


def sync_permissions(appbuilder: Any, specs: dict[str, FormSpec]) -> None:
    """Create permissions for every view and menu, then give each role what its forms say.

    A definition's `permissions` is the truth for the roles it names: actions it leaves
    out are taken away. Admin always has everything (FAB adds it).
    """
    appbuilder.add_permissions(update_perms=True)
    sm = appbuilder.sm
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
