"""Emails about appointments (confirmation, change, cancellation, reminder, the driver's pickup note),
written to the outbox with the appointment's .ics attached; they leave after the commit."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select

from booking import calendar as ical
from booking.links import claim_url, manage_url
from booking.models import Appointment, AppointmentStatus as S, ServiceKind
from clinic import formatting, mail
from clinic.cli import outbox_round
from clinic.database import utcnow
from clinic.extensions import db
from clinic.settings import clinic_settings, clinic_zone


def preparation_notes(appointment: Appointment) -> list[str]:
    """What the patient must know before coming; shown in emails, pages and the .ics."""
    settings = clinic_settings()
    service = appointment.service
    if service.kind == ServiceKind.consultation:
        how = {"phone": "We will call you at the number you gave.", "video": "We will email you a video link.",
               "in_person": f"Come to {settings.address.splitlines()[0] if settings.address else 'the clinic'}."}
        return [how.get(appointment.mode or "", "We look forward to talking with you.")]
    if service.kind != ServiceKind.treatment:
        return []
    notes = [f"Do not eat or drink for {settings.fasting_hours} hours before your treatment.",
             f"Do not drive or operate machinery for {settings.no_driving_hours} hours afterwards.",
             f"Monitoring ends about {local_time(appointment.ends_at)}."]
    if appointment.driver_name:
        notes.append(f"Your designated driver, {appointment.driver_name}, collects you at {local_time(appointment.ends_at)}.")
    return notes


def local_time(instant: datetime) -> str:
    """'9:00 AM' on the clinic's clock."""
    return formatting.clock(instant, clinic_zone())


def local_datetime(instant: datetime) -> str:
    """'Wednesday, March 17, 2027 at 9:00 AM Eastern Time': the zone named, as emails travel."""
    return formatting.date_time(instant, clinic_zone(), with_zone=True)


def calendar_event(appointment: Appointment) -> ical.CalendarEvent:
    settings = clinic_settings()
    location = settings.address.replace("\n", ", ") if appointment.mode in (None, "in_person") else \
        {"phone": "Phone call", "video": "Video call"}.get(appointment.mode, "")
    return ical.CalendarEvent(
        uid=f"appointment-{appointment.id}@{settings.name.lower().replace(' ', '-')}",
        start=appointment.starts_at, end=appointment.ends_at, summary=f"{appointment.service.name} – {settings.name}",
        location=location, description="\n".join(preparation_notes(appointment)), sequence=appointment.sequence,
        cancelled=appointment.status == S.cancelled.value)


def ics_bytes(appointment: Appointment) -> bytes:
    settings = clinic_settings()
    return ical.appointment_calendar(calendar_event(appointment), settings.timezone, settings.name)


CALENDAR_WRITER = "booking.calendar"


def calendar_attachment(filename: str, appointments: list[Appointment]) -> dict:
    """The appointments' .ics for an email, queued as what it will say (the events as they are now, the clinic's
    zone and name) and written when the email is sent (clinic.mail.ATTACHMENT_WRITERS)."""
    settings, now = clinic_settings(), utcnow()  # the file is as of now (its DTSTAMP), whenever it is written
    events = [replace(calendar_event(a), stamp=now) for a in appointments]
    return {"filename": filename, "content_type": f"text/calendar; method={ical.method(events)}",
            "writer": CALENDAR_WRITER, "data": {"timezone": settings.timezone, "clinic": settings.name,
                                                "events": [event.to_data() for event in events]}}


def _write_calendar(data: dict) -> str:
    events = [ical.CalendarEvent.from_data(event) for event in data["events"]]
    return ical.appointments_calendar(events, data["timezone"], data["clinic"]).decode()


mail.ATTACHMENT_WRITERS[CALENDAR_WRITER] = _write_calendar


def _send(appointment: Appointment, subject: str, template: str, dedupe_key: str | None = None, **extra) -> None:
    attachment = calendar_attachment("appointment.ics", [appointment])
    mail.queue(appointment.patient.email, subject, template, attachments=[attachment], dedupe_key=dedupe_key,
               appointment=appointment, when=local_datetime(appointment.starts_at),
               notes=preparation_notes(appointment), manage_url=manage_url(appointment), name=appointment.patient.name,
               hold_until=local_datetime(appointment.hold_expires_at) if appointment.hold_expires_at else None,
               book_url=mail.absolute_url("booking.book"), **extra)


def series_booked(appointments: list[Appointment]) -> None:
    """One email for a series booked in one request, listing every session with its own manage link and one
    .ics holding them all: six near-identical emails at once would bury the one thing to do (pay by when)."""
    first = appointments[0]
    held = any(a.status == S.pending_payment.value for a in appointments)
    attachment = calendar_attachment("treatments.ics", appointments)
    count = len(appointments)
    subject = f"Your {count} treatments are held – please pay to confirm" if held else \
        f"Your {count} treatments are confirmed"
    sessions = [{"when": local_datetime(a.starts_at), "pickup": local_time(a.ends_at), "manage_url": manage_url(a)}
                for a in appointments]
    holds = [a.hold_expires_at for a in appointments if a.hold_expires_at]
    mail.queue(first.patient.email, subject, "series_booked", attachments=[attachment], appointment=first,
               sessions=sessions, held=held, name=first.patient.name,
               total_cents=sum(a.amount_due_cents for a in appointments if a.status == S.pending_payment.value),
               hold_until=local_datetime(min(holds)) if holds else None,
               notes=preparation_notes(first)[:2], book_url=mail.absolute_url("booking.book"))


def booked(appointment: Appointment) -> None:
    held = appointment.status == S.pending_payment.value
    _send(appointment, "Your appointment is held – please pay to confirm" if held else "Your appointment is confirmed",
          "appointment_booked", claim_url=claim_url(appointment))


def rescheduled(appointment: Appointment) -> None:
    _send(appointment, "Your appointment has moved", "appointment_rescheduled")


def cancelled(appointment: Appointment) -> None:
    _send(appointment, "Your appointment is cancelled", "appointment_cancelled")


def reminder(appointment: Appointment) -> None:
    _send(appointment, "Reminder: your appointment is coming up", "appointment_reminder",
          dedupe_key=f"reminder-{appointment.id}-{appointment.sequence}")


def driver_pickup(appointment: Appointment) -> None:
    """The day before a treatment, a short note for the designated driver with the pickup time.

    Drivers give a phone number, not an email, and the clinic has no SMS gateway: the note goes to the
    patient to forward, and the staff day view lists tomorrow's pickups for the front desk to call."""
    mail.queue(appointment.patient.email, f"For your driver, {appointment.driver_name}: pickup details",
               "driver_pickup", dedupe_key=f"driver-{appointment.id}-{appointment.sequence}",
               appointment=appointment, pickup=local_datetime(appointment.ends_at))


@outbox_round.connect
def due_reminders(_sender=None, *, now: datetime) -> int:
    """Queue reminders (and driver notes for treatments) for appointments within the reminder window."""
    window = now + timedelta(hours=clinic_settings().reminder_hours)
    due = db.session.scalars(select(Appointment).where(
        Appointment.status == S.confirmed.value, Appointment.reminder_sent_at.is_(None),
        Appointment.starts_at > now, Appointment.starts_at <= window)).all()
    for appointment in due:
        reminder(appointment)
        if appointment.driver_name:
            driver_pickup(appointment)
        appointment.reminder_sent_at = now
    return len(due)
