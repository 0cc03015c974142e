import json
import random
from datetime import date, timedelta

import pytest

from booking.protocols import (
    DEFAULT_PROTOCOLS,
    Phase,
    ProtocolRules,
    Violation,
    check,
    first_allowed,
    plan_series,
    readable_date,
)

MONDAY = date(2026, 11, 30)
IV_INDUCTION = DEFAULT_PROTOCOLS["iv-induction"]
IM_INDUCTION = DEFAULT_PROTOCOLS["im-induction"]
MAINTENANCE = DEFAULT_PROTOCOLS["iv-maintenance"]
ESKETAMINE = DEFAULT_PROTOCOLS["esketamine"]


def day(n: int) -> date:
    """The date n days after Monday 30 November 2026."""
    return MONDAY + timedelta(days=n)


def days(*offsets: int) -> list[date]:
    return [day(n) for n in offsets]


def always_open(d: date) -> bool:
    return True


def weekdays_only(d: date) -> bool:
    return d.weekday() < 5


# --- defaults and stored form ---------------------------------------------------------------

def test_defaults_cover_the_four_protocols():
    assert set(DEFAULT_PROTOCOLS) == {
        "iv-induction", "iv-maintenance", "im-induction", "esketamine"}
    assert all(code == rules.code for code, rules in DEFAULT_PROTOCOLS.items())


@pytest.mark.parametrize("rules", [IV_INDUCTION, IM_INDUCTION])
def test_induction_defaults(rules):
    assert (rules.min_days_apart, rules.max_in_window, rules.window_days) == (2, 3, 7)
    assert (rules.max_treatments, rules.max_span_days, rules.series_length) == (6, 28, 6)


def test_maintenance_is_at_least_weekly():
    assert MAINTENANCE.min_days_apart == 7
    assert MAINTENANCE.series_length is None


def test_esketamine_defaults():
    assert ESKETAMINE.phases == (Phase(1, 4, 2), Phase(5, 8, 1), Phase(9, None, 1))
    assert (ESKETAMINE.min_days_apart, ESKETAMINE.series_length) == (1, 12)


@pytest.mark.parametrize("rules", list(DEFAULT_PROTOCOLS.values()))
def test_rules_survive_a_json_round_trip(rules):
    stored = json.loads(json.dumps(rules.to_dict()))
    assert ProtocolRules.from_dict(stored) == rules


def test_stored_rules_may_leave_out_defaults():
    rules = ProtocolRules.from_dict({"code": "x", "name": "X", "phases": [
        {"from_week": 1, "max_per_week": 3}]})
    assert rules.min_days_apart == 1 and rules.phases == (Phase(1, None, 3),)


def test_stored_rules_with_a_misspelt_key_are_refused():
    with pytest.raises(ValueError, match="min_days_appart"):
        ProtocolRules.from_dict({"code": "x", "name": "X", "min_days_appart": 2})


@pytest.mark.parametrize("bad", [
    {"min_days_apart": 0},
    {"window_days": 0},
    {"max_treatments": 0},
    {"phases": [{"from_week": 3, "to_week": 2, "max_per_week": 1}]},
    {"phases": [{"to_week": 2, "max_per_week": 1}]},
    {"max_treatments": 4, "series_length": 6},
])
def test_impossible_rules_are_refused(bad):
    with pytest.raises(ValueError):
        ProtocolRules.from_dict({"code": "x", "name": "X", **bad})


def test_dates_read_as_patients_write_them():
    assert readable_date(date(2026, 12, 2)) == "Wednesday, December 2, 2026"
    assert readable_date(date(2027, 1, 10)) == "Sunday, January 10, 2027"


# --- never on consecutive days --------------------------------------------------------------

def test_induction_on_the_next_day_is_refused_with_rule_and_first_allowed_date():
    violation = check(IV_INDUCTION, days(0), day(1))
    assert violation == Violation(
        "min_days_apart",
        "IV induction treatments must be at least 2 days apart (never on consecutive days); "
        "the first date allowed is Wednesday, December 2, 2026.",
        day(2),
    )


