"""JSON API v1 for superbills (issue, list, download, void and reissue) and Good Faith Estimates (list, download,
the overrun report); routes on clinic.api's blueprint."""
from __future__ import annotations

from flask import Response, jsonify
from sqlalchemy import select

from billing import estimates, superbills
from billing.api_shapes import (EstimateOverruns, Estimates, PatientFilter, SuperbillAnswer, SuperbillRequest,
                                Superbills, SuperbillsIssued, SuperbillVoided, VoidRequest)
from billing.models import Estimate, Superbill
from booking.serialize import local_iso
from clinic import audit, openapi
from clinic.api import api_blueprint
from clinic.auth_context import require_api_user
from clinic.errors import NotFound, ValidationError
from clinic.extensions import db
from clinic.models import Patient, Role, User

bp = api_blueprint("superbill_api", __name__)

BILLING_ROLES = (Role.billing, Role.admin)
_SUPERBILL_PDF = openapi.Media("application/pdf", "the superbill as PDF (marked VOID once voided)")


def is_billing(user: User) -> bool:
    return user.role in {r.value for r in BILLING_ROLES}


def superbill_json(superbill: Superbill) -> dict:
    return {"id": superbill.id, "number": superbill.number, "patient_id": superbill.patient_id,
            "status": superbill.status, "replaces": superbill.replaces_id, "from": superbill.first_day.isoformat(),
            "to": superbill.last_day.isoformat(), "total_charged_cents": superbill.total_charged_cents,
            "total_paid_cents": superbill.total_paid_cents, "currency": superbill.currency,
            "total_adjustment_cents": superbill.snapshot.get("adjustment_cents", 0),
            "rendering_clinician": (superbill.snapshot.get("provider") or {}).get("name"),
            "void_reason": superbill.void_reason, "pdf_url": f"/api/v1/superbills/{superbill.id}.pdf"}


@bp.post("/superbills")
@openapi.operation("Issue a superbill for a patient's completed, paid visits in a date range (billing); 422 "
                   "nothing_to_bill or missing_billing_details", body=SuperbillRequest,
                   answers={201: SuperbillsIssued}, errors=(400, 401, 403, 404, 422, 503), roles=BILLING_ROLES)
def issue_superbill(body: SuperbillRequest):
    actor = require_api_user(*BILLING_ROLES)
    patient = _patient(body.patient_id)
    if body.last < body.first:
        message = "The last date must be on or after the first."
        raise ValidationError(message, fields={"to": message})
    issued = superbills.issue_all(actor, patient, body.first, body.last)
    db.session.commit()
    return jsonify(superbill=superbill_json(issued[0]), superbills=[superbill_json(s) for s in issued]), 201


@bp.get("/superbills")
@openapi.operation("Superbills (a patient's own; any patient's for billing)", query=PatientFilter,
                   answers={200: Superbills}, errors=(401, 404, 422))
def list_superbills(query: PatientFilter):
    rows = _newest_first(Superbill, Superbill.issued_at, _own_or_any(require_api_user(), query.patient_id), "superbill")
    db.session.commit()
    return jsonify(superbills=[superbill_json(s) for s in rows])


@bp.get("/superbills/<int:superbill_id>")
@openapi.operation("One superbill (owner, billing)", answers={200: SuperbillAnswer}, errors=(401, 404))
def get_superbill(superbill_id: int):
    superbill = visible_superbill(require_api_user(), superbill_id)
    audit.record("view", "superbill", superbill.id)
    db.session.commit()
    return jsonify(superbill=superbill_json(superbill))


@bp.get("/superbills/<int:superbill_id>.pdf")
@openapi.operation("Download a superbill (owner, billing)", answers={200: _SUPERBILL_PDF}, errors=(401, 404, 503))
def superbill_pdf(superbill_id: int):
    superbill = visible_superbill(require_api_user(), superbill_id)
    body = superbills.pdf_for(superbill)
    audit.record("download", "superbill", superbill.id)
    db.session.commit()
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{superbill.number}.pdf"', "Cache-Control": "private, no-store"})


