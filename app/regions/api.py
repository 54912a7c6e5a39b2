"""Region lookups for pickers: children of a code and type-ahead search (logged-in users).

Each method's docstring is its OpenAPI description (YAML after `---`, read by Flask-AppBuilder).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import request
from flask_appbuilder.api import expose
from flask_jwt_extended import verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from flask_login import current_user
from jwt import PyJWTError
from marshmallow import Schema, fields

from app.extensions import db
from app.regions.importer import CODE, region_table
from app.views.openapi import DocumentedApi

MAX_RESULTS = 50


class RegionSchema(Schema):
    """One region of the national list."""

    __component_name__ = "Region"

    code = fields.String(required=True, metadata={"description": "Kemendagri code, e.g. 63.09.01.2001"})
    name = fields.String(required=True)
    level = fields.Integer(required=True, metadata={"description": "1 provinsi, 2 kabupaten, 3 kecamatan, 4 desa"})
    active = fields.Boolean(required=True, metadata={"description": "False: left the list, kept while records use it"})


class RegionsSchema(Schema):
    """The answer of every region lookup."""

    __component_name__ = "Regions"

    result = fields.List(fields.Nested(RegionSchema), required=True)


_ROWS = RegionSchema(many=True)


def _signed_in() -> bool:
    """A session login or a valid JWT."""
    if current_user.is_authenticated:
        return True
    try:
        verify_jwt_in_request()
    except (JWTExtendedException, PyJWTError):
        return False
    return True


class RegionApi(DocumentedApi):
    """/api/v1/wilayah/…: the national region list is public data, but only for signed-in users."""

    resource_name = "wilayah"
    openapi_spec_tag = "Wilayah"
    openapi_spec_component_schemas = (RegionSchema, RegionsSchema)

    def _rows(self, query: sa.Select[Any]) -> Any:
        return self.response(200, result=_ROWS.dump(db.session.execute(query)))

    def _children(self, code: str) -> Any:
        if not _signed_in():
            return self.response_401()
        if code and not CODE.match(code):
            return self.response_400(message="not a region code")
        table = region_table
        condition = table.c.parent_code == code if code else table.c.level == 1
        return self._rows(sa.select(table).where(condition).order_by(table.c.name))

    @expose("/children/", methods=["GET"])
    def provinces(self) -> Any:
        """The provinces (the top of the list).
        ---
        get:
          description: The provinces, by name.
          security:
          - jwt: []
          responses:
            200:
              description: The provinces
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Regions'
            401:
              $ref: '#/components/responses/Unauthorized'
        """
        return self._children("")

    @expose("/children/<code>", methods=["GET"])
    def children(self, code: str) -> Any:
        """Direct children of a code.
        ---
        get:
          description: The regions directly below a code (a province's kabupaten, …), by name.
          security:
          - jwt: []
          parameters:
          - in: path
            name: code
            required: true
            description: A region code, e.g. 63.09 or 63.09.01
            schema:
              type: string
              pattern: '^[0-9]{2}([.][0-9]{2}([.][0-9]{2}([.][0-9]{4})?)?)?$'
          responses:
            200:
              description: The regions below the code (none for a desa or an unknown code)
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Regions'
            414:
              $ref: '#/components/responses/UriTooLong'
            400:
              $ref: '#/components/responses/BadRequest'
            401:
              $ref: '#/components/responses/Unauthorized'
        """
        return self._children(code)

    @expose("/search/", methods=["GET"])
    def search(self) -> Any:
        """Type-ahead: ?q=name or code prefix, &level=1-4, &within=<code>.
        ---
        get:
          description: >-
            Active regions whose name contains `q` (any case) or whose code starts with it,
            by level and name; at most 50.
          security:
          - jwt: []
          parameters:
          - in: query
            name: q
            description: Part of a name, or the start of a code (63.09.0)
            schema:
              type: string
          - in: query
            name: level
            description: Only this level (1 provinsi, 2 kabupaten, 3 kecamatan, 4 desa)
            schema:
              type: integer
              minimum: 1
              maximum: 4
          - in: query
            name: within
            description: Only regions inside this code (ignored unless it is a region code)
            schema:
              type: string
          responses:
            200:
              description: The matching regions
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Regions'
            414:
              $ref: '#/components/responses/UriTooLong'
            400:
              $ref: '#/components/responses/BadRequest'
            401:
              $ref: '#/components/responses/Unauthorized'
        """
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
        return self._rows(query)
