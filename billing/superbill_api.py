"""JSON API v1 for superbills (issue, list, download, void and reissue) and Good Faith Estimates (list, download,
the overrun report); routes on clinic.api's blueprint."""
from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import select

from billing import estimates, superbill_openapi, superbills  # noqa: F401  (documents the routes)
from billing.models import Estimate, Superbill
from booking.serialize import local_iso
from clinic import audit, jsonin
from clinic.api import api_blueprint
from clinic.auth_context import require_api_user
from clinic.errors import NotFound, ValidationError
from clinic.extensions import db
from clinic.models import Patient, Role, User

bp = api_blueprint("superbill_api", __name__)

BILLING_ROLES = (Role.billing, Role.admin)


def is_billing(user: User) -> bool:
    return user.role in {r.value for r in BILLING_ROLES}


def superbill_json(superbill: Superbill) -> dict:
    return {"id": superbill.id, "number": superbill.number, "patient_id": superbill.patient_id,
            "status": superbill.status, "replaces": superbill.replaces_id, "from": superbill.first_day.isoformat(),
            "to": superbill.last_day.isoformat(), "total_charged_cents": superbill.total_charged_cents,
            "total_paid_cents": superbill.total_paid_cents, "currency": superbill.currency,
            "void_reason": superbill.void_reason, "pdf_url": f"/api/v1/superbills/{superbill.id}.pdf"}


@bp.post("/superbills")
def issue_superbill():
    actor = require_api_user(*BILLING_ROLES)
    data = jsonin.json_object()
    patient = _patient(jsonin.integer(data, "patient_id", required=True, minimum=1, label="patient"))
    first, last = jsonin.day(data, "from", label="first date"), jsonin.day(data, "to", label="last date")
    if last < first:
        message = "The last date must be on or after the first."
        raise ValidationError(message, fields={"to": message})
    superbill = superbills.issue(actor, patient, first, last)
    db.session.commit()
    return jsonify(superbill=superbill_json(superbill)), 201


@bp.get("/superbills")
def list_superbills():
    actor = require_api_user()
    query = select(Superbill).order_by(Superbill.issued_at.desc(), Superbill.id.desc())
    patient_id = _own_or_any(actor, patient_id_arg())
    if patient_id is not None:
        query = query.where(Superbill.patient_id == patient_id)
    rows = list(db.session.scalars(query))
    audit.record("list", "superbill", None, detail={"patient_id": patient_id, "count": len(rows)})
    db.session.commit()
    return jsonify(superbills=[superbill_json(s) for s in rows])


@bp.get("/superbills/<int:superbill_id>")
def get_superbill(superbill_id: int):
    superbill = visible_superbill(require_api_user(), superbill_id)
    audit.record("view", "superbill", superbill.id)
    db.session.commit()
    return jsonify(superbill=superbill_json(superbill))


@bp.get("/superbills/<int:superbill_id>.pdf")
def superbill_pdf(superbill_id: int):
    superbill = visible_superbill(require_api_user(), superbill_id)
    body = superbills.pdf_for(superbill)
    audit.record("download", "superbill", superbill.id)
    db.session.commit()
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{superbill.number}.pdf"', "Cache-Control": "private, no-store"})


@bp.post("/superbills/<int:superbill_id>/void")
def void_superbill(superbill_id: int):
    actor = require_api_user(*BILLING_ROLES)
    superbill = visible_superbill(actor, superbill_id)
    data = jsonin.json_object()
    reason = jsonin.text(data, "reason", label="reason", max_len=500, multiline=True)
    replacement = superbills.void(actor, superbill, reason, reissue=jsonin.boolean(data, "reissue", default=True))
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


def patient_id_arg() -> int | None:
    value = request.args.get("patient_id", "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        message = "The patient id must be a whole number."
        raise ValidationError(message, fields={"patient_id": message})
    return int(value)


# --- Good Faith Estimates ---------------------------------------------------------------------------------------

def estimate_json(estimate: Estimate) -> dict:
    return {"id": estimate.id, "number": estimate.number, "patient_id": estimate.patient_id,
            "created_at": local_iso(estimate.created_at), "total_cents": estimate.total_cents,
            "currency": estimate.currency, "pdf_url": f"/api/v1/estimates/{estimate.id}.pdf"}


@bp.get("/estimates")
def list_estimates():
    actor = require_api_user()
    patient_id = _own_or_any(actor, patient_id_arg())
    query = select(Estimate).order_by(Estimate.created_at.desc(), Estimate.id.desc())
    if patient_id is not None:
        query = query.where(Estimate.patient_id == patient_id)
    rows = list(db.session.scalars(query))
    audit.record("list", "estimate", None, detail={"patient_id": patient_id, "count": len(rows)})
    db.session.commit()
    return jsonify(estimates=[estimate_json(e) for e in rows])


@bp.get("/estimates/<int:estimate_id>.pdf")
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
def estimate_overruns():
    require_api_user(*BILLING_ROLES)
    return jsonify(overruns=estimates.overruns())


def _own_or_any(actor: User, patient_id: int | None) -> int | None:
    """Billing staff may ask for any patient (or all); anyone else only for themselves (another id is 404)."""
    if is_billing(actor):
        return patient_id
    if actor.patient_id is None or patient_id not in (None, actor.patient_id):
        raise NotFound("We could not find that patient.")
    return actor.patient_id
