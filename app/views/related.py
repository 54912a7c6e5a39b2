"""Which records point to a record: for refusing a delete that would orphan them ("masih dipakai
oleh 2 data Angkatan Bimtek") and for showing them on the record's page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from app.forms_engine.fieldtypes import column_name
from app.views.labels import current_lang


@dataclass(frozen=True)
class Referrer:
    """A reference field of some form (or child table) that targets a given form."""

    model: Any
    field: Any


def referrers(slug: str) -> list[Referrer]:
    """Every live reference field, in every form and child table, that points to form `slug`."""
    models = current_app.extensions.get("simpul_models", {})
    return [
        Referrer(model, f)
        for model in models.values()
        for f in model.__spec__.live_fields
        if f.type == "reference" and f.target == slug
    ]


def usages(item: Any, session: Any) -> list[tuple[Any, int]]:
    """(form title, number of records) for each form whose records point to `item`, all areas counted."""
    found = []
    for ref in referrers(type(item).__spec__.slug):
        column = getattr(ref.model, column_name(ref.field))
        count = session.execute(sa.select(sa.func.count()).select_from(ref.model).where(column == item.id)).scalar()
        if count:
            found.append((ref.model.__spec__, count))
    return found


def still_used_message(item: Any, session: Any) -> str | None:
    """Why `item` cannot be deleted (plain text: escape it for HTML), or None when nothing points to it."""
    found = usages(item, session)
    if not found:
        return None
    parts = ", ".join(
        gettext("%(count)s %(form)s record(s)", count=count, form=spec.title.get(current_lang()))
        for spec, count in found
    )
    return gettext("Cannot be deleted: still used by %(uses)s.", uses=parts)
