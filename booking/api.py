"""JSON API v1 for services, availability and appointments (routes on clinic.api's blueprint)."""
from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import select

from booking import api_shapes as shapes, integration, notifications, queries, series as series_service, services, treatments
from booking.models import Appointment, Service
from booking.requests import BookingRequest, Driver
from booking.serialize import appointment_json, local_iso, service_json
from clinic import audit, openapi
from clinic.api import api_blueprint
from clinic.auth_context import acting_user, require_api_user
from clinic.database import utcnow
from clinic.errors import ValidationError
from clinic.extensions import db, limiter
from clinic.models import Role
from clinic.settings import clinic_settings

bp = api_blueprint("booking_api", __name__)

MAX_DAYS = 62


@bp.get("/services")
@openapi.operation("The clinic's services", answers={200: shapes.Services}, public=True)
def list_services():
    rows = db.session.scalars(select(Service).where(Service.active).order_by(Service.position, Service.id))
    return jsonify(services=[service_json(s) for s in rows])


@bp.get("/availability")
@openapi.operation("Start times at which a service can be booked (a patient's token leaves out starts their protocol "
                   "forbids)", query=shapes.AvailabilityQuery, answers={200: shapes.Availability}, errors=(401, 422),
                   guests=True)
def availability(query: shapes.AvailabilityQuery):
    service = queries.service_by_code(query.service)
    first, last = query.first, query.last or query.first
    if last < first or (last - first).days >= MAX_DAYS:
        message = f"Choose a range of 1 to {MAX_DAYS} days, with 'to' on or after 'from'."
        raise ValidationError(message, code="bad_range", fields={"to": message})
    found = queries.free_slots(service, first, last, utcnow(), patient=_patient_of_token())
    return jsonify(service=service.code, timezone=clinic_settings().timezone, slots=found)


def _patient_of_token():
    user = acting_user()
    return user.patient if user is not None and user.role == Role.patient.value else None


def _guest_key() -> str:
    data = request.get_json(silent=True, force=True)
    patient = data.get("patient") if isinstance(data, dict) else None
    email = patient.get("email") if isinstance(patient, dict) else None
    return f"booking-email:{str(email or '').strip().lower()[:254]}"


@bp.post("/appointments")
@limiter.limit("30 per hour", exempt_when=lambda: acting_user() is not None)
@limiter.limit("5 per day", key_func=_guest_key, exempt_when=lambda: acting_user() is not None)
@openapi.operation("Book an appointment", body=shapes.AppointmentRequest, answers={201: shapes.AppointmentAnswer},
                   errors=(400, 401, 403, 404, 409, 422, 429), guests=True)
def create_appointment(body: shapes.AppointmentRequest):
    actor = acting_user()
    booking_request, guest = _booking_request(body, actor)
    appointment = services.book(actor, booking_request)
    audit.record("create", "appointment", appointment.id)
    answer = appointment_json(appointment, reveal_patient=not guest)  # before the commit expires what it reads
    db.session.commit()
    return jsonify(appointment=answer), 201


def _booking_request(body: shapes.AppointmentRequest, actor) -> tuple[BookingRequest, bool]:
    service = queries.service_by_code(body.service)
    patient, guest = queries.patient_for_booking(actor, body.patient, body.patient_id, service)
    return BookingRequest(
        service=service, patient=patient, start=body.start, mode=queries.mode_for(service, body.mode),
        notes=body.notes, driver=driver_from(body.driver, patient), protocol_code=body.protocol,
        override_reason=_override_reason(body.override_reason, actor),
    ), guest


def _override_reason(reason: str | None, actor) -> str | None:
    """A spacing override's reason: taken from staff (the service refuses it from all but clinicians)."""
    return reason if actor is not None and actor.is_staff else None


def driver_from(details: shapes.DriverDetails | None, patient) -> Driver | None:
    """The designated driver, who must be someone other than the patient."""
    if details is None:
        return None
    driver = Driver(name=details.name, phone=details.phone, relationship=details.relationship)
    if _digits(driver.phone) == _digits(patient.phone or "") or driver.name.casefold() == patient.name.casefold():
        message = "Your designated driver must be another responsible adult, not you."
        raise ValidationError(message, code="driver_required", fields={"driver": message})
    return driver


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())[-10:]


@bp.get("/appointments")
@openapi.operation("Appointments (a patient's own; all for staff)", query=shapes.AppointmentsQuery,
                   answers={200: shapes.Appointments}, errors=(401, 422))
def list_appointments(query: shapes.AppointmentsQuery):
    user = require_api_user()
    rows = queries.appointments_for(user, query.first, query.last)
    audit.record("list", "appointment", None, detail={"count": len(rows)})
    db.session.commit()
    return jsonify(appointments=[appointment_json(a) for a in rows])


