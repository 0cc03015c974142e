"""A clinician's private schedule feed, built from plain events (booking.calendar does the iCalendar)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from booking import calendar as ical
from booking.models import Appointment, AppointmentStatus as S
from clinic.extensions import db
from clinic.models import Clinician
from clinic.settings import clinic_settings

PAST, AHEAD = timedelta(days=30), timedelta(days=180)


def clinician_feed(clinician: Clinician, now: datetime) -> bytes:
    """Appointments of the clinician from a month back; no patient names (a feed leaves the clinic's
    systems and sits in a phone's calendar), only the service and the appointment number."""
    settings = clinic_settings()
    rows = db.session.scalars(select(Appointment).where(
        Appointment.clinician_id == clinician.id, Appointment.starts_at >= now - PAST,
        Appointment.starts_at < now + AHEAD, Appointment.status != S.pending_payment.value).order_by(Appointment.starts_at))
    events = [ical.CalendarEvent(
        uid=f"appointment-{a.id}@{settings.name.lower().replace(' ', '-')}", start=a.starts_at, end=a.ends_at,
        summary=f"{a.service.name} (#{a.id})", location=a.chair.name if a.chair else (a.mode or "").replace("_", " "),
        description=f"Appointment #{a.id}", sequence=a.sequence, cancelled=a.status == S.cancelled.value) for a in rows]
    return ical.schedule_feed(events, settings.timezone, f"{clinician.name} – {settings.name}")
