"""The JSON API's operations, each declared once: `operation`, under a view's route, says who may use it, what
body and query string it takes and what it answers (clinic.shapes declarations). The same declaration checks each
request and writes /api/v1/openapi.json from the routes the app registered, its schemas written by pydantic
(tests check that no served route goes undeclared and that real answers match the document).

OpenAPI 3.0 is what the contract promises, and pydantic writes JSON Schema 2020-12: `_openapi_30` translates the
two spellings that differ (a nullable value, a constant)."""
from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable, Mapping

from flask import current_app, request
from pydantic.json_schema import models_json_schema

from clinic import jsonin, shapes
from clinic.auth_context import require_api_user
from clinic.models import Role

_ERROR = {"$ref": "#/components/schemas/Error"}
_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Media:
    """An answer that is not JSON (a PDF, an iCalendar file, a CSV)."""

    media_type: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string", "format": "binary"})


@dataclass(frozen=True)
class Operation:
    summary: str
    answers: Mapping[int, type[shapes.Answer] | Media]
    errors: tuple[int, ...] = ()
    body: type[shapes.Shape] | None = None
    query: type[shapes.Shape] | None = None
    public: bool = False


def operation(summary: str, *, answers: Mapping[int, type[shapes.Answer] | Media], errors: tuple[int, ...] = (),
              body: type[shapes.Shape] | None = None, query: type[shapes.Shape] | None = None,
              public: bool = False, guests: bool = False, roles: tuple[Role, ...] = ()) -> Callable:
    """Declare a view of the API (below its route and rate limits, so a refused body still counts against
    them). The view receives the checked body as `body` and the checked query string as `query`, each a Shape,
    besides the rule's own arguments; the document finds the declaration on the view the route serves.

    Who may ask is settled before what they sent is read: unless the operation is `public` (no sign-in, none
    documented) or open to `guests` (a token optional), someone signed in, with one of `roles` if given, or a
    401/403 answers first, never a 422 about a body a stranger could not have sent anyway."""
    declared = Operation(summary, answers, errors, body, query, public)

    def declare(view: Callable) -> Callable:
        @wraps(view)
        def checked(**arguments: Any):
            if not (public or guests):
                require_api_user(*roles)
            if body is not None:
                arguments["body"] = shapes.read(body, jsonin.json_object())
            if query is not None:
                arguments["query"] = shapes.read(query, request.args.to_dict())
            return view(**arguments)

        checked.openapi_operation = declared  # type: ignore[attr-defined]  (functools.wraps carries it outward)
        return checked
    return declare


def _openapi_path(rule: str) -> tuple[str, tuple[str, ...]]:
    """Flask's `/appointments/<int:appointment_id>` as OpenAPI's `/appointments/{id}` (every id reads the same)."""
    names: list[str] = []

    def parameter(match: re.Match) -> str:
        name = "id" if match.group(1).endswith("id") else match.group(1)
        names.append(name)
        return "{%s}" % name
    return re.sub(r"<(?:\w+:)?(\w+)>", parameter, rule), tuple(names)


def _error_responses(*statuses: int) -> dict:
    return {str(s): {"description": "error", "content": {"application/json": {"schema": _ERROR}}} for s in statuses}


_BASE: dict = {
    "openapi": "3.0.3",
    "info": {"title": "Clinic booking and billing API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}, {}],
}
_ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}}


_PREFIX = "/api/v1"


def document() -> dict:
    """The document of the app serving the request: built once per app from the routes it registered."""
    built = current_app.extensions.get("openapi_document")
    if built is None:
        built = current_app.extensions["openapi_document"] = _document(_declared_operations())
    return deepcopy(built)


@dataclass(frozen=True)
class _Served:
    method: str
    path: str
    path_names: tuple[str, ...]
    declared: Operation


def _declared_operations() -> list[_Served]:
    served = []
    for rule in current_app.url_map.iter_rules():
        declared = getattr(current_app.view_functions[rule.endpoint], "openapi_operation", None)
        if declared is None or not rule.rule.startswith(_PREFIX + "/"):
            continue
        path, names = _openapi_path(rule.rule[len(_PREFIX):])
        served += [_Served(m.lower(), path, names, declared) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return served


def _document(operations: list[_Served]) -> dict:
    refs, schemas = _schemas([op.declared for op in operations])
    paths: dict = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation_object(op, refs, schemas)
    for path, described_path in paths.items():
        for method, described in described_path.items():
            if method != "parameters":
                described["responses"].update(_error_responses(*_common_statuses(path, method, described)))
    components = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                  "schemas": {"Error": _ERROR_SCHEMA, **schemas}}
    return {**deepcopy(_BASE), "components": components, "paths": paths}


