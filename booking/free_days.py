"""A month of availability from per-day lists of free starts, each computed once per calendar version and process.

What is free on a day (opening and working hours, closures, reservations) changes only when something is written,
and every such write bumps the calendar's version in the same transaction (booking.calendar_version); each day's
list is kept under the version it was read at, so a change made through any gunicorn worker reaches every worker's
next request. A list also stops serving when the first treatment hold it counted as busy runs out (nothing is
written then). What depends on the request is applied on top of the kept lists every time: the time now (minimum
notice, horizon) and the patient's protocol spacing.

Each kept slot is the very dict the API answers with, its times formatted once, when an answer first needs the day:
formatting was a third of a month's cost, reading the rows a quarter.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from booking import calendar_version, schedule, slots
from booking.models import Service
from booking.serialize import LocalTimes
from clinic.extensions import db
from clinic.settings import clinic_settings, clinic_zone

#: Days kept per process before the store starts afresh: a year of every service, far above what is asked.
MAX_DAYS_KEPT = 4000
STORE = "booking.free_days"


@dataclass
class FreeDay:
    """One clinic-local day's free starts for one service, whatever the time now."""

    starts: list[int]  # microseconds since the epoch, ascending
    available: list[int]  # how many could start at each
    length: int  # microseconds a slot lasts (its whole window)
    zone: ZoneInfo
    fresh_until: int | None  # when a hold counted as busy runs out: the list is read again from then

    @cached_property
    def slots(self) -> list[dict]:
        """{"start", "end", "available"} as the API answers, one per start: formatted the first time an answer
        needs the day. A formatter of its own, as threads of one worker may format two days at once."""
        local = LocalTimes(self.zone)
        return [{"start": local(start), "end": local(start + self.length), "available": available}
                for start, available in zip(self.starts, self.available)]


class _Store:
    """The kept days of one app in one process: keyed by (version, service, day), dropped when the version moves."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.days: dict[tuple[int, int, date], FreeDay] = {}

    def for_version(self, version: int) -> dict[tuple[int, int, date], FreeDay]:
        if version != self.version or len(self.days) > MAX_DAYS_KEPT:
            self.version, self.days = version, {}
        return self.days


def _store() -> _Store:
    return current_app.extensions.setdefault(STORE, _Store())


def clear() -> None:
    """Forget every kept day of this app (tests compare a kept answer with one computed afresh)."""
    current_app.extensions.pop(STORE, None)


def free_slots(service: Service, first: date, last: date, now: datetime,
               allow: Callable[[datetime], bool] | None = None) -> list[dict]:
    """The API's slots from `first` to `last`: bookable now (notice, horizon) and, with `allow`, by the patient."""
    found: list[dict] = []
    for free, low, high in _bookable(service, first, last, now, allow):
        found.extend(free.slots[low:high])
    return found


def _bookable(service: Service, first: date, last: date, now: datetime,
              allow: Callable[[datetime], bool] | None) -> list[tuple[FreeDay, int, int]]:
    """Each day's kept list with the index range of its starts that notice, horizon and `allow` leave."""
    settings = clinic_settings()
    earliest = slots.micros(max(now, now + timedelta(minutes=settings.min_notice_minutes)))
    latest = slots.micros(now + timedelta(days=settings.horizon_days))
    found = []
    for free in _days(service, first, last, slots.micros(now)):
        if not free.starts or free.starts[-1] < earliest or free.starts[0] > latest:
            continue
        if allow is not None and not allow(slots.instant(free.starts[0])):
            continue  # protocol spacing is decided by the clinic-local day alone (booking.treatments)
        found.append((free, bisect_left(free.starts, earliest), bisect_right(free.starts, latest)))
    return found


def _days(service: Service, first: date, last: date, now_us: int) -> list[FreeDay]:
    """Each day's kept list, the missing (or gone stale) ones read in one go for the span they cover."""
    version = calendar_version.current(db.session)
    kept = _store().for_version(version) if version is not None else {}
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    missing = [day for day in days if not _fresh(kept.get((version, service.id, day)), now_us)]
    if missing:
        read = _read(service, missing[0], missing[-1], slots.instant(now_us))
        if version is not None:
            kept.update({(version, service.id, day): free for day, free in read.items()})
    else:
        read = {}
    return [read.get(day) or kept[(version, service.id, day)] for day in days]


def _fresh(free: FreeDay | None, now_us: int) -> bool:
    return free is not None and (free.fresh_until is None or now_us < free.fresh_until)


def _read(service: Service, first: date, last: date, now: datetime) -> dict[date, FreeDay]:
    """Compute the free starts of every day from `first` to `last` from the database."""
    calendar = schedule.load(service, first, last, now)
    found = slots.free_starts(calendar.opening, calendar.need, calendar.clinicians, calendar.chairs)
    zone = clinic_zone()
    length = service.window_minutes * 60_000_000  # a slot ends its whole window
    result = {}
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        low, high = _day_bounds(day, zone)
        today = found[bisect_left(found, (low,)):bisect_left(found, (high,))]
        result[day] = FreeDay([start for start, _ in today], [available for _, available in today], length, zone,
                              calendar.holds_until)
    return result


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """The clinic-local day as [start, end) in microseconds since the epoch."""
    return (slots.micros(datetime.combine(day, time(), zone)),
            slots.micros(datetime.combine(day + timedelta(days=1), time(), zone)))
