"""The OpenAPI 3 document for /api/v1: each API module adds the paths it serves (a test checks none is missing)."""
from __future__ import annotations

from copy import deepcopy

_ERROR = {"$ref": "#/components/schemas/Error"}


def error_responses(*statuses: int) -> dict:
    return {str(s): {"description": "error", "content": {"application/json": {"schema": _ERROR}}} for s in statuses}


def json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def ok(description: str, schema: dict | None = None, status: int = 200, media: str = "application/json") -> dict:
    content = {media: {"schema": schema or {"type": "object"}}}
    return {str(status): {"description": description, "content": content}}


_SPEC: dict = {
    "openapi": "3.0.3",
    "info": {"title": "Clinic booking and billing API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
        },
    },
    "security": [{"bearer": []}, {}],
    "paths": {},
}


def nullable(schema: dict) -> dict:
    """`schema` or null. OpenAPI 3.0 honours `nullable` only beside a `type`, never on a `$ref` or an `allOf`,
    so the schema is written out in place."""
    return {**deepcopy(schema), "nullable": True}


def add_paths(paths: dict) -> None:
    for path, operations in paths.items():
        _SPEC["paths"].setdefault(path, {}).update(operations)


def add_schemas(schemas: dict) -> None:
    _SPEC["components"]["schemas"].update(schemas)


# Answers that the app's common machinery can give to any operation, whatever the operation itself does:
# a bad or expired bearer token is 401 on every path (public ones too), an id no row can have is 404, and a
# body that is not readable JSON, or a browser session's request without its CSRF token, is 400, one larger
# than MAX_CONTENT_LENGTH is 413, and a query string holding a NUL byte is 422 (clinic.inbound).
_METHODS = ("get", "post", "put", "patch", "delete")


def _common_statuses(path: str, method: str, operation: dict) -> tuple[int, ...]:
    statuses = [401, 422]
    if "{" in path:
        statuses.append(404)
    if method != "get":
        statuses += [400, 413]
    return tuple(s for s in statuses if str(s) not in operation["responses"])


def document() -> dict:
    spec = deepcopy(_SPEC)
    for path, operations in spec["paths"].items():
        for method in _METHODS:
            if method in operations:
                operations[method]["responses"].update(error_responses(*_common_statuses(path, method, operations[method])))
    return spec
