"""The data interface every generated screen and API goes through.

One place for how form records are queried, so paging, counting and (later) region
scoping apply to screens, API, exports and prints alike.
"""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface


class FormInterface(SQLAInterface):
    """SQLAInterface over a generated form model; knows the form's spec."""

    def __init__(self, obj: Any, session: Any = None) -> None:
        super().__init__(obj, session=session)
        self.spec = obj.__spec__
