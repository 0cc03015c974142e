from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.slots import (
    Board,
    BusySpans,
    Interval,
    Need,
    Resource,
    Slot,
    available_slots,
    candidate_starts,
    check_start,
    free_resources,
    micros,
    working_intervals,
)

NEW_YORK = ZoneInfo("America/New_York")
PHOENIX = ZoneInfo("America/Phoenix")
WEEKDAYS_8_TO_18 = {weekday: [(time(8), time(18))] for weekday in range(5)}
MONDAY = date(2026, 4, 13)
SUNDAY = date(2026, 4, 19)
LONG_AGO = datetime(2026, 1, 1, tzinfo=timezone.utc)

CONSULTATION = Need(length=timedelta(minutes=15), clinician_length=timedelta(minutes=15), needs_chair=False)
IV_TREATMENT = Need(length=timedelta(minutes=170), clinician_length=timedelta(minutes=15), needs_chair=True)
ESKETAMINE = Need(
    length=timedelta(minutes=120),
    clinician_length=timedelta(minutes=15),
    needs_chair=True,
    clinician_on_duty_whole_window=True,
)


def local(day, hour, minute=0, tz=NEW_YORK):
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(timezone.utc)


def span(day, start, end, tz=NEW_YORK):
    return Interval(local(day, *start, tz=tz), local(day, *end, tz=tz))


def clinic_hours(first_day=MONDAY, last_day=MONDAY, tz=NEW_YORK, closed_days=()):
    return working_intervals(first_day, last_day, tz, WEEKDAYS_8_TO_18, closed_days)


def staff(count, opening, first_id=1, busy=None):
    busy = busy or {}
    return [Resource(id, opening, busy.get(id, ())) for id in range(first_id, first_id + count)]


def slots(need=CONSULTATION, opening=None, clinicians=None, chairs=None, now=LONG_AGO,
          min_notice=timedelta(hours=2), horizon=timedelta(days=400), allow=None):
    opening = clinic_hours() if opening is None else opening
    clinicians = staff(2, opening) if clinicians is None else clinicians
    chairs = staff(3, opening, first_id=101) if chairs is None else chairs
    return available_slots(opening, need, clinicians, chairs, now, min_notice, horizon, allow)


def by_local_time(found, tz=NEW_YORK):
    return {slot.start.astimezone(tz).strftime("%H:%M"): slot.available for slot in found}


def assert_distinct_utc_steps(starts, step=timedelta(minutes=15)):
    assert all(start.utcoffset() == timedelta(0) for start in starts)
    assert len(set(starts)) == len(starts)
    assert all(later - earlier == step for earlier, later in zip(starts, starts[1:]))


# Intervals


def test_back_to_back_intervals_do_not_overlap():
    morning, afternoon = span(MONDAY, (8, 0), (12, 0)), span(MONDAY, (12, 0), (18, 0))
    assert not morning.overlaps(afternoon) and not afternoon.overlaps(morning)


def test_partly_shared_intervals_overlap_both_ways():
    first, second = span(MONDAY, (8, 0), (9, 0)), span(MONDAY, (8, 59), (10, 0))
    assert first.overlaps(second) and second.overlaps(first)


def test_interval_contains_itself_and_inner_spans_only():
    day = span(MONDAY, (8, 0), (18, 0))
    assert day.contains(day)
    assert day.contains(span(MONDAY, (9, 0), (10, 0)))
    assert not day.contains(span(MONDAY, (17, 0), (18, 1)))


@pytest.mark.parametrize("start, end", [
    (datetime(2026, 4, 13, 9), datetime(2026, 4, 13, 10)),
    (LONG_AGO, LONG_AGO),
    (LONG_AGO + timedelta(hours=1), LONG_AGO),
])
def test_naive_or_empty_interval_is_refused(start, end):
    with pytest.raises(ValueError):
        Interval(start, end)


# Opening hours


