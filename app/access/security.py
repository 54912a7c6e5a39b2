"""Simpul's security manager: logins (local accounts and the office directory through ldap3,
with lockout), users with a working area, and each request's permission checks answered
from one query instead of one query per menu item and button.

A login is refused with "wrong username or password" until the password is found right; only
then does the refusal say what else is wrong (no Simpul group, excluded by the directory's
filter, e-mail taken, deactivated), so the messages tell nothing to someone guessing names.
Every refusal gets a log line with the username, address and reason, never the password.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import sqlalchemy as sa
from flask import current_app, g, has_request_context, jsonify
from flask_appbuilder.const import AUTH_LDAP
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import Permission, PermissionView, ViewMenu, assoc_permissionview_role
from flask_babel import gettext
from werkzeug.security import check_password_hash

from app.access.login_guard import clear_failures, client_address, record_failure, refusal
from app.access.login_view import LoginRefused, SimpulAuthView, SimpulSecurityApi, refusal_message, remember_refusal
from app.access.security_views import (
    SimpulGroupView,
    SimpulPermissionView,
    SimpulPermissionViewView,
    SimpulRoleView,
    SimpulUserStatsView,
    SimpulViewMenuView,
)
from app.access.users import SimpulUser, SimpulUserView

if TYPE_CHECKING:
    from app.access import directory

log = logging.getLogger(__name__)


class SimpulSecurityManager(SecurityManager):
    """Users with a region scope; each request's permission checks answered from one query."""

    user_model = SimpulUser
    userdbmodelview = SimpulUserView
    userldapmodelview = SimpulUserView  # local accounts are kept beside directory ones
    authdbview = SimpulAuthView
    authldapview = SimpulAuthView
    security_api = SimpulSecurityApi
    # FAB's security screens with readable names and values (app/access/security_views.py)
    rolemodelview = SimpulRoleView
    groupmodelview = SimpulGroupView
    permissionmodelview = SimpulPermissionView
    viewmenumodelview = SimpulViewMenuView
    permissionviewmodelview = SimpulPermissionViewView
    userstatschartview = SimpulUserStatsView

    def create_jwt_manager(self, app: Any) -> Any:
        """FAB's JWT manager; a token that cannot be read is a 401, like a missing or expired one
        (flask_jwt_extended answers 422 by default)."""
        manager = super().create_jwt_manager(app)

        @manager.invalid_token_loader
        def invalid_token(reason: str) -> Any:
            return jsonify(message=reason), 401

        return manager

    def auth_user_db(self, username: str, password: str) -> Any:
        """FAB's hook (also used by the API's /security/login): Simpul's login, None when refused."""
        try:
            return self.authenticate(username, password)
        except LoginRefused as refused:
            remember_refusal(refused)
            return None

    auth_user_ldap = auth_user_db

    def authenticate(self, username: str | None, password: str | None) -> Any:
        """The user for these credentials, or LoginRefused with the reason to show.

        An account with a password in the database is a local account (the break-glass admin
        among them) and is checked here, whatever AUTH_TYPE says, so it works while the
        directory is down. Other accounts are checked against the directory when AUTH_TYPE is
        AUTH_LDAP. Wrong passwords count towards lockout and the per-address limit; refusals
        after a right password do not, since nobody is guessing.
        """
        username = (username or "").strip()
        if not username or not password:
            raise LoginRefused(_invalid_login())
        address = client_address()
        refused = refusal(username, address)
        if refused is not None:
            self._refuse(username, f"too many failed logins ({refused.reason})", refusal_message(refused))
        user = self.find_user(username=username)
        if user is not None and user.password:
            if not check_password_hash(user.password, password):
                self._wrong_password(username, address, user)
            if not user.is_active:
                self._refuse_deactivated(username)
        elif self.auth_type == AUTH_LDAP:
            account = self._directory_account(user, username, password)
            if account is None:
                self._wrong_password(username, address, user)
            user = self._directory_user(user, account)
        else:
            check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "password")  # same time
            self._wrong_password(username, address, user)
        clear_failures(username)
        self.update_user_auth_stat(user, True)
        return user

    def _wrong_password(self, username: str, address: str, user: Any) -> NoReturn:
        """Count a failed login (lockout, throttling) and refuse it without saying more."""
        record_failure(username, address)
        if user is not None:
            self.update_user_auth_stat(user, False)
        log.info("Login failed for %r from %s: unknown user or wrong password", username, address)
        raise LoginRefused(_invalid_login())

    def _refuse(self, username: str, reason: str, message: str) -> NoReturn:
        """Refuse a login for another reason than a wrong password, saying why in the log too."""
        log.warning("Login refused for %r from %s: %s", username, client_address(), reason)
        raise LoginRefused(message)

    def _refuse_deactivated(self, username: str) -> NoReturn:
        self._refuse(
            username,
            "the account is deactivated in Simpul",
            gettext("This account has been deactivated in Simpul. Ask the administrator to activate it again."),
        )

    def _directory_account(self, user: Any, username: str, password: str) -> directory.DirectoryAccount | None:
        """The directory's word on these credentials; None for a wrong password."""
        from app.access import directory  # ldap3 loads on a directory sign-in, not in every process

        try:
            return directory.authenticate(current_app.config, username, password)
        except directory.DirectoryUnavailable:
            raise LoginRefused(
                gettext(
                    "The office directory (LDAP) cannot be reached, so directory accounts cannot log in "
                    "right now. Try again in a few minutes or tell the administrator; local accounts "
                    "can still log in."
                )
            ) from None
        except directory.AccountExcluded as excluded:
            if user is not None and _directory_keeps_roles(current_app.config):
                user.roles = []  # so a session still open loses its rights too
                self.update_user(user)
            self._refuse(
                username,
                f"{excluded.dn} is excluded by AUTH_LDAP_SEARCH_FILTER (disabled or locked?)",
                gettext(
                    "Your password is correct, but your account in the office directory may not sign in to "
                    "Simpul (for example, it is disabled or locked there). Ask the administrator."
                ),
            )

    def _directory_user(self, user: Any, account: directory.DirectoryAccount) -> Any:
        """The local record of a directory account, created or brought in line with the directory.

        With AUTH_ROLES_SYNC_AT_LOGIN the directory decides the roles (when AUTH_ROLES_MAPPING is
        set) and the working area (when AUTH_LDAP_SCOPE_FIELD or _MAPPING is set) at every sign-in,
        and a person without a mapped group is refused and loses the roles. Without it the
        directory fills them in once, on the first sign-in, and they are edited in Simpul after.
        """
        if user is not None and not user.is_active:
            self._refuse_deactivated(account.username)
        config = current_app.config
        roles = self._mapped_roles(account)
        if user is None:
            return self._register(account, roles)
        if _directory_keeps_roles(config):
            user.roles = roles
        if _directory_keeps_area(config):
            user.region_scope = account.scope
        user.first_name, user.last_name = self._names(account, user)
        if self.update_user(user) is False:
            self._refuse_unsaved(account.username)
        if _directory_keeps_roles(config) and not roles:
            self._refuse_no_role(account)
        return user

    def _register(self, account: directory.DirectoryAccount, roles: list[Any]) -> Any:
        """A new local record for a directory account, or a refusal saying why there can be none."""
        config = current_app.config
        if not config.get("AUTH_USER_REGISTRATION"):
            self._refuse(
                account.username,
                "no Simpul account yet and AUTH_USER_REGISTRATION is off",
                gettext(
                    "Your password is correct, but your directory account has no Simpul account, and "
                    "directory users are not added automatically. Ask the administrator."
                ),
            )
        if not roles and not _directory_keeps_roles(config) and config.get("AUTH_USER_REGISTRATION_ROLE"):
            role = self.find_role(config["AUTH_USER_REGISTRATION_ROLE"])
            roles = [role] if role is not None else []
        if not roles:
            self._refuse_no_role(account)
        email = account.email or f"{account.username}@directory.invalid"
        holder = self._email_holder(email)
        if holder is not None:
            self._refuse(
                account.username,
                f"the directory's e-mail {email} is already used by the account {holder.username!r}",
                gettext(
                    "Your password is correct, but the e-mail address of your directory account, %(email)s, "
                    "is already used by another Simpul account. Ask the administrator to change the e-mail "
                    "address of that account.",
                    email=email,
                ),
            )
        # One commit, by update_user: a record half made (with FAB's random password hash, which
        # would make it a local account nobody can sign in to) must not stay behind.
        user = self.add_user(account.username, *self._names(account, None), email, roles, commit=False)
        if not user:
            self._refuse_unsaved(account.username)
        user.password = None  # a directory account has no local password
        user.region_scope = account.scope
        if self.update_user(user) is False:
            self._refuse_unsaved(account.username)
        return user

    def _refuse_no_role(self, account: directory.DirectoryAccount) -> NoReturn:
        reason = f"no directory group maps to a role (groups: {sorted(account.groups)})"
        if current_app.config.get("AUTH_USER_REGISTRATION_ROLE") and _directory_keeps_roles(current_app.config):
            reason += "; AUTH_USER_REGISTRATION_ROLE is not given while AUTH_ROLES_SYNC_AT_LOGIN is on"
        self._refuse(
            account.username,
            reason,
            gettext(
                "Your password is correct, but none of your groups in the office directory gives access to "
                "Simpul. Ask the administrator to add you to a Simpul group."
            ),
        )

    def _refuse_unsaved(self, username: str) -> NoReturn:
        self._refuse(
            username,
            "the account could not be saved (see the error above)",
            gettext(
                "Your password is correct, but Simpul could not save your account. Tell the administrator; "
                "the server log says why."
            ),
        )

    def _mapped_roles(self, account: directory.DirectoryAccount) -> list[Any]:
        """Simpul's roles named by AUTH_ROLES_MAPPING for the account's groups."""
        roles = []
        for name in account.roles:
            role = self.find_role(name)
            if role is None:
                log.warning(
                    "AUTH_ROLES_MAPPING gives %r the role %r, which Simpul does not have", account.username, name
                )
            else:
                roles.append(role)
        return roles

    def _email_holder(self, email: str) -> Any:
        """The account already using this e-mail address, in any letter case."""
        model = self.user_model
        return self.session.query(model).filter(sa.func.lower(model.email) == email.lower()).first()

    def _names(self, account: directory.DirectoryAccount, user: Any) -> tuple[str, str]:
        """First and last name from the directory (else as they were), cut to the columns' length.

        Cut, because a name longer than the column would make the save, and so the sign-in, fail.
        """
        table = self.user_model.__table__
        first = account.first_name or (user.first_name if user is not None else account.username)
        last = account.last_name or (user.last_name if user is not None else "-")
        return first[: table.c.first_name.type.length], last[: table.c.last_name.type.length]

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


def _invalid_login() -> str:
    return gettext("Invalid login. Please try again.")


def _directory_keeps_roles(config: Mapping[str, Any]) -> bool:
    """Whether a directory account's roles follow its groups at every sign-in."""
    return bool(config.get("AUTH_ROLES_SYNC_AT_LOGIN")) and bool(config.get("AUTH_ROLES_MAPPING"))


def _directory_keeps_area(config: Mapping[str, Any]) -> bool:
    """Whether a directory account's working area follows the directory at every sign-in."""
    from app.access import directory

    return bool(config.get("AUTH_ROLES_SYNC_AT_LOGIN")) and directory.gives_scope(config)