def test_induction_two_calendar_days_apart_is_allowed():
    assert check(IV_INDUCTION, days(0), day(2)) is None


def test_induction_the_day_before_a_booked_treatment_is_refused():
    violation = check(IM_INDUCTION, days(5), day(4))
    assert violation.rule == "min_days_apart"
    assert violation.next_allowed == day(7)


def test_rescheduling_between_two_treatments_checks_both_neighbours():
    assert check(IV_INDUCTION, days(0, 4), day(2)) is None
    assert check(IV_INDUCTION, days(0, 3), day(2)).rule == "min_days_apart"
    assert check(IV_INDUCTION, days(0, 3), day(1)).next_allowed == day(5)


def test_maintenance_is_refused_within_a_week_and_allowed_after_seven_days():
    violation = check(MAINTENANCE, days(0), day(6))
    assert violation.rule == "min_days_apart"
    assert "at least 7 days apart" in violation.message
    assert violation.next_allowed == day(7)
    assert check(MAINTENANCE, days(0), day(7)) is None


# --- one treatment a day --------------------------------------------------------------------

@pytest.mark.parametrize("rules", [*DEFAULT_PROTOCOLS.values(), ProtocolRules("any", "Any")])
def test_any_protocol_refuses_a_second_treatment_on_the_same_day(rules):
    violation = check(rules, days(0), day(0))
    assert violation.rule == "one_a_day"
    assert "one treatment a day" in violation.message
    assert "Monday, November 30, 2026 already has one" in violation.message


def test_esketamine_on_consecutive_days_is_allowed():
    assert check(ESKETAMINE, days(0), day(1)) is None


# --- at most 3 in any 7 consecutive days ----------------------------------------------------

def test_three_induction_treatments_in_a_week_are_allowed():
    assert check(IV_INDUCTION, days(0, 2), day(4)) is None


def test_a_fourth_in_seven_days_is_refused_and_the_next_monday_offered():
    violation = check(IV_INDUCTION, days(0, 2, 4), day(6))
    assert violation.rule == "max_in_window"
    assert "at most 3 treatments in any 7 consecutive days" in violation.message
    assert violation.next_allowed == day(7)
    assert "Monday, December 7, 2026" in violation.message


def test_window_counts_every_window_containing_the_candidate_not_only_its_edges():
    # The days ending on day 6 (0..6) and starting on it (6..12) each hold 3; days 2..8 hold 4.
    violation = check(IV_INDUCTION, days(2, 4, 8), day(6))
    assert violation.rule == "max_in_window"
    assert violation.next_allowed == day(10)


def test_window_counts_treatments_after_the_candidate():
    assert check(IV_INDUCTION, days(2, 4, 6), day(0)).rule == "max_in_window"


# --- series length and 28-day span ----------------------------------------------------------

def test_sixth_induction_treatment_is_allowed():
    assert check(IV_INDUCTION, days(0, 2, 4, 7, 9), day(11)) is None


def test_seventh_induction_treatment_is_refused_and_no_later_date_offered():
    violation = check(IV_INDUCTION, days(0, 2, 4, 7, 9, 11), day(14))
    assert violation.rule == "max_treatments"
    assert violation.next_allowed is None
    assert violation.message == (
        "IV induction allows at most 6 treatments in a series, and 6 are already booked; "
        "no later date can be allowed under this protocol.")


def test_last_treatment_exactly_28_days_after_the_first_is_allowed():
    assert check(IV_INDUCTION, days(0, 14), day(28)) is None


def test_treatment_29_days_after_the_first_is_refused_for_good():
    violation = check(IV_INDUCTION, days(0, 14), day(29))
    assert violation.rule == "max_span_days"
    assert "within 28 days from first to last" in violation.message
    assert "no later date can be allowed" in violation.message
    assert violation.next_allowed is None


def test_moving_the_first_treatment_too_early_is_refused_with_a_later_date_offered():
    violation = check(IV_INDUCTION, days(20, 30), day(1))
    assert violation.rule == "max_span_days"
    assert violation.next_allowed == day(2)


# --- esketamine phases ----------------------------------------------------------------------