def test_weekday_hours_become_one_utc_interval_per_open_day():
    opening = clinic_hours(MONDAY, SUNDAY)
    assert len(opening) == 5
    assert opening[0] == Interval(datetime(2026, 4, 13, 12, tzinfo=timezone.utc),
                                  datetime(2026, 4, 13, 22, tzinfo=timezone.utc))
    assert all(interval.start.utcoffset() == timedelta(0) for interval in opening)


def test_closed_day_is_skipped():
    wednesday = MONDAY + timedelta(days=2)
    opening = clinic_hours(MONDAY, SUNDAY, closed_days={wednesday})
    assert [interval.start.astimezone(NEW_YORK).date() for interval in opening] == [
        MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=3), MONDAY + timedelta(days=4)]


def test_weekend_has_no_opening_hours():
    assert clinic_hours(SUNDAY - timedelta(days=1), SUNDAY) == []


def test_hours_closing_before_opening_are_refused():
    with pytest.raises(ValueError):
        working_intervals(MONDAY, MONDAY, NEW_YORK, {0: [(time(18), time(8))]})


def test_winter_and_summer_open_at_the_same_local_time():
    friday_before, monday_after = date(2026, 3, 6), date(2026, 3, 9)
    opening = clinic_hours(friday_before, monday_after)
    assert [interval.start.hour for interval in opening] == [13, 12]
    assert [interval.start.astimezone(NEW_YORK).hour for interval in opening] == [8, 8]


# Consultations


def test_weekday_offers_forty_consultation_starts():
    found = slots()
    assert len(found) == 40
    assert found[0].start.astimezone(NEW_YORK).time() == time(8, 0)
    assert found[-1].start.astimezone(NEW_YORK).time() == time(17, 45)
    assert {slot.available for slot in found} == {2}
    assert all(slot.end - slot.start == timedelta(minutes=15) for slot in found)
    assert_distinct_utc_steps([slot.start for slot in found])


def test_lunch_break_splits_the_day():
    hours = {0: [(time(8), time(12)), (time(13), time(18))]}
    opening = working_intervals(MONDAY, MONDAY, NEW_YORK, hours)
    times = by_local_time(slots(opening=opening))
    assert len(times) == 36 and "11:45" in times and "12:00" not in times and "13:00" in times


def test_busy_clinician_leaves_one_for_the_same_starts():
    opening = clinic_hours()
    busy = {1: [span(MONDAY, (10, 0), (10, 30))]}
    times = by_local_time(slots(clinicians=staff(2, opening, busy=busy)))
    assert times["10:00"] == times["10:15"] == 1
    assert times["09:45"] == times["10:30"] == 2


def test_overlapping_not_only_identical_bookings_are_counted():
    opening = clinic_hours()
    busy = {1: [span(MONDAY, (10, 5), (10, 20))], 2: [span(MONDAY, (13, 50), (14, 40))]}
    times = by_local_time(slots(clinicians=staff(2, opening, busy=busy)))
    assert times["09:45"] == times["10:30"] == 2
    assert times["10:00"] == times["10:15"] == 1
    assert times["13:45"] == times["14:00"] == times["14:15"] == times["14:30"] == 1
    assert times["13:30"] == times["14:45"] == 2


def test_start_right_after_a_booking_ends_is_free():
    opening = clinic_hours()
    busy = {1: [span(MONDAY, (8, 0), (9, 0))], 2: [span(MONDAY, (8, 0), (9, 0))]}
    times = by_local_time(slots(clinicians=staff(2, opening, busy=busy)))
    assert "08:45" not in times
    assert times["09:00"] == 2


def test_busy_intervals_in_any_order_and_nested_are_all_respected():
    opening = clinic_hours()
    busy = [span(MONDAY, (15, 0), (15, 15)), span(MONDAY, (10, 0), (10, 15)),
            span(MONDAY, (9, 0), (12, 0)), span(MONDAY, (11, 0), (11, 15))]
    times = by_local_time(slots(clinicians=[Resource(1, opening, busy)]))
    assert "08:45" in times and "12:00" in times and "14:45" in times and "15:15" in times
    assert not {"09:00", "10:00", "11:00", "11:45", "15:00"} & set(times)


