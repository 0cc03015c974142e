"""JSON API v1 for the clinical path: intake, clearance, outcome scores and flags (routes on clinic.api's
blueprint; integration therapy books appointments, so its route is in booking.api). Each route: load, authorize, validate, one service call, commit, respond."""
from __future__ import annotations

from flask import jsonify

from clinic import audit, jsonin, openapi
from clinic.api import api_blueprint, patient_for_staff_or_self, visible_patient
from clinic.auth_context import require_api_user
from clinic.database import utcnow
from clinic.errors import Forbidden, NotFound, ValidationError
from clinic.extensions import db
from clinic.models import Patient, Role, User
from clinic.settings import local_iso
from clinical import crisis, hooks, services as clinical
from clinical.models import Clearance, Intake, OutcomeScore, PatientFlag

bp = api_blueprint("clinical_api", __name__)

CLINICAL_READERS = (Role.clinician, Role.admin)  # who may read intake answers and outcome scores besides the patient


# --- shapes -------------------------------------------------------------------------------------------------------

def intake_json(intake: Intake) -> dict:
    return {"id": intake.id, "patient_id": intake.patient_id, "submitted_at": local_iso(intake.submitted_at),
            "answers": intake.answers, "crisis": intake.crisis_flag, "concerns": clinical.concerns(intake.answers),
            "reviewed_at": local_iso(intake.reviewed_at)}


def clearance_json(clearance: Clearance) -> dict:
    return {"id": clearance.id, "patient_id": clearance.patient_id, "cleared": clearance.cleared,
            "protocols": clearance.protocols, "diagnosis_codes": clearance.diagnosis_codes, "notes": clearance.notes,
            "reason": clearance.reason, "rems_enrollment_date":
                clearance.rems_enrollment_date.isoformat() if clearance.rems_enrollment_date else None,
            "decided_at": local_iso(clearance.decided_at), "decided_by_id": clearance.decided_by_id,
            "clinician_id": clearance.clinician_id, "status": clinical.clearance_status(clearance),
            "withdrawn_at": local_iso(clearance.withdrawn_at), "withdrawn_reason": clearance.withdrawn_reason}


def outcome_json(score: OutcomeScore, summary: clinical.OutcomeSummary | None = None) -> dict:
    shape = {"id": score.id, "patient_id": score.patient_id, "instrument": score.instrument, "score": score.score,
             "max_score": clinical.PCL5_MAX, "taken_at": local_iso(score.taken_at),
             "appointment_id": score.appointment_id, "answers": score.answers}
    if summary is not None:
        shape["change"] = summary.change_at(score)
    return shape


def flag_json(flag: PatientFlag) -> dict:
    return {"id": flag.id, "patient_id": flag.patient_id, "kind": flag.kind, "raised_at": local_iso(flag.raised_at),
            "resolved_at": local_iso(flag.resolved_at)}


def _own_patient(actor: User) -> Patient:
    if actor.patient is None:
        raise NotFound("We could not find your patient record.")
    return actor.patient


def _clinical_reader(patient_id: int) -> Patient:
    """The patient themself or a clinician (or admin) may read clinical answers; other staff may not."""
    actor = require_api_user()
    patient = visible_patient(patient_id)
    if actor.is_staff and actor.role not in {r.value for r in CLINICAL_READERS}:
        raise Forbidden("Only clinicians can read clinical answers and scores.")
    return patient


# --- intake -------------------------------------------------------------------------------------------------------

@bp.get("/intake/questions")
def intake_questions():
    return jsonify(questions=[{"key": q.key, "text": q.text, "kind": q.kind, "section": q.section,
                               "required": q.required, "maximum": q.maximum or None,
                               "choices": [{"value": v, "label": label} for v, label in q.choices] or None}
                              for q in clinical.INTAKE_QUESTIONS])


@bp.post("/intake")
def submit_intake():
    actor = require_api_user(Role.patient)
    patient = _own_patient(actor)
    data = jsonin.json_object()
    answers = data["answers"] if isinstance(data.get("answers"), dict) else data
    now = utcnow()
    intake = clinical.submit_intake(actor, patient, answers, now)
    audit.record("create", "intake", intake.id, detail={"crisis": intake.crisis_flag})
    db.session.commit()
    body = {"intake": intake_json(intake)}
    if intake.crisis_flag:
        body["crisis"] = crisis.response(now)
    return jsonify(body), 201


@bp.get("/patients/<int:patient_id>/intakes")
def list_intakes(patient_id: int):
    patient = _clinical_reader(patient_id)
    rows = clinical.intakes_of(patient)
    audit.record("view", "intake", None, detail={"patient_id": patient.id, "count": len(rows)})
    db.session.commit()
    return jsonify(intakes=[intake_json(i) for i in rows])


# --- clearance ----------------------------------------------------------------------------------------------------

