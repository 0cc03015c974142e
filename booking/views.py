"""Pages: home, booking a consultation, managing a booking by its private link, the patient's account
and the staff day view."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from booking import calendar_feeds, claims, demo, links, notifications, queries, services, states
from booking.api import ics_response
from booking.models import Appointment, Chair, Service
from clinic import audit, jsonin, navigation
from clinic.auth_context import roles_required
from clinic.cli import demo_seeding
from clinic.database import utcnow
from clinic.errors import DomainError
from clinic.extensions import db
from clinic.mail import absolute_url
from clinic.models import Clinician, Role
from clinic.settings import clinic_zone
from clinic.tokens import new_token, token_hash

bp = Blueprint("booking", __name__)
bp.record_once(lambda _state: demo_seeding.connect(demo.seed))  # `flask seed-demo` seeds booking's services
STAFF = (Role.clinician, Role.frontdesk, Role.billing, Role.admin)
navigation.add(bp, navigation.Link("booking.home", "Home", 10), navigation.Link("booking.book", "Book a free consultation", 20),
               navigation.Link("booking.account", "My account", 30, navigation.roles(Role.patient),
                               landing_for=navigation.roles(Role.patient)),
               navigation.Link("booking.staff", "Today", 40, navigation.roles(*STAFF),
                               landing_for=navigation.roles(Role.clinician, Role.frontdesk)))


@bp.app_context_processor
def _helpers():
    return {"manage_token": links.manage_token,
            "local_datetime": notifications.local_datetime,
            "local_time": notifications.local_time, "live_statuses": states.live()}


@bp.get("/")
def home():
    rows = db.session.scalars(select(Service).where(Service.active).order_by(Service.position, Service.id)).all()
    return render_template("booking/home.html", services=rows)


@bp.get("/book")
def book():
    today = utcnow().astimezone(clinic_zone()).date()
    consultation = db.session.scalar(select(Service).where(Service.code == "consultation", Service.active))
    return render_template("booking/book.html", today=today.isoformat(), service="consultation",
                           minutes=consultation.duration_minutes if consultation else None)


@bp.get("/appointments/manage/<token>")
def manage(token: str):
    appointment = _by_token(token)
    services.expire_holds()
    db.session.commit()
    return render_template("booking/manage.html", appointment=appointment, token=token, now=utcnow(),
                           notes=notifications.preparation_notes(appointment))


@bp.post("/appointments/manage/<token>/cancel")
def manage_cancel(token: str):
    _cancel_from_page(None, _by_token(token), "manage_link")
    return redirect(url_for("booking.manage", token=token))


@bp.post("/appointments/manage/<token>/reschedule")
def manage_reschedule(token: str):
    _reschedule_from_page(None, _by_token(token), "manage_link")
    return redirect(url_for("booking.manage", token=token))


@bp.route("/appointments/claim/<token>", methods=["GET", "POST"])
@roles_required(Role.patient)
def claim(token: str):
    """The "this is me" link of a guest booking: its address's owner, signed in, adds it to their account."""
    appointment = links.appointment_from_claim(token)
    if appointment is None or not claims.claimable(current_user, appointment):
        abort(404)
    if request.method == "GET":
        return render_template("booking/claim.html", appointment=appointment)
    claims.claim(current_user, appointment)
    audit.record("claim", "appointment", appointment.id)
    db.session.commit()
    flash("The booking is now on your account.")
    return redirect(url_for("booking.account"))


@bp.post("/account/appointments/<int:appointment_id>/cancel")
@roles_required(Role.patient)
def account_cancel(appointment_id: int):
    """The account page's cancel button without JavaScript (with it, the page calls the API)."""
    _cancel_from_page(current_user, queries.visible_appointment(current_user, appointment_id), "account")
    return redirect(url_for("booking.account"))


@bp.post("/account/appointments/<int:appointment_id>/reschedule")
@roles_required(Role.patient)
def account_reschedule(appointment_id: int):
    _reschedule_from_page(current_user, queries.visible_appointment(current_user, appointment_id), "account")
    return redirect(url_for("booking.account"))


def _cancel_from_page(actor, appointment: Appointment, via: str) -> None:
    if _change_from_page("cancel", lambda: services.cancel(actor, appointment), appointment, via):
        flash("Your appointment is cancelled. We have emailed you a confirmation.")


def _reschedule_from_page(actor, appointment: Appointment, via: str) -> None:
    move = lambda: services.reschedule(actor, appointment, jsonin.instant(request.form, "start"))  # noqa: E731
    if _change_from_page("reschedule", move, appointment, via):
        flash(f"Your appointment has moved to {notifications.local_datetime(appointment.starts_at)}. "
              "We have emailed you the new time.")


def _change_from_page(action: str, change, appointment: Appointment, via: str) -> bool:
    """Run a patient's change from a page form: a refusal is flashed as its sentence, success is committed."""
    try:
        change()
    except DomainError as error:
        db.session.rollback()
        flash(error.message)
        return False
    audit.record(action, "appointment", appointment.id, detail={"via": via})
    db.session.commit()
    return True


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
    return render_template("booking/account.html", appointments=appointments, now=utcnow())


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
    return jsonin.query_day("day", default=utcnow().astimezone(clinic_zone()).date())


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