@bp.post("/superbills/<int:superbill_id>/void")
@openapi.operation("Void a superbill with a reason and, by default, issue the one that replaces it (billing)",
                   body=VoidRequest, answers={200: SuperbillVoided}, errors=(400, 401, 403, 404, 422, 503),
                   roles=BILLING_ROLES)
def void_superbill(superbill_id: int, body: VoidRequest):
    actor = require_api_user(*BILLING_ROLES)
    superbill = visible_superbill(actor, superbill_id)
    replacement = superbills.void(actor, superbill, body.reason, reissue=body.reissue)
    db.session.commit()
    return jsonify(superbill=superbill_json(superbill),
                   replacement=superbill_json(replacement) if replacement else None)


def visible_superbill(actor: User, superbill_id: int) -> Superbill:
    """The superbill for its patient and billing staff; anyone else is told it does not exist."""
    superbill = db.session.get(Superbill, superbill_id)
    if superbill is None or not (is_billing(actor) or superbill.patient_id == actor.patient_id):
        raise NotFound("We could not find that superbill.")
    return superbill


def _patient(patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("We could not find that patient.", fields={"patient_id": "No patient has this id."})
    return patient


# --- Good Faith Estimates ---------------------------------------------------------------------------------------

def estimate_json(estimate: Estimate) -> dict:
    return {"id": estimate.id, "number": estimate.number, "patient_id": estimate.patient_id,
            "created_at": local_iso(estimate.created_at), "total_cents": estimate.total_cents,
            "currency": estimate.currency, "pdf_url": f"/api/v1/estimates/{estimate.id}.pdf"}


@bp.get("/estimates")
@openapi.operation("Good Faith Estimates (a patient's own; any patient's for billing)", query=PatientFilter,
                   answers={200: Estimates}, errors=(401, 404, 422))
def list_estimates(query: PatientFilter):
    rows = _newest_first(Estimate, Estimate.created_at, _own_or_any(require_api_user(), query.patient_id), "estimate")
    db.session.commit()
    return jsonify(estimates=[estimate_json(e) for e in rows])


@bp.get("/estimates/<int:estimate_id>.pdf")
@openapi.operation("Download a Good Faith Estimate (owner, billing)",
                   answers={200: openapi.Media("application/pdf", "the estimate as PDF")}, errors=(401, 404, 503))
def estimate_pdf(estimate_id: int):
    actor = require_api_user()
    estimate = db.session.get(Estimate, estimate_id)
    if estimate is None or not (is_billing(actor) or estimate.patient_id == actor.patient_id):
        raise NotFound("We could not find that estimate.")
    body = estimates.pdf_for(estimate)
    audit.record("download", "estimate", estimate.id)
    db.session.commit()
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{estimate.number}.pdf"', "Cache-Control": "private, no-store"})


@bp.get("/estimates/overruns")
@openapi.operation("Patients billed $400 or more above their estimate (billing)", answers={200: EstimateOverruns},
                   errors=(401, 403), roles=BILLING_ROLES)
def estimate_overruns():
    require_api_user(*BILLING_ROLES)
    return jsonify(overruns=estimates.overruns())


def _newest_first(model, issued, patient_id: int | None, record_type: str) -> list:
    """One patient's superbills or estimates (everyone's when `patient_id` is None), newest first; the listing is
    audited."""
    wanted = select(model).order_by(issued.desc(), model.id.desc())
    if patient_id is not None:
        wanted = wanted.where(model.patient_id == patient_id)
    rows = list(db.session.scalars(wanted))
    audit.record("list", record_type, None, detail={"patient_id": patient_id, "count": len(rows)})
    return rows


def _own_or_any(actor: User, patient_id: int | None) -> int | None:
    """Billing staff may ask for any patient (or all); anyone else only for themselves (another id is 404)."""
    if is_billing(actor):
        return patient_id
    if actor.patient_id is None or patient_id not in (None, actor.patient_id):
        raise NotFound("We could not find that patient.")
    return actor.patient_id