@bp.post("/patients/<int:patient_id>/clearance")
def decide_clearance(patient_id: int):
    actor = require_api_user(Role.clinician)
    patient = visible_patient(patient_id)
    data = jsonin.json_object()
    cleared = jsonin.boolean(data, "cleared", default=True)
    notes = jsonin.text(data, "notes", required=False, max_len=4000, multiline=True)
    if cleared:
        extra = {"rems_enrollment_date": jsonin.day(data, "rems_enrollment_date", required=False,
                                                    label="REMS enrollment date")} \
            if "rems_enrollment_date" in data else {}
        clearance = clinical.clear(actor, patient, protocols=jsonin.string_list(data, "protocols"),
                                   diagnosis_codes=jsonin.string_list(data, "diagnosis_codes"), notes=notes, **extra)
    else:
        clearance = clinical.refuse(actor, patient, notes=notes,
                                    reason=jsonin.text(data, "reason", max_len=4000, multiline=True),
                                    diagnosis_codes=jsonin.string_list(data, "diagnosis_codes", required=False)
                                    if data.get("diagnosis_codes") != [] else [])
    audit.record("create", "clearance", clearance.id, detail={"patient_id": patient.id, "cleared": cleared})
    db.session.commit()
    return jsonify(clearance=clearance_json(clearance)), 201


@bp.post("/patients/<int:patient_id>/clearance/withdraw")
def withdraw_clearance(patient_id: int):
    actor = require_api_user(Role.clinician)
    patient = visible_patient(patient_id)
    data = jsonin.json_object()
    clearance = clinical.withdraw(actor, patient, reason=jsonin.text(data, "reason", max_len=4000, multiline=True))
    upcoming = clinical.upcoming_treatments(patient)
    audit.record("withdraw", "clearance", clearance.id, detail={"patient_id": patient.id})
    db.session.commit()
    return jsonify(clearance=clearance_json(clearance), upcoming_treatment_ids=[a.id for a in upcoming])


@bp.get("/patients/<int:patient_id>/clearances")
def list_clearances(patient_id: int):
    patient = visible_patient(patient_id)
    history = clinical.clearance_history(patient)
    audit.record("view", "clearance", None, detail={"patient_id": patient.id, "count": len(history)})
    db.session.commit()
    current = next((c for c in history if c.withdrawn_at is None), None)
    return jsonify(clearances=[clearance_json(c) for c in history],
                   current=clearance_json(current) if current is not None else None)


# --- outcomes -----------------------------------------------------------------------------------------------------

@bp.post("/outcomes")
def record_outcome():
    actor = require_api_user(Role.patient, Role.clinician)
    data = jsonin.json_object()
    patient = patient_for_staff_or_self(actor, data)
    appointment_id = jsonin.integer(data, "appointment_id", minimum=1, label="appointment")
    appointment = _appointment_of(patient, appointment_id) if appointment_id is not None else None
    score = clinical.record_outcome(actor, patient, answers=data.get("answers"), appointment=appointment,
                                    instrument=jsonin.text(data, "instrument", required=False, max_len=20) or "pcl5")
    audit.record("create", "outcome_score", score.id, detail={"patient_id": patient.id})
    db.session.commit()
    return jsonify(outcome=outcome_json(score), score=score.score), 201


def _appointment_of(patient: Patient, appointment_id: int):
    appointment = hooks.patients_appointment(patient, appointment_id)
    if appointment is None:
        message = "We could not find that appointment."
        raise ValidationError(message, fields={"appointment_id": message})
    return appointment


@bp.get("/patients/<int:patient_id>/outcomes")
def list_outcomes(patient_id: int):
    patient = _clinical_reader(patient_id)
    summary = clinical.outcome_summary(patient)
    audit.record("view", "outcome_score", None, detail={"patient_id": patient.id, "count": len(summary.scores)})
    db.session.commit()
    return jsonify(patient_id=patient.id, instrument="pcl5", max_score=clinical.PCL5_MAX,
                   scores=[outcome_json(s, summary) for s in summary.scores], baseline=summary.baseline,
                   latest=summary.latest, change=summary.change,
                   clinically_meaningful=summary.clinically_meaningful,
                   meaningful_fall=clinical.MEANINGFUL_FALL)


# --- flags --------------------------------------------------------------------------------------------------------

@bp.get("/flags")
def list_flags():
    require_api_user(Role.clinician, Role.frontdesk, Role.admin)
    flags = clinical.open_flags()
    audit.record("list", "patient_flag", None, detail={"count": len(flags)})
    db.session.commit()
    return jsonify(flags=[flag_json(f) for f in flags])


