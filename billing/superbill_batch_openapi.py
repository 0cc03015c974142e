"""The OpenAPI description of the month's superbill batch routes (billing/superbill_batch_api.py)."""
from __future__ import annotations

from clinic import openapi

_BATCH = {"type": "object", "properties": {
    "id": {"type": "integer"}, "month": {"type": "string", "example": "2027-03"},
    "status": {"type": "string", "enum": ["running", "finished"]},
    "started_by": {"type": "integer", "nullable": True, "description": "the user who started it (none: the command line)"},
    "total": {"type": "integer"}, "issued": {"type": "integer"}, "failed": {"type": "integer"},
    "skipped": {"type": "integer"}, "done": {"type": "integer"}, "percent": {"type": "integer"},
    "started_at": {"type": "string", "format": "date-time"},
    "finished_at": {"type": "string", "format": "date-time", "nullable": True},
    "url": {"type": "string"}, "page_url": {"type": "string"}}}
_ITEM = {"type": "object", "properties": {
    "patient_id": {"type": "integer"}, "patient_name": {"type": "string"},
    "status": {"type": "string", "enum": ["pending", "running", "issued", "failed", "skipped"]},
    "reason": {"type": "string", "nullable": True, "description": "why it failed or was skipped"},
    "superbill_id": {"type": "integer", "nullable": True}, "superbill_number": {"type": "string", "nullable": True}}}
_ONE = {"type": "object", "properties": {"batch": {"$ref": "#/components/schemas/SuperbillBatch"}}}

openapi.add_schemas({"SuperbillBatch": _BATCH, "SuperbillBatchItem": _ITEM})
openapi.add_paths({
    "/superbill-batches": {
        "post": {"summary": "Issue the month's superbills for every patient with completed, paid visits, in the "
                            "background (billing); 200 with the month's batch when one is already running",
                 "requestBody": openapi.json_body({"type": "object", "required": ["month"], "properties": {
                     "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "example": "2027-03"}}}),
                 "responses": {**openapi.ok("started", _ONE, status=201), **openapi.ok("already running", _ONE),
                               **openapi.error_responses(400, 401, 403, 422)}},
        "get": {"summary": "The latest batches and their progress (billing)",
                "responses": {**openapi.ok("batches", {"type": "object", "properties": {"batches": {
                    "type": "array", "items": {"$ref": "#/components/schemas/SuperbillBatch"}}}}),
                    **openapi.error_responses(401, 403)}}},
    "/superbill-batches/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"summary": "One batch's progress and each patient's outcome, with the reason of any failure (billing)",
                "responses": {**openapi.ok("the batch", {"type": "object", "properties": {"batch": {"allOf": [
                    {"$ref": "#/components/schemas/SuperbillBatch"}, {"type": "object", "properties": {"items": {
                        "type": "array", "items": {"$ref": "#/components/schemas/SuperbillBatchItem"}}}}]}}}),
                    **openapi.error_responses(401, 403, 404)}}},
})