def test_clinician_not_working_is_not_offered():
    mornings = [span(MONDAY, (8, 0), (12, 0))]
    clinicians = [Resource(1, mornings), Resource(2, clinic_hours())]
    times = by_local_time(slots(clinicians=clinicians))
    assert times["11:45"] == 2 and times["12:00"] == 1


def test_fully_booked_start_is_left_out():
    opening = clinic_hours()
    taken = [span(MONDAY, (8, 0), (18, 0))]
    assert slots(clinicians=staff(2, opening, busy={1: taken, 2: taken})) == []


# Treatments


@pytest.mark.parametrize("step, last_start", [(5, time(15, 10)), (15, time(15, 0))])
def test_treatment_with_monitoring_ends_by_closing_time(step, last_start):
    need = Need(timedelta(minutes=50 + 120), timedelta(minutes=15), True, step=timedelta(minutes=step))
    found = slots(need=need)
    assert found[-1].start.astimezone(NEW_YORK).time() == last_start
    assert found[-1].end.astimezone(NEW_YORK).time() <= time(18, 0)
    assert {slot.available for slot in found} == {2}


def test_treatment_holds_the_clinician_only_at_the_start():
    opening = clinic_hours()
    afternoon = [span(MONDAY, (10, 15), (12, 0))]
    times = by_local_time(slots(need=IV_TREATMENT, clinicians=staff(2, opening, busy={1: afternoon, 2: afternoon})))
    assert times["10:00"] == 2
    assert not {"10:15", "11:45"} & set(times)
    assert times["12:00"] == 2


def test_chairs_are_the_bottleneck_when_fewer_are_free():
    opening = clinic_hours()
    clinicians = staff(3, opening)
    chairs = staff(3, opening, first_id=101, busy={101: [span(MONDAY, (12, 0), (12, 30))]})
    times = by_local_time(slots(need=IV_TREATMENT, clinicians=clinicians, chairs=chairs))
    assert times["08:00"] == 3
    assert times["09:15"] == 2  # its monitoring runs to 12:05, into the chair's booking
    assert times["12:30"] == 3


def test_no_free_chair_means_no_treatment_start():
    opening = clinic_hours()
    taken = [span(MONDAY, (8, 0), (13, 0))]
    chairs = staff(3, opening, first_id=101, busy={101: taken, 102: taken, 103: taken})
    times = by_local_time(slots(need=IV_TREATMENT, chairs=chairs))
    assert min(times) == "13:00"


def test_consultation_needs_no_chair():
    assert len(slots(chairs=[])) == 40


def test_esketamine_needs_a_clinician_on_duty_for_the_whole_window():
    mornings = [span(MONDAY, (8, 0), (11, 0))]
    clinicians = [Resource(1, mornings), Resource(2, mornings)]
    esketamine = by_local_time(slots(need=ESKETAMINE, clinicians=clinicians))
    iv = by_local_time(slots(need=Need(timedelta(minutes=120), timedelta(minutes=15), True), clinicians=clinicians))
    assert max(esketamine) == "09:00"
    assert max(iv) == "10:45"


def test_busy_clinician_on_duty_still_covers_esketamine_monitoring():
    opening = clinic_hours()
    clinicians = [Resource(1, [span(MONDAY, (8, 0), (11, 0))]),
                  Resource(2, opening, [span(MONDAY, (8, 0), (18, 0))])]
    times = by_local_time(slots(need=ESKETAMINE, clinicians=clinicians))
    assert times["10:00"] == 1
    assert "11:00" not in times


# Booking window


def test_minimum_notice_still_allows_same_day_starts():
    now = local(MONDAY, 10, 7)
    times = by_local_time(slots(now=now))
    assert min(times) == "12:15" and max(times) == "17:45"


def test_start_exactly_at_minimum_notice_is_offered():
    assert min(by_local_time(slots(now=local(MONDAY, 10, 0)))) == "12:00"


