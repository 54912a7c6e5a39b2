"""The OpenAPI description of Simpul's APIs, true to what they answer (/api/v1/_openapi).

Flask-AppBuilder builds the spec from each API's method docstrings and marshmallow schemas;
its stock docstrings type ids as strings, document POST and PUT results as their input,
leave out 403 and 413, list an API-key sign-in that is off, and describe `_info` loosely.
`DocumentedApi` and `DocumentedModelApi` correct that through FAB's own hooks
(`openapi_spec_methods`, `add_apispec_components`, `operation_helper`), once for every
generated form; the record schemas themselves come from app/views/schemas.py.

Error bodies: Simpul and FAB answer `{"message": …}`; a 422 on a record carries the problems
by field (and `warnings` to confirm); a call without a JWT, or with an expired one, is refused
by flask-jwt-extended with a 401 `{"msg": …}`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from apispec import APISpec
from apispec.exceptions import DuplicateComponentNameError
from flask import current_app
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import BaseApi

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


_MESSAGES = {
    "type": "object",
    "description": "Problems by field name",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_NAMES = {"type": "array", "items": {"type": "string"}}

# Shared by every API: registered once, referenced by name.
COMPONENTS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "properties": {"message": {"type": "string"}},
        "required": ["message"],
    },
    "TokenError": {
        "type": "object",
        "description": "No JWT, or an expired one (flask-jwt-extended's own answer)",
        "properties": {"msg": {"type": "string"}},
        "required": ["msg"],
    },
    "RecordErrors": {
        "type": "object",
        "description": "Why a record was refused: the problems by field, or one message; "
        "`warnings` must be confirmed with `confirm_warnings: true`",
        "properties": {"message": {"anyOf": [{"type": "string"}, _MESSAGES]}, "warnings": _MESSAGES},
        "required": ["message"],
    },
    "FieldInfo": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "label": {"type": "string"},
            "description": {"type": "string"},
            "type": {"type": "string", "description": "The marshmallow field class, e.g. String, Integer"},
            "required": {"type": "boolean"},
            "unique": {"type": "boolean"},
            "validate": {"type": "array", "items": {"type": "string"}},
            "count": {"type": "integer"},
            "values": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "value": {"type": "string"}},
                },
            },
        },
        "required": ["name", "label", "description", "type", "required", "unique"],
    },
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


# Error answers, registered once as response components and referenced by status.
ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "BadRequest",
        _json(
            "Malformed: not JSON, a bad `q`, an unknown column or filter, no purpose, not a region code, "
            "a control character in the address",
            ref("Error"),
        ),
    ),
    401: (
        "Unauthorized",
        _json("No valid JWT (or session cookie)", {"anyOf": [ref("Error"), ref("TokenError")]}),
    ),
    403: ("Forbidden", _json("Signed in, but the role may not do this", ref("Error"))),
    404: ("NotFound", _json("No such record, or outside the user's working area", ref("Error"))),
    405: (
        "NotAllowed",
        _json("A record id that is not a positive whole number: only PUT and DELETE take that path", ref("Error")),
    ),
    413: ("TooLarge", _json("The request body is over the size limit", ref("Error"))),
    # gunicorn's own answer, before the app sees the request.
    414: (
        "UriTooLong",
        {"description": "The URL is longer than the server reads (4 KB)", "content": {"text/html": {}}},
    ),
    422: ("Refused", _json("The record was refused: the problems by field", ref("RecordErrors"))),
    500: ("ServerError", _json("Server error", ref("Error"))),
}


def error_response(status: int) -> dict[str, str]:
    """A reference to the documented answer for an error status."""
    return {"$ref": f"#/components/responses/{ERRORS[status][0]}"}


def responses(success: int, description: str, schema: dict[str, Any], *errors: int) -> dict[str, Any]:
    """An operation's answers: its success and every error it can give."""
    return {str(success): _json(description, schema)} | {
        str(status): error_response(status) for status in (400, 401, 403, *errors, 500)
    }


def _q(schema: str) -> dict[str, Any]:
    return {
        "in": "query",
        "name": "q",
        "description": "Rison (or JSON) arguments",
        "content": {JSON: {"schema": ref(schema)}},
    }


_PK = {"in": "path", "name": "pk", "required": True, "schema": {"type": "integer"}, "description": "Record id"}
_REVEAL = [
    {
        "in": "query",
        "name": "reveal",
        "schema": {"type": "boolean"},
        "description": "Show NIK and No. KK in full (needs the form's reveal permission and a purpose; logged)",
    },
    {
        "in": "query",
        "name": "purpose",
        "schema": {"type": "string", "minLength": 5},
        "description": "Why the numbers are revealed",
    },
]


