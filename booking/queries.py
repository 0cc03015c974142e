"""Loading booking records for a request, with who-may-see-what applied (anything not yours is a 404)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from booking import free_days, schedule, slots, treatments
from booking.models import Appointment, Service, ServiceKind
from clinic.api import patient_for_staff_or_self
from clinic.errors import Forbidden, NotFound, ValidationError
from clinic.extensions import db
from clinic.models import STAFF_ROLES, Patient, Role, User
from clinic.settings import clinic_settings, clinic_zone

if TYPE_CHECKING:
    from booking.api_shapes import GuestDetails

MODES = ("phone", "video", "in_person")


def service_by_code(code: str, field: str = "service") -> Service:
    service = db.session.scalar(select(Service).where(Service.code == code, Service.active))
    if service is None:
        message = "Please choose one of the clinic's services."
        raise ValidationError(message, code="unknown_service", fields={field: message})
    return service


def available(service: Service, first: date, last: date, now: datetime, patient: Patient | None = None) -> list[slots.Slot]:
    settings = clinic_settings()
    calendar = schedule.load(service, first, last, now)
    return slots.available_slots(calendar.opening, calendar.need, calendar.clinicians, calendar.chairs, now,
                                 timedelta(minutes=settings.min_notice_minutes), timedelta(days=settings.horizon_days),
                                 allow=_spacing(service, now, patient))


def free_slots(service: Service, first: date, last: date, now: datetime, patient: Patient | None = None) -> list[dict]:
    """`available` as the API's slot objects, from the per-day lists each process keeps (booking.free_days)."""
    return free_days.free_slots(service, first, last, now, allow=_spacing(service, now, patient))


def _spacing(service: Service, now: datetime, patient: Patient | None):
    return treatments.spacing_filter(patient, service, now) if patient and service.kind == ServiceKind.treatment else None


def mode_for(service: Service, mode: str | None) -> str | None:
    """How a consultation is held (by phone unless asked otherwise), among the modes the service offers."""
    if service.kind != ServiceKind.consultation:
        return None
    mode = mode or "phone"
    if mode not in (service.modes or MODES):
        message = "Choose phone, video or in person."
        raise ValidationError(message, code="invalid", fields={"mode": message})
    return mode


def patient_for_booking(actor: User | None, guest: GuestDetails | None, patient_id: int | None,
                        service: Service) -> tuple[Patient, bool]:
    """(patient, is_guest). A guest books a consultation with name, email and phone, always as a record of its own:
    whatever the address, the answer is the same and no one else's record is read or touched; the address's
    owner may add it to their account later (booking.claims)."""
    if actor is None:
        if service.kind != ServiceKind.consultation:
            raise Forbidden("Please sign in to book a treatment.", code="clearance_required")
        return _guest_patient(guest), True
    if actor.role == Role.patient.value:
        if actor.patient is None:
            raise Forbidden("Your account has no patient record yet. Please contact the clinic.")
        return actor.patient, False
    return patient_for_staff_or_self(actor, {"patient_id": patient_id}), False


def _guest_patient(details: GuestDetails | None) -> Patient:
    if details is None:
        message = "Please tell us your name, email and phone number."
        raise ValidationError(message, fields={"patient": message})
    patient = Patient(**details.model_dump())
    db.session.add(patient)
    db.session.flush()
    return patient


def visible_appointment(user: User, appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or not may_see(user, appointment):
        raise NotFound("We could not find that appointment.")
    return appointment


def may_see(user: User, appointment: Appointment) -> bool:
    return user.role in STAFF_ROLES or (user.patient is not None and appointment.patient_id == user.patient.id)


def appointments_for(user: User, first: date | None, last: date | None) -> list[Appointment]:
    query = select(Appointment).order_by(Appointment.starts_at)
    if user.role not in STAFF_ROLES:
        query = query.where(Appointment.patient_id == (user.patient.id if user.patient else -1))
    zone = clinic_zone()
    if first is not None:
        query = query.where(Appointment.starts_at >= datetime.combine(first, time(), zone))
    if last is not None:
        query = query.where(Appointment.starts_at < datetime.combine(last + timedelta(days=1), time(), zone))
    return list(db.session.scalars(query.limit(2000)))


def day_schedule(day: date) -> list[Appointment]:
    zone = clinic_zone()
    start = datetime.combine(day, time(), zone)
    return list(db.session.scalars(select(Appointment).where(
        Appointment.starts_at >= start, Appointment.starts_at < datetime.combine(day + timedelta(days=1), time(), zone))
        .order_by(Appointment.starts_at)))
