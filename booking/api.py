"""JSON API v1 for services, availability and appointments (routes on clinic.api's blueprint)."""
from __future__ import annotations

from datetime import timedelta

from flask import Response, jsonify, request
from sqlalchemy import select

from booking import integration, notifications, queries, series as series_service, services, slots, treatments
from booking.models import Appointment, Service
from booking.requests import BookingRequest, Driver
from booking.serialize import appointment_json, local_iso, service_json
from clinic import audit, jsonin, openapi
from clinic.api import api_blueprint
from clinic.auth_context import acting_user, require_api_user
from clinic.database import utcnow
from clinic.errors import NotFound, ValidationError
from clinic.extensions import db, limiter
from clinic.models import Role
from clinic.settings import clinic_settings, clinic_zone

bp = api_blueprint("booking_api", __name__)

MAX_DAYS = 62


@bp.get("/services")
def list_services():
    rows = db.session.scalars(select(Service).where(Service.active).order_by(Service.position, Service.id))
    return jsonify(services=[service_json(s) for s in rows])


@bp.get("/availability")
def availability():
    service = queries.service_by_code(request.args.get("service", ""))
    first = jsonin.parse_day(request.args.get("from", ""), "from", "first date")
    last = jsonin.parse_day(request.args.get("to", "") or first.isoformat(), "to", "last date")
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
def create_appointment():
    data = jsonin.json_object()
    actor = acting_user()
    booking_request, guest = _booking_request(data, actor)
    appointment = services.book(actor, booking_request)
    audit.record("create", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment, reveal_patient=not guest)), 201


def _booking_request(data: dict, actor) -> tuple[BookingRequest, bool]:
    service = queries.service_by_code(jsonin.text(data, "service", label="service", max_len=50), field="service")
    # The start, the mode and a guest's details are checked together: one answer names every field to fix.
    given = jsonin.each_field({"start": lambda: jsonin.instant(data, "start"),
                               "mode": lambda: queries.mode_for(service, data),
                               "patient": lambda: queries.patient_for_booking(actor, data, service)})
    patient, guest = given["patient"]
    return BookingRequest(
        service=service, patient=patient, start=given["start"], mode=given["mode"],
        notes=jsonin.text(data, "notes", required=False, max_len=2000, multiline=True),
        driver=driver_from(data, patient) if service.requires_driver or data.get("driver") else None,
        protocol_code=jsonin.text(data, "protocol", required=False, max_len=50),
        override_reason=_override_reason(data, actor),
    ), guest


def _override_reason(data: dict, actor) -> str | None:
    """A spacing override's reason: read from staff (the service refuses it from all but clinicians)."""
    if actor is None or not actor.is_staff:
        return None
    return jsonin.text(data, "override_reason", required=False, max_len=500, multiline=True)


def driver_from(data: dict, patient) -> Driver | None:
    raw = data.get("driver")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationError("The driver must have a name, phone and relationship.", code="driver_required",
                              fields={"driver": "name, phone and relationship"})
    driver = Driver(name=jsonin.person_name(raw, "name", label="driver's name"),
                    phone=jsonin.phone(raw, "phone", label="driver's phone number"),
                    relationship=jsonin.text(raw, "relationship", label="driver's relationship to you", max_len=100))
    if _digits(driver.phone) == _digits(patient.phone or "") or driver.name.casefold() == patient.name.casefold():
        message = "Your designated driver must be another responsible adult, not you."
        raise ValidationError(message, code="driver_required", fields={"driver": message})
    return driver


def _digits(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit())[-10:]


@bp.get("/appointments")
def list_appointments():
    user = require_api_user()
    first, last = jsonin.query_day("from", label="first date"), jsonin.query_day("to", label="last date")
    rows = queries.appointments_for(user, first, last)
    audit.record("list", "appointment", None, detail={"count": len(rows)})
    db.session.commit()
    return jsonify(appointments=[appointment_json(a) for a in rows])


@bp.get("/appointments/<int:appointment_id>")
def get_appointment(appointment_id: int):
    appointment = queries.visible_appointment(require_api_user(), appointment_id)
    services.expire_holds()
    audit.record("view", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment))


@bp.post("/appointments/<int:appointment_id>/cancel")
def cancel_appointment(appointment_id: int):
    actor = require_api_user()
    appointment = queries.visible_appointment(actor, appointment_id)
    refund = services.cancel(actor, appointment)
    audit.record("cancel", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment), refund=refund)


@bp.post("/appointments/<int:appointment_id>/reschedule")
def reschedule_appointment(appointment_id: int):
    actor = require_api_user()
    appointment = queries.visible_appointment(actor, appointment_id)
    data = jsonin.json_object()
    services.reschedule(actor, appointment, jsonin.instant(data, "start"), override_reason=_override_reason(data, actor))
    audit.record("reschedule", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment))


