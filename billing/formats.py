"""Re-exports kept for code written against the old names: the formats live in `clinic/formatting.py`."""
from __future__ import annotations

from datetime import date

from clinic import formatting


def us_money(cents: int, currency: str = "usd") -> str:
    """`$1,234.00`: `formatting.money`."""
    return formatting.money(cents, currency)


def us_date(day: date) -> str:
    """`March 17, 2027`: `formatting.long_date` without the weekday."""
    return formatting.long_date(day, weekday=False)


def mmddyyyy(day: date) -> str:
    """`03/17/2027`: `formatting.numeric_date`."""
    return formatting.numeric_date(day)