def _record(schema: str, *extra: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """An object holding one record: its integer id and `result`."""
    properties = {"id": {"type": "integer"}, "result": ref(schema)} | dict(extra)
    return {"type": "object", "properties": properties, "required": ["id", "result"]}


def form_operations(api: ModelRestApi) -> dict[str, dict[str, Any]]:
    """The true docs of a form API's operations, for FAB's `openapi_spec_methods`."""
    show = api.show_model_schema_name
    body = {"required": True, "content": {JSON: {"schema": ref(api.add_model_schema_name)}}}
    edit_body = {"required": True, "content": {JSON: {"schema": ref(api.edit_model_schema_name)}}}
    listing = {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "description": "Records matching the filters (all pages)"},
            "ids": {"type": "array", "items": {"type": "integer"}},
            "result": {"type": "array", "items": ref(api.list_model_schema_name)},
            "list_columns": _NAMES,
            "order_columns": _NAMES,
            "label_columns": _LABELS,
            "description_columns": _LABELS,
            "list_title": {"type": "string"},
        },
    }
    item = _record(
        show,
        ("show_columns", _NAMES),
        ("label_columns", _LABELS),
        ("description_columns", _LABELS),
        ("show_title", {"type": "string"}),
    )
    info = {
        "type": "object",
        "properties": {
            "add_columns": {"type": "array", "items": ref("FieldInfo")},
            "edit_columns": {"type": "array", "items": ref("FieldInfo")},
            "filters": {
                "type": "object",
                "description": "Filter operators by column",
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "operator": {"type": "string"}},
                        "required": ["name", "operator"],
                    },
                },
            },
            "permissions": _NAMES,
            "add_title": {"type": "string"},
            "edit_title": {"type": "string"},
        },
    }
    return {
        "get_list": {
            "get": {
                "description": "List records (paged, filtered, in the user's working area)",
                "parameters": [_q("get_list_schema"), *_REVEAL],
                "responses": responses(200, "A page of records", listing, 414),
            }
        },
        "get": {
            "get": {
                "description": "One record, with its child rows",
                "parameters": [_PK, _q("get_item_schema"), *_REVEAL],
                "responses": responses(200, "The record", item, 404, 405, 414),
            }
        },
        "post": {
            "post": {
                "description": "Add a record (checked by the form's rules)",
                "requestBody": body,
                "responses": responses(201, "Added: the stored record", _record(show), 413, 422),
            }
        },
        "put": {
            "put": {
                "description": "Change the fields a body names (checked by the form's rules)",
                "parameters": [_PK],
                "requestBody": edit_body,
                "responses": responses(200, "Changed: the stored record", _record(show), 404, 413, 422),
            }
        },
        "delete": {
            "delete": {
                "description": "Delete a record",
                "parameters": [_PK],
                "responses": responses(
                    200, "Deleted", {"type": "object", "properties": {"message": {"type": "string"}}}, 404, 422
                ),
            }
        },
        "info": {
            "get": {
                "description": "The fields a record takes, the filters and the user's permissions",
                "parameters": [_q("get_info_schema")],
                "responses": responses(200, "What the form takes", info, 414),
            }
        },
    }


class DocumentedApi(BaseApi):
    """Adds Simpul's shared schemas and error answers; lists only the sign-ins that are switched on."""

    def add_apispec_components(self, api_spec: APISpec) -> None:
        """FAB's components, then Simpul's schemas and error answers (once per spec)."""
        super().add_apispec_components(api_spec)
        for name, schema in COMPONENTS.items():
            with contextlib.suppress(DuplicateComponentNameError):  # another API registered it already
                api_spec.components.schema(name, component=schema)
        for name, response in ERRORS.values():
            with contextlib.suppress(DuplicateComponentNameError):
                api_spec.components.response(name, component=response)

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        methods: list[str] | None = None,
        func: Any = None,
        **kwargs: Any,
    ) -> None:
        """FAB's operation docs; API keys are listed as a sign-in only when they are on."""
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        if current_app.config.get("FAB_API_KEY_ENABLED", False):
            return
        for operation in (operations or {}).values():
            if "security" in operation:
                operation["security"] = [s for s in operation["security"] if "api_key" not in s]


class DocumentedModelApi(DocumentedApi, ModelRestApi):
    """A ModelRestApi whose operations are documented as they answer (see form_operations)."""

    @property
    def openapi_spec_methods(self) -> dict[str, dict[str, Any]]:  # type: ignore[override]
        """Merged by FAB over its stock docstrings, operation by operation."""
        return form_operations(self)


# ---------------------------------------------------------------------------
# Workflow steps and the timeline (app/views/workflow_steps.py), on forms with a `workflow:`

