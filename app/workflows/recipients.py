"""Who an escalation level mails: users of the level's role whose working area is the record's area there.

A ladder level names a role and a region level ("the Kecamatan role of the record's
kecamatan"). Its recipients are the active users with an e-mail address who hold that role and
whose working area (`ab_user.region_scope`, app/access/scope.py) is exactly the record's region
cut at that level:

- desa:      users scoped to the record's desa;
- kecamatan: users scoped to the record's kecamatan;
- kabupaten: users scoped to the record's kabupaten, and users without a scope whose roles make
  them district-wide (WHOLE_DISTRICT_ROLES, or Admin): their working area is the office's
  district, so they count when the record lies in it.

Exactly the level's area, never a wider or narrower one: a kecamatan-scoped user is the
kecamatan level's, not the desa level's (each level of the ladder mails its own people once),
and a desa-scoped user never hears of another desa's records. As every area used is the
record's own region cut at a level, nobody is ever mailed a record outside their area. A
record without a region belongs to the office's district (as on the screens): only its
kabupaten level has recipients.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import Role, assoc_user_role

from app.access.users import SimpulUser
from app.workflows.ladder import area_of

user_table = SimpulUser.__table__
role_table = Role.__table__


@dataclass(frozen=True)
class Recipient:
    """A user an escalation is mailed to."""

    id: int
    email: str
    name: str


def _settings() -> tuple[str, frozenset[str]]:
    """The office's district and the roles that see all of it without a scope (needs an app context)."""
    from flask import current_app

    from app.office import office_district

    config = current_app.config
    return office_district(), frozenset([*config["WHOLE_DISTRICT_ROLES"], config["AUTH_ROLE_ADMIN"]])


def area_for(region_level: str, region_code: str | None, district: str) -> str | None:
    """The record's area at a ladder level (a record without a region: the district, kabupaten only)."""
    if not region_code:
        return district if region_level == "kabupaten" else None
    return area_of(region_code, region_level)


def recipients(
    conn: Any,
    role: str,
    region_level: str,
    region_code: str | None,
    *,
    district: str | None = None,
    whole_district_roles: Collection[str] | None = None,
) -> list[Recipient]:
    """Active users with an e-mail and `role` whose working area is the record's area at `region_level`.

    `conn` is a Connection or Session; `district` and `whole_district_roles` default to the
    app's (office settings, WHOLE_DISTRICT_ROLES plus Admin). Ordered by user id.
    """
    if district is None or whole_district_roles is None:
        default_district, default_roles = _settings()
        district = district or default_district
        whole_district_roles = default_roles if whole_district_roles is None else whole_district_roles
    directory = Directory.load(conn, district, whole_district_roles, role=role)
    return directory.recipients(role, region_level, region_code)


@dataclass(frozen=True)
class _Candidate:
    """A user who may be mailed: active, with an e-mail; their roles and working area."""

    recipient: Recipient
    roles: frozenset[str]
    scope: str  # the working area, "" when unscoped


class Directory:
    """The users who may be mailed, read in one query; each level's recipients then found in memory.

    The sweep asks for the recipients of a few hundred (role, area) pairs per run: one query for
    all of them instead of one each. `recipients()` reads through it too, so the area rule is
    written once (`Directory.recipients`).
    """

    def __init__(self, candidates: list[_Candidate], district: str, whole_district_roles: Collection[str]) -> None:
        self.district = district
        self.whole_district_roles = frozenset(whole_district_roles)
        self._by_role: dict[str, list[_Candidate]] = {}
        for candidate in sorted(candidates, key=lambda c: c.recipient.id):
            for role in candidate.roles:
                self._by_role.setdefault(role, []).append(candidate)

    @classmethod
    def load(
        cls, conn: Any, district: str, whole_district_roles: Collection[str], *, role: str | None = None
    ) -> Directory:
        """Active users with an e-mail and their roles (only those holding `role`, when given)."""
        u, link, r = user_table.c, assoc_user_role.c, role_table.c
        query = (
            sa.select(u.id, u.email, u.first_name, u.last_name, u.region_scope, r.name)
            .join_from(user_table, assoc_user_role, link.user_id == u.id)
            .join(role_table, r.id == link.role_id)
            .where(u.active.is_(True), u.email.is_not(None), sa.func.trim(u.email) != "")
        )
        if role is not None:
            held, named = assoc_user_role.alias("held"), role_table.alias("named")
            holds_role = sa.exists().where(held.c.user_id == u.id, held.c.role_id == named.c.id, named.c.name == role)
            query = query.where(holds_role)
        rows: dict[int, Any] = {}
        roles: dict[int, set[str]] = {}
        for row in conn.execute(query):
            rows.setdefault(row.id, row)
            roles.setdefault(row.id, set()).add(row.name)
        candidates = [
            _Candidate(
                Recipient(
                    row.id, row.email.strip(), " ".join(p for p in (row.first_name, row.last_name) if p) or row.email
                ),
                frozenset(roles[user_id]),
                (row.region_scope or "").strip(" "),  # as SQL's trim(): spaces only
            )
            for user_id, row in rows.items()
        ]
        return cls(candidates, district, whole_district_roles)

    def recipients(self, role: str, region_level: str, region_code: str | None) -> list[Recipient]:
        """The users of `role` whose working area is the record's area at `region_level`, by user id."""
        area = area_for(region_level, region_code, self.district)
        if area is None:
            return []
        district_wide = region_level == "kabupaten" and area == self.district and bool(self.whole_district_roles)
        return [
            candidate.recipient
            for candidate in self._by_role.get(role, ())
            if candidate.scope == area
            or (district_wide and candidate.scope == "" and not candidate.roles.isdisjoint(self.whole_district_roles))
        ]
