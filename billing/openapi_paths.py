"""The OpenAPI description of the payment routes (billing/api.py)."""
from __future__ import annotations

from clinic import openapi

_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_SUMMARY = {"type": "object", "properties": {"id": {"type": "integer"}, "amount_cents": {"type": "integer"},
                                             "status": {"type": "string", "enum": [
                                                 "pending", "unknown", "requires_action", "succeeded", "failed"]}}}
_PAY_BODY = openapi.json_body({"type": "object", "required": ["payment_method"], "properties": {
    "payment_method": {"type": "string", "description": "pm_... made by Stripe.js confirmCardSetup"}}})
_NEXT = {"type": "object", "nullable": True, "properties": {"type": {"type": "string"},
                                                              "client_secret": {"type": "string"}}}
_PAY_ERRORS = openapi.error_responses(400, 401, 402, 403, 404, 409, 422, 503)

openapi.add_schemas({
    "PaymentSummary": _SUMMARY,
    "Payment": {"type": "object", "properties": {
        **_SUMMARY["properties"], "appointment_id": {"type": "integer"},
        "appointment_ids": {"type": "array", "items": {"type": "integer"}}, "refunded_cents": {"type": "integer"},
        "currency": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
        "receipt_url": {"type": "string"}, "refunds": {"type": "array", "items": {
            "$ref": "#/components/schemas/RefundSummary"}}}},
    "RefundSummary": {"type": "object", "properties": {
        "id": {"type": "integer"}, "amount_cents": {"type": "integer"},
        "status": {"type": "string", "enum": ["pending", "unknown", "succeeded", "failed"]},
        "created_at": {"type": "string", "format": "date-time"},
        "receipt_url": {"type": "string", "nullable": True, "description": "once the refund has gone through"}}},
})
_PDF = {"type": "string", "format": "binary"}
_RECEIPT_ERRORS = openapi.error_responses(401, 404, 503)  # 404 for anyone but the patient and billing staff
openapi.add_paths({
    "/setup-intents": {"post": {"summary": "A SetupIntent client secret for the card field (patient)",
                                "responses": {**openapi.ok("created", {"type": "object", "properties": {
                                    "client_secret": {"type": "string"}}}, status=201),
                                    **openapi.error_responses(401, 403, 503)}}},
    "/appointments/{id}/pay": {"parameters": _ID, "post": {
        "summary": "Pay for a held appointment by card (owner)", "requestBody": _PAY_BODY,
        "responses": {**openapi.ok("paid, or 3-D Secure needed (next_action)", {"type": "object", "properties": {
            "appointment": {"$ref": "#/components/schemas/Appointment"},
            "payment": {"$ref": "#/components/schemas/PaymentSummary"}, "next_action": _NEXT}}), **_PAY_ERRORS}}},
    "/series/{id}/pay": {"parameters": _ID, "post": {
        "summary": "Pay for every held session of a series in one payment (owner)", "requestBody": _PAY_BODY,
        "responses": {**openapi.ok("paid", {"type": "object", "properties": {
            "appointments": {"type": "array", "items": {"$ref": "#/components/schemas/Appointment"}},
            "payment": {"$ref": "#/components/schemas/PaymentSummary"}, "next_action": _NEXT}}), **_PAY_ERRORS}}},
    "/payments": {"get": {"summary": "Payments (a patient's own; all for billing staff)", "responses": {
        **openapi.ok("payments", {"type": "object", "properties": {"payments": {
            "type": "array", "items": {"$ref": "#/components/schemas/Payment"}}}}), **openapi.error_responses(401)}}},
    "/payments/{id}": {"parameters": _ID, "get": {
        "summary": "One payment (owner, billing); an unsettled one is brought up to date from Stripe first",
        "responses": {**openapi.ok("payment", {"type": "object", "properties": {
            "payment": {"$ref": "#/components/schemas/Payment"}}}), **openapi.error_responses(401, 404)}}},
    "/payments/{id}/receipt.pdf": {"parameters": _ID, "get": {
        "summary": "The receipt of a succeeded payment, as PDF (owner, billing staff); 503 when the PDF engine is "
                   "unavailable", "responses": {**openapi.ok("the receipt", _PDF, media="application/pdf"),
                                                 **_RECEIPT_ERRORS}}},
    "/refunds/{id}/receipt.pdf": {"parameters": _ID, "get": {
        "summary": "The receipt of a refund that has gone through, as PDF (owner, billing staff); 503 when the PDF "
                   "engine is unavailable", "responses": {**openapi.ok("the refund receipt", _PDF,
                                                                       media="application/pdf"), **_RECEIPT_ERRORS}}},
    "/payments/{id}/refunds": {"parameters": _ID, "post": {
        "summary": "Refund part or all of what remains (billing staff)",
        "requestBody": openapi.json_body({"type": "object", "required": ["amount_cents", "reason"], "properties": {
            "amount_cents": {"type": "integer"}, "reason": {"type": "string"}}}),
        "responses": {**openapi.ok("refunded", {"type": "object", "properties": {
            "refund": {"type": "object", "properties": {"id": {"type": "integer"}, "amount_cents": {"type": "integer"},
                                                        "status": {"type": "string"}}},
            "payment": {"$ref": "#/components/schemas/Payment"}}}, status=201),
            **openapi.error_responses(400, 401, 403, 404, 409, 422)}}},
    "/appointments/{id}/cancellation": {"parameters": _ID, "get": {
        "summary": "What cancelling now would refund, and the policy as a sentence", "responses": {
            **openapi.ok("preview", {"type": "object", "properties": {
                "refund_cents": {"type": "integer"}, "currency": {"type": "string"}, "policy": {"type": "string"}}}),
            **openapi.error_responses(401, 404)}}},
})

_PACKAGE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "patient_id": {"type": "integer"}, "service": {"type": "string"},
    "sessions": {"type": "integer", "description": "credits bought"}, "price_cents": {"type": "integer"},
    "currency": {"type": "string"}, "payment": {"$ref": "#/components/schemas/PaymentSummary"},
    "used": {"type": "integer"}, "returned": {"type": "integer"},
    "taken_back": {"type": "integer", "description": "credits a refund of the package took back"},
    "remaining": {"type": "integer",
                  "description": "sessions - taken_back - used + returned once paid; 0 - used + returned before"},
    "created_at": {"type": "string", "format": "date-time"}}}
openapi.add_schemas({"Package": _PACKAGE})
openapi.add_paths({"/packages": {
    "post": {"summary": "Buy the prepaid induction package by card (patient): its size and price are the clinic's "
                        "settings; a series booked while credits are left is confirmed without a card payment",
             "requestBody": _PAY_BODY,
             "responses": {**openapi.ok("bought, or 3-D Secure needed (next_action)", {"type": "object", "properties": {
                 "package": {"$ref": "#/components/schemas/Package"},
                 "payment": {"$ref": "#/components/schemas/PaymentSummary"}, "next_action": _NEXT}}, status=201),
                 **_PAY_ERRORS}},
    "get": {"summary": "Packages (a patient's own with credits_remaining; all for billing staff)", "responses": {
        **openapi.ok("packages", {"type": "object", "properties": {
            "packages": {"type": "array", "items": {"$ref": "#/components/schemas/Package"}},
            "credits_remaining": {"type": "integer"}}}), **openapi.error_responses(401)}}}})
