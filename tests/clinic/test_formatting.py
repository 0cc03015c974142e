"""The US forms every page, email and message uses (clinic/formatting.py)."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from clinic import formatting

NEW_YORK = ZoneInfo("America/New_York")


def test_long_and_short_dates_read_the_american_way():
    assert formatting.long_date(date(2027, 3, 17)) == "Wednesday, March 17, 2027"
    assert formatting.long_date(date(2026, 12, 2)) == "Wednesday, December 2, 2026"
    assert formatting.long_date(date(1980, 3, 17), weekday=False) == "March 17, 1980"
    assert formatting.short_date(date(2027, 3, 17)) == "Mar 17"
    assert formatting.short_date(date(2027, 9, 5)) == "Sep 5"


def test_an_instant_is_read_on_the_clinic_calendar():
    late_evening = datetime(2027, 3, 18, 3, 30, tzinfo=timezone.utc)  # 11:30 PM on the 17th in New York
    assert formatting.long_date(late_evening, NEW_YORK) == "Wednesday, March 17, 2027"
    assert formatting.short_date(late_evening, "America/New_York") == "Mar 17"
    assert formatting.clock(late_evening, NEW_YORK) == "11:30 PM"


@pytest.mark.parametrize("wall, expected", [
    (time(0, 0), "12:00 AM"), (time(0, 5), "12:05 AM"), (time(9, 0), "9:00 AM"), (time(11, 59), "11:59 AM"),
    (time(12, 0), "12:00 PM"), (time(12, 30), "12:30 PM"), (time(13, 0), "1:00 PM"), (time(23, 45), "11:45 PM"),
])
def test_clock_has_no_leading_zero_and_names_midnight_and_noon(wall, expected):
    assert formatting.clock(wall) == expected


def test_the_same_wall_clock_time_across_daylight_saving_changes():
    # 9 AM Eastern is 14:00 UTC in winter and 13:00 UTC in summer (DST began March 14, 2027).
    winter = datetime(2027, 3, 12, 14, 0, tzinfo=timezone.utc)
    summer = datetime(2027, 3, 15, 13, 0, tzinfo=timezone.utc)
    assert formatting.clock(winter, NEW_YORK) == formatting.clock(summer, NEW_YORK) == "9:00 AM"
    # The hour that does not exist on spring-forward day: 1:59 AM EST is followed by 3:00 AM EDT.
    assert formatting.clock(datetime(2027, 3, 14, 6, 59, tzinfo=timezone.utc), NEW_YORK) == "1:59 AM"
    assert formatting.clock(datetime(2027, 3, 14, 7, 0, tzinfo=timezone.utc), NEW_YORK) == "3:00 AM"
    # Fall back: 1:30 AM happens twice and reads the same both times.
    first = datetime(2027, 11, 7, 5, 30, tzinfo=timezone.utc)
    second = datetime(2027, 11, 7, 6, 30, tzinfo=timezone.utc)
    assert formatting.clock(first, NEW_YORK) == formatting.clock(second, NEW_YORK) == "1:30 AM"


def test_date_time_joins_day_and_clock_and_may_name_the_zone():
    instant = datetime(2027, 3, 17, 13, 0, tzinfo=timezone.utc)
    assert formatting.date_time(instant, NEW_YORK) == "Wednesday, March 17, 2027 at 9:00 AM"
    assert formatting.date_time(instant, NEW_YORK, with_zone=True) == \
        "Wednesday, March 17, 2027 at 9:00 AM Eastern Time"


@pytest.mark.parametrize("zone, expected", [
    ("America/New_York", "Eastern Time"), ("America/Chicago", "Central Time"), ("America/Denver", "Mountain Time"),
    ("America/Phoenix", "Arizona Time"), ("America/Los_Angeles", "Pacific Time"), ("America/Anchorage", "Alaska Time"),
    ("Pacific/Honolulu", "Hawaii Time"), ("America/Indiana/Indianapolis", "Eastern Time"),
    ("Europe/London", "London Time"), ("America/Argentina/Buenos_Aires", "Buenos Aires Time"),
])
def test_zones_are_named_as_people_say_them(zone, expected):
    assert formatting.zone_name(zone) == expected
    assert formatting.zone_name(ZoneInfo(zone)) == expected


def test_zone_choices_put_the_us_zones_first_by_their_spoken_names():
    choices = formatting.zone_choices(["Europe/London", "America/New_York", "America/Phoenix", "America/Chicago"])
    assert choices == [("America/Phoenix", "Arizona Time (Phoenix)"), ("America/Chicago", "Central Time (Chicago)"),
                       ("America/New_York", "Eastern Time (New York)"), ("Europe/London", "Europe/London")]


@pytest.mark.parametrize("cents, currency, expected", [
    (47500, "usd", "$475.00"), (123400, "USD", "$1,234.00"), (5, "usd", "$0.05"), (0, "usd", "$0.00"),
    (123456789, "usd", "$1,234,567.89"), (-500, "usd", "-$5.00"), (1250, "eur", "12.50 EUR"),
])
def test_money_from_integer_cents(cents, currency, expected):
    assert formatting.money(cents, currency) == expected


def test_the_filters_are_registered_for_templates(app):
    with app.test_request_context():
        from flask import render_template_string
        out = render_template_string(
            "{{ d | long_date }}|{{ d | long_date(weekday=False) }}|{{ d | short_date }}|{{ t | clock }}|{{ 47500 | money }}|{{ 'America/Phoenix' | zone_name }}",
            d=date(2027, 3, 17), t=time(0, 0))
    assert out == "Wednesday, March 17, 2027|March 17, 2027|Mar 17|12:00 AM|$475.00|Arizona Time"


def test_durations_read_in_hours_and_minutes():
    assert formatting.duration(120) == "2 hours"
    assert formatting.duration(60) == "1 hour"
    assert formatting.duration(150) == "2 hours 30 minutes"
    assert formatting.duration(45) == "45 minutes"
    assert formatting.duration(61) == "1 hour 1 minute"
    assert formatting.duration(0) == "0 minutes"


def test_durations_from_a_timedelta_read_as_people_say_them():
    assert formatting.duration(timedelta(hours=1)) == "1 hour"
    assert formatting.duration(timedelta(hours=24)) == "24 hours"
    assert formatting.duration(timedelta(days=2)) == "2 days"
    assert formatting.duration(timedelta(hours=50)) == "50 hours"