def test_esketamine_third_dose_in_week_one_is_refused_until_week_two():
    violation = check(ESKETAMINE, days(0, 3), day(5))
    assert violation.rule == "phase_max_per_week"
    assert "at most 2 treatments a week in weeks 1 to 4" in violation.message
    assert violation.next_allowed == day(7)


def test_esketamine_weeks_five_to_eight_allow_one_a_week():
    booked = days(0, 3, 7, 10, 14, 17, 21, 24, 28)
    violation = check(ESKETAMINE, booked, day(31))
    assert "at most 1 treatment a week in weeks 5 to 8" in violation.message
    assert violation.next_allowed == day(35)


def test_esketamine_from_week_nine_allows_one_a_week():
    violation = check(ESKETAMINE, days(0, 56), day(60))
    assert "from week 9 on" in violation.message
    assert violation.next_allowed == day(63)
    assert check(ESKETAMINE, days(0, 56), day(63)) is None


def test_esketamine_weeks_count_from_the_earliest_booked_date_not_the_calendar_week():
    # Weeks run Thursday to Wednesday here, so Thursday, Sunday and Wednesday share week 1.
    assert check(ESKETAMINE, days(3, 6), day(9)).rule == "phase_max_per_week"
    assert check(ESKETAMINE, days(3, 6), day(10)) is None


def test_esketamine_weeks_count_from_an_earlier_candidate():
    # Moving the first dose to day 5 makes days 5 to 11 week 1, holding 5, 7 and 10.
    assert check(ESKETAMINE, days(7, 10), day(5)).rule == "phase_max_per_week"
    # Moving it to day 3 gives weeks 3..9 (3, 7) and 10..16 (10).
    assert check(ESKETAMINE, days(7, 10), day(3)) is None


def test_weeks_no_phase_covers_have_no_weekly_limit():
    rules = ProtocolRules("x", "X", phases=(Phase(1, 1, 1),))
    assert check(rules, days(0), day(3)).rule == "phase_max_per_week"
    assert check(rules, days(0, 7), day(8)) is None


# --- next_allowed always keeps the rules ----------------------------------------------------

@pytest.mark.parametrize("code", list(DEFAULT_PROTOCOLS))
def test_next_allowed_is_the_first_later_date_that_keeps_every_rule(code):
    rules = DEFAULT_PROTOCOLS[code]
    rng = random.Random(f"next-allowed-{code}")
    refused = 0
    for _ in range(300):
        booked = days(*rng.sample(range(60), rng.randint(0, 7)))
        candidate = day(rng.randint(-10, 70))
        violation = check(rules, booked, candidate)
        if violation is None:
            continue
        refused += 1
        later = (candidate + timedelta(days=n) for n in range(1, 200))
        allowed = next((d for d in later if check(rules, booked, d) is None), None)
        assert violation.next_allowed == allowed, (booked, candidate)
        if violation.next_allowed:
            assert readable_date(violation.next_allowed) in violation.message
        else:
            assert "no later date can be allowed" in violation.message
    assert refused > 30


# --- first_allowed --------------------------------------------------------------------------

def test_first_allowed_skips_closed_days():
    assert first_allowed(IV_INDUCTION, days(0, 2), day(4), is_open=weekdays_only) == day(4)
    assert first_allowed(IV_INDUCTION, days(0, 2, 4), day(5), is_open=weekdays_only) == day(7)


def test_first_allowed_is_none_when_the_series_is_full_or_nothing_is_open():
    assert first_allowed(IV_INDUCTION, days(0, 2, 4, 7, 9, 11), day(12)) is None
    assert first_allowed(MAINTENANCE, [], day(0), is_open=lambda d: False) is None


def test_first_allowed_searches_only_limit_days():
    assert first_allowed(MAINTENANCE, days(0), day(1), limit_days=6) is None
    assert first_allowed(MAINTENANCE, days(0), day(1), limit_days=7) == day(7)


# --- planning a series ----------------------------------------------------------------------

def assert_keeps_every_rule(rules, plan):
    for i, d in enumerate(plan):
        assert check(rules, plan[:i], d) is None
        assert check(rules, plan[:i] + plan[i + 1:], d) is None


