"""Booking a whole induction series in one request: every session keeps every rule, or none is booked."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking import notifications, protocols, schedule, services, slots, treatments
from booking.models import Protocol, Series
from booking.requests import BookingRequest, Driver
from clinic import formatting
from clinic.database import utcnow
from clinic.errors import ValidationError
from clinic.extensions import db
from clinic.models import Patient, User
from clinic.settings import clinic_settings, clinic_zone

DEFAULT_TIME = time(9, 0)
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_time(value) -> time | None:
    if value in (None, ""):
        return None
    try:
        if not isinstance(value, str) or len(value) != 5:
            raise ValueError
        return time.fromisoformat(value)
    except ValueError:
        message = "The preferred time must be written HH:MM, for example 09:00."
        raise ValidationError(message, fields={"preferred_time": message})


def parse_weekdays(value) -> set[int] | None:
    if value in (None, []):
        return None
    names = [str(v).lower()[:3] for v in value] if isinstance(value, list) else []
    if not names or any(n not in WEEKDAY_NAMES for n in names):
        message = "Weekdays must be a list like [\"mon\", \"wed\", \"fri\"]."
        raise ValidationError(message, fields={"weekdays": message})
    return {WEEKDAY_NAMES.index(n) for n in names}


def book_series(actor: User, patient: Patient, *, protocol_code: str, first_date: date, preferred_time: time | None,
                weekdays: set[int] | None, driver: Driver | None, now: datetime | None = None) -> list:
    """Find and hold every session of the protocol's series from `first_date`, at the preferred local time."""
    now = now or utcnow()
    protocol, siblings = _protocol(protocol_code)
    rules = protocols.ProtocolRules.from_dict(protocol.rules)
    if not rules.series_length:
        message = "This protocol is booked one treatment at a time, not as a series."
        raise ValidationError(message, code="not_a_series", fields={"protocol": message})
    services.lock(protocol.service, patient)
    # Read once, under the locks, for the plan and for every session's rules: the patient's clearance and the
    # treatments they have (the service's protocols came with the one asked for).
    seen = treatments.history(patient, now)
    options = treatments.protocol_options(patient, protocol.service, candidates=siblings)
    treatments.protocol_for(patient, protocol.service, protocol.code, now, seen=seen, options=options)  # 403, REMS 422
    starts, calendar = _plan(protocol, rules, patient, first_date, preferred_time or DEFAULT_TIME, weekdays, now,
                             seen)
    series = Series(patient_id=patient.id, protocol_code=protocol.code)
    db.session.add(series)
    db.session.flush()
    booked = services.book_many(actor, [BookingRequest(service=protocol.service, patient=patient, start=start,
                                                       driver=driver, protocol_code=protocol.code, series_id=series.id)
                                        for start in starts], now, seen=seen, options=options, calendar=calendar)
    notifications.series_booked(booked)
    return booked


def _protocol(code: str) -> tuple[Protocol, tuple[Protocol, ...]]:
    """The active protocol asked for, and every active protocol of its service (what choosing one reads), in one
    query."""
    service_id = select(Protocol.service_id).where(Protocol.code == code, Protocol.active).scalar_subquery()
    siblings = tuple(db.session.scalars(select(Protocol).options(joinedload(Protocol.service))
                                        .where(Protocol.service_id == service_id, Protocol.active)
                                        .order_by(Protocol.id)))
    protocol = next((p for p in siblings if p.code == code), None)
    if protocol is None:
        message = "Please choose one of the clinic's protocols."
        raise ValidationError(message, code="unknown_protocol", fields={"protocol": message})
    return protocol, siblings


def _plan(protocol: Protocol, rules: protocols.ProtocolRules, patient: Patient, first_date: date, at: time,
          weekdays: set[int] | None, now: datetime,
          seen: treatments.History) -> tuple[list[datetime], schedule.Calendar]:
    """The remaining sessions of the series, planned around the ones the patient already has in this protocol, and
    the calendar they were planned on (read under the locks: booking them reads it no more)."""
    held = treatments.spacing_dates(patient, protocol, rules, seen=seen)
    remaining = rules.series_length - len(held)
    if remaining < 1:
        message = (f"You already have all {rules.series_length} treatments of the {rules.name} series booked. "
                   "Your clinician will plan what comes next.")
        raise ValidationError(message, code="series_complete", fields={"protocol": message})
    zone = clinic_zone()
    free = _FreeStarts(protocol.service, first_date, now)
    taken = set(seen.dates())

    def start_on(day: date) -> datetime:
        return datetime.combine(day, at, zone).astimezone(timezone.utc)

    def is_open(day: date) -> bool:
        return (weekdays is None or day.weekday() in weekdays) and day not in taken and free.has(day, start_on(day))

    days = protocols.plan_series(rules, first_date, is_open, count=remaining, booked=held)
    if days is None:
        already = f" around the {len(held)} you already have" if held else ""
        message = (f"We could not find {_treatments(remaining)} at {formatting.clock(at)} from "
                   f"{formatting.long_date(first_date)}{already} that keep the {rules.name} schedule. "
                   "Try another start date or time.")
        raise ValidationError(message, code="no_series_fits", fields={"first_date": message})
    return [start_on(day) for day in days], free.calendar


class _FreeStarts:
    """Whether the service could be booked at a start, by the same rules as booking it (past, notice, horizon, opening
    hours, the grid, then a free clinician and chair), on the calendar read under the locks as far as the plan
    reaches: two and a half weeks at first (an induction's six sessions take under two), then, if the plan goes on,
    again from the first date over twice the span (a plan finding nothing in its 120 days reads four or five times), so
    the last calendar read covers every day the plan asked about and is the one its sessions are booked on."""

    CHUNK_DAYS = 17

    def __init__(self, service, first_date: date, now: datetime):
        self.service, self.first_date, self.now = service, first_date, now
        settings = clinic_settings()
        self.notice, self.horizon = timedelta(minutes=settings.min_notice_minutes), timedelta(days=settings.horizon_days)
        self.last_day: date | None = None
        self.calendar: schedule.Calendar | None = None

    def has(self, day: date, start: datetime) -> bool:
        if self.last_day is None or day > self.last_day:
            self._read_to(day)
        calendar = self.calendar
        return slots.check_start(start, calendar.opening, calendar.need, self.now, self.notice, self.horizon) is None \
            and calendar.board.free(slots.micros(start))

    def _read_to(self, day: date) -> None:
        span = (self.last_day - self.first_date).days if self.last_day is not None else 0
        self.last_day = self.first_date + timedelta(days=max(2 * span, (day - self.first_date).days + self.CHUNK_DAYS))
        # A day either side, as booking reads it: a window may cross midnight.
        self.calendar = schedule.load(self.service, self.first_date - timedelta(days=1),
                                      self.last_day + timedelta(days=1), self.now)


def _treatments(n: int) -> str:
    return "1 treatment time" if n == 1 else f"{n} treatment times"
