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
    area = area_for(region_level, region_code, district)
    if area is None:
        return []
    u = user_table.c
    holds_role = sa.exists().where(
        assoc_user_role.c.user_id == u.id,
        assoc_user_role.c.role_id == role_table.c.id,
        role_table.c.name == role,
    )
    scope = sa.func.coalesce(sa.func.trim(u.region_scope), "")
    if region_level == "kabupaten" and area == district and whole_district_roles:
        district_wide = sa.exists().where(
            assoc_user_role.c.user_id == u.id,
            assoc_user_role.c.role_id == role_table.c.id,
            role_table.c.name.in_(sorted(whole_district_roles)),
        )
        in_area = sa.or_(scope == area, sa.and_(scope == "", district_wide))
    else:
        in_area = scope == area
    query = (
        sa.select(u.id, u.email, u.first_name, u.last_name)
        .where(u.active.is_(True), u.email.is_not(None), sa.func.trim(u.email) != "", holds_role, in_area)
        .order_by(u.id)
    )
    return [
        Recipient(row.id, row.email.strip(), " ".join(p for p in (row.first_name, row.last_name) if p) or row.email)
        for row in conn.execute(query)
    ]
