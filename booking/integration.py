"""What booking adds to the clinical path: the integration-therapy offer after a treatment, the day's treatments
for the clinician's page, and the scheduling answers clinical asks through clinical.hooks."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from booking import queries, schedule, services, slots, states
from booking.models import Appointment, AppointmentStatus as S, Protocol, Service, ServiceKind
from booking.requests import BookingRequest
from clinic.database import utcnow
from clinic.errors import Conflict, ValidationError
from clinic.extensions import db
from clinic.models import Patient, User
from clinic.settings import clinic_zone
from clinical import hooks


INTEGRATION_FROM, INTEGRATION_UNTIL = timedelta(hours=24), timedelta(hours=48)


def window_hours() -> str:
    """'24 to 48 hours': the window as pages and messages say it."""
    return f"{INTEGRATION_FROM // timedelta(hours=1)} to {INTEGRATION_UNTIL // timedelta(hours=1)} hours"


def integration_service() -> Service | None:
    return db.session.scalar(select(Service).where(Service.kind == ServiceKind.psychotherapy.value, Service.active)
                             .order_by(Service.position, Service.id).limit(1))


def integration_window(treatment: Appointment) -> tuple[datetime, datetime]:
    """Starts from a full day after monitoring ends to two days after the treatment began (domain brief:
    integration psychotherapy is booked 24-48 hours after a treatment)."""
    return treatment.ends_at + INTEGRATION_FROM, treatment.starts_at + INTEGRATION_UNTIL


def _require_offerable(treatment: Appointment) -> Service:
    if treatment.service.kind != ServiceKind.treatment:
        message = "Integration therapy is offered after a treatment, not after this kind of appointment."
        raise ValidationError(message, code="not_a_treatment")
    if treatment.status not in states.live(completed=True):
        raise Conflict("This treatment is not going ahead, so there is no integration session to book.",
                       code="not_allowed_now")
    service = integration_service()
    if service is None:
        raise Conflict("The clinic does not offer integration therapy at the moment.", code="not_offered")
    return service


def integration_slots(treatment: Appointment, now: datetime | None = None) -> tuple[Service, list[slots.Slot]]:
    """Psychotherapy starts in the treatment's integration window that the patient is free for."""
    now = now or utcnow()
    service = _require_offerable(treatment)
    earliest, latest = integration_window(treatment)
    zone = clinic_zone()
    found = queries.available(service, earliest.astimezone(zone).date(), latest.astimezone(zone).date(), now)
    busy = [(a.starts_at, a.ends_at) for a in _patient_busy(treatment.patient, earliest, latest + timedelta(hours=4))]
    return service, [s for s in found if earliest <= s.start <= latest
                     and not any(start < s.end and s.start < end for start, end in busy)]


def _patient_busy(patient: Patient, start: datetime, end: datetime) -> list[Appointment]:
    return list(db.session.scalars(select(Appointment).where(
        Appointment.patient_id == patient.id, Appointment.status.in_(states.live()),
        Appointment.starts_at < end, Appointment.ends_at > start)))


def integration_booked(treatment: Appointment) -> list[Appointment]:
    """Psychotherapy the patient already has in this treatment's integration window."""
    earliest, latest = integration_window(treatment)
    return [a for a in _patient_busy(treatment.patient, earliest, latest + timedelta(minutes=1))
            if a.service.kind == ServiceKind.psychotherapy and earliest <= a.starts_at <= latest]


def book_integration(actor: User, treatment: Appointment, start: datetime, now: datetime | None = None) -> Appointment:
    """One click: book the psychotherapy start offered after this treatment, under booking's usual rules."""
    now = now or utcnow()
    service = _require_offerable(treatment)
    earliest, latest = integration_window(treatment)
    if not earliest <= start <= latest:
        message = f"Please choose one of the times offered, {window_hours()} after your treatment."
        raise ValidationError(message, code="outside_window", fields={"start": message})
    return services.book(actor, BookingRequest(service=service, patient=treatment.patient, start=start), now)


def todays_treatments(day: date) -> list[Appointment]:
    """The day's treatments (not cancelled) in start order, for the clinician's day page."""
    return [a for a in queries.day_schedule(day)
            if a.service.kind == ServiceKind.treatment and a.status != S.cancelled.value]


def local_day(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(clinic_zone()).date()


def upcoming_treatments(patient: Patient, now: datetime | None = None) -> list[Appointment]:
    now = now or utcnow()
    return list(db.session.scalars(select(Appointment).join(Service).where(
        Appointment.patient_id == patient.id, Service.kind == ServiceKind.treatment.value, Appointment.starts_at > now,
        Appointment.status.in_(states.live())).order_by(Appointment.starts_at)))


def protocols() -> list[tuple[str, str]]:
    return [(p.code, p.name) for p in db.session.scalars(select(Protocol).where(Protocol.active).order_by(Protocol.id))]


def patients_appointment(patient: Patient, appointment_id: int) -> Appointment | None:
    appointment = db.session.get(Appointment, appointment_id)
    return appointment if appointment is not None and appointment.patient_id == patient.id else None


def provide_to_clinical() -> None:
    """Plug booking's answers into the clinical path (called when booking's blueprint is registered)."""
    hooks.provide(protocols=protocols, upcoming_treatments=upcoming_treatments,
                  clinicians_on_duty=schedule.clinicians_on_duty, patients_appointment=patients_appointment)
