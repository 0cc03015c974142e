"""US federal holidays (5 U.S.C. 6103), as the dates the clinic is closed for them. Pure: no Flask, no database.

A holiday on a Saturday is observed the Friday before, one on a Sunday the Monday after (Executive Order
11582), so the observed date is the day off. Written as rules rather than a library: eleven fixed rules,
easy to check against the OPM calendar.
"""
from __future__ import annotations

from datetime import date, timedelta

# (name, month, fixed day) or (name, month, weekday (0 = Monday), nth; -1 = last)
FIXED = [("New Year's Day", 1, 1), ("Juneteenth National Independence Day", 6, 19), ("Independence Day", 7, 4),
         ("Veterans Day", 11, 11), ("Christmas Day", 12, 25)]
FLOATING = [("Birthday of Martin Luther King, Jr.", 1, 0, 3), ("Washington's Birthday", 2, 0, 3),
            ("Memorial Day", 5, 0, -1), ("Labor Day", 9, 0, 1), ("Columbus Day", 10, 0, 2),
            ("Thanksgiving Day", 11, 3, 4)]


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth given weekday of a month; nth = -1 is the last one."""
    if nth < 0:
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def observed(day: date) -> date:
    return day - timedelta(days=1) if day.weekday() == 5 else day + timedelta(days=1) if day.weekday() == 6 else day


def federal_holidays(year: int) -> list[tuple[date, str]]:
    """The observed dates of one year's holidays, in date order (New Year's Day of the next year may be
    observed on December 31 of this one: it is listed in the year it falls on, so look at both years)."""
    days = [(observed(date(year, month, day)), name) for name, month, day in FIXED]
    days += [(nth_weekday(year, month, weekday, nth), name) for name, month, weekday, nth in FLOATING]
    return sorted(days)


def federal_holidays_between(first: date, last: date) -> list[tuple[date, str]]:
    """Every observed holiday from first to last, both included."""
    found = [h for year in range(first.year, last.year + 2) for h in federal_holidays(year)]
    return sorted(h for h in found if first <= h[0] <= last)
