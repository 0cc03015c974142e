"""How dates, times, zones and amounts read for people: the US conventions, in one place.

Pure functions (no Flask, no database), used by pages (as Jinja filters, registered in the app factory),
emails, the .ics descriptions and refusal messages, so that every surface says "Wednesday, March 17, 2027",
"Mar 17", "9:00 AM", "Eastern Time" and "$1,234.00" alike. Names are spelled out rather than taken from
strftime("%A"/"%B"), so nothing depends on the server's locale; the static pages' scripts
(clinic/static/clinic-ui.js) produce the same forms with Intl.DateTimeFormat('en-US').
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")

# The names people in the US give their zones; the zones' own names (America/New_York) are for machines.
_ZONE_NAMES = {
    "Eastern Time": ("America/New_York", "America/Detroit", "America/Toronto", "America/Kentucky/Louisville",
                     "America/Kentucky/Monticello", "America/Indiana/Indianapolis", "America/Indiana/Vincennes",
                     "America/Indiana/Winamac", "America/Indiana/Marengo", "America/Indiana/Petersburg",
                     "America/Indiana/Vevay", "US/Eastern", "EST5EDT"),
    "Central Time": ("America/Chicago", "America/Indiana/Knox", "America/Indiana/Tell_City",
                     "America/Menominee", "America/North_Dakota/Center", "America/North_Dakota/New_Salem",
                     "America/North_Dakota/Beulah", "America/Winnipeg", "US/Central", "CST6CDT"),
    "Mountain Time": ("America/Denver", "America/Boise", "America/Edmonton", "US/Mountain", "MST7MDT"),
    "Arizona Time": ("America/Phoenix", "US/Arizona"),
    "Pacific Time": ("America/Los_Angeles", "America/Vancouver", "US/Pacific", "PST8PDT"),
    "Alaska Time": ("America/Anchorage", "America/Juneau", "America/Sitka", "America/Yakutat",
                    "America/Nome", "America/Metlakatla", "US/Alaska"),
    "Hawaii Time": ("Pacific/Honolulu", "US/Hawaii"),
}
ZONE_NAMES = {zone: name for name, zones in _ZONE_NAMES.items() for zone in zones}


def _zone(zone: tzinfo | str) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def _local(value: date | datetime, zone: tzinfo | str | None) -> date | datetime:
    """An aware instant moved to zone; a calendar date (or a naive wall-clock time) as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None and zone is not None:
        return value.astimezone(_zone(zone))
    return value


def long_date(value: date | datetime, zone: tzinfo | str | None = None, weekday: bool = True) -> str:
    """'Wednesday, March 17, 2027' ('March 17, 1980' without the weekday, for a date of birth); an instant is
    read on the calendar of zone."""
    day = _local(value, zone)
    text = f"{MONTHS[day.month - 1]} {day.day}, {day.year}"
    return f"{WEEKDAYS[day.weekday()]}, {text}" if weekday else text


def short_date(value: date | datetime, zone: tzinfo | str | None = None) -> str:
    """'Mar 17': for tight spaces where the year and weekday are plain from the context."""
    day = _local(value, zone)
    return f"{MONTHS[day.month - 1][:3]} {day.day}"


def clock(value: time | datetime, zone: tzinfo | str | None = None) -> str:
    """'9:00 AM', '12:00 AM' (midnight), '12:30 PM' (just after noon): no leading zero."""
    moment = _local(value, zone)
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def date_time(instant: datetime, zone: tzinfo | str, with_zone: bool = False) -> str:
    """'Wednesday, March 17, 2027 at 9:00 AM' (then ' Eastern Time' when with_zone)."""
    text = f"{long_date(instant, zone)} at {clock(instant, zone)}"
    return f"{text} {zone_name(zone)}" if with_zone else text


def zone_name(zone: tzinfo | str) -> str:
    """'Eastern Time' for America/New_York; for a zone without a US name, its city's: 'London Time'."""
    key = zone if isinstance(zone, str) else getattr(zone, "key", str(zone))
    if key in ZONE_NAMES:
        return ZONE_NAMES[key]
    return f"{_city(key)} Time"


def zone_choices(zones: list[str]) -> list[tuple[str, str]]:
    """Zones for a select: the US ones first by their spoken names ('Eastern Time (New York)'), then the rest."""
    def label(zone: str) -> str:
        return f"{zone_name(zone)} ({_city(zone)})" if zone in ZONE_NAMES else zone.replace("_", " ")
    return sorted(((z, label(z)) for z in zones), key=lambda c: (c[0] not in ZONE_NAMES, c[1]))


def _city(zone: str) -> str:
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def money(cents: int, currency: str = "usd") -> str:
    """'$475.00', '$1,234.00', '-$5.00' from integer cents; other currencies as '12.50 EUR'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    amount = f"{whole:,}.{part:02d}"
    if (currency or "usd").lower() == "usd":
        return f"{sign}${amount}"
    return f"{sign}{amount} {currency.upper()}"


def duration(length: int | timedelta) -> str:
    """'2 days', '24 hours', '1 hour 30 minutes', '45 minutes': a length of time, a timedelta or whole minutes.
    Whole days from two days up; a day itself reads as 24 hours, as people say of a link or a fast."""
    minutes = int(length.total_seconds() // 60) if isinstance(length, timedelta) else int(length)
    days, left = divmod(minutes, 24 * 60)
    if days >= 2 and not left:
        return f"{days} days"
    hours, rest = divmod(minutes, 60)
    parts = ([f"{hours} hour{'' if hours == 1 else 's'}"] if hours else []) + \
        ([f"{rest} minute{'' if rest == 1 else 's'}"] if rest or not hours else [])
    return " ".join(parts)


def numeric_date(day: date) -> str:
    """'03/17/2027': zero-padded, the form claims clerks expect on a superbill."""
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"
