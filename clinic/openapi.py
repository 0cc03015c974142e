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


def add_paths(paths: dict) -> None:
    for path, operations in paths.items():
        _SPEC["paths"].setdefault(path, {}).update(operations)


def add_schemas(schemas: dict) -> None:
    _SPEC["components"]["schemas"].update(schemas)


def document() -> dict:
    return deepcopy(_SPEC)
