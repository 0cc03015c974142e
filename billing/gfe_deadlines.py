"""When a Good Faith Estimate is due (45 CFR 149.610(b)(1)(ii)-(iii)), counted in business days. Pure: no Flask,
no database; the caller passes the days the clinic is closed.

Scheduled at least 3 business days before the service: due within 1 business day of scheduling; at least 10
business days before: within 3 business days. A business day is a weekday the clinic is open: weekends, US federal
holidays and whole-clinic closures are not. Scheduled fewer than 3 business days ahead, the rule sets no deadline
(the clinic still gives one at once)."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

DEADLINES = ((10, 3), (3, 1))  # (scheduled at least this many business days ahead, due within this many)


def is_business_day(day: date, closed: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in closed


def business_days_between(first: date, last: date, closed: Collection[date]) -> int:
    """Business days after `first`, up to and including `last` (Monday to Thursday is 3)."""
    return sum(1 for n in range(1, (last - first).days + 1) if is_business_day(first + timedelta(days=n), closed))


def add_business_days(start: date, count: int, closed: Collection[date]) -> date:
    """The `count`th business day after `start`."""
    day = start
    while count > 0:
        day += timedelta(days=1)
        count -= is_business_day(day, closed)
    return day


def due_on(scheduled_on: date, service_on: date, closed: Collection[date]) -> date | None:
    """The last day the estimate may be given, or None when the service is fewer than 3 business days away."""
    ahead = business_days_between(scheduled_on, service_on, closed)
    for at_least, within in DEADLINES:
        if ahead >= at_least:
            return add_business_days(scheduled_on, within, closed)
    return None