@bp.post("/flags/<int:flag_id>/resolve")
def resolve_flag(flag_id: int):
    actor = require_api_user(Role.clinician)
    flag = db.session.get(PatientFlag, flag_id)
    if flag is None:
        raise NotFound("We could not find that flag.")
    clinical.resolve_flag(actor, flag)
    audit.record("resolve", "patient_flag", flag.id, detail={"patient_id": flag.patient_id})
    db.session.commit()
    return jsonify(flag=flag_json(flag))


# --- OpenAPI ------------------------------------------------------------------------------------------------------

_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_OBJ = {"type": "object"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_ANSWERS_SCHEMA = {"type": "object", "properties": {
    q.key: ({"type": "boolean"} if q.kind == "yes_no" else {"type": "integer", "minimum": 0, "maximum": q.maximum}
            if q.kind == "count" else {"type": "string", "enum": [v for v, _ in q.choices]} if q.kind == "choice"
            else {"type": "string", "maxLength": clinical.TEXT_MAX}) for q in clinical.INTAKE_QUESTIONS},
    "required": [q.key for q in clinical.INTAKE_QUESTIONS if q.required]}

openapi.add_paths({
    "/intake/questions": {"get": {"summary": "The intake screening questions", "security": [],
                                  "responses": openapi.ok("questions")}},
    "/intake": {"post": {
        "summary": "Submit intake screening answers (patient). An answer of active suicidal thoughts adds `crisis` "
                   "(message and resources) and flags the patient for staff the same day",
        "requestBody": openapi.json_body(_ANSWERS_SCHEMA),
        "responses": {**openapi.ok("intake, and crisis when raised", _OBJ, status=201),
                      **openapi.error_responses(400, 401, 403, 404, 422)}}},
    "/patients/{id}/intakes": {"parameters": _ID, "get": {
        "summary": "A patient's intakes, newest first (the patient, clinicians)",
        "responses": {**openapi.ok("intakes"), **openapi.error_responses(401, 403, 404)}}},
    "/patients/{id}/clearance": {"parameters": _ID, "post": {
        "summary": "Clear a patient for protocols, or refuse with `cleared: false` and a reason (clinician)",
        "requestBody": openapi.json_body({"type": "object", "properties": {
            "cleared": {"type": "boolean", "default": True}, "protocols": _STRINGS, "diagnosis_codes": _STRINGS,
            "notes": {"type": "string"}, "reason": {"type": "string"},
            "rems_enrollment_date": {"type": "string", "format": "date", "nullable": True}}}),
        "responses": {**openapi.ok("clearance", _OBJ, status=201), **openapi.error_responses(400, 401, 403, 404, 422)}}},
    "/patients/{id}/clearance/withdraw": {"parameters": _ID, "post": {
        "summary": "Withdraw the clearance in force (clinician)",
        "requestBody": openapi.json_body({"type": "object", "required": ["reason"],
                                          "properties": {"reason": {"type": "string"}}}),
        "responses": {**openapi.ok("clearance and upcoming treatment ids"),
                      **openapi.error_responses(400, 401, 403, 404, 409, 422)}}},
    "/patients/{id}/clearances": {"parameters": _ID, "get": {
        "summary": "Clearance history, newest first, and the current decision (staff, the patient)",
        "responses": {**openapi.ok("clearances"), **openapi.error_responses(401, 404)}}},
    "/outcomes": {"post": {
        "summary": "Record a PCL-5 (patient; a clinician gives patient_id)",
        "requestBody": openapi.json_body({"type": "object", "required": ["answers"], "properties": {
            "instrument": {"type": "string", "enum": list(clinical.INSTRUMENTS)},
            "answers": {"type": "array", "minItems": len(clinical.PCL5_ITEMS), "maxItems": len(clinical.PCL5_ITEMS),
                        "items": {"type": "integer", "minimum": 0, "maximum": clinical.PCL5_ITEM_MAX}},
            "appointment_id": {"type": "integer"}, "patient_id": {"type": "integer"}}}),
        "responses": {**openapi.ok(f"outcome with its score 0-{clinical.PCL5_MAX}", _OBJ, status=201),
                      **openapi.error_responses(400, 401, 403, 404, 422)}}},
    "/patients/{id}/outcomes": {"parameters": _ID, "get": {
        "summary": "PCL-5 scores over time with baseline, change and clinically_meaningful "
                   f"(a fall of {clinical.MEANINGFUL_FALL} or more)",
        "responses": {**openapi.ok("scores"), **openapi.error_responses(401, 403, 404)}}},
    "/flags": {"get": {"summary": "Open patient flags staff must see today (clinician, front desk, admin)",
                       "responses": {**openapi.ok("flags"), **openapi.error_responses(401, 403)}}},
    "/flags/{id}/resolve": {"parameters": _ID, "post": {
        "summary": "Resolve a flag once the patient has been contacted (clinician)",
        "responses": {**openapi.ok("flag"), **openapi.error_responses(401, 403, 404, 409)}}},
})
