"""The front desk's booking page (/staff/book): find or add the caller's patient record, choose a consultation
or a treatment the patient is cleared for, then a time (and, for a treatment, the designated driver). The page's
script books through POST /api/v1/appointments with `patient_id`, the same API and rules as a patient's booking."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking import front_desk
from booking.models import ServiceKind
from clinic import audit
from clinic.auth_context import roles_required
from clinic.database import utcnow
from clinic.errors import DomainError, NotFound
from clinic.extensions import db
from clinic.models import Patient, Role
from clinic.settings import clinic_zone

bp = Blueprint("front_desk", __name__)
# Who may book for a patient: the front desk and clinicians (and administrators); billing staff may not.
BOOKERS = (Role.clinician, Role.frontdesk, Role.admin)


@bp.get("/staff/book")
@roles_required(*BOOKERS)
def book():
    patient = _patient_arg()
    if patient is None:
        query = request.args.get("q", "")
        return render_template("booking/staff_book.html", patient=None, query=query,
                               found=front_desk.find_patients(query), errors={}, given={})
    audit.record("view", "patient", patient.id, detail={"page": "staff_book"})
    db.session.commit()
    offered = front_desk.bookable_services(patient)
    service = next((s for s in offered if s.code == request.args.get("service")), None)
    return render_template("booking/staff_book.html", patient=patient, offered=offered, service=service,
                           cleared=any(s.kind == ServiceKind.treatment for s in offered),
                           today=utcnow().astimezone(clinic_zone()).date().isoformat())


@bp.post("/staff/patients")
@roles_required(*BOOKERS)
def add_patient():
    try:
        patient = front_desk.register_caller(current_user, request.form)
    except DomainError as error:
        db.session.rollback()
        return render_template("booking/staff_book.html", patient=None, query="", found=[], errors=error.fields,
                               problem=error.message, given=request.form), error.status
    audit.record("create", "patient", patient.id, detail={"via": "front_desk"})
    db.session.commit()
    flash(f"{patient.name}'s record is created. Now choose what to book.")
    return redirect(url_for("front_desk.book", patient_id=patient.id))


def _patient_arg() -> Patient | None:
    raw = request.args.get("patient_id", "")
    if not raw:
        return None
    patient = db.session.get(Patient, int(raw)) if raw.isdigit() and len(raw) < 12 else None
    if patient is None:
        raise NotFound("We could not find that patient.")
    return patient