@bp.get("/appointments/<int:appointment_id>")
@openapi.operation("One appointment", answers={200: shapes.AppointmentAnswer}, errors=(401, 404))
def get_appointment(appointment_id: int):
    appointment = queries.visible_appointment(require_api_user(), appointment_id)
    services.expire_holds()
    audit.record("view", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment))


@bp.post("/appointments/<int:appointment_id>/cancel")
@openapi.operation("Cancel (the refund follows the cancellation policy)", answers={200: shapes.Cancelled},
                   errors=(401, 404, 409, 422))
def cancel_appointment(appointment_id: int):
    actor = require_api_user()
    appointment = queries.visible_appointment(actor, appointment_id)
    refund = services.cancel(actor, appointment)
    audit.record("cancel", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment), refund=refund)


@bp.post("/appointments/<int:appointment_id>/reschedule")
@openapi.operation("Move to a new start, same rules as booking", body=shapes.RescheduleRequest,
                   answers={200: shapes.AppointmentAnswer}, errors=(400, 401, 403, 404, 409, 422))
def reschedule_appointment(appointment_id: int, body: shapes.RescheduleRequest):
    actor = require_api_user()
    appointment = queries.visible_appointment(actor, appointment_id)
    services.reschedule(actor, appointment, body.start, override_reason=_override_reason(body.override_reason, actor))
    audit.record("reschedule", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment))


@bp.post("/appointments/<int:appointment_id>/driver")
@openapi.operation("Change the designated driver (until the day of the treatment)", body=shapes.DriverChange,
                   answers={200: shapes.AppointmentAnswer}, errors=(400, 401, 404, 409, 422))
def change_driver(appointment_id: int, body: shapes.DriverChange):
    actor = require_api_user()
    appointment = queries.visible_appointment(actor, appointment_id)
    driver = driver_from(body.driver, appointment.patient)
    treatments.change_driver(actor, appointment, driver)
    audit.record("change_driver", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment))


@bp.get("/appointments/<int:appointment_id>/calendar.ics")
@openapi.operation("The appointment as iCalendar", answers={200: openapi.Media("text/calendar", "calendar")},
                   errors=(401, 404))
def appointment_calendar(appointment_id: int):
    appointment = queries.visible_appointment(require_api_user(), appointment_id)
    return ics_response(appointment)


def ics_response(appointment: Appointment) -> Response:
    return Response(notifications.ics_bytes(appointment), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"'})


@bp.post("/appointments/<int:appointment_id>/complete")
@openapi.operation("Record the session and the discharge to the designated driver (clinician)",
                   body=shapes.CompletionRecord, answers={200: shapes.AppointmentAnswer},
                   errors=(401, 403, 404, 409, 422), roles=(Role.clinician,))
def complete_appointment(appointment_id: int, body: shapes.CompletionRecord):
    actor = require_api_user(Role.clinician)
    appointment = queries.visible_appointment(actor, appointment_id)
    treatments.complete(actor, appointment, dose_mg=body.dose_mg, notes=body.notes,
                        released_to_driver=body.released_to_driver)
    audit.record("complete", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment))


@bp.post("/series")
@openapi.operation("Book a whole induction series that keeps every rule, all or nothing", body=shapes.SeriesRequest,
                   answers={201: shapes.Appointments}, errors=(400, 401, 403, 404, 409, 422))
def create_series(body: shapes.SeriesRequest):
    actor = require_api_user()
    services.require_may_book(actor, None)
    patient = queries.patient_for_staff_or_self(actor, {"patient_id": body.patient_id})
    appointments = series_service.book_series(
        actor, patient, protocol_code=body.protocol, first_date=body.first_date,
        preferred_time=body.preferred_time, weekdays=body.weekdays, driver=driver_from(body.driver, patient))
    audit.record("create", "series", appointments[0].series_id)
    answer = [appointment_json(a) for a in appointments]  # read before the commit expires them: no second transaction
    db.session.commit()
    return jsonify(appointments=answer), 201


# --- integration therapy ------------------------------------------------------------------------------------------

@bp.get("/appointments/<int:appointment_id>/integration-slots")
@openapi.operation("Psychotherapy starts 24-48 hours after a treatment, each with the body that books it",
                   answers={200: shapes.IntegrationSlots}, errors=(401, 404, 409, 422))
def integration_slots(appointment_id: int):
    treatment = queries.visible_appointment(require_api_user(), appointment_id)
    service, found = integration.integration_slots(treatment)
    earliest, latest = integration.integration_window(treatment)
    booked = integration.integration_booked(treatment)
    return jsonify(
        appointment_id=treatment.id, service=service.code, window={"from": local_iso(earliest), "to": local_iso(latest)},
        slots=[{"start": local_iso(s.start), "end": local_iso(s.end), "available": s.available,
                "book": {"method": "POST", "path": "/api/v1/appointments",
                         "body": {"service": service.code, "start": local_iso(s.start)}}} for s in found],
        booked=[{"id": a.id, "start": local_iso(a.starts_at), "status": a.status} for a in booked])
