"""Region lookups for pickers: children of a code and type-ahead search (logged-in users)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import request
from flask_appbuilder.api import BaseApi, expose
from flask_jwt_extended import verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_login import current_user
from jwt import PyJWTError

from app.extensions import db
from app.regions.importer import CODE, region_table

MAX_RESULTS = 50


def _signed_in() -> bool:
    """A session login or a valid JWT."""
    if current_user.is_authenticated:
        return True
    try:
        verify_jwt_in_request()
    except (JWTExtendedException, PyJWTError):
        return False
    return True


class RegionApi(BaseApi):
    """/api/v1/wilayah/…: the national region list is public data, but only for signed-in users."""

    resource_name = "wilayah"
    openapi_spec_tag = "Wilayah"

    def _rows(self, query: sa.Select[Any]) -> list[dict[str, Any]]:
        return [
            {"code": r.code, "name": r.name, "level": r.level, "active": bool(r.active)}
            for r in db.session.execute(query)
        ]

    @expose("/children/", methods=["GET"])
    @expose("/children/<code>", methods=["GET"])
    def children(self, code: str = "") -> Any:
        """Direct children of a code (provinces without one)."""
        if not _signed_in():
            return self.response_401()
        if code and not CODE.match(code):
            return self.response_400(message="not a region code")
        table = region_table
        condition = table.c.parent_code == code if code else table.c.level == 1
        return self.response(200, result=self._rows(sa.select(table).where(condition).order_by(table.c.name)))

    @expose("/search/", methods=["GET"])
    def search(self) -> Any:
        """Type-ahead: ?q=name or code prefix, &level=1-4, &within=<code>."""
        if not _signed_in():
            return self.response_401()
        table = region_table
        text = (request.args.get("q") or "").strip()
        conditions: list[Any] = [table.c.active == sa.true()]
        level = request.args.get("level", type=int)
        if level:
            conditions.append(table.c.level == level)
        within = (request.args.get("within") or "").strip()
        if within and CODE.match(within):
            conditions += [table.c.code >= within + ".", table.c.code < within + "/"]
        if text:
            if text[0].isdigit():
                conditions += [table.c.code >= text, table.c.code < text + "\uffff"]
            else:
                escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                conditions.append(table.c.name.ilike(f"%{escaped}%", escape="\\"))
        query = sa.select(table).where(*conditions).order_by(table.c.level, table.c.name).limit(MAX_RESULTS)
        return self.response(200, result=self._rows(query))
