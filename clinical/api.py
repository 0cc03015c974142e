"""JSON API v1 for the clinical path: intake, clearance, outcome scores and flags (routes on clinic.api's
blueprint; integration therapy books appointments, so its route is in booking.api). Each route: its body checked
against its clinical.api_shapes declaration, then load, authorize, one service call, commit, respond."""
from __future__ import annotations

from flask import jsonify

from clinic import audit, openapi, shapes
from clinic.api import api_blueprint, patient_for_staff_or_self, visible_patient
from clinic.auth_context import require_api_user
from clinic.database import utcnow
from clinic.errors import Forbidden, NotFound, ValidationError
from clinic.extensions import db
from clinic.models import Patient, Role, User
from clinic.settings import local_iso
from clinical import api_shapes as shape, crisis, hooks, services as clinical
from clinical.models import Clearance, Intake, OutcomeScore, PatientFlag

bp = api_blueprint("clinical_api", __name__)

CLINICAL_READERS = (Role.clinician, Role.admin)  # who may read intake answers and outcome scores besides the patient


# --- answers' JSON (declared in clinical.api_shapes) --------------------------------------------------------------

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
    fields = {"id": score.id, "patient_id": score.patient_id, "instrument": score.instrument, "score": score.score,
             "max_score": clinical.PCL5_MAX, "taken_at": local_iso(score.taken_at),
             "appointment_id": score.appointment_id, "answers": score.answers}
    if summary is not None:
        fields["change"] = summary.change_at(score)
    return fields


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
@openapi.operation("The intake screening questions", answers={200: shape.IntakeQuestions}, public=True)
def intake_questions():
    return jsonify(questions=[{"key": q.key, "text": q.text, "kind": q.kind, "section": q.section,
                               "required": q.required, "maximum": q.maximum or None,
                               "choices": [{"value": v, "label": label} for v, label in q.choices] or None}
                              for q in clinical.INTAKE_QUESTIONS])


@bp.post("/intake")
@openapi.operation("Submit intake screening answers (patient). An answer of active suicidal thoughts adds `crisis` "
                   "(message and resources) and flags the patient for staff the same day",
                   body=shape.IntakeAnswers, answers={201: shape.IntakeSubmitted}, errors=(400, 401, 403, 404, 422),
                   roles=(Role.patient,))
def submit_intake(body: shape.IntakeAnswers):
    actor = require_api_user(Role.patient)
    patient = _own_patient(actor)
    now = utcnow()
    intake = clinical.submit_intake(actor, patient, body.model_dump(), now)
    audit.record("create", "intake", intake.id, detail={"crisis": intake.crisis_flag})
    db.session.commit()
    answer = {"intake": intake_json(intake)}
    if intake.crisis_flag:
        answer["crisis"] = crisis.response(now)
    return jsonify(answer), 201


@bp.get("/patients/<int:patient_id>/intakes")
@openapi.operation("A patient's intakes, newest first (the patient, clinicians)", answers={200: shape.Intakes},
                   errors=(401, 403, 404))
def list_intakes(patient_id: int):
    patient = _clinical_reader(patient_id)
    rows = clinical.intakes_of(patient)
    audit.record("view", "intake", None, detail={"patient_id": patient.id, "count": len(rows)})
    db.session.commit()
    return jsonify(intakes=[intake_json(i) for i in rows])


# --- clearance ----------------------------------------------------------------------------------------------------

@bp.post("/patients/<int:patient_id>/clearance")
@openapi.operation("Clear a patient for protocols, or refuse with `cleared: false` and a reason (clinician)",
                   body=shape.ClearanceDecision, answers={201: shape.ClearanceDecided},
                   errors=(400, 401, 403, 404, 422), roles=(Role.clinician,))
def decide_clearance(patient_id: int, body: shape.ClearanceDecision):
    actor = require_api_user(Role.clinician)
    patient = visible_patient(patient_id)
    clearance = _clear(actor, patient, body) if body.cleared else _refuse(actor, patient, body)
    audit.record("create", "clearance", clearance.id, detail={"patient_id": patient.id, "cleared": body.cleared})
    db.session.commit()
    return jsonify(clearance=clearance_json(clearance)), 201


