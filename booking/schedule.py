"""Reads the clinic's calendar from the database into booking.slots' plain structures."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, case, or_, select

from booking import slots
from booking.models import (Appointment, AppointmentStatus, Chair, ClinicianHours, Closure, Reservation, Service, ServiceKind,
                            service_clinicians)
from clinic.database import epoch_micros
from clinic.extensions import db
from clinic.models import Clinician
from clinic.settings import clinic_settings, clinic_zone, weekly_hours

#: No reservation is longer: every booking's whole window lies inside one day's opening hours (slots.check_start
#: refuses any other start), and a local day lasts at most 25 hours. Two days leave room to spare. It gives the
#: busy-time query a lower bound on starts_at, so the cost follows the asked range, not the clinic's history.
LONGEST_RESERVATION = timedelta(days=2)


@dataclass(frozen=True)
class Calendar:
    """Everything the pure slot rules need for one service over a range of days."""

    opening: list[slots.Interval]
    clinicians: list[slots.Resource]
    chairs: list[slots.Resource]
    need: slots.Need
    #: When the first treatment hold among the busy time read runs out (microseconds since the epoch), or None:
    #: until then the calendar stands as read; from then on that hold's place is free (booking.free_days).
    holds_until: int | None = None
    #: The clinic-local days read.
    first_day: date | None = None
    last_day: date | None = None

    def covers(self, first: date, last: date) -> bool:
        return self.first_day is not None and self.first_day <= first and last <= self.last_day

    @cached_property
    def board(self) -> slots.Board:
        """The resources' timelines, built on first use: a series plans on them and books on them, and every
        place booked from this calendar is taken through them (booking.services._choose_resources)."""
        return slots.Board(self.need, self.clinicians, self.chairs)


def need_for(service: Service) -> slots.Need:
    settings = clinic_settings()
    step = settings.slot_step_minutes if service.kind != ServiceKind.treatment else max(settings.slot_step_minutes, 15)
    return slots.Need(
        length=timedelta(minutes=service.window_minutes),
        clinician_length=timedelta(minutes=min(service.clinician_minutes, service.window_minutes)),
        needs_chair=service.needs_chair,
        clinician_on_duty_whole_window=service.clinician_on_duty_whole_window,
        step=timedelta(minutes=step),
    )


def load(service: Service, first_day: date, last_day: date, now: datetime,
         ignore_appointment_id: int | None = None) -> Calendar:
    """The clinic's opening, and each eligible clinician's and chair's working and busy time. Reads plain
    columns (no ORM objects): this runs for every availability request and twice for every booking."""
    closures = _closures(first_day, last_day)
    clinic_hours = weekly_hours()
    opening = slots.working_intervals(first_day, last_day, clinic_zone(), clinic_hours, closures.get(None, set()))
    clinician_ids, own_hours = _eligible_clinicians(service)
    chair_ids = _chairs() if service.needs_chair else []
    window = (opening[0].start, opening[-1].end) if opening else None
    busy = _busy(window, now, ignore_appointment_id, clinician_ids, chair_ids) if window else BusyTime()
    clinicians = [slots.Resource(clinician_id, _clinician_working(
        clinician_id, own_hours.get(clinician_id), first_day, last_day, opening, closures, clinic_hours),
        busy.get(("c", clinician_id), slots.BusySpans())) for clinician_id in clinician_ids]
    chairs = [slots.Resource(chair_id, opening, busy.get(("ch", chair_id), slots.BusySpans())) for chair_id in chair_ids]
    return Calendar(opening, clinicians, chairs, need_for(service), busy.holds_until, first_day, last_day)


def clinicians_working_on(day: date) -> dict[int, list[slots.Interval]]:
    """Every active clinician's working time on one clinic-local day: own hours (or the clinic's), within
    opening hours, less closures. For questions about who is on duty, whatever the service."""
    closures, clinic_hours = _closures(day, day), weekly_hours()
    opening = slots.working_intervals(day, day, clinic_zone(), clinic_hours, closures.get(None, set()))
    ids, own_hours = _eligible_clinicians(None)
    return {clinician_id: _clinician_working(clinician_id, own_hours.get(clinician_id), day, day, opening, closures,
                                             clinic_hours) for clinician_id in ids}


def _eligible_clinicians(service: Service | None) -> tuple[list[int], dict[int, dict[int, list[tuple[time, time]]]]]:
    """The service's (or, without one, the clinic's) active clinicians by id, and the own weekly hours (weekday
    0 = Monday) of those who have any: one query, as both are read for every availability request."""
    ids: list[int] = []
    hours: dict[int, dict[int, list[tuple[time, time]]]] = {}
    query = (select(Clinician.id, ClinicianHours.weekday, ClinicianHours.starts, ClinicianHours.ends)
             .outerjoin(ClinicianHours, ClinicianHours.clinician_id == Clinician.id)
             .where(Clinician.active).order_by(Clinician.id))
    if service is not None:
        query = query.join(service_clinicians, service_clinicians.c.clinician_id == Clinician.id).where(
            service_clinicians.c.service_id == service.id)
    for clinician_id, weekday, starts, ends in db.session.execute(query):
        if not ids or ids[-1] != clinician_id:
            ids.append(clinician_id)
        if weekday is not None:
            hours.setdefault(clinician_id, {}).setdefault(weekday, []).append((starts, ends))
    return ids, hours


def _chairs() -> list[int]:
    return list(db.session.scalars(select(Chair.id).where(Chair.active).order_by(Chair.id)))


def _closures(first_day: date, last_day: date) -> dict[int | None, set[date]]:
    rows = db.session.scalars(select(Closure).where(Closure.starts_on <= last_day, Closure.ends_on >= first_day))
    days: dict[int | None, set[date]] = {}
    for row in rows:
        day = max(row.starts_on, first_day)
        while day <= min(row.ends_on, last_day):
            days.setdefault(row.clinician_id, set()).add(day)
            day += timedelta(days=1)
    return days


def _clinician_working(clinician_id: int, own: dict | None, first_day: date, last_day: date,
                       opening: list[slots.Interval], closures: dict[int | None, set[date]],
                       clinic_hours: dict) -> list[slots.Interval]:
    """A clinician works their own hours (the clinic's if none are set), never outside opening hours."""
    days_off = closures.get(clinician_id, set()) | closures.get(None, set())
    if not own and not days_off:
        return opening
    working = slots.working_intervals(first_day, last_day, clinic_zone(), own or clinic_hours, days_off)
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


# Built once: for every availability request SQLAlchemy would otherwise rebuild this statement and its cache key.
_BUSY = live_reservations(bindparam("now")).where(
    Reservation.starts_at < bindparam("until"), Reservation.starts_at > bindparam("since"),
    Reservation.ends_at > bindparam("start"), Reservation.appointment_id != bindparam("ignore"),
    or_(Reservation.clinician_id.in_(bindparam("clinicians", expanding=True)),
        Reservation.chair_id.in_(bindparam("chairs", expanding=True)))).with_only_columns(
    Reservation.clinician_id, Reservation.chair_id, epoch_micros(Reservation.starts_at), epoch_micros(Reservation.ends_at),
    case((Appointment.status == AppointmentStatus.pending_payment.value, epoch_micros(Appointment.hold_expires_at))))


class BusyTime(dict):
    """Busy spans by resource, ("c", clinician id) or ("ch", chair id), and when the first treatment hold among
    them runs out (microseconds since the epoch; None without holds): until then what was read stands."""

    holds_until: int | None = None


def _busy(window: tuple[datetime, datetime], now: datetime, ignore_appointment_id: int | None,
          clinician_ids: list[int], chair_ids: list[int]) -> BusyTime:
    """Busy time of just these resources, in microseconds, and when the first hold among it runs out: a month of
    the whole clinic's reservations is most of the cost of a month of availability, and another service's chairs
    or clinicians do not matter here. The lower bound on starts_at lets the (resource, starts_at) indexes skip the
    clinic's history."""
    busy = BusyTime()
    for clinician_id, chair_id, start, end, hold_expires in db.session.execute(_BUSY, {
            "now": now, "until": window[1], "since": window[0] - LONGEST_RESERVATION, "start": window[0],
            "ignore": -1 if ignore_appointment_id is None else ignore_appointment_id,
            "clinicians": clinician_ids, "chairs": chair_ids}):
        key = ("c", clinician_id) if clinician_id is not None else ("ch", chair_id)
        busy.setdefault(key, slots.BusySpans()).append((start, end))
        if hold_expires is not None and (busy.holds_until is None or hold_expires < busy.holds_until):
            busy.holds_until = hold_expires
    return busy


def local_days(start: datetime, end: datetime) -> tuple[date, date]:
    zone = clinic_zone()
    return start.astimezone(zone).date(), end.astimezone(zone).date()


def clinicians_on_duty(now: datetime) -> list[Clinician]:
    """Active clinicians working at `now`: within opening hours, their own hours, and not on a closure."""
    working = clinicians_working_on(now.astimezone(clinic_zone()).date())
    on_duty = [clinician_id for clinician_id, hours in working.items() if _covers(hours, now)]
    return list(db.session.scalars(select(Clinician).where(Clinician.id.in_(on_duty)).order_by(Clinician.id)))


def _covers(intervals: list[slots.Interval], now: datetime) -> bool:
    return any(i.start <= now < i.end for i in intervals)