@bp.post("/appointments/<int:appointment_id>/driver")
def change_driver(appointment_id: int):
    actor = require_api_user()
    appointment = queries.visible_appointment(actor, appointment_id)
    driver = driver_from(jsonin.json_object(), appointment.patient)
    if driver is None:
        message = "Please give the designated driver's name, phone and relationship."
        raise ValidationError(message, code="driver_required", fields={"driver": message})
    treatments.change_driver(actor, appointment, driver)
    audit.record("change_driver", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment))


@bp.get("/appointments/<int:appointment_id>/calendar.ics")
def appointment_calendar(appointment_id: int):
    appointment = queries.visible_appointment(require_api_user(), appointment_id)
    return ics_response(appointment)


def ics_response(appointment: Appointment) -> Response:
    return Response(notifications.ics_bytes(appointment), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"'})


@bp.post("/appointments/<int:appointment_id>/complete")
def complete_appointment(appointment_id: int):
    actor = require_api_user(Role.clinician)
    appointment = queries.visible_appointment(actor, appointment_id)
    data = jsonin.json_object()
    treatments.complete(actor, appointment, dose_mg=jsonin.integer(data, "dose_mg", maximum=1000, label="dose (mg)"),
                        notes=jsonin.text(data, "notes", required=False, max_len=4000, multiline=True),
                        released_to_driver=jsonin.boolean(data, "released_to_driver"))
    audit.record("complete", "appointment", appointment.id)
    db.session.commit()
    return jsonify(appointment=appointment_json(appointment))


@bp.post("/series")
def create_series():
    actor = require_api_user()
    services.require_may_book(actor, None)
    data = jsonin.json_object()
    patient = queries.patient_for_staff_or_self(actor, data)
    appointments = series_service.book_series(
        actor, patient, protocol_code=jsonin.text(data, "protocol", label="protocol", max_len=50),
        first_date=jsonin.day(data, "first_date", label="first date"),
        preferred_time=series_service.parse_time(data.get("preferred_time")),
        weekdays=series_service.parse_weekdays(data.get("weekdays")), driver=driver_from(data, patient))
    audit.record("create", "series", appointments[0].series_id)
    db.session.commit()
    return jsonify(appointments=[appointment_json(a) for a in appointments]), 201


def _id_param(name: str = "id") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


_APPOINTMENT = {"type": "object", "properties": {"appointment": {"$ref": "#/components/schemas/Appointment"}}}
_DRIVER = {"type": "object", "required": ["name", "phone", "relationship"], "properties": {
    "name": {"type": "string"}, "phone": {"type": "string"}, "relationship": {"type": "string"}}}
openapi.add_schemas({
    "Service": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["consultation", "treatment", "psychotherapy"]},
        "route": {"type": "string", "nullable": True, "enum": ["iv", "im", "intranasal", "sublingual", None]},
        "duration_minutes": {"type": "integer"}, "monitoring_minutes": {"type": "integer"},
        "price_cents": {"type": "integer"}, "currency": {"type": "string"}, "requires_driver": {"type": "boolean"},
        "requires_clearance": {"type": "boolean"}, "modes": {"type": "array", "items": {"type": "string"}}}},
    "Slot": {"type": "object", "properties": {"start": {"type": "string", "format": "date-time"},
                                              "end": {"type": "string", "format": "date-time"},
                                              "available": {"type": "integer"}}},
    "Driver": _DRIVER,
    "Appointment": {"type": "object", "properties": {
        "id": {"type": "integer"}, "service": {"type": "string"}, "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "status": {"type": "string", "enum": ["confirmed", "pending_payment", "completed", "cancelled", "no_show"]},
        "patient_id": {"type": "integer", "nullable": True}, "provider_id": {"type": "integer"},
        "chair_id": {"type": "integer", "nullable": True}, "amount_due_cents": {"type": "integer"},
        "currency": {"type": "string"}, "hold_expires_at": {"type": "string", "format": "date-time", "nullable": True},
        "driver": openapi.nullable(_DRIVER),
        "manage_url": {"type": "string"}, "mode": {"type": "string", "nullable": True},
        "protocol": {"type": "string", "nullable": True}, "series_id": {"type": "integer", "nullable": True}}},
})
openapi.add_paths({
    "/services": {"get": {"summary": "The clinic's services", "security": [], "responses": openapi.ok(
        "services", {"type": "object", "properties": {"services": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}}}})}},
    "/availability": {"get": {
        "summary": "Start times at which a service can be booked (a patient's token leaves out starts their protocol forbids)",
        "parameters": [{"name": n, "in": "query", "required": n != "to", "schema": {"type": "string", "format": f}}
                       for n, f in (("service", "code"), ("from", "date"), ("to", "date"))],
        "responses": {**openapi.ok("slots", {"type": "object", "properties": {
            "service": {"type": "string"}, "timezone": {"type": "string"},
            "slots": {"type": "array", "items": {"$ref": "#/components/schemas/Slot"}}}}),
            **openapi.error_responses(401, 422)}}},
    "/appointments": {
        "get": {"summary": "Appointments (a patient's own; all for staff)", "parameters": [
            {"name": n, "in": "query", "schema": {"type": "string", "format": "date"}} for n in ("from", "to")],
            "responses": {**openapi.ok("appointments", {"type": "object", "properties": {"appointments": {
                "type": "array", "items": {"$ref": "#/components/schemas/Appointment"}}}}), **openapi.error_responses(401, 422)}},
        "post": {"summary": "Book an appointment", "requestBody": openapi.json_body({"type": "object", "required": ["service", "start"], "properties": {
            "service": {"type": "string"}, "start": {"type": "string", "format": "date-time"},
            "mode": {"type": "string", "enum": ["phone", "video", "in_person"]},
            "patient": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"},
                                                         "phone": {"type": "string"}, "date_of_birth": {"type": "string", "format": "date"}}},
            "patient_id": {"type": "integer"}, "driver": {"$ref": "#/components/schemas/Driver"},
            "protocol": {"type": "string"}, "notes": {"type": "string"}, "override_reason": {"type": "string"}}}),
            "responses": {**openapi.ok("booked", _APPOINTMENT, status=201),
                          **openapi.error_responses(400, 401, 403, 404, 409, 422, 429)}}},
    "/appointments/{id}": {"parameters": [_id_param()], "get": {
        "summary": "One appointment", "responses": {**openapi.ok("appointment", _APPOINTMENT), **openapi.error_responses(401, 404)}}},
    "/appointments/{id}/cancel": {"parameters": [_id_param()], "post": {
        "summary": "Cancel (the refund follows the cancellation policy)",
        "responses": {**openapi.ok("cancelled", {"type": "object", "properties": {
            "appointment": {"$ref": "#/components/schemas/Appointment"},
            "refund": {"type": "object", "nullable": True, "properties": {"amount_cents": {"type": "integer"}, "status": {"type": "string"}}}}}),
            **openapi.error_responses(401, 404, 409, 422)}}},
    "/appointments/{id}/reschedule": {"parameters": [_id_param()], "post": {
        "summary": "Move to a new start, same rules as booking",
        "requestBody": openapi.json_body({"type": "object", "required": ["start"], "properties": {
            "start": {"type": "string", "format": "date-time"}, "override_reason": {"type": "string"}}}),
        "responses": {**openapi.ok("moved", _APPOINTMENT), **openapi.error_responses(400, 401, 403, 404, 409, 422)}}},
    "/appointments/{id}/driver": {"parameters": [_id_param()], "post": {
        "summary": "Change the designated driver (until the day of the treatment)",
        "requestBody": openapi.json_body({"type": "object", "required": ["driver"], "properties": {
            "driver": {"$ref": "#/components/schemas/Driver"}}}),
        "responses": {**openapi.ok("changed", _APPOINTMENT), **openapi.error_responses(400, 401, 404, 409, 422)}}},
    "/appointments/{id}/calendar.ics": {"parameters": [_id_param()], "get": {
        "summary": "The appointment as iCalendar", "responses": {**openapi.ok("calendar", {"type": "string", "format": "binary"}, media="text/calendar"),
                                                                **openapi.error_responses(401, 404)}}},
    "/appointments/{id}/complete": {"parameters": [_id_param()], "post": {
        "summary": "Record the session and the discharge to the designated driver (clinician)",
        "requestBody": openapi.json_body({"type": "object", "properties": {
            "dose_mg": {"type": "integer"}, "notes": {"type": "string"}, "released_to_driver": {"type": "boolean"}}}),
        "responses": {**openapi.ok("completed", _APPOINTMENT), **openapi.error_responses(401, 403, 404, 409, 422)}}},
    "/series": {"post": {
        "summary": "Book a whole induction series that keeps every rule, all or nothing",
        "requestBody": openapi.json_body({"type": "object", "required": ["protocol", "first_date", "driver"], "properties": {
            "protocol": {"type": "string"}, "first_date": {"type": "string", "format": "date"},
            "preferred_time": {"type": "string", "example": "09:00"}, "weekdays": {"type": "array", "items": {"type": "string"}},
            "patient_id": {"type": "integer"}, "driver": {"$ref": "#/components/schemas/Driver"}}}),
        "responses": {**openapi.ok("booked", {"type": "object", "properties": {"appointments": {
            "type": "array", "items": {"$ref": "#/components/schemas/Appointment"}}}}, status=201),
            **openapi.error_responses(400, 401, 403, 404, 409, 422)}}},
})


# --- integration therapy ------------------------------------------------------------------------------------------

@bp.get("/appointments/<int:appointment_id>/integration-slots")
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


_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
openapi.add_paths({
    "/appointments/{id}/integration-slots": {"parameters": _ID, "get": {
        "summary": "Psychotherapy starts 24-48 hours after a treatment, each with the body that books it",
        "responses": {**openapi.ok("slots"), **openapi.error_responses(401, 404, 409, 422)}}},
})