def test_horizon_stops_offering_later_starts():
    opening = clinic_hours(MONDAY, MONDAY + timedelta(days=1))
    found = slots(opening=opening, now=local(MONDAY, 12, 0), horizon=timedelta(days=1))
    assert found[-1].start == local(MONDAY + timedelta(days=1), 12, 0)


def test_closed_day_offers_no_starts():
    tuesday = MONDAY + timedelta(days=1)
    opening = clinic_hours(MONDAY, tuesday + timedelta(days=1), closed_days={tuesday})
    found_days = {slot.start.astimezone(NEW_YORK).date() for slot in slots(opening=opening)}
    assert found_days == {MONDAY, tuesday + timedelta(days=1)}


def test_caller_can_drop_starts():
    times = by_local_time(slots(allow=lambda start: start.astimezone(NEW_YORK).hour >= 17))
    assert list(times) == ["17:00", "17:15", "17:30", "17:45"]


def test_month_with_hundreds_of_bookings_counts_each_start():
    opening = clinic_hours(date(2026, 4, 1), date(2026, 4, 30))
    every_hour = [Interval(interval.start + timedelta(hours=n), interval.start + timedelta(hours=n, minutes=20))
                  for interval in opening for n in range(10)]
    clinicians = [Resource(1, opening, every_hour), Resource(2, opening, every_hour[::2])]
    found = slots(opening=opening, clinicians=clinicians)
    counts = Counter(slot.available for slot in found)
    # Each day: 10 bookings on one clinician, 5 of them shared; a 20-minute booking blocks two starts.
    assert len(every_hour) == 22 * 10
    assert counts == {2: 22 * 20, 1: 22 * 10}


@pytest.mark.parametrize("need", [CONSULTATION, IV_TREATMENT, ESKETAMINE], ids=["consultation", "iv", "esketamine"])
def test_asking_one_start_agrees_with_listing_them_all(need):
    """A series' plan asks start by start (Board.free after check_start); availability lists every start:
    on a busy month with a clinician's short day and a chair out, both say the same for every start on the grid."""
    import random
    rng = random.Random(11)
    opening = clinic_hours(date(2026, 4, 1), date(2026, 4, 30))
    short_days = [Interval(i.start, i.start + timedelta(hours=5)) for i in opening]
    busy = lambda count: [Interval(start, start + timedelta(minutes=rng.choice((15, 50, 170))))
                          for start in (rng.choice(opening).start + timedelta(minutes=15 * rng.randrange(36))
                                        for _ in range(count))]
    clinicians = [Resource(1, opening, busy(60)), Resource(2, short_days, busy(40))]
    chairs = [Resource(101, opening, busy(50)), Resource(102, opening, busy(50)), Resource(103, [], [])]
    listed = {micros(slot.start) for slot in slots(need=need, opening=opening, clinicians=clinicians, chairs=chairs)}
    free = Board(need, clinicians, chairs).free
    asked = {micros(start) for interval in opening
             for start in (interval.start + timedelta(minutes=15 * n) for n in range(40))
             if check_start(start, opening, need, LONG_AGO, timedelta(hours=2), timedelta(days=400)) is None
             and free(micros(start))}
    assert asked == listed and len(listed) > 100


# Daylight saving time


def night_hours(day, tz, opens=time(0), closes=time(4)):
    return working_intervals(day, day, tz, {day.weekday(): [(opens, closes)]})


@pytest.mark.parametrize("day, tz, first_utc, hours", [
    (date(2026, 3, 8), NEW_YORK, datetime(2026, 3, 8, 5, tzinfo=timezone.utc), 3),
    (date(2026, 11, 1), NEW_YORK, datetime(2026, 11, 1, 4, tzinfo=timezone.utc), 5),
    (date(2026, 3, 8), PHOENIX, datetime(2026, 3, 8, 7, tzinfo=timezone.utc), 4),
    (date(2026, 11, 1), PHOENIX, datetime(2026, 11, 1, 7, tzinfo=timezone.utc), 4),
])
def test_night_across_clock_change_has_every_real_instant_once(day, tz, first_utc, hours):
    opening = night_hours(day, tz)
    starts = [slot.start for slot in slots(opening=opening, clinicians=staff(1, opening))]
    assert len(starts) == hours * 4
    assert starts[0] == first_utc
    assert starts[-1] == first_utc + timedelta(hours=hours, minutes=-15)
    assert_distinct_utc_steps(starts)