_WHEN = {
    "type": "string",
    "format": "date-time",
    "nullable": True,
    "description": "Office's local time, with its offset",
}
_DAY = {"type": "string", "format": "date", "nullable": True}
_TEXT_OR_NULL = {"type": "string", "nullable": True}
_INT_OR_NULL = {"type": "integer", "nullable": True}
WORKFLOW_COMPONENTS: dict[str, dict[str, Any]] = {
    "WorkflowState": {
        "type": "object",
        "description": "A record's state now: open, overdue (past its due time) or terminal",
        "properties": {
            "name": _TEXT_OR_NULL,
            "label": {"type": "string"},
            "kind": {"type": "string", "enum": ["open", "overdue", "terminal"]},
            "terminal": {"type": "boolean"},
            "entered_at": _WHEN,
            "due_at": _WHEN,
            "due_date": {**_DAY, "description": "The last working day of the state's SLA"},
            "overdue": {"type": "boolean"},
            "overdue_days": {"type": "integer", "description": "Whole working days overdue (0 on the first day)"},
        },
        "required": ["name", "label", "kind", "terminal", "due_at", "overdue", "overdue_days"],
    },
    "StepBody": {
        "type": "object",
        "description": "The step's comment and the fields it asks for (its `requires`), by field name",
        "properties": {
            "comment": {"type": "string", "nullable": True, "maxLength": 2000},
            "values": {"type": "object", "nullable": True, "additionalProperties": True},
        },
        "additionalProperties": False,
    },
    "StepRefused": {
        "type": "object",
        "description": "Why the step was refused: every message, and the messages by field "
        "(`comment` for the comment, `_step` for the step itself)",
        "properties": {"message": {"type": "string"}, "errors": _MESSAGES},
        "required": ["message", "errors"],
    },
    "TimelineStay": {
        "type": "object",
        "properties": {
            "state": {"type": "string"},
            "label": {"type": "string"},
            "entered_at": _WHEN,
            "left_at": {**_WHEN, "description": "Null: the record is still in this state"},
            "due_at": _WHEN,
            "due_date": _DAY,
            "overdue_days": {**_INT_OR_NULL, "description": "Working days overdue (null: not overdue)"},
        },
        "required": ["state", "label", "entered_at", "left_at", "due_at", "overdue_days"],
    },
    "TimelineEvent": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["created", "transition", "escalation", "moved"]},
            "at": _WHEN,
            "text": {"type": "string", "description": "What happened, in the reader's language"},
            "username": _TEXT_OR_NULL,
            "transition": _TEXT_OR_NULL,
            "from_state": _TEXT_OR_NULL,
            "to_state": _TEXT_OR_NULL,
            "comment": _TEXT_OR_NULL,
            "level": {**_INT_OR_NULL, "description": "Escalation: 0 the deadline, 1.. the ladder's levels"},
            "outcome": {**_TEXT_OR_NULL, "description": "Escalation: mailed, nobody, overdue, obsolete, failed"},
            "recipients": {**_INT_OR_NULL, "description": "Escalation: people mailed"},
        },
        "required": ["id", "kind", "at", "text"],
    },
}
STEP_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    403: ("StepForbidden", _json("The form's edit permission or the step's roles are missing", ref("StepRefused"))),
    409: (
        "StepConflict",
        _json("The record is not in a state the step leaves, or it was changed meanwhile", ref("StepRefused")),
    ),
    422: (
        "StepRefusal",
        _json("Refused: required fields, the comment, the values or the form's rules", ref("StepRefused")),
    ),
}


def workflow_operations(api: Any) -> dict[str, dict[str, Any]]:
    """The docs of a workflow form's step and timeline operations (app/views/workflow_steps.py)."""
    workflow = api.spec.workflow
    names = [t.name for t in workflow.transitions] if workflow is not None else []
    step_name = {
        "in": "path",
        "name": "name",
        "required": True,
        "schema": {"type": "string", "enum": names} if names else {"type": "string"},
        "description": "The transition's name",
    }
    taken = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "state": ref("WorkflowState"),
            "result": ref(api.show_model_schema_name),
        },
        "required": ["id", "state", "result"],
    }
    timeline = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "state": ref("WorkflowState"),
            "stays": {"type": "array", "items": ref("TimelineStay"), "description": "Newest first"},
            "events": {"type": "array", "items": ref("TimelineEvent"), "description": "Newest first"},
        },
        "required": ["id", "state", "stays", "events"],
    }
    step_answers = {
        "200": _json("Taken: the record's new state and the stored record", taken),
        **{str(status): error_response(status) for status in (400, 401)},
        **{str(status): {"$ref": f"#/components/responses/{STEP_ERRORS[status][0]}"} for status in (403, 409, 422)},
        **{str(status): error_response(status) for status in (404, 413, 414, 500)},
    }
    return {
        "step": {
            "post": {
                "description": "Take a workflow step on a record in the user's working area (the form's edit "
                "permission and one of the step's roles; Admin only where the workflow names it)",
                "parameters": [_PK, step_name],
                "requestBody": {"required": True, "content": {JSON: {"schema": ref("StepBody")}}},
                "responses": step_answers,
            }
        },
        "timeline": {
            "get": {
                "description": "The record's state, its stays in states and its timeline events, newest first",
                "parameters": [_PK],
                "responses": responses(200, "The timeline", timeline, 404, 414),
            }
        },
    }


def add_workflow_components(api_spec: APISpec) -> None:
    """The schemas and error answers of the step and timeline operations (once per spec)."""
    for name, schema in WORKFLOW_COMPONENTS.items():
        with contextlib.suppress(DuplicateComponentNameError):
            api_spec.components.schema(name, component=schema)
    for name, response in STEP_ERRORS.values():
        with contextlib.suppress(DuplicateComponentNameError):
            api_spec.components.response(name, component=response)
