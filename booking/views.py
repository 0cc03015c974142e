"""Pages: home, booking a consultation, managing a booking by its private link, the patient's account
and the staff day view."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from booking import calendar_feeds, links, notifications, queries, services
from booking.api import ics_response
from booking.models import Appointment, Chair, Service
from booking.serialize import local_iso
from clinic import audit, jsonin
from clinic.auth_context import roles_required
from clinic.database import utcnow
from clinic.errors import DomainError
from clinic.extensions import db
from clinic.mail import absolute_url
from clinic.models import Clinician, ClinicSettings, Role
from clinic.settings import clinic_settings, clinic_zone
from clinic.tokens import new_token, token_hash

bp = Blueprint("booking", __name__)
STAFF = (Role.clinician, Role.frontdesk, Role.billing, Role.admin)


def _settings_for_page():
    """The layout shows the clinic's name on every page, error pages included: those must render even
    when the database is what failed."""
    try:
        return clinic_settings()
    except SQLAlchemyError:
        db.session.rollback()
        return ClinicSettings(name="Clinic", address="", phone="")


@bp.app_context_processor
def _helpers():
    return {"clinic_settings": _settings_for_page, "manage_token": links.manage_token,
            "local_datetime": notifications.local_datetime,
            "local_time": notifications.local_time}


@bp.get("/")
def home():
    rows = db.session.scalars(select(Service).where(Service.active).order_by(Service.position, Service.id)).all()
    return render_template("booking/home.html", services=rows)


@bp.get("/book")
def book():
    today = utcnow().astimezone(clinic_zone()).date()
    return render_template("booking/book.html", today=today.isoformat(), service="consultation")


@bp.get("/appointments/manage/<token>")
def manage(token: str):
    appointment = _by_token(token)
    services.expire_holds()
    db.session.commit()
    return render_template("booking/manage.html", appointment=appointment, token=token,
                           notes=notifications.preparation_notes(appointment))


@bp.post("/appointments/manage/<token>/cancel")
def manage_cancel(token: str):
    appointment = _by_token(token)
    try:
        services.cancel(None, appointment)
    except DomainError as error:
        flash(error.message)
    else:
        audit.record("cancel", "appointment", appointment.id, detail={"via": "manage_link"})
        db.session.commit()
        flash("Your appointment is cancelled. We have emailed you a confirmation.")
    return redirect(url_for("booking.manage", token=token))


@bp.post("/appointments/manage/<token>/reschedule")
def manage_reschedule(token: str):
    appointment = _by_token(token)
    try:
        services.reschedule(None, appointment, jsonin.instant(request.form, "start"))
    except DomainError as error:
        flash(error.message)
    else:
        audit.record("reschedule", "appointment", appointment.id, detail={"via": "manage_link"})
        db.session.commit()
        flash("Your appointment has moved. We have emailed you the new time.")
    return redirect(url_for("booking.manage", token=token))


@bp.get("/appointments/manage/<token>/calendar.ics")
def manage_calendar(token: str):
    return ics_response(_by_token(token))


def _by_token(token: str) -> Appointment:
    appointment = links.appointment_from_token(token)
    if appointment is None:
        abort(404)
    return appointment


@bp.get("/account")
@roles_required(Role.patient)
def account():
    services.expire_holds()
    appointments = queries.appointments_for(current_user, None, None)
    audit.record("view", "patient", current_user.patient_id, detail={"page": "account"})
    db.session.commit()
    payments_url = url_for("api.list_payments") if "api.list_payments" in current_app.view_functions else None
    return render_template("booking/account.html", appointments=appointments, now=utcnow(), payments_url=payments_url)


@bp.get("/staff")
@roles_required(*STAFF)
def staff():
    day = _day_arg()
    appointments = queries.day_schedule(day)
    audit.record("view", "schedule", None, detail={"day": day.isoformat()})
    db.session.commit()
    return render_template("booking/staff.html", day=day, appointments=appointments, now=utcnow(),
                           clinicians=db.session.scalars(select(Clinician).where(Clinician.active)).all(),
                           chairs=db.session.scalars(select(Chair).where(Chair.active)).all())


@bp.post("/staff/appointments/<int:appointment_id>/<action>")
@roles_required(Role.clinician, Role.frontdesk, Role.admin)
def staff_action(appointment_id: int, action: str):
    appointment = queries.visible_appointment(current_user, appointment_id)
    handlers = {"check-in": services.check_in, "no-show": services.mark_no_show, "cancel": services.cancel}
    if action not in handlers:
        abort(404)
    try:
        handlers[action](current_user, appointment)
    except DomainError as error:
        flash(error.message)
    else:
        audit.record(action, "appointment", appointment.id)
        db.session.commit()
        flash("Done.")
    return redirect(url_for("booking.staff", day=appointment.starts_at.astimezone(clinic_zone()).date().isoformat()))


def _day_arg() -> date:
    try:
        return date.fromisoformat(request.args["day"]) if request.args.get("day") else utcnow().astimezone(clinic_zone()).date()
    except ValueError:
        abort(404)


@bp.post("/staff/calendar-feed")
@roles_required(Role.clinician)
def create_feed():
    """A private iCal feed URL for the signed-in clinician; a new one revokes the old."""
    clinician = _own_clinician()
    token = new_token()
    clinician.calendar_feed_token = token_hash(token)
    audit.record("create_feed", "clinician", clinician.id)
    db.session.commit()
    return render_template("booking/feed_created.html", url=absolute_url("booking.clinician_feed", token=token))


@bp.post("/staff/calendar-feed/revoke")
@roles_required(Role.clinician)
def revoke_feed():
    clinician = _own_clinician()
    clinician.calendar_feed_token = None
    audit.record("revoke_feed", "clinician", clinician.id)
    db.session.commit()
    flash("Your calendar feed link no longer works.")
    return redirect(url_for("booking.staff"))


def _own_clinician() -> Clinician:
    if current_user.clinician is None:
        abort(404)
    return current_user.clinician


@bp.get("/calendar/<token>.ics")
def clinician_feed(token: str):
    clinician = db.session.scalar(select(Clinician).where(Clinician.calendar_feed_token == token_hash(token)))
    if clinician is None:
        abort(404)
    return Response(calendar_feeds.clinician_feed(clinician, utcnow()), mimetype="text/calendar")