def test_fall_back_night_shows_repeated_local_times_at_distinct_instants():
    opening = night_hours(date(2026, 11, 1), NEW_YORK)
    starts = list(candidate_starts(opening, CONSULTATION))
    wall_times = [start.astimezone(NEW_YORK).strftime("%H:%M") for start in starts]
    assert wall_times.count("01:15") == 2
    assert len(set(starts)) == len(starts) == 20


def test_opening_inside_spring_forward_gap_moves_to_the_change():
    opening = night_hours(date(2026, 3, 8), NEW_YORK, opens=time(2, 30))
    assert opening[0].start == datetime(2026, 3, 8, 7, tzinfo=timezone.utc)
    assert opening[0].start.astimezone(NEW_YORK).time() == time(3, 0)


def test_closing_inside_spring_forward_gap_moves_to_the_change():
    opening = night_hours(date(2026, 3, 8), NEW_YORK, opens=time(1), closes=time(2, 30))
    assert opening == [Interval(datetime(2026, 3, 8, 6, tzinfo=timezone.utc),
                                datetime(2026, 3, 8, 7, tzinfo=timezone.utc))]


def test_hours_wholly_inside_spring_forward_gap_do_not_exist():
    assert night_hours(date(2026, 3, 8), NEW_YORK, opens=time(2), closes=time(2, 45)) == []


def test_ambiguous_fall_back_time_uses_its_first_occurrence():
    opening = night_hours(date(2026, 11, 1), NEW_YORK, opens=time(1, 30), closes=time(3))
    assert opening[0].start == datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)
    assert opening[0].end == datetime(2026, 11, 1, 8, tzinfo=timezone.utc)


# Checking a requested start


NOW = local(MONDAY, 6, 0)


@pytest.mark.parametrize("requested, need, problem", [
    (local(MONDAY, 9, 0), CONSULTATION, None),
    (local(MONDAY, 17, 45), CONSULTATION, None),
    (local(MONDAY, 15, 0), IV_TREATMENT, None),
    (local(MONDAY, 5, 45), CONSULTATION, "in_the_past"),
    (local(MONDAY, 7, 45), CONSULTATION, "too_soon"),
    (local(MONDAY + timedelta(days=91), 9, 0), CONSULTATION, "too_far"),
    (local(SUNDAY, 10, 0), CONSULTATION, "outside_hours"),
    (local(MONDAY, 18, 0), CONSULTATION, "outside_hours"),
    (local(MONDAY, 17, 50), CONSULTATION, "outside_hours"),
    (local(MONDAY, 15, 15), IV_TREATMENT, "outside_hours"),
    (local(MONDAY, 9, 7), CONSULTATION, "off_grid"),
])
def test_check_start_names_why_a_start_cannot_be_booked(requested, need, problem):
    opening = clinic_hours(MONDAY - timedelta(days=7), MONDAY + timedelta(days=100))
    assert check_start(requested, opening, need, NOW, timedelta(hours=2), timedelta(days=90)) == problem


def test_check_start_accepts_every_offered_slot():
    opening = clinic_hours()
    offered = slots(need=IV_TREATMENT, opening=opening)
    assert len(offered) > 10  # a whole day's starts to check, not an empty list that passes by itself
    for slot in offered:
        assert check_start(slot.start, opening, IV_TREATMENT, LONG_AGO, timedelta(hours=2), timedelta(days=400)) is None


# Free resources


