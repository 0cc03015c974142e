"""Superbill pages: on /billing, what is missing, the issue form and the patients'
request queue; on /account (booking's page, which includes billing's partial when it is there), a patient's
superbills, estimates and the request form."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, IntegerField
from wtforms.validators import DataRequired, NumberRange, ValidationError

from billing import estimates, superbills
from billing.models import Estimate, Superbill, SuperbillRequest
from billing.superbill_cli import superbills_cli
from clinic import audit
from clinic.auth_context import roles_required
from clinic.errors import DomainError
from clinic.extensions import db
from clinic.models import Clinician, Patient, Role

bp = Blueprint("superbills", __name__)
bp.record_once(lambda state: state.app.cli.add_command(superbills_cli))  # `flask superbills issue`


class RangeForm(FlaskForm):
    first_day = DateField("From", validators=[DataRequired()])
    last_day = DateField("To", validators=[DataRequired()])

    def validate_last_day(self, field):
        if self.first_day.data and field.data and field.data < self.first_day.data:
            raise ValidationError("The last date must be on or after the first.")


class IssueForm(RangeForm):
    patient_id = IntegerField("Patient id", validators=[DataRequired(), NumberRange(min=1)])


@bp.app_context_processor
def _superbill_partials():
    """Lets booking's /account include billing's documents without booking importing billing."""
    return {"patient_billing_documents": patient_billing_documents}


def patient_billing_documents() -> dict:
    patient_id = current_user.patient_id
    return {"superbills": db.session.scalars(select(Superbill).where(Superbill.patient_id == patient_id)
                                             .order_by(Superbill.issued_at.desc())).all(),
            "estimates": db.session.scalars(select(Estimate).where(Estimate.patient_id == patient_id)
                                            .order_by(Estimate.created_at.desc())).all(),
            "requests": db.session.scalars(select(SuperbillRequest).where(
                SuperbillRequest.patient_id == patient_id, SuperbillRequest.closed_at.is_(None))).all(),
            "form": RangeForm()}


@bp.get("/billing/superbills")
@roles_required(Role.billing, Role.admin)
def superbill_desk():
    clinicians = db.session.scalars(select(Clinician).where(Clinician.active)).all()
    queue = db.session.scalars(select(SuperbillRequest).where(SuperbillRequest.closed_at.is_(None))
                               .order_by(SuperbillRequest.created_at)).all()
    recent = db.session.scalars(select(Superbill).order_by(Superbill.issued_at.desc()).limit(20)).all()
    audit.record("view", "superbill", None, detail={"page": "billing"})
    db.session.commit()
    return render_template("billing/superbills.html", missing=superbills.missing_billing_details(None, clinicians),
                           form=IssueForm(), queue=queue, recent=recent, overruns=estimates.overruns(),
                           patients={p.id: p for p in db.session.scalars(select(Patient).where(Patient.id.in_(
                               [r.patient_id for r in queue] + [s.patient_id for s in recent])))})


@bp.post("/billing/superbills")
@roles_required(Role.billing, Role.admin)
def issue_from_page():
    form = IssueForm()
    patient = db.session.get(Patient, form.patient_id.data or 0) if form.validate_on_submit() else None
    if patient is None:
        flash(" ".join(e for errors in form.errors.values() for e in errors) or "We could not find that patient.")
        return redirect(url_for("superbills.superbill_desk"))
    try:
        superbill = superbills.issue(current_user, patient, form.first_day.data, form.last_day.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message)
        return redirect(url_for("superbills.superbill_desk"))
    db.session.commit()
    flash(f"Superbill {superbill.number} issued for {patient.name}.")
    return redirect(url_for("superbills.superbill_desk"))


@bp.post("/account/superbill-requests")
@roles_required(Role.patient)
def request_superbill():
    form = RangeForm()
    if form.validate_on_submit():
        db.session.add(SuperbillRequest(patient_id=current_user.patient_id, first_day=form.first_day.data,
                                        last_day=form.last_day.data))
        audit.record("request", "superbill", None, detail={"patient_id": current_user.patient_id})
        db.session.commit()
        flash("Thank you: our billing team will prepare your superbill and it will appear here.")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors))
    return redirect(url_for("booking.account"))
