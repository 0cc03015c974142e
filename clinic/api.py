"""JSON API v1: authentication, tokens, patients and the OpenAPI document. Domain packages add their own
blueprints under the same prefix with `api_blueprint`."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import func, select

from clinic import accounts, audit, jsonin, openapi
from clinic.api_shapes import PatientAnswer, PatientChanged, PatientChanges, Token, TokenRequest
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
@openapi.operation("Sign in and get a bearer token", body=TokenRequest, answers={201: Token},
                   errors=(400, 401, 422, 429), public=True)
def create_token(body: TokenRequest):
    user = db.session.scalar(select(User).where(func.lower(User.email) == body.email.lower()))
    if not check_password(user.password_hash if user else None, body.password) or not user.active:
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
@openapi.operation("A patient's details (the patient or staff)", answers={200: PatientAnswer}, errors=(401, 404))
def get_patient(patient_id: int):
    patient = visible_patient(patient_id)
    audit.record("view", "patient", patient.id)
    db.session.commit()
    return jsonify(patient=patient_json(patient))


@bp.patch("/patients/<int:patient_id>")
@openapi.operation("Change a patient's details", body=PatientChanges, answers={200: PatientChanged},
                   errors=(400, 401, 404, 409, 422))
def update_patient(patient_id: int, body: PatientChanges):
    patient = visible_patient(patient_id)
    changes = {name: getattr(body, name) for name in body.given()}
    new_email = _email_change(patient, changes)
    changed = apply_patient_changes(patient, changes)
    audit.record("change", "patient", patient.id, detail={"fields": sorted(changed)})
    db.session.commit()
    if new_email is None:
        return jsonify(patient=patient_json(patient))
    message = f"We sent a confirmation link to {new_email}. The email address changes when it is opened."
    return jsonify(patient=patient_json(patient), email_change={"status": "confirmation_sent", "email": new_email,
                                                                "message": message})


def _email_change(patient: Patient, changes: dict) -> str | None:
    """A new address for a patient who signs in is only requested here (a link goes to it): taking an
    address at once would hand over whatever was booked with it. Takes the address out of `changes` and
    returns the requested one."""
    if "email" not in changes or patient.user is None:
        return None
    new_email = changes.pop("email")
    if new_email == patient.user.email:
        return None
    accounts.request_email_change(patient.user, new_email)
    return new_email


def apply_patient_changes(patient: Patient, values: dict) -> set[str]:
    """Set a patient's checked details (PatientChanges); an email address another account holds is refused."""
    if "email" in values and values["email"] != patient.email:
        taken = db.session.scalar(select(Patient.id).where(
            Patient.email == values["email"], Patient.id != patient.id, Patient.user_id.is_not(None)))
        if taken:
            raise Conflict("That email address is already used for another patient.", fields={"email": "already used"})
    for field, value in values.items():
        setattr(patient, field, value)
    return set(values)


@bp.get("/openapi.json")
@openapi.operation("This document", answers={200: openapi.Media("application/json", "OpenAPI 3 document",
                                                                {"type": "object"})}, public=True)
def openapi_document():
    return jsonify(openapi.document())


