"""Simpul's security manager: FAB's, with each request's permission checks answered from
one query instead of one query per menu item and button."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import Permission, PermissionView, ViewMenu, assoc_permissionview_role

from app.users import SimpulUser, SimpulUserView


class SimpulSecurityManager(SecurityManager):
    """Users with a region scope; each request's permission checks answered from one query."""

    user_model = SimpulUser
    userdbmodelview = SimpulUserView
    userldapmodelview = SimpulUserView  # local accounts are kept beside directory ones

    def _role_permissions(self, role_ids: list[int]) -> frozenset[tuple[str, str]]:
        key = tuple(sorted(role_ids))
        cache = g.setdefault("_simpul_permissions", {}) if has_request_context() else {}
        if key not in cache:
            rows = (
                self.session.query(Permission.name, ViewMenu.name)
                .join(PermissionView, PermissionView.permission_id == Permission.id)
                .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
                .join(assoc_permissionview_role, assoc_permissionview_role.c.permission_view_id == PermissionView.id)
                .filter(assoc_permissionview_role.c.role_id.in_(key))
                .all()
            )
            cache[key] = frozenset((p, v) for p, v in rows)
        return cache[key]

    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids: list[int]) -> bool:
        return (permission_name, view_name) in self._role_permissions(role_ids)

    def find_roles_permission_view_menus(self, permission_name: str, role_ids: list[int]) -> list[Any]:
        pairs = self._role_permissions(role_ids)
        return [_PermissionViewName(view) for perm, view in pairs if perm == permission_name]


class _PermissionViewName:
    """The shape FAB reads from find_roles_permission_view_menus: `.view_menu.name`."""

    def __init__(self, view_name: str) -> None:
        self.view_menu = _Named(view_name)


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name
