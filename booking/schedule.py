"""Reads the clinic's calendar from the database into booking.slots' plain structures."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select

from booking import slots
from booking.models import Appointment, AppointmentStatus, Chair, ClinicianHours, Closure, Reservation, Service
from clinic.extensions import db
from clinic.models import Clinician
from clinic.settings import clinic_settings, clinic_zone, weekly_hours


@dataclass(frozen=True)
class Calendar:
    """Everything the pure slot rules need for one service over a range of days."""

    opening: list[slots.Interval]
    clinicians: list[slots.Resource]
    chairs: list[slots.Resource]
    need: slots.Need


def need_for(service: Service) -> slots.Need:
    settings = clinic_settings()
    step = settings.slot_step_minutes if service.kind != "treatment" else max(settings.slot_step_minutes, 15)
    return slots.Need(
        length=timedelta(minutes=service.window_minutes),
        clinician_length=timedelta(minutes=min(service.clinician_minutes, service.window_minutes)),
        needs_chair=service.needs_chair,
        clinician_on_duty_whole_window=service.clinician_on_duty_whole_window,
        step=timedelta(minutes=step),
    )


def load(service: Service, first_day: date, last_day: date, now: datetime,
         ignore_appointment_id: int | None = None) -> Calendar:
    """The clinic's opening, and each eligible clinician's and chair's working and busy time."""
    zone = clinic_zone()
    closures = _closures(first_day, last_day)
    opening = slots.working_intervals(first_day, last_day, zone, weekly_hours(), closures.get(None, set()))
    eligible = [c for c in service.clinicians if c.active]
    chair_rows = _chairs() if service.needs_chair else []
    window = (opening[0].start, opening[-1].end) if opening else None
    busy = _busy(window, now, ignore_appointment_id, [c.id for c in eligible], [ch.id for ch in chair_rows]) \
        if window else {}
    clinicians = [
        slots.Resource(c.id, _clinician_working(c, first_day, last_day, opening, closures), busy.get(("c", c.id), []))
        for c in eligible
    ]
    chairs = [slots.Resource(ch.id, opening, busy.get(("ch", ch.id), [])) for ch in chair_rows]
    return Calendar(opening, clinicians, chairs, need_for(service))


def _chairs() -> Sequence[Chair]:
    return db.session.scalars(select(Chair).where(Chair.active).order_by(Chair.id)).all()


def _closures(first_day: date, last_day: date) -> dict[int | None, set[date]]:
    rows = db.session.scalars(select(Closure).where(Closure.starts_on <= last_day, Closure.ends_on >= first_day))
    days: dict[int | None, set[date]] = {}
    for row in rows:
        day = max(row.starts_on, first_day)
        while day <= min(row.ends_on, last_day):
            days.setdefault(row.clinician_id, set()).add(day)
            day += timedelta(days=1)
    return days


def _clinician_working(clinician: Clinician, first_day: date, last_day: date, opening: list[slots.Interval],
                       closures: dict[int | None, set[date]]) -> list[slots.Interval]:
    """A clinician works their own hours (the clinic's if none are set), never outside opening hours."""
    own = db.session.scalars(select(ClinicianHours).where(ClinicianHours.clinician_id == clinician.id)).all()
    days_off = closures.get(clinician.id, set()) | closures.get(None, set())
    if not own and not days_off:
        return opening
    hours = {}
    for row in own:
        hours.setdefault(row.weekday, []).append((row.starts, row.ends))
    working = slots.working_intervals(first_day, last_day, clinic_zone(), hours or weekly_hours(), days_off)
    return intersect(working, opening)


def intersect(a: Sequence[slots.Interval], b: Sequence[slots.Interval]) -> list[slots.Interval]:
    """The instants in both sorted, non-overlapping interval lists."""
    result, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i].start, b[j].start), min(a[i].end, b[j].end)
        if start < end:
            result.append(slots.Interval(start, end))
        if a[i].end < b[j].end:
            i += 1
        else:
            j += 1
    return result


def live_reservations(now: datetime):
    """Reservations that hold their resource: active, and not of a hold that has expired."""
    return (select(Reservation).join(Appointment).where(
        Reservation.active,
        or_(Appointment.status != AppointmentStatus.pending_payment.value, Appointment.hold_expires_at > now)))


def _busy(window: tuple[datetime, datetime], now: datetime, ignore_appointment_id: int | None,
          clinician_ids: list[int], chair_ids: list[int]) -> dict:
    """Busy time of just these resources: a month of the whole clinic's reservations is most of the cost of
    a month of availability, and another service's chairs or clinicians do not matter here."""
    query = live_reservations(now).where(
        Reservation.starts_at < window[1], Reservation.ends_at > window[0],
        or_(Reservation.clinician_id.in_(clinician_ids), Reservation.chair_id.in_(chair_ids)))
    if ignore_appointment_id is not None:
        query = query.where(Reservation.appointment_id != ignore_appointment_id)
    busy: dict[tuple[str, int], list[slots.Interval]] = {}
    for row in db.session.execute(query.with_only_columns(
            Reservation.clinician_id, Reservation.chair_id, Reservation.starts_at, Reservation.ends_at)):
        key = ("c", row.clinician_id) if row.clinician_id is not None else ("ch", row.chair_id)
        busy.setdefault(key, []).append(slots.Interval(row.starts_at, row.ends_at))
    return busy


def local_days(start: datetime, end: datetime) -> tuple[date, date]:
    zone = clinic_zone()
    return start.astimezone(zone).date(), end.astimezone(zone).date()
