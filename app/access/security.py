"""Simpul's security manager: logins (local accounts and the office directory through ldap3,
with lockout), users with a working area, and each request's permission checks answered
from one query instead of one query per menu item and button."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context
from flask_appbuilder.const import AUTH_LDAP
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import Permission, PermissionView, ViewMenu, assoc_permissionview_role
from flask_babel import gettext
from werkzeug.security import check_password_hash

from app.access import directory
from app.access.login_guard import clear_failures, client_address, record_failure, refusal
from app.access.login_view import LoginRefused, SimpulAuthView, refusal_message
from app.access.users import SimpulUser, SimpulUserView


class SimpulSecurityManager(SecurityManager):
    """Users with a region scope; each request's permission checks answered from one query."""

    user_model = SimpulUser
    userdbmodelview = SimpulUserView
    userldapmodelview = SimpulUserView  # local accounts are kept beside directory ones
    authdbview = SimpulAuthView
    authldapview = SimpulAuthView

    def auth_user_db(self, username: str, password: str) -> Any:
        """FAB's hook (also used by the API's /security/login): Simpul's login, None when refused."""
        try:
            return self.authenticate(username, password)
        except LoginRefused:
            return None

    auth_user_ldap = auth_user_db

    def authenticate(self, username: str | None, password: str | None) -> Any:
        """The user for these credentials, or LoginRefused with the reason to show.

        An account with a password in the database is a local account (the break-glass admin
        among them) and is checked here, whatever AUTH_TYPE says, so it works while the
        directory is down. Other accounts are checked against the directory when AUTH_TYPE is
        AUTH_LDAP. Failed logins count towards lockout and the per-address limit.
        """
        invalid = LoginRefused(gettext("Invalid login. Please try again."))
        username = (username or "").strip()
        if not username or not password:
            raise invalid
        address = client_address()
        refused = refusal(username, address)
        if refused is not None:
            raise LoginRefused(refusal_message(refused))
        user = self.find_user(username=username)
        if user is not None and user.password:
            ok = check_password_hash(user.password, password) and bool(user.is_active)
        elif self.auth_type == AUTH_LDAP:
            try:
                account = directory.authenticate(current_app.config, username, password)
            except directory.DirectoryUnavailable:
                raise LoginRefused(
                    gettext(
                        "The office directory (LDAP) cannot be reached, so directory accounts cannot log in "
                        "right now. Try again in a few minutes or tell the administrator; local accounts "
                        "can still log in."
                    )
                ) from None
            user = self._directory_user(user, account) if account is not None else user
            ok = account is not None and user is not None and bool(user.is_active)
        else:
            check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")  # same time
            ok = False
        if not ok:
            record_failure(username, address)
            if user is not None:
                self.update_user_auth_stat(user, False)
            raise invalid
        clear_failures(username)
        self.update_user_auth_stat(user, True)
        return user

    def _directory_user(self, user: Any, account: directory.DirectoryAccount) -> Any:
        """Create or update the local record of a directory account: names, roles, working area."""
        config = current_app.config
        roles = [role for role in (self.find_role(name) for name in account.roles) if role is not None]
        if not roles and config.get("AUTH_USER_REGISTRATION_ROLE"):
            role = self.find_role(config["AUTH_USER_REGISTRATION_ROLE"])
            roles = [role] if role is not None else []
        if user is None:
            if not config.get("AUTH_USER_REGISTRATION") or not roles:
                return None
            email = account.email or f"{account.username}@directory.invalid"
            user = self.add_user(
                account.username, account.first_name or account.username, account.last_name or "-", email, roles
            )
            if not user:
                return None
            user.password = None  # FAB stored a hash of ''; a directory account has no local password
        elif config.get("AUTH_ROLES_SYNC_AT_LOGIN") and roles:
            user.roles = roles
        user.first_name = account.first_name or user.first_name
        user.last_name = account.last_name or user.last_name
        if account.scope is not None:
            user.region_scope = account.scope
        self.update_user(user)
        return user

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
