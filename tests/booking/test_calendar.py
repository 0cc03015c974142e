import json
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

import pytest
from icalendar import Calendar

from booking.calendar import CalendarEvent, appointment_calendar, schedule_feed

NEW_YORK = "America/New_York"
PHOENIX = "America/Phoenix"
CLINIC = "Springfield Ketamine Clinic"
PREPARATION = (
    "Please do not eat for 6 hours before your treatment.\n"
    "Bring the person who will drive you home; you may not drive until tomorrow.\n"
    "Wear comfortable clothing, with sleeves that roll up for the IV."
)


def utc(year, month, day, hour, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=timezone.utc)


def make_event(**overrides):
    start = overrides.pop("start", utc(2026, 12, 3, 14))
    defaults = dict(
        uid="appointment-42@clinic.example",
        start=start,
        end=start + timedelta(minutes=170),
        summary="IV ketamine treatment",
        location="12 Elm Street, Springfield",
        description=PREPARATION,
        sequence=0,
    )
    return CalendarEvent(**{**defaults, **overrides})


def parse(ics):
    return Calendar.from_ical(ics)


def only_event(ics):
    (event,) = parse(ics).walk("VEVENT")
    return event


def local_start(event):
    prop = event["DTSTART"]
    return prop.params["TZID"], prop.dt


def test_ics_has_local_start_with_tzid():
    event = only_event(appointment_calendar(make_event(), NEW_YORK, CLINIC))

    tzid, start = local_start(event)
    assert tzid == NEW_YORK
    assert start.time() == time(9, 0)
    assert start.utcoffset() == timedelta(hours=-5)
    assert event.end.astimezone(timezone.utc) == utc(2026, 12, 3, 16, 50)


def test_appointment_calendar_is_published_by_the_clinic():
    calendar = parse(appointment_calendar(make_event(), NEW_YORK, CLINIC))

    assert calendar["VERSION"] == "2.0"
    assert CLINIC in calendar["PRODID"]
    assert calendar["METHOD"] == "PUBLISH"


def test_confirmed_event_carries_its_details():
    event = only_event(appointment_calendar(make_event(), NEW_YORK, CLINIC))

    assert event["UID"] == "appointment-42@clinic.example"
    assert event["STATUS"] == "CONFIRMED"
    assert event["SUMMARY"] == "IV ketamine treatment"
    assert event["LOCATION"] == "12 Elm Street, Springfield"
    assert event.stamp.tzinfo is not None


def test_vtimezone_for_new_york_has_standard_and_daylight():
    calendar = parse(appointment_calendar(make_event(), NEW_YORK, CLINIC))

    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert vtimezone["TZID"] == NEW_YORK
    kinds = {component.name for component in vtimezone.subcomponents}
    assert kinds == {"STANDARD", "DAYLIGHT"}


def test_vtimezone_for_phoenix_has_only_standard():
    calendar = parse(appointment_calendar(make_event(), PHOENIX, CLINIC))

    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert vtimezone["TZID"] == PHOENIX
    assert {component.name for component in vtimezone.subcomponents} == {"STANDARD"}


def test_phoenix_start_is_mst_all_year():
    for start in (utc(2026, 7, 1, 16), utc(2026, 12, 3, 16)):
        event = only_event(appointment_calendar(make_event(start=start), PHOENIX, CLINIC))

        assert local_start(event)[1].time() == time(9, 0)


def test_uid_is_stable_and_sequence_carried_across_a_change():
    first = make_event()
    moved = replace(first, start=first.start + timedelta(days=1), end=first.end + timedelta(days=1), sequence=1)

    before = only_event(appointment_calendar(first, NEW_YORK, CLINIC))
    after = only_event(appointment_calendar(moved, NEW_YORK, CLINIC))

    assert before["UID"] == after["UID"] == first.uid
    assert (before.sequence, after.sequence) == (0, 1)
    assert after.start.date() == before.start.date() + timedelta(days=1)


def test_cancelled_event_is_sent_as_a_cancellation():
    cancelled = make_event(cancelled=True, sequence=3)

    calendar = parse(appointment_calendar(cancelled, NEW_YORK, CLINIC))

    assert calendar["METHOD"] == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert event["STATUS"] == "CANCELLED"
    assert event.sequence == 3


def test_description_keeps_multi_line_preparation_notes():
    event = only_event(appointment_calendar(make_event(), NEW_YORK, CLINIC))

    assert event["DESCRIPTION"] == PREPARATION
    assert len(str(event["DESCRIPTION"]).splitlines()) == 3


@pytest.mark.parametrize("extra", [{}, {"last_modified": utc(2026, 11, 20, 15, 30), "cancelled": True}],
                         ids=["plain", "changed-and-cancelled"])
def test_an_event_kept_as_data_writes_the_same_file(extra):
    """What the outbox keeps of an event (JSON-ready data) gives the same event and, stamped, the same bytes."""
    event = make_event(stamp=utc(2026, 11, 22, 9, 15), **extra)
    data = event.to_data()

    assert CalendarEvent.from_data(json.loads(json.dumps(data))) == event
    assert appointment_calendar(CalendarEvent.from_data(data), NEW_YORK, CLINIC) == \
        appointment_calendar(event, NEW_YORK, CLINIC)
    assert b"DTSTAMP:20261122T091500Z" in appointment_calendar(event, NEW_YORK, CLINIC)


