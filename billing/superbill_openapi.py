"""The OpenAPI description of the superbill routes (billing/superbill_api.py)."""
from __future__ import annotations

from clinic import openapi

_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_PATIENT = [{"name": "patient_id", "in": "query", "required": False, "schema": {"type": "integer"},
             "description": "required for billing staff to narrow the list; a patient sees only their own"}]
_ONE = {"type": "object", "properties": {"superbill": {"$ref": "#/components/schemas/Superbill"}}}
_ISSUED = {"type": "object", "properties": {"superbill": {"$ref": "#/components/schemas/Superbill"}, "superbills": {
    "type": "array", "items": {"$ref": "#/components/schemas/Superbill"}}}}
_PDF = openapi.ok("the superbill as PDF (marked VOID once voided)", {"type": "string", "format": "binary"},
                  media="application/pdf")

openapi.add_schemas({"Superbill": {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string", "example": "SB-2027-000123"},
    "patient_id": {"type": "integer"}, "status": {"type": "string", "enum": ["issued", "void"]},
    "replaces": {"type": "integer", "nullable": True}, "from": {"type": "string", "format": "date"},
    "to": {"type": "string", "format": "date"}, "total_charged_cents": {"type": "integer"},
    "total_paid_cents": {"type": "integer"}, "currency": {"type": "string"},
    "total_adjustment_cents": {"type": "integer",
                               "description": "taken off the charges: refunds and package discounts"},
    "rendering_clinician": {"type": "string", "description": "the one rendering provider a superbill names"},
    "void_reason": {"type": "string", "nullable": True}, "pdf_url": {"type": "string"}}}})
openapi.add_schemas({"Estimate": {"type": "object", "properties": {
    "id": {"type": "integer"}, "number": {"type": "string", "example": "GFE-2027-000045"},
    "patient_id": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
    "total_cents": {"type": "integer"}, "currency": {"type": "string"}, "pdf_url": {"type": "string"}}}})
openapi.add_paths({
    "/estimates": {"get": {"summary": "Good Faith Estimates (a patient's own; any patient's for billing)",
                           "parameters": _PATIENT, "responses": {**openapi.ok("estimates", {
                               "type": "object", "properties": {"estimates": {
                                   "type": "array", "items": {"$ref": "#/components/schemas/Estimate"}}}}),
                               **openapi.error_responses(401, 404, 422)}}},
    "/estimates/{id}.pdf": {"parameters": _ID, "get": {"summary": "Download a Good Faith Estimate (owner, billing)",
                                                       "responses": {**openapi.ok("the estimate as PDF", {
                                                           "type": "string", "format": "binary"},
                                                           media="application/pdf"),
                                                           **openapi.error_responses(401, 404, 503)}}},
    "/estimates/overruns": {"get": {"summary": "Patients billed $400 or more above their estimate (billing)",
                                    "responses": {**openapi.ok("overruns", {"type": "object", "properties": {
                                        "overruns": {"type": "array", "items": {"type": "object"}}}}),
                                        **openapi.error_responses(401, 403)}}},
    "/superbills": {
        "post": {"summary": "Issue a superbill for a patient's completed, paid visits in a date range (billing)",
                 "requestBody": openapi.json_body({"type": "object", "required": ["patient_id", "from", "to"],
                                                   "properties": {"patient_id": {"type": "integer"},
                                                                  "from": {"type": "string", "format": "date"},
                                                                  "to": {"type": "string", "format": "date"}}}),
                 "responses": {**openapi.ok(
                     "issued: one superbill per rendering clinician (`superbill` is the first, `superbills` each); "
                     "422 nothing_to_bill or missing_billing_details", _ISSUED, status=201), **openapi.error_responses(400, 401, 403, 404, 422, 503)}},
        "get": {"summary": "Superbills (a patient's own; any patient's for billing)", "parameters": _PATIENT,
                "responses": {**openapi.ok("superbills", {"type": "object", "properties": {"superbills": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Superbill"}}}}),
                    **openapi.error_responses(401, 404, 422)}}},
    "/superbills/{id}": {"parameters": _ID, "get": {"summary": "One superbill (owner, billing)", "responses": {
        **openapi.ok("the superbill", _ONE), **openapi.error_responses(401, 404)}}},
    "/superbills/{id}.pdf": {"parameters": _ID, "get": {"summary": "Download a superbill (owner, billing)",
                                                        "responses": {**_PDF, **openapi.error_responses(401, 404, 503)}}},
    "/superbills/{id}/void": {"parameters": _ID, "post": {
        "summary": "Void a superbill with a reason and, by default, issue the one that replaces it (billing)",
        "requestBody": openapi.json_body({"type": "object", "required": ["reason"], "properties": {
            "reason": {"type": "string"}, "reissue": {"type": "boolean", "default": True}}}),
        "responses": {**openapi.ok("voided", {"type": "object", "properties": {
            "superbill": {"$ref": "#/components/schemas/Superbill"},
            "replacement": {"allOf": [{"$ref": "#/components/schemas/Superbill"}], "nullable": True}}}),
            **openapi.error_responses(400, 401, 403, 404, 422, 503)}}},
})
