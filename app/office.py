"""The installation's own settings (the office settings form), with defaults from config."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g, has_request_context

from app.extensions import db

SETTINGS_FORM = "pengaturan_kantor"


def office_district() -> str:
    """The office's kabupaten/kota code: from the settings record, else config DISTRICT."""
    if has_request_context() and "simpul_district" in g:
        return g.simpul_district
    district = current_app.config["DISTRICT"]
    models = current_app.extensions.get("simpul_models", {})
    model = models.get(SETTINGS_FORM)
    if model is not None and "kabupaten" in model.__table__.c:
        table = model.__table__
        stored = db.session.execute(sa.select(table.c.kabupaten).order_by(table.c.id).limit(1)).scalar()
        district = stored or district
    if has_request_context():
        g.simpul_district = district
    return district
