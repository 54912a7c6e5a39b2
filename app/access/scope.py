"""Region scoping: which records a user may see and change.

Every user works within a region (their scope): a record is visible and editable only when
its region code lies inside that scope. This module decides the scope of the current user
and turns it into one SQL condition per form table; the data interface every generated
screen and API goes through (app/views/interface.py) applies it, as do the other paths to
records (recipient history, file downloads, reference pickers, exports).

Scopes are region codes. `None` means unrestricted (Admin, and the system itself outside a
request: CLI commands, scheduled jobs). `NO_SCOPE` matches no region at all: a user without
a working area sees nothing rather than everything.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_request_context

from app.extensions import db
from app.forms_engine.fieldtypes import column_name, region_range, region_within
from app.forms_engine.fieldtypes import record_id as valid_record_id
from app.office import office_district

NO_SCOPE = "-"  # not a region code: the range it opens holds no record


def user_scope(user: Any) -> str | None:
    """The scope of a user: None for Admin, their region, or the district for district-wide roles."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_SCOPE
    roles = {role.name for role in user.roles}
    if current_app.config["AUTH_ROLE_ADMIN"] in roles:
        return None
    code = (getattr(user, "region_scope", None) or "").strip()
    if code:
        return code
    if roles & set(current_app.config["WHOLE_DISTRICT_ROLES"]):
        return office_district()
    return NO_SCOPE


def current_scope() -> str | None:
    """The scope of the request's user (cached per request); None outside requests."""
    if not has_request_context():
        return None
    if "simpul_scope" not in g:
        g.simpul_scope = user_scope(current_app.appbuilder.sm.current_user)
    return g.simpul_scope


def covers(scope: str | None, code: str | None) -> bool:
    """Whether a region code lies inside a scope (a region without code: only wide scopes)."""
    if scope is None:
        return True
    return region_within(code or office_district(), scope)


def _owner(model: Any) -> tuple[str, Any] | None:
    """Where a form's region comes from: ("own", None), (reference attribute, its model), or None.

    A record belongs to a region through its own region field, through the record a
    reference names as its `region_field` (attendance → participant), or through its parent
    (a child row → the record it belongs to).
    """
    spec = model.__spec__
    if spec.region_field:
        field = spec.field(spec.region_field)
        if field.type == "region":
            return ("own", None)
        relation = getattr(model, field.name)
        return (field.name, relation.property.mapper.class_)
    if spec.parent and hasattr(model, "parent"):
        return ("parent", model.parent.property.mapper.class_)
    return None


def is_scoped(model: Any) -> bool:
    """Whether a form's records belong to regions (else they are shared lists, like programmes)."""
    owner = _owner(model)
    return owner is not None and (owner[1] is None or is_scoped(owner[1]))


def scope_clause(model: Any, scope: str | None) -> Any:
    """SQL condition: the model's rows inside the scope (None when nothing needs filtering)."""
    if scope is None or not is_scoped(model):
        return None
    how, owner_model = _owner(model)  # type: ignore[misc]
    if owner_model is not None:
        column = model.parent_id if how == "parent" else getattr(model, column_name(model.__spec__.field(how)))
        return column.in_(sa.select(owner_model.id).where(scope_clause(owner_model, scope)))
    column = model.region_code
    inside = region_range(column, scope)
    if region_within(office_district(), scope):
        return sa.or_(inside, column.is_(None))
    return inside


def record_region(item: Any) -> str | None:
    """The region code a record belongs to (its own, its referenced owner's, or its parent's)."""
    owner = _owner(type(item))
    if owner is None:
        return None
    how, owner_model = owner
    if owner_model is None:
        return getattr(item, type(item).__spec__.region_field, None)
    if how == "parent":
        other = item.parent
    else:  # by the stored id: the relationship may not reflect a value just set
        key = getattr(item, column_name(type(item).__spec__.field(how)))
        other = db.session.get(owner_model, key) if key is not None else None
    return record_region(other) if other is not None else None


def scoped(query: Any, model: Any) -> Any:
    """An ORM query (or select) narrowed to the current user's scope."""
    clause = scope_clause(model, current_scope()) if hasattr(model, "__spec__") else None
    if clause is None:
        return query
    return query.where(clause) if isinstance(query, sa.Select) else query.filter(clause)


def visible(model: Any, record_id: Any, session: Any) -> Any:
    """The record with this id when the current user may see it, else None (also when it does not exist)."""
    key = valid_record_id(record_id)
    if key is None:
        return None
    return session.execute(scoped(sa.select(model).where(model.id == key), model)).scalar_one_or_none()