def test_free_resources_keep_input_order():
    opening = clinic_hours()
    start = local(MONDAY, 10, 0)
    taken = [span(MONDAY, (10, 0), (10, 15))]
    clinicians = [Resource(7, opening), Resource(3, opening, taken), Resource(5, opening)]
    chairs = [Resource(9, opening), Resource(2, opening), Resource(4, opening, taken)]
    assert free_resources(start, IV_TREATMENT, clinicians, chairs) == ([7, 5], [9, 2])


def test_free_resources_without_clinician_on_duty_are_empty():
    mornings = [span(MONDAY, (8, 0), (11, 0))]
    chairs = [Resource(101, clinic_hours())]
    assert free_resources(local(MONDAY, 10, 0), ESKETAMINE, [Resource(1, mornings)], chairs) == ([], [])


def test_free_resources_for_consultation_name_no_chair():
    opening = clinic_hours()
    assert free_resources(local(MONDAY, 9, 0), CONSULTATION, staff(2, opening), staff(1, opening, 101)) == ([1, 2], [])


def test_a_place_taken_on_the_board_is_busy_for_every_later_question():
    """A series books its sessions one after another on one board: a place taken is seen by the next question and
    recorded on the resource, the touching spans merge, and taking a busy place is refused."""
    opening = clinic_hours()
    clinicians = [Resource(1, opening, BusySpans()), Resource(2, opening, BusySpans())]
    chairs = [Resource(101, opening, BusySpans())]
    board = Board(IV_TREATMENT, clinicians, chairs)
    ten, quarter_past = micros(local(MONDAY, 10, 0)), micros(local(MONDAY, 10, 15))
    assert board.free_ids(ten) == ([1, 2], [101])
    board.take("clinician", 1, ten, quarter_past)
    board.take("chair", 101, ten, micros(local(MONDAY, 12, 50)))
    assert board.free_ids(ten) == ([2], []) and not board.free(ten)
    assert clinicians[0].busy == [(ten, quarter_past)] and chairs[0].busy == [(ten, micros(local(MONDAY, 12, 50)))]
    assert board.free_ids(micros(local(MONDAY, 12, 50))) == ([1, 2], [101])  # back to back is free
    with pytest.raises(ValueError):
        board.take("clinician", 1, micros(local(MONDAY, 9, 50)), micros(local(MONDAY, 10, 5)))
    board.take("clinician", 1, micros(local(MONDAY, 9, 45)), ten)  # touches the one before: merged
    board.take("clinician", 1, quarter_past, micros(local(MONDAY, 10, 30)))
    assert free_resources(local(MONDAY, 9, 30), IV_TREATMENT, clinicians, chairs)[0] == [1, 2]
    assert board.free_ids(micros(local(MONDAY, 9, 45)))[0] == [2]
    assert board.free_ids(micros(local(MONDAY, 10, 30)))[0] == [1, 2]


@pytest.mark.parametrize("seed", range(20))
def test_the_board_agrees_with_timelines_built_afresh(seed):
    """Spans added one by one, touching, nested among and between others, leave the board answering as a board
    built from scratch on the same busy time."""
    import random
    rng = random.Random(seed)
    opening = clinic_hours()
    day = micros(local(MONDAY, 8, 0))
    minute = 60_000_000
    resource = Resource(1, opening, BusySpans())
    board = Board(CONSULTATION, [resource], [])
    for _ in range(40):
        start = day + minute * 5 * rng.randrange(120)
        end = start + minute * 5 * rng.randrange(1, 6)
        if board.free_ids(start)[0] and _free_between(resource, start, end):
            board.take("clinician", 1, start, end)
    fresh = Board(CONSULTATION, [Resource(1, opening, BusySpans(resource.busy))], [])
    assert len(resource.busy) > 5
    for start in range(day, day + minute * 600, minute * 5):
        assert board.free_ids(start) == fresh.free_ids(start)


def _free_between(resource, start, end):
    return all(end <= s or e <= start for s, e in resource.busy)


def test_slot_reports_whole_window():
    first = slots(need=IV_TREATMENT)[0]
    assert first == Slot(local(MONDAY, 8, 0), local(MONDAY, 10, 50), 2)
