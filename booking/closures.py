"""Closures: days the whole clinic or one clinician does not work. Availability and booking read them
through booking.schedule; these services add and remove them (flush, never commit)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from booking import holidays, states
from booking.models import Appointment, Closure
from clinic.errors import ValidationError
from clinic.extensions import db
from clinic.models import Clinician, User
from clinic.settings import clinic_zone

MAX_DAYS = 366


def add(actor: User, *, clinician: Clinician | None, starts_on: date, ends_on: date, reason: str) -> Closure:
    """Close the clinic (or one clinician) from starts_on to ends_on, both included. Appointments already
    booked in those days stay: the caller says how many, so staff can call those patients."""
    if ends_on < starts_on:
        message = "The last day must be on or after the first day."
        raise ValidationError(message, fields={"ends_on": message})
    if (ends_on - starts_on).days >= MAX_DAYS:
        message = f"A closure can last at most {MAX_DAYS} days. Add another for a longer time."
        raise ValidationError(message, fields={"ends_on": message})
    closure = Closure(clinician_id=clinician.id if clinician else None, starts_on=starts_on, ends_on=ends_on,
                      reason=reason.strip())
    db.session.add(closure)
    db.session.flush()
    return closure


def delete(actor: User, closure: Closure) -> None:
    db.session.delete(closure)
    db.session.flush()


def upcoming(today: date) -> list[Closure]:
    return list(db.session.scalars(select(Closure).where(Closure.ends_on >= today)
                                   .order_by(Closure.starts_on, Closure.id).limit(500)))


def booked_during(closure: Closure) -> int:
    """How many live appointments fall in the closure's days (for that clinician, or anyone's)."""
    zone = clinic_zone()
    query = select(func.count(Appointment.id)).where(
        Appointment.status.in_(states.live()),
        Appointment.starts_at >= datetime.combine(closure.starts_on, time(), zone),
        Appointment.starts_at < datetime.combine(closure.ends_on + timedelta(days=1), time(), zone))
    if closure.clinician_id is not None:
        query = query.where(Appointment.clinician_id == closure.clinician_id)
    return db.session.scalar(query) or 0


def seed_federal_holidays(first: date, last: date) -> int:
    """A whole-clinic closure for each US federal holiday (observed date) from first to last; a day that
    already has a whole-clinic closure is left alone, so running it again adds nothing. Returns how many
    it added."""
    added = 0
    for day, name in holidays.federal_holidays_between(first, last):
        closed = select(Closure.id).where(Closure.clinician_id.is_(None), Closure.starts_on <= day,
                                          Closure.ends_on >= day)
        if db.session.scalar(closed.limit(1)) is None:
            db.session.add(Closure(starts_on=day, ends_on=day, reason=name))
            added += 1
    db.session.flush()
    return added
