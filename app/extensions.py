"""Extension objects, unbound; `create_app` binds them to each app it builds."""

from flask_appbuilder.models.sqla.base import SQLA

db = SQLA()