def _clear(actor: User, patient: Patient, body: shape.ClearanceDecision) -> Clearance:
    """A clearance needs its protocols and diagnosis codes, read only once a clinician is known to decide (anyone
    else is told 403, not what the body lacks); a REMS date left out keeps the one on file."""
    needs = shapes.read(shape.ClearanceNeeds, body.model_dump())
    extra = {"rems_enrollment_date": body.rems_enrollment_date} if "rems_enrollment_date" in body.given() else {}
    return clinical.clear(actor, patient, protocols=needs.protocols, diagnosis_codes=needs.diagnosis_codes,
                          notes=body.notes, **extra)


def _refuse(actor: User, patient: Patient, body: shape.ClearanceDecision) -> Clearance:
    needs = shapes.read(shape.RefusalNeeds, body.model_dump())
    return clinical.refuse(actor, patient, notes=body.notes, reason=needs.reason,
                           diagnosis_codes=body.diagnosis_codes or [])


@bp.post("/patients/<int:patient_id>/clearance/withdraw")
@openapi.operation("Withdraw the clearance in force (clinician)", body=shape.ClearanceWithdrawal,
                   answers={200: shape.ClearanceWithdrawn}, errors=(400, 401, 403, 404, 409, 422),
                   roles=(Role.clinician,))
def withdraw_clearance(patient_id: int, body: shape.ClearanceWithdrawal):
    actor = require_api_user(Role.clinician)
    patient = visible_patient(patient_id)
    clearance = clinical.withdraw(actor, patient, reason=body.reason)
    upcoming = clinical.upcoming_treatments(patient)
    audit.record("withdraw", "clearance", clearance.id, detail={"patient_id": patient.id})
    db.session.commit()
    return jsonify(clearance=clearance_json(clearance), upcoming_treatment_ids=[a.id for a in upcoming])


@bp.get("/patients/<int:patient_id>/clearances")
@openapi.operation("Clearance history, newest first, and the current decision (staff, the patient)",
                   answers={200: shape.Clearances}, errors=(401, 404))
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
@openapi.operation("Record a PCL-5 (patient; a clinician gives patient_id)", body=shape.OutcomeSubmission,
                   answers={201: shape.OutcomeRecorded}, errors=(400, 401, 403, 404, 422),
                   roles=(Role.patient, Role.clinician))
def record_outcome(body: shape.OutcomeSubmission):
    actor = require_api_user(Role.patient, Role.clinician)
    patient = patient_for_staff_or_self(actor, {"patient_id": body.patient_id})
    appointment = _appointment_of(patient, body.appointment_id) if body.appointment_id is not None else None
    score = clinical.record_outcome(actor, patient, answers=body.answers, appointment=appointment,
                                    instrument=body.instrument or "pcl5")
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
@openapi.operation("PCL-5 scores over time with baseline, change and clinically_meaningful "
                   f"(a fall of {clinical.MEANINGFUL_FALL} or more)", answers={200: shape.Outcomes},
                   errors=(401, 403, 404))
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
@openapi.operation("Open patient flags staff must see today (clinician, front desk, admin)",
                   answers={200: shape.Flags}, errors=(401, 403))
def list_flags():
    require_api_user(Role.clinician, Role.frontdesk, Role.admin)
    flags = clinical.open_flags()
    audit.record("list", "patient_flag", None, detail={"count": len(flags)})
    db.session.commit()
    return jsonify(flags=[flag_json(f) for f in flags])


@bp.post("/flags/<int:flag_id>/resolve")
@openapi.operation("Resolve a flag once the patient has been contacted (clinician)",
                   answers={200: shape.FlagResolved}, errors=(401, 403, 404, 409))
def resolve_flag(flag_id: int):
    actor = require_api_user(Role.clinician)
    flag = db.session.get(PatientFlag, flag_id)
    if flag is None:
        raise NotFound("We could not find that flag.")
    clinical.resolve_flag(actor, flag)
    audit.record("resolve", "patient_flag", flag.id, detail={"patient_id": flag.patient_id})
    db.session.commit()
    return jsonify(flag=flag_json(flag))
