"""Pages where the clinical path meets the schedule: the integration-therapy offer after a treatment (patients)
and the day's treatments with their completion (clinicians). Booking owns these because they book and complete
appointments; the clinical records they read come from clinical."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import NumberRange, Optional, Length

from booking import integration as after_treatment, links, queries, treatments
from booking.protocols import readable_date
from clinic import audit, jsonin, navigation
from clinic.auth_context import roles_required
from clinic.errors import DomainError
from clinic.extensions import db
from clinic.models import Role
from clinic.settings import clinic_zone, local_iso
from clinical import services as clinical
from clinical.views import CLINICAL_VIEWERS, PlainForm, _crisis_page, _form_problem, _own_patient

bp = Blueprint("care", __name__)
bp.record_once(lambda _state: after_treatment.provide_to_clinical())
navigation.add(bp, navigation.Link("care.today", "Treatments today", 50, navigation.roles(Role.clinician, Role.admin)))


class CompleteForm(FlaskForm):
    dose_mg = IntegerField("Dose (mg)", validators=[Optional(), NumberRange(0, 1000)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=4000)])
    released_to_driver = BooleanField("Released to designated driver")


@bp.get("/account/integration/<int:appointment_id>")
@roles_required(Role.patient)
def integration(appointment_id: int):
    treatment = queries.visible_appointment(current_user, appointment_id)
    if clinical.in_crisis(_own_patient()):
        return _crisis_page(current_user.patient)
    try:
        _service, found = after_treatment.integration_slots(treatment)
    except DomainError as error:
        found, problem = [], error.message
    else:
        problem = None
    audit.record("view", "appointment", treatment.id, detail={"page": "integration"})
    db.session.commit()
    return render_template("clinical/integration.html", treatment=treatment, days=_by_local_day(found),
                           problem=problem, booked=after_treatment.integration_booked(treatment), readable_date=readable_date,
                           local_iso=local_iso, window=after_treatment.window_hours())


def _by_local_day(found: list) -> list[tuple[date, list]]:
    days: dict[date, list] = {}
    for slot in found:
        days.setdefault(slot.start.astimezone(clinic_zone()).date(), []).append(slot)
    return list(days.items())


@bp.post("/account/integration/<int:appointment_id>/book")
@roles_required(Role.patient)
def book_integration(appointment_id: int):
    treatment = queries.visible_appointment(current_user, appointment_id)
    form = PlainForm()
    if clinical.in_crisis(_own_patient()) or not form.validate_on_submit():
        return redirect(url_for("care.integration", appointment_id=appointment_id))
    try:
        booked = after_treatment.book_integration(current_user, treatment, jsonin.instant(request.form, "start"))
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("care.integration", appointment_id=appointment_id))
    audit.record("create", "appointment", booked.id, detail={"integration_after": treatment.id})
    db.session.commit()
    flash("Your integration session is held for you. Please pay to confirm it.", "success")
    return redirect(url_for("booking.manage", token=links.manage_token(booked)))


@bp.get("/clinical/today")
@roles_required(*CLINICAL_VIEWERS)
def today():
    day = _day_arg()
    rows = after_treatment.todays_treatments(day)
    audit.record("view", "schedule", None, detail={"day": day.isoformat(), "page": "clinical_today"})
    db.session.commit()
    return render_template("clinical/today.html", day=day, appointments=rows, form=CompleteForm(),
                           is_today=day == after_treatment.local_day(), timedelta_day=timedelta(days=1))


@bp.post("/clinical/appointments/<int:appointment_id>/complete")
@roles_required(Role.clinician)
def complete(appointment_id: int):
    appointment = queries.visible_appointment(current_user, appointment_id)
    form = CompleteForm()
    if form.validate_on_submit():
        try:
            treatments.complete(current_user, appointment, dose_mg=form.dose_mg.data, notes=form.notes.data or None,
                                released_to_driver=form.released_to_driver.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            audit.record("complete", "appointment", appointment.id)
            db.session.commit()
            flash(f"{appointment.patient.name}'s treatment is completed and the discharge recorded.", "success")
    else:
        _form_problem(form)
    day = appointment.starts_at.astimezone(clinic_zone()).date()
    return redirect(url_for("care.today", day=day.isoformat()))


def _day_arg() -> date:
    return jsonin.query_day("day", default=after_treatment.local_day())
