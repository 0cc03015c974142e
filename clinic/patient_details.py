"""A patient's own details on /account/details: name, phone, date of birth and mailing address (a superbill needs
the last two). Read by the same rules as the API's PATCH /api/v1/patients/ID."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from clinic import audit, shapes
from clinic.api import apply_patient_changes
from clinic.api_shapes import PatientChanges
from clinic.auth_context import roles_required
from clinic.errors import ValidationError
from clinic.extensions import db
from clinic.forms import PatientDetailsForm
from clinic.models import Patient, Role

bp = Blueprint("patient_details", __name__)


@bp.route("/account/details", methods=["GET", "POST"])
@roles_required(Role.patient)
def details():
    patient = db.session.get(Patient, current_user.patient_id)
    form = PatientDetailsForm(data=_current(patient))
    if form.validate_on_submit() and _saved(patient, form):
        flash("Your details are saved.")
        return redirect(url_for("patient_details.details"))
    audit.record("view", "patient", patient.id, detail={"page": "details"})
    db.session.commit()
    return render_template("auth/details.html", form=form), 422 if form.errors else 200


def _current(patient: Patient) -> dict:
    born = patient.date_of_birth.isoformat() if patient.date_of_birth else ""
    return {"name": patient.name, "phone": patient.phone or "", "date_of_birth": born, "address": patient.address or ""}


def _saved(patient: Patient, form: PatientDetailsForm) -> bool:
    """Apply the form through the API's readers; their sentences go under the fields they concern."""
    data = {name: (form[name].data or "").strip() or None for name in ("name", "phone", "date_of_birth", "address")}
    data["name"] = data["name"] or ""
    try:
        details = shapes.read(PatientChanges, data)
        changed = apply_patient_changes(patient, {name: getattr(details, name) for name in details.given()})
    except ValidationError as error:
        db.session.rollback()
        for name, message in (error.fields or {"name": error.message}).items():
            form[name].errors = [*form[name].errors, message] if name in form else [message]
        return False
    audit.record("change", "patient", patient.id, detail={"fields": sorted(changed), "page": "details"})
    db.session.commit()
    return True
