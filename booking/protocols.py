"""Protocol spacing: whether a treatment date keeps a protocol's rules, and planning a series.

Pure rules: no Flask, no database, no I/O. A protocol's rules are data (stored as JSON and
edited by an admin); DEFAULT_PROTOCOLS holds the defaults from shared/domain.md, "Protocol
spacing". Dates are clinic-local calendar days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, timedelta

from clinic.formatting import long_date

DAY = timedelta(days=1)



@dataclass(frozen=True)
class Phase:
    """A stretch of a series' weeks with a weekly limit (esketamine style).

    Weeks are the 7-day blocks counted from the series' first treatment, week 1 first.
    """

    from_week: int
    to_week: int | None
    max_per_week: int

    def covers(self, week: int) -> bool:
        """Whether week (1-based) falls in this phase."""
        return self.from_week <= week and (self.to_week is None or week <= self.to_week)

    def weeks_in_words(self) -> str:
        if self.to_week is None:
            return f"from week {self.from_week} on"
        if self.to_week == self.from_week:
            return f"in week {self.from_week}"
        return f"in weeks {self.from_week} to {self.to_week}"


@dataclass(frozen=True)
class ProtocolRules:
    """The spacing rules of one protocol; None switches a rule off."""

    code: str
    name: str
    min_days_apart: int = 1
    max_in_window: int | None = None
    window_days: int = 7
    max_treatments: int | None = None
    max_span_days: int | None = None
    phases: tuple[Phase, ...] = ()
    series_length: int | None = None

    def __post_init__(self) -> None:
        problems = _rule_problems(self)
        if problems:
            raise ValueError(f"Protocol {self.code!r}: " + "; ".join(problems) + ".")

    @classmethod
    def from_dict(cls, d: Mapping) -> ProtocolRules:
        """Build rules from their stored JSON form.

        Unknown keys are refused so that an admin's typo never silently drops a rule.
        """
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"Unknown protocol rule(s): {', '.join(sorted(unknown))}.")
        phases = tuple(_phase_from_dict(p) for p in d.get("phases", ()))
        return cls(**{**d, "phases": phases})

    def to_dict(self) -> dict:
        """The JSON-ready form that from_dict reads back."""
        return {**asdict(self), "phases": [asdict(p) for p in self.phases]}


def _phase_from_dict(d: Mapping) -> Phase:
    try:
        return Phase(int(d["from_week"]), d.get("to_week"), int(d["max_per_week"]))
    except KeyError as missing:
        raise ValueError(f"A protocol phase needs {missing.args[0]}.") from None


def _rule_problems(r: ProtocolRules) -> list[str]:
    problems = [f"{name} must be at least {low}" for name, value, low in (
        ("min_days_apart", r.min_days_apart, 1), ("window_days", r.window_days, 1),
        ("max_in_window", r.max_in_window, 1), ("max_treatments", r.max_treatments, 1),
        ("max_span_days", r.max_span_days, 0), ("series_length", r.series_length, 1),
    ) if value is not None and value < low]
    for p in r.phases:
        backwards = p.to_week is not None and p.to_week < p.from_week
        if p.from_week < 1 or p.max_per_week < 0 or backwards:
            problems.append(f"phase {p} is not a valid range of weeks and limit")
    if r.series_length and r.max_treatments and r.series_length > r.max_treatments:
        problems.append("series_length cannot exceed max_treatments")
    return problems


_INDUCTION = dict(min_days_apart=2, max_in_window=3, window_days=7, max_treatments=6,
                  max_span_days=28, series_length=6)

DEFAULT_PROTOCOLS: dict[str, ProtocolRules] = {
    r.code: r for r in (
        ProtocolRules("iv-induction", "IV induction", **_INDUCTION),
        ProtocolRules("iv-maintenance", "IV maintenance", min_days_apart=7),
        ProtocolRules("im-induction", "IM induction", **_INDUCTION),
        ProtocolRules("esketamine", "Esketamine", min_days_apart=1, series_length=12, phases=(
            Phase(1, 4, 2), Phase(5, 8, 1), Phase(9, None, 1),
        )),
    )
}


@dataclass(frozen=True)
class Violation:
    """A broken rule: a stable code, a sentence for the patient, and the first date allowed."""

    rule: str
    message: str
    next_allowed: date | None


def readable_date(day: date) -> str:
    """A date as patients read it: "Wednesday, December 2, 2026" (clinic.formatting.long_date)."""
    return long_date(day)


def _always_open(day: date) -> bool:
    return True


def check(rules: ProtocolRules, booked: Collection[date], candidate: date) -> Violation | None:
    """The first rule that a treatment on candidate would break, or None if it keeps them all.

    booked holds the patient's other treatment dates under this protocol (confirmed, held,
    completed; not cancelled). The candidate may fall before, between or after them, so
    rescheduling one treatment is checked against the others.
    """
    booked = sorted(booked)
    for rule in _RULES:
        broken = rule(rules, booked, candidate)
        if broken:
            return _violation(rules, booked, candidate, *broken)
    return None


def first_allowed(rules: ProtocolRules, booked: Collection[date], on_or_after: date,
                  is_open: Callable[[date], bool] = _always_open,
                  limit_days: int = 120) -> date | None:
    """The first day from on_or_after, within limit_days, that is open and keeps every rule."""
    booked = sorted(booked)
    if _series_full(rules, booked):
        return None
    for offset in range(limit_days):
        day = on_or_after + offset * DAY
        if is_open(day) and _keeps_rules(rules, booked, day):
            return day
    return None


def plan_series(rules: ProtocolRules, first_date: date, is_open: Callable[[date], bool],
                count: int | None = None, limit_days: int = 120,
                booked: Collection[date] = ()) -> list[date] | None:
    """count new treatment dates (default: the series length) on open days from first_date on.

    Each date keeps every rule against the ones before it and against booked, the patient's
    treatments already held in this protocol (so a series is completed around them). The series
    starts on the first open day (within limit_days) from which all of it fits, and is spread
    out as the protocol intends (an induction every other day, esketamine twice then once a
    week), packing closer only when that is the only way to fit. None if no series fits.
    """
    count = _series_count(rules, count)
    booked = sorted(booked)
    if rules.max_treatments is not None and len(booked) + count > rules.max_treatments:
        return None
    for offset in range(limit_days):
        start = first_date + offset * DAY
        if is_open(start) and _keeps_rules(rules, booked, start):
            plan = (_plan_from(rules, booked, start, is_open, count, limit_days, spread=True)
                    or _plan_from(rules, booked, start, is_open, count, limit_days, spread=False))
            if plan:
                return plan
    return None


def _series_count(rules: ProtocolRules, count: int | None) -> int:
    count = rules.series_length if count is None else count
    if count is None:
        raise ValueError(f"{rules.name} has no series length; say how many treatments to plan.")
    if count < 1:
        raise ValueError("A series needs at least one treatment.")
    return count


def _plan_from(rules: ProtocolRules, booked: list[date], start: date, is_open: Callable[[date], bool],
               count: int, limit_days: int, spread: bool) -> list[date] | None:
    # Taking the earliest allowed day each time (spread=False) finds a series whenever one
    # exists with this start: no rule gets harder for a later treatment when earlier ones
    # move earlier. The spread pass only adds a comfortable gap in front of each search.
    chosen = [start]
    while len(chosen) < count:
        gap = _comfortable_gap(rules, sorted([*booked, *chosen])) if spread else 1
        following = first_allowed(rules, [*booked, *chosen], chosen[-1] + gap * DAY, is_open, limit_days)
        if following is None:
            return None
        chosen.append(following)
    return chosen


def _comfortable_gap(rules: ProtocolRules, chosen: Sequence[date]) -> int:
    gaps = [rules.min_days_apart]
    if rules.max_in_window:
        gaps.append(rules.window_days // rules.max_in_window)
    phase = _phase_for(rules, _week_number(chosen[0], chosen[-1]))
    if phase and phase.max_per_week:
        gaps.append(7 // phase.max_per_week)
    return max(gaps)


def _violation(rules: ProtocolRules, booked: list[date], candidate: date,
               code: str, sentence: str) -> Violation:
    allowed = _next_allowed(rules, booked, candidate)
    then = (f"the first date allowed is {readable_date(allowed)}" if allowed
            else "no later date can be allowed under this protocol")
    return Violation(code, f"{sentence}; {then}.", allowed)


def _next_allowed(rules: ProtocolRules, booked: list[date], candidate: date) -> date | None:
    start = candidate + DAY
    return first_allowed(rules, booked, start, limit_days=_days_until_settled(rules, booked, start))


def _days_until_settled(rules: ProtocolRules, booked: list[date], start: date) -> int:
    # Past the last treatment, the last phase boundary and the widest spacing rule, every rule
    # gives the same answer each day (the 28-day span only gets worse), so a search that has
    # found nothing by then never will: that is when next_allowed is None.
    last = max([*booked, start])
    weeks = max((p.to_week or p.from_week for p in rules.phases), default=0)
    widest = max(rules.min_days_apart, rules.window_days, 7)
    return (last - start).days + 7 * weeks + widest + 1


def _keeps_rules(rules: ProtocolRules, booked: list[date], day: date) -> bool:
    return all(rule(rules, booked, day) is None for rule in _RULES)


def _series_full(rules: ProtocolRules, booked: Collection[date]) -> bool:
    return rules.max_treatments is not None and len(booked) >= rules.max_treatments


def _treatments(n: int) -> str:
    return f"{n} treatment" if n == 1 else f"{n} treatments"


# Each rule below takes the sorted booked dates and the candidate day, and returns
# (code, sentence naming the rule) when the candidate breaks it, else None.

def _one_a_day(rules: ProtocolRules, booked: list[date], day: date) -> tuple[str, str] | None:
    if day in booked:
        return ("one_a_day", "Only one treatment a day can be booked, and "
                f"{readable_date(day)} already has one")
    return None


def _max_treatments(rules: ProtocolRules, booked: list[date], day: date) -> tuple[str, str] | None:
    if _series_full(rules, booked):
        return ("max_treatments", f"{rules.name} allows at most {_treatments(rules.max_treatments)}"
                f" in a series, and {len(booked)} are already booked")
    return None


def _min_days_apart(rules: ProtocolRules, booked: list[date], day: date) -> tuple[str, str] | None:
    apart = rules.min_days_apart
    if any(abs((day - b).days) < apart for b in booked):
        never_next_day = " (never on consecutive days)" if apart == 2 else ""
        return ("min_days_apart",
                f"{rules.name} treatments must be at least {apart} days apart{never_next_day}")
    return None


def _max_in_window(rules: ProtocolRules, booked: list[date], day: date) -> tuple[str, str] | None:
    limit, width = rules.max_in_window, rules.window_days
    if limit is None:
        return None
    near = [b for b in booked if abs((b - day).days) < width]
    # Every window of `width` days that contains the candidate, not only the one ending on it.
    for first in (day - k * DAY for k in range(width)):
        if 1 + sum(first <= b < first + width * DAY for b in near) > limit:
            return ("max_in_window", f"{rules.name} allows at most {_treatments(limit)}"
                    f" in any {width} consecutive days")
    return None


def _max_span(rules: ProtocolRules, booked: list[date], day: date) -> tuple[str, str] | None:
    span = rules.max_span_days
    if span is None or not booked:
        return None
    if (day - booked[0]).days > span or (booked[-1] - day).days > span:
        return ("max_span_days",
                f"{rules.name} treatments must all fall within {span} days from first to last")
    return None


def _phase_limit(rules: ProtocolRules, booked: list[date], day: date) -> tuple[str, str] | None:
    if not rules.phases:
        return None
    anchor = min([*booked, day])
    per_week = Counter(_week_number(anchor, d) for d in [*booked, day])
    # A candidate before the first treatment moves every week boundary, so all weeks are rechecked.
    weeks = per_week if anchor == day else [_week_number(anchor, day)]
    for week in weeks:
        phase = _phase_for(rules, week)
        if phase and per_week[week] > phase.max_per_week:
            return ("phase_max_per_week",
                    f"{rules.name} allows at most {_treatments(phase.max_per_week)} a week "
                    f"{phase.weeks_in_words()} of the series, counting weeks from the first"
                    " treatment")
    return None


def _week_number(anchor: date, day: date) -> int:
    return (day - anchor).days // 7 + 1


def _phase_for(rules: ProtocolRules, week: int) -> Phase | None:
    # Weeks no phase covers have no weekly limit; the other rules still apply.
    return next((p for p in rules.phases if p.covers(week)), None)


_RULES = (_one_a_day, _max_treatments, _min_days_apart, _max_in_window, _max_span, _phase_limit)