def test_last_modified_is_written_in_utc():
    changed = utc(2026, 11, 20, 15, 30)

    event = only_event(appointment_calendar(make_event(last_modified=changed), NEW_YORK, CLINIC))

    assert event["LAST-MODIFIED"].dt == changed
    assert b"LAST-MODIFIED:20261120T153000Z" in event.to_ical()


@pytest.mark.parametrize(
    ("start", "wall_clock", "offset_hours"),
    [
        # 2026-11-01: New York falls back from EDT to EST at 02:00.
        (utc(2026, 11, 1, 14), time(9, 0), -5),
        (utc(2026, 10, 31, 13), time(9, 0), -4),
        # 2026-03-08: New York springs forward at 02:00.
        (utc(2026, 3, 8, 13), time(9, 0), -4),
    ],
)
def test_event_on_dst_change_day_gets_right_offset(start, wall_clock, offset_hours):
    event = only_event(appointment_calendar(make_event(start=start), NEW_YORK, CLINIC))

    _, local = local_start(event)
    assert local.time() == wall_clock
    assert local.utcoffset() == timedelta(hours=offset_hours)
    assert local.astimezone(timezone.utc) == start


def test_vtimezone_offsets_agree_with_dst_change_day():
    calendar = parse(appointment_calendar(make_event(start=utc(2026, 11, 1, 14)), NEW_YORK, CLINIC))

    (vtimezone,) = calendar.walk("VTIMEZONE")
    back_to_standard = [
        component for component in vtimezone.walk("STANDARD") if component["TZOFFSETFROM"].td == timedelta(hours=-4)
    ]
    assert back_to_standard
    assert b"20261101T020000" in back_to_standard[0].to_ical()


def test_feed_holds_every_event_and_one_vtimezone():
    events = [
        make_event(uid=f"appointment-{n}@clinic.example", start=utc(2026, 11, 2 + n, 14), sequence=n)
        for n in range(5)
    ]

    calendar = parse(schedule_feed(events, NEW_YORK, "Dr. Rivera's schedule"))

    assert [event["UID"] for event in calendar.walk("VEVENT")] == [event.uid for event in events]
    assert [vtimezone["TZID"] for vtimezone in calendar.walk("VTIMEZONE")] == [NEW_YORK]
    assert calendar["X-WR-CALNAME"] == "Dr. Rivera's schedule"
    assert calendar["X-WR-TIMEZONE"] == NEW_YORK
    assert all(local_start(event)[0] == NEW_YORK for event in calendar.walk("VEVENT"))


def test_feed_marks_cancelled_events_without_dropping_them():
    events = [make_event(), make_event(uid="appointment-43@clinic.example", cancelled=True)]

    calendar = parse(schedule_feed(events, NEW_YORK, "Dr. Rivera's schedule"))

    assert [event["STATUS"] for event in calendar.walk("VEVENT")] == ["CONFIRMED", "CANCELLED"]
    assert "METHOD" not in calendar


def test_empty_feed_is_still_a_calendar():
    calendar = parse(schedule_feed([], NEW_YORK, "Dr. Rivera's schedule"))

    assert calendar.walk("VEVENT") == []
    assert calendar["X-WR-TIMEZONE"] == NEW_YORK


@pytest.mark.parametrize("field", ["start", "end", "last_modified"])
def test_naive_datetimes_are_refused(field):
    aware = make_event()
    naive = getattr(aware, field) or utc(2026, 11, 20, 12)

    with pytest.raises(ValueError, match="timezone-aware"):
        replace(aware, **{field: naive.replace(tzinfo=None)})


def test_event_ending_before_it_starts_is_refused():
    event = make_event()

    with pytest.raises(ValueError, match="before it starts"):
        replace(event, end=event.start)


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="unknown time zone"):
        appointment_calendar(make_event(), "America/Springfield", CLINIC)


def test_ics_file_uses_crlf_and_folds_long_lines(tmp_path):
    long_notes = "Arrive 15 minutes early so the nurse can take your blood pressure. " * 3
    path = tmp_path / "appointment.ics"
    path.write_bytes(appointment_calendar(make_event(description=long_notes), NEW_YORK, CLINIC))

    raw = path.read_bytes()
    lines = raw.split(b"\r\n")
    assert raw.endswith(b"\r\n") and lines[-1] == b""
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)
    assert only_event(raw)["DESCRIPTION"] == long_notes


@pytest.mark.parametrize("zone", ["America/New_York", "America/Phoenix", "Europe/London"])
def test_the_kept_vtimezone_is_written_exactly_as_icalendar_writes_it(zone):
    """The clinic's VTIMEZONE is written once per process and placed in each file: byte for byte what icalendar's
    add_missing_timezones gives, for one event and for a series crossing a year and a clock change."""
    from zoneinfo import ZoneInfo
    from booking import calendar as module
    start = datetime(2026, 12, 28, 14, tzinfo=timezone.utc)
    for count in (1, 6):
        events = [module.CalendarEvent(uid=f"appointment-{n}@clinic", start=start + timedelta(days=30 * n),
                                       end=start + timedelta(days=30 * n, hours=3), summary="IV ketamine",
                                       location="1 Main St", description="Fast for six hours.\nBring your driver.",
                                       sequence=n) for n in range(count)]
        ours = module.appointments_calendar(events, zone, "Clinic")
        theirs = module._calendar("-//Clinic//Appointments//EN")
        theirs.add("METHOD", "PUBLISH")
        for event in events:
            theirs.add_component(module._vevent(event, ZoneInfo(zone)))
        theirs.add_missing_timezones(*module._timezone_window(events))
        assert ours == theirs.to_ical()
        assert Calendar.from_ical(ours).timezones[0].tz_name == zone
