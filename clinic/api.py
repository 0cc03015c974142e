"""JSON API v1: authentication, tokens, patients and the OpenAPI document. Domain packages add their own
blueprints under the same prefix with `api_blueprint`."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import func, select

from clinic import accounts, audit, jsonin, openapi
from clinic.auth_context import authenticate_api_request, require_api_user
from clinic.database import utcnow
from clinic.errors import Conflict, NotFound, Unauthorized
from clinic.extensions import csrf, db, limiter
from clinic.models import STAFF_ROLES, ApiToken, Patient, Role, User
from clinic.passwords import check_password
from clinic.tokens import new_token, token_hash



def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A package's part of API v1: the same prefix and the same authentication. CSRF is checked by
    authenticate_api_request when a browser login (not a token) is used."""
    blueprint = Blueprint(name, import_name, url_prefix="/api/v1")
    csrf.exempt(blueprint)
    blueprint.before_request(authenticate_api_request)
    return blueprint


bp = api_blueprint("api", __name__)


def login_key() -> str:
    """Throttle key per account: the email being tried, whatever the address it comes from."""
    data = request.get_json(silent=True, force=True) if request.is_json or request.data else None
    raw = data.get("email") if isinstance(data, dict) else request.form.get("email")
    return f"account:{str(raw or '').strip().lower()[:254]}"


def failed(response) -> bool:
    return response.status_code in (401, 422)


@bp.post("/tokens")
@limiter.limit("10 per 15 minutes", key_func=login_key, deduct_when=failed)
@limiter.limit("30 per 15 minutes", deduct_when=failed)
def create_token():
    data = jsonin.json_object()
    email = jsonin.text(data, "email", label="email address", max_len=254)
    password = jsonin.text(data, "password", max_len=200)
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if not check_password(user.password_hash if user else None, password) or not user.active:
        raise Unauthorized("That email and password do not match an account.", code="invalid_credentials")
    if user.totp_secret:
        raise Unauthorized("This account uses a second factor: please sign in on the website.", code="second_factor_required")
    token = new_token()
    row = ApiToken(token_hash=token_hash(token), user=user, expires_at=utcnow() + current_app.config["API_TOKEN_LIFETIME"])
    db.session.add(row)
    audit.record("login", "user", user.id, user=user, detail={"via": "api"})
    db.session.commit()
    return jsonify(token=token, expires_at=row.expires_at.isoformat(), user=user_json(user)), 201


def user_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "role": user.role, "patient_id": user.patient_id}


def patient_json(patient: Patient) -> dict:
    return {"id": patient.id, "name": patient.name, "email": patient.email, "phone": patient.phone,
            "date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
            "address": patient.address}


def visible_patient(patient_id: int) -> Patient:
    """The patient record if the acting user may see it; 404 otherwise (never tells that it exists)."""
    user = require_api_user()
    patient = db.session.get(Patient, patient_id)
    if patient is None or not (user.role in STAFF_ROLES or patient.user_id == user.id):
        raise NotFound("We could not find that patient.")
    return patient


def patient_for_staff_or_self(actor: User, data: dict) -> Patient:
    if actor.role == Role.patient.value:
        if actor.patient is None:
            raise NotFound("We could not find your patient record.")
        return actor.patient
    patient_id = jsonin.integer(data, "patient_id", required=True, minimum=1, label="patient")
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("We could not find that patient.", fields={"patient_id": "not found"})
    return patient


@bp.get("/patients/<int:patient_id>")
def get_patient(patient_id: int):
    patient = visible_patient(patient_id)
    audit.record("view", "patient", patient.id)
    db.session.commit()
    return jsonify(patient=patient_json(patient))


@bp.patch("/patients/<int:patient_id>")
def update_patient(patient_id: int):
    patient = visible_patient(patient_id)
    data = jsonin.json_object()
    new_email = _email_change(patient, data)
    changed = apply_patient_changes(patient, data)
    audit.record("change", "patient", patient.id, detail={"fields": sorted(changed)})
    db.session.commit()
    if new_email is None:
        return jsonify(patient=patient_json(patient))
    message = f"We sent a confirmation link to {new_email}. The email address changes when it is opened."
    return jsonify(patient=patient_json(patient), email_change={"status": "confirmation_sent", "email": new_email,
                                                                "message": message})


def _email_change(patient: Patient, data: dict) -> str | None:
    """A new address for a patient who signs in is only requested here (a link goes to it): taking an
    address at once would hand over whatever was booked with it. Returns the requested address."""
    if "email" not in data or patient.user is None:
        return None
    new_email = jsonin.email(data)
    del data["email"]
    if new_email == patient.user.email:
        return None
    accounts.request_email_change(patient.user, new_email)
    return new_email


def apply_patient_changes(patient: Patient, data: dict) -> set[str]:
    changed = {field for field in jsonin.PATIENT_FIELDS if field in data}
    values = jsonin.patient_details(data, changed)
    if "email" in values and values["email"] != patient.email:
        taken = db.session.scalar(select(Patient.id).where(
            Patient.email == values["email"], Patient.id != patient.id, Patient.user_id.is_not(None)))
        if taken:
            raise Conflict("That email address is already used for another patient.", fields={"email": "already used"})
    for field, value in values.items():
        setattr(patient, field, value)
    return changed


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document())


openapi.add_schemas({
    "Patient": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "email": {"type": "string"},
        "phone": {"type": "string", "nullable": True}, "date_of_birth": {"type": "string", "format": "date", "nullable": True},
        "address": {"type": "string", "nullable": True}}},
    "User": {"type": "object", "properties": {
        "id": {"type": "integer"}, "email": {"type": "string"},
        "role": {"type": "string", "enum": ["patient", "clinician", "frontdesk", "billing", "admin"]},
        "patient_id": {"type": "integer", "nullable": True}}},
})
_PATIENT = {"type": "object", "properties": {"patient": {"$ref": "#/components/schemas/Patient"}}}
_PATIENT_CHANGED = {"type": "object", "properties": {
    "patient": {"$ref": "#/components/schemas/Patient"},
    "email_change": {"type": "object", "description": "Present when a new email address awaits confirmation",
                     "properties": {"status": {"type": "string", "enum": ["confirmation_sent"]},
                                    "email": {"type": "string"}, "message": {"type": "string"}}}}}
openapi.add_paths({
    "/tokens": {"post": {
        "summary": "Sign in and get a bearer token", "security": [],
        "requestBody": openapi.json_body({"type": "object", "required": ["email", "password"], "properties": {
            "email": {"type": "string"}, "password": {"type": "string"}}}),
        "responses": {**openapi.ok("token", {"type": "object", "properties": {
            "token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"},
            "user": {"$ref": "#/components/schemas/User"}}}, status=201), **openapi.error_responses(400, 401, 422, 429)}}},
    "/patients/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "get": {"summary": "A patient's details (the patient or staff)",
                "responses": {**openapi.ok("patient", _PATIENT), **openapi.error_responses(401, 404)}},
        "patch": {"summary": "Change a patient's details", "requestBody": openapi.json_body({"type": "object", "properties": {
            "name": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string"},
            "date_of_birth": {"type": "string", "format": "date"}, "address": {"type": "string"}}}),
            "responses": {**openapi.ok("patient (a new email address of a patient who signs in changes only once "
                                       "confirmed from the link sent to it)", _PATIENT_CHANGED),
                          **openapi.error_responses(400, 401, 404, 409, 422)}}},
    "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": openapi.ok("OpenAPI 3 document")}},
})