def _schemas(operations: list[Operation]) -> tuple[dict, dict]:
    """Every declared shape through pydantic at once, so a shape used by two operations is one component."""
    wanted = {(shape, "validation") for op in operations for shape in (op.body, op.query) if shape is not None}
    wanted |= {(answer, "serialization") for op in operations for answer in op.answers.values()
               if isinstance(answer, type)}
    if not wanted:
        return {}, {}
    refs, definitions = models_json_schema(sorted(wanted, key=lambda pair: pair[0].__name__), ref_template=_REF)
    schemas = definitions.get("$defs", {})
    return _openapi_30(refs, schemas), {name: _openapi_30(schema, schemas) for name, schema in schemas.items()}


def _openapi_30(node: Any, schemas: dict) -> Any:
    """JSON Schema 2020-12 as OpenAPI 3.0 spells it: `anyOf [X, null]` becomes X written out with
    `nullable: true` (and null among its values if it is an enum), `const` an `enum` of one, and a default of null (pydantic's mark of an optional field) is left
    out."""
    if isinstance(node, list):
        return [_openapi_30(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: value for key, value in node.items() if not (key == "default" and value is None) and key != "title"}
    variants = node.get("anyOf")
    if variants and {"type": "null"} in variants and len(variants) == 2:
        (other,) = [v for v in variants if v != {"type": "null"}]
        if "$ref" in other:
            other = schemas[other["$ref"].rsplit("/", 1)[1]]
        rest = {key: value for key, value in node.items() if key != "anyOf"}
        written = {**other, **rest, "nullable": True}
        if "enum" in written:  # a validator checks the enum even when nullable: null must be one of the values
            written["enum"] = [*written["enum"], None]
        return _openapi_30(written, schemas)
    if "const" in node:
        node = {**{k: v for k, v in node.items() if k != "const"}, "enum": [node["const"]]}
    return {key: _openapi_30(value, schemas) if key != "properties" else
            {name: _openapi_30(schema, schemas) for name, schema in value.items()} for key, value in node.items()}


def _operation_object(served: _Served, refs: dict, schemas: dict) -> dict:
    op = served.declared
    described: dict = {"summary": op.summary, "responses": {}}
    if op.public:
        described["security"] = []
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
                  for name in served.path_names]
    if op.query is not None:
        parameters += _query_parameters(schemas[refs[(op.query, "validation")]["$ref"].rsplit("/", 1)[1]])
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": refs[(op.body, "validation")]}}}
    for status, answer in op.answers.items():
        described["responses"][str(status)] = _answer_object(answer, refs)
    described["responses"].update(_error_responses(*op.errors))
    return described


def _query_parameters(schema: dict) -> list[dict]:
    required = set(schema.get("required", ()))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def _answer_object(answer: type[shapes.Answer] | Media, refs: dict) -> dict:
    if isinstance(answer, Media):
        return {"description": answer.description, "content": {answer.media_type: {"schema": dict(answer.schema)}}}
    description = (answer.__doc__ or answer.__name__).strip().splitlines()[0]
    return {"description": description, "content": {"application/json": {
        "schema": refs[(answer, "serialization")]}}}


# Answers that the app's common machinery can give to any operation, whatever the operation itself does:
# a bad or expired bearer token is 401 on every path (public ones too), an id no row can have is 404, and a
# body that is not readable JSON, or a browser session's request without its CSRF token, is 400, one larger
# than MAX_CONTENT_LENGTH is 413, and a query string holding a NUL byte is 422 (clinic.inbound).
def _common_statuses(path: str, method: str, operation_object: dict) -> tuple[int, ...]:
    statuses = [401, 422]
    if "{" in path:
        statuses.append(404)
    if method != "get":
        statuses += [400, 413]
    return tuple(s for s in statuses if str(s) not in operation_object["responses"])
