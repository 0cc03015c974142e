"""The billing identifiers page (billing staff and administrators): the practice's legal name, address, phone, NPI
(type 2) and EIN, and each rendering clinician's credentials, NPI (type 1) and license, with what is still missing
before a superbill can be issued. The administrator's /admin/ page edits the same fields."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from billing import superbills
from billing.views import BILLING_STAFF
from clinic import audit
from clinic.admin import ClinicianBillingForm
from clinic.auth_context import roles_required
from clinic.extensions import db
from clinic.forms import EIN, NPI, PlainText
from clinic.models import Clinician
from clinic.settings import clinic_settings

bp = Blueprint("identifiers", __name__)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class PracticeBillingForm(FlaskForm):
    """The practice as a claim names it."""

    legal_name = StringField("Legal name (as registered with the IRS)", filters=[_strip],
                             validators=[PlainText(), Length(max=200)])
    address = TextAreaField("Address", filters=[_strip], validators=[PlainText(multiline=True), Length(max=500)])
    phone = StringField("Phone", filters=[_strip], validators=[PlainText(), Length(max=40)])
    npi = StringField("Practice NPI (type 2)", filters=[_strip], validators=[Optional(), NPI()],
                      description="Ten digits, from NPPES.")
    tax_id = StringField("Tax id (EIN)", filters=[_strip], validators=[Optional(), EIN()],
                         description="Like 12-3456789.")

    def validate_phone(self, field):
        if field.data and sum(c.isdigit() for c in field.data) not in (10, 11):
            raise ValidationError("Enter the practice's phone with its area code, like (413) 555-0142.")


def _clinicians(active_only: bool = True) -> list[Clinician]:
    """Active clinicians; with `active_only=False` also those who left (their past visits still bill under them)."""
    query = select(Clinician).order_by(Clinician.active.desc(), Clinician.name)
    return list(db.session.scalars(query.where(Clinician.active) if active_only else query))


@bp.get("/billing/identifiers")
@roles_required(*BILLING_STAFF)
def identifiers():
    return _page(PracticeBillingForm(obj=clinic_settings()))


@bp.post("/billing/identifiers")
@roles_required(*BILLING_STAFF)
def save_practice_identifiers():
    settings, form = clinic_settings(), PracticeBillingForm()
    if not form.validate_on_submit():
        return _page(form), 422
    form.populate_obj(settings)
    audit.record("change", "clinic_settings", 1, detail={"page": "billing_identifiers"})
    db.session.commit()
    flash("The practice's billing identifiers are saved.")
    return redirect(url_for("identifiers.identifiers"))


@bp.post("/billing/identifiers/clinicians/<int:clinician_id>")
@roles_required(*BILLING_STAFF)
def save_clinician_identifiers(clinician_id: int):
    clinician = db.session.get(Clinician, clinician_id) or abort(404)
    form = ClinicianBillingForm(prefix=f"c{clinician.id}")
    if not form.validate_on_submit():
        return _page(PracticeBillingForm(obj=clinic_settings()), failed=(clinician.id, form)), 422
    form.populate_obj(clinician)
    audit.record("change", "clinician", clinician.id, detail={"page": "billing_identifiers"})
    db.session.commit()
    flash(f"{clinician.name}'s billing identifiers are saved.")
    return redirect(url_for("identifiers.identifiers"))


def _page(form: PracticeBillingForm, failed: tuple[int, ClinicianBillingForm] | None = None):
    clinicians = _clinicians(active_only=False)
    forms = [(c, failed[1] if failed and failed[0] == c.id else ClinicianBillingForm(obj=c, prefix=f"c{c.id}"))
             for c in clinicians]
    audit.record("view", "clinic_settings", 1, detail={"page": "billing_identifiers"})
    db.session.commit()
    return render_template("billing/identifiers.html", form=form, clinicians=forms,
                           missing=superbills.missing_billing_details(None, [c for c in clinicians if c.active]))


@bp.app_context_processor
def _billing_details_helper() -> dict:
    """`billing_details_missing()` for /billing: what a superbill needs from the practice and active clinicians."""
    return {"billing_details_missing": lambda: superbills.missing_billing_details(None, _clinicians())}
