"""iCalendar files for appointments and clinicians' schedule feeds.

The one module that imports `icalendar`. It works on plain data (`CalendarEvent`),
never on ORM objects or requests, so callers map an appointment to an event and
get `text/calendar` bytes back. Instants come in as timezone-aware UTC and are
written in the clinic's local time with a TZID and its VTIMEZONE, so calendar
apps show the appointment at the clinic's wall-clock time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone

__all__ = ["CalendarEvent", "appointment_calendar", "appointments_calendar", "method", "schedule_feed"]


@dataclass(frozen=True)
class CalendarEvent:
    """One appointment as a calendar sees it.

    `uid` stays the same for every version of the appointment and `sequence`
    goes up on each change, so calendar apps update the entry instead of adding
    a second one.
    """

    uid: str
    start: datetime
    end: datetime
    summary: str
    location: str
    description: str
    sequence: int
    cancelled: bool = False
    last_modified: datetime | None = None
    #: When this version of the file was made (DTSTAMP); None: when it is written.
    stamp: datetime | None = None

    def to_data(self) -> dict:
        """The event as JSON-ready data (instants in ISO 8601 with their offset), to write its file later."""
        return {"uid": self.uid, "start": self.start.isoformat(), "end": self.end.isoformat(), "summary": self.summary,
                "location": self.location, "description": self.description, "sequence": self.sequence,
                "cancelled": self.cancelled, "last_modified": _iso(self.last_modified), "stamp": _iso(self.stamp)}

    @classmethod
    def from_data(cls, data: dict) -> CalendarEvent:
        return cls(**{**data, "start": datetime.fromisoformat(data["start"]), "end": datetime.fromisoformat(data["end"]),
                      "last_modified": _instant(data["last_modified"]), "stamp": _instant(data["stamp"])})

    def __post_init__(self) -> None:
        for name in ("start", "end", "last_modified", "stamp"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"calendar event {name} must be timezone-aware, got {value}")
        if self.end <= self.start:
            raise ValueError(f"calendar event ends ({self.end}) before it starts ({self.start})")
        if self.sequence < 0:
            raise ValueError(f"calendar event sequence must not be negative, got {self.sequence}")


def appointment_calendar(event: CalendarEvent, tz_name: str, clinic_name: str) -> bytes:
    """One appointment as an .ics file: a single VEVENT in the clinic's time zone.

    A cancelled appointment is published with METHOD:CANCEL and STATUS:CANCELLED
    so an imported copy is removed or struck through rather than left standing.
    """
    return appointments_calendar([event], tz_name, clinic_name)


def appointments_calendar(events: Sequence[CalendarEvent], tz_name: str, clinic_name: str) -> bytes:
    """Appointments booked together (a treatment series) as one .ics file, one VEVENT each, so a single
    import puts every session in the patient's calendar. All cancelled: METHOD:CANCEL."""
    zone = _zone(tz_name)
    calendar = _calendar(f"-//{clinic_name}//Appointments//EN")
    calendar.add("METHOD", method(events))
    for event in events:
        calendar.add_component(_vevent(event, zone))
    return _finish(calendar, events)


def method(events: Sequence[CalendarEvent]) -> str:
    """The file's METHOD (and its MIME type's `method`, which must say the same): CANCEL when every event is."""
    return "CANCEL" if all(event.cancelled for event in events) else "PUBLISH"


def schedule_feed(events: Sequence[CalendarEvent], tz_name: str, calendar_name: str) -> bytes:
    """A clinician's subscribable schedule: every event, one VTIMEZONE, named for the app."""
    zone = _zone(tz_name)
    calendar = _calendar(f"-//{calendar_name}//Schedule//EN")
    calendar.calendar_name = calendar_name
    calendar.add("X-WR-TIMEZONE", tz_name)
    for event in events:
        calendar.add_component(_vevent(event, zone))
    return _finish(calendar, events)


def _zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {tz_name!r}") from error


def _calendar(prodid: str) -> Calendar:
    # Built by hand rather than with Calendar.new(), which stamps a fresh random
    # UID on the VCALENDAR every time and would make the feed look new on each poll.
    calendar = Calendar()
    calendar.add("PRODID", prodid)
    calendar.add("VERSION", "2.0")
    return calendar


def _vevent(event: CalendarEvent, zone: ZoneInfo) -> Event:
    return Event.new(
        uid=event.uid,
        start=event.start.astimezone(zone),
        end=event.end.astimezone(zone),
        sequence=event.sequence,
        status="CANCELLED" if event.cancelled else "CONFIRMED",
        summary=event.summary,
        location=event.location,
        description=event.description,
        last_modified=event.last_modified,
        stamp=event.stamp,
    )


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _finish(calendar: Calendar, events: Sequence[CalendarEvent]) -> bytes:
    body = calendar.to_ical()
    if not events:
        return body
    first, last = _timezone_window(events)
    zones = b"".join(_timezone_ical(tzid, first, last) for tzid in sorted(calendar.get_missing_tzids()))
    # Where add_missing_timezones puts them: first among the calendar's components, before the events using them.
    # A property line never holds a bare CRLF (line breaks in values are escaped, folds are CRLF and a space), so
    # the first CRLF followed by BEGIN: after the calendar's own opens its first component.
    at = body.index(b"\r\nBEGIN:", len(b"BEGIN:VCALENDAR")) + 2
    return body[:at] + zones + body[at:]


@lru_cache(maxsize=32)
def _timezone_ical(tzid: str, first: date, last: date) -> bytes:
    """A VTIMEZONE as add_missing_timezones would write it, built and written once per process for each few-year
    window: every file of those years holds the same one (it was a third of a series' calendar file)."""
    return Timezone.from_tzid(tzid, first_date=first, last_date=last).to_ical()


def _timezone_window(events: Sequence[CalendarEvent]) -> tuple[date, date]:
    # The VTIMEZONE only needs the rules around these events; icalendar's default
    # window (1970-2038) bloats every file and stops short of later appointments.
    first = min(event.start for event in events).year - 1
    last = max(event.end for event in events).year + 2
    return date(first, 1, 1), date(last, 1, 1)