def test_induction_from_a_monday_is_monday_wednesday_friday_twice():
    plan = plan_series(IV_INDUCTION, MONDAY, always_open)
    assert plan == days(0, 2, 4, 7, 9, 11)
    assert [d.strftime("%a") for d in plan] == ["Mon", "Wed", "Fri"] * 2


def test_induction_plan_skips_weekends_and_a_holiday():
    holiday = day(2)

    def is_open(d):
        return weekdays_only(d) and d != holiday

    plan = plan_series(IM_INDUCTION, MONDAY, is_open)
    assert plan == days(0, 3, 7, 9, 11, 14)
    assert all(is_open(d) for d in plan)
    assert_keeps_every_rule(IM_INDUCTION, plan)


def test_induction_plan_starts_on_the_first_open_day():
    saturday = day(-2)
    assert plan_series(IV_INDUCTION, saturday, weekdays_only) == days(0, 2, 4, 7, 9, 11)


def test_induction_plan_is_none_when_six_treatments_cannot_fit_in_28_days():
    def mondays_only(d):
        return d.weekday() == 0

    assert plan_series(IV_INDUCTION, MONDAY, mondays_only) is None


def test_induction_plan_starts_later_when_a_closure_would_break_the_span():
    # Closed from day 1 to day 24: starting on day 0 would end past day 28.
    def is_open(d):
        return not day(1) <= d <= day(24)

    assert plan_series(IV_INDUCTION, MONDAY, is_open) == days(25, 27, 29, 32, 34, 36)


def test_esketamine_plan_is_twice_a_week_for_four_weeks_then_weekly():
    plan = plan_series(ESKETAMINE, MONDAY, weekdays_only)
    assert plan == days(0, 3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49)
    assert_keeps_every_rule(ESKETAMINE, plan)


def test_esketamine_plan_from_a_wednesday_keeps_its_own_weeks():
    wednesday = day(2)
    plan = plan_series(ESKETAMINE, wednesday, weekdays_only)
    assert len(plan) == 12 and plan[0] == wednesday
    assert all(weekdays_only(d) for d in plan)
    assert_keeps_every_rule(ESKETAMINE, plan)


def test_plan_packs_closer_when_spreading_out_cannot_fit():
    rules = ProtocolRules("x", "X", max_in_window=2, max_span_days=8, series_length=4)
    assert plan_series(rules, MONDAY, always_open) == days(0, 1, 7, 8)


def test_plan_takes_an_explicit_count():
    assert plan_series(MAINTENANCE, MONDAY, always_open, count=3) == days(0, 7, 14)


def test_plan_needs_a_count_when_the_protocol_has_no_series_length():
    with pytest.raises(ValueError, match="no series length"):
        plan_series(MAINTENANCE, MONDAY, always_open)


def test_plan_longer_than_the_protocol_allows_is_none():
    assert plan_series(IV_INDUCTION, MONDAY, always_open, count=7) is None


@pytest.mark.parametrize("code", ["iv-induction", "esketamine"])
def test_random_calendars_give_plans_that_keep_every_rule_or_none(code):
    rules = DEFAULT_PROTOCOLS[code]
    rng = random.Random(f"plans-{code}")
    planned = 0
    for _ in range(40):
        closed = set(days(*rng.sample(range(70), rng.randint(0, 30))))

        def is_open(d):
            return d not in closed

        plan = plan_series(rules, MONDAY, is_open)
        if plan is not None:
            planned += 1
            assert len(plan) == rules.series_length and plan[0] >= MONDAY
            assert all(is_open(d) for d in plan)
            assert_keeps_every_rule(rules, plan)
    assert planned >= 10, planned  # enough calendars gave a plan for the rules to be checked at all


def test_induction_plan_completes_a_series_around_treatments_already_held():
    held = days(0, 2)
    plan = plan_series(IV_INDUCTION, day(1), always_open, count=4, booked=held)
    assert plan == days(4, 7, 9, 11)
    assert_keeps_every_rule(IV_INDUCTION, sorted(held + plan))
    assert plan_series(IV_INDUCTION, day(1), always_open, count=5, booked=held) is None  # 7 > 6 at most
