"""When a service can be booked: opening hours, resources and booking windows.

Pure rules: no Flask, no database, no I/O. Every instant is a timezone-aware UTC
datetime and every interval is half-open [start, end), so back-to-back bookings
never collide.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from typing import Literal
from zoneinfo import ZoneInfo

StartProblem = Literal["in_the_past", "too_soon", "too_far", "outside_hours", "off_grid"]


@dataclass(frozen=True, order=True)
class Interval:
    """A half-open, non-empty span [start, end) between timezone-aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval instants must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"interval ends ({self.end}) before it starts ({self.start})")

    def overlaps(self, other: Interval) -> bool:
        """True when the two share an instant; back-to-back intervals do not."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        """True when `other` lies wholly inside this interval."""
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True)
class Resource:
    """A clinician or chair: when it can be used, and when it is already taken."""

    id: int
    working: Sequence[Interval]
    busy: Sequence[Interval] | BusySpans = ()


@dataclass(frozen=True)
class Need:
    """What one booking of a service takes.

    `length` is the whole window (dosing + monitoring, or the consultation): the
    chair's time and the appointment's end. A clinician is held for the first
    `clinician_length` of it.
    """

    length: timedelta
    clinician_length: timedelta
    needs_chair: bool
    clinician_on_duty_whole_window: bool = False
    step: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.step <= timedelta(0):
            raise ValueError("slot step must be positive")
        if not timedelta(0) < self.clinician_length <= self.length:
            raise ValueError("clinician time must be positive and within the whole window")


@dataclass(frozen=True)
class Slot:
    """A start at which `available` bookings could begin; `end` closes the whole window."""

    start: datetime
    end: datetime
    available: int


def working_intervals(
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    weekly_hours: Mapping[int, Sequence[tuple[time, time]]],
    closed_days: Collection[date] = (),
) -> list[Interval]:
    """Lay out local opening hours (weekday 0 = Monday) from first_day to last_day inclusive.

    Each day is built in the clinic's wall-clock time and converted to UTC once;
    closed days are skipped. Returns sorted UTC intervals.
    """
    closed = set(closed_days)
    intervals = []
    for day in _days(first_day, last_day):
        if day in closed:
            continue
        for opens, closes in weekly_hours.get(day.weekday(), ()):
            if opens >= closes:
                raise ValueError(f"opening hours {opens}-{closes} close before they open")
            start, end = _local_to_utc(day, opens, tz), _local_to_utc(day, closes, tz)
            if start < end:  # hours wholly inside a spring-forward gap do not exist that day
                intervals.append(Interval(start, end))
    return sorted(intervals)


def candidate_starts(opening: Sequence[Interval], need: Need) -> Iterator[datetime]:
    """Yield every start stepped in UTC from each opening's start whose whole window fits in it."""
    for interval in opening:
        start = interval.start
        while start + need.length <= interval.end:
            yield start
            start += need.step


def free_resources(
    start: datetime, need: Need, clinicians: Sequence[Resource], chairs: Sequence[Resource]
) -> tuple[list[int], list[int]]:
    """Ids of the clinicians and chairs that could take a booking at `start`, in input order.

    A clinician must work and be free for the clinician's part; a chair for the whole
    window. Chairs are empty when the need takes no chair. When the need wants a
    clinician on duty for the whole window and none is, both lists are empty.
    """
    return _free_ids(micros(start), need, _timelines(clinicians), _timelines(chairs))


class Board:
    """The resources' timelines for asking many starts and taking places one after another in one request (a
    series' plan, then its bookings): each resource's timeline is built once, and a place taken is added to it and
    to the resource's busy time, so every later question sees it. Starts are microseconds since the epoch."""

    def __init__(self, need: Need, clinicians: Sequence[Resource], chairs: Sequence[Resource]):
        self.need = need
        self._clinician_lines, self._chair_lines = _timelines(clinicians), _timelines(chairs)
        self._resources = {("clinician", r.id): r for r in clinicians} | {("chair", r.id): r for r in chairs}
        self._lines = {("clinician", line.id): line for line in self._clinician_lines} | \
            {("chair", line.id): line for line in self._chair_lines}

    def free_ids(self, start: int) -> tuple[list[int], list[int]]:
        """As `free_resources`: the clinicians and chairs that could take a booking at `start`, in input order."""
        return _free_ids(start, self.need, self._clinician_lines, self._chair_lines)

    def free(self, start: int) -> bool:
        """Whether a booking could start at `start`: a free clinician, and a free chair when the need takes one."""
        clinician_ids, chair_ids = self.free_ids(start)
        return bool(clinician_ids) and (bool(chair_ids) or not self.need.needs_chair)

    def take(self, kind: Literal["clinician", "chair"], resource_id: int, start: int, end: int) -> None:
        """Mark [start, end) busy for one resource, which must be free then (its reservation is being written)."""
        line = self._lines[(kind, resource_id)]
        if not line.is_free(start, end):
            raise ValueError(f"{kind} {resource_id} is already busy in [{start}, {end})")
        line.add_busy(start, end)
        busy = self._resources[(kind, resource_id)].busy
        if isinstance(busy, list):  # the resource's own record too, for anything reading it later
            busy.append((start, end) if isinstance(busy, BusySpans) else Interval(instant(start), instant(end)))


def available_slots(
    opening: Sequence[Interval],
    need: Need,
    clinicians: Sequence[Resource],
    chairs: Sequence[Resource],
    now: datetime,
    min_notice: timedelta,
    horizon: timedelta,
    allow: Callable[[datetime], bool] | None = None,
) -> list[Slot]:
    """Every bookable start from now + min_notice to now + horizon, with how many could start.

    `allow` lets the caller drop starts for its own reasons (a patient's protocol spacing).
    """
    length = need.length
    return [Slot(start, start + length, available) for start, available in (
        (instant(us), available) for us, available in
        available_starts(opening, need, clinicians, chairs, now, min_notice, horizon, allow))]


def available_starts(
    opening: Sequence[Interval],
    need: Need,
    clinicians: Sequence[Resource],
    chairs: Sequence[Resource],
    now: datetime,
    min_notice: timedelta,
    horizon: timedelta,
    allow: Callable[[datetime], bool] | None = None,
) -> list[tuple[int, int]]:
    """`available_slots` as (start in microseconds since the epoch, how many): a month is thousands of starts,
    and integers compare, step and hash several times faster than aware datetimes."""
    earliest, latest = micros(max(now, now + min_notice)), micros(now + horizon)
    return [(start, available) for start, available in free_starts(opening, need, clinicians, chairs, earliest, latest)
            if allow is None or allow(instant(start))]


def free_starts(
    opening: Sequence[Interval],
    need: Need,
    clinicians: Sequence[Resource],
    chairs: Sequence[Resource],
    earliest: int | None = None,
    latest: int | None = None,
) -> list[tuple[int, int]]:
    """Every start (microseconds since the epoch) at which the resources could take a booking, with how many,
    from `earliest` to `latest` when given: what is free whatever the time now, so it can be kept and filtered by
    notice and horizon afterwards (booking.free_days)."""
    clinician_lines, chair_lines = _timelines(clinicians), _timelines(chairs)
    low_bound = earliest if earliest is not None else -(1 << 62)
    high_bound = latest if latest is not None else 1 << 62
    length, step = _span(need.length), _span(need.step)
    starts = [start for low, high in _spans(opening) if high > low_bound and low <= high_bound
              for start in range(low, high - length + 1, step) if low_bound <= start <= high_bound]
    if all(a < b for a, b in zip(starts, starts[1:])):
        counts = _counts_in_order(starts, need, clinician_lines, chair_lines)
    else:  # overlapping opening hours: starts repeat or go back, so ask start by start
        counts = [_count(start, need, clinician_lines, chair_lines) for start in starts]
    return [(start, available) for start, available in zip(starts, counts) if available]


def check_start(
    start: datetime,
    opening: Sequence[Interval],
    need: Need,
    now: datetime,
    min_notice: timedelta,
    horizon: timedelta,
) -> StartProblem | None:
    """Why `start` cannot be booked whatever the resources, or None when it can."""
    if start < now:
        return "in_the_past"
    if start < now + min_notice:
        return "too_soon"
    if start > now + horizon:
        return "too_far"
    interval = _opening_holding(opening, start, start + need.length)
    if interval is None:
        return "outside_hours"
    if (start - interval.start) % need.step:
        return "off_grid"
    return None


def _days(first_day: date, last_day: date) -> Iterator[date]:
    for offset in range((last_day - first_day).days + 1):
        yield first_day + timedelta(days=offset)


def _local_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    # An ambiguous wall time (the fall-back fold) takes its first occurrence, fold=0:
    # it is the moment the clock first shows that time, so opening hours never grow
    # by the repeated hour, and it is Python's default everywhere else a local time is
    # built. A wall time that does not exist (the spring-forward gap) moves forward to
    # the first real instant, the change itself: never earlier than asked, and no
    # time is lost (fold=0 alone would jump a whole gap past it).
    local = datetime.combine(day, wall.replace(tzinfo=None, fold=0), tzinfo=tz)
    instant = local.astimezone(timezone.utc)
    if instant.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    return _end_of_gap(local, tz)


def _end_of_gap(local: datetime, tz: ZoneInfo) -> datetime:
    # Inside a gap, fold=1 reads the wall time with the later offset (landing before the
    # change) and fold=0 with the earlier one (landing after it); search between them,
    # to the second, for the first instant already on the later offset.
    before = local.replace(fold=1).astimezone(timezone.utc)
    after = local.replace(fold=0).astimezone(timezone.utc)
    later_offset = after.astimezone(tz).utcoffset()
    low, high = 0, int((after - before).total_seconds())
    while low < high:
        middle = (low + high) // 2
        if (before + timedelta(seconds=middle)).astimezone(tz).utcoffset() == later_offset:
            high = middle
        else:
            low = middle + 1
    return before + timedelta(seconds=low)


def _opening_holding(opening: Sequence[Interval], start: datetime, end: datetime) -> Interval | None:
    index = bisect_right(opening, start, key=lambda interval: interval.start) - 1
    if index >= 0 and end <= opening[index].end:
        return opening[index]
    return None


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """An aware instant as whole microseconds since the epoch: exact, unlike a float timestamp."""
    return (moment - EPOCH) // _MICROSECOND


def instant(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _span(length: timedelta) -> int:
    return length // _MICROSECOND


def _spans(intervals: Iterable[Interval]) -> list[tuple[int, int]]:
    return [(micros(interval.start), micros(interval.end)) for interval in intervals]


@dataclass(frozen=True)
class _Timeline:
    """A resource's working and busy time in microseconds, merged and sorted once so each query is a bisect."""

    id: int
    work_starts: list[int]
    work_ends: list[int]
    busy_starts: list[int]
    busy_ends: list[int]

    @classmethod
    def of(cls, resource: Resource) -> _Timeline:
        busy = resource.busy if isinstance(resource.busy, BusySpans) else _spans(resource.busy)
        return cls(resource.id, *_merged(_spans(resource.working)), *_merged(busy))

    def works(self, start: int, end: int) -> bool:
        index = bisect_right(self.work_starts, start) - 1
        return index >= 0 and end <= self.work_ends[index]

    def is_free(self, start: int, end: int) -> bool:
        index = bisect_right(self.busy_ends, start)
        return index == len(self.busy_starts) or self.busy_starts[index] >= end

    def can_take(self, start: int, end: int) -> bool:
        return self.works(start, end) and self.is_free(start, end)

    def add_busy(self, start: int, end: int) -> None:
        """Add [start, end) to the busy spans, merged with those it touches or overlaps, as `_merged` leaves them."""
        first = bisect_left(self.busy_ends, start)  # the first span ending at or after start
        after = bisect_right(self.busy_starts, end)  # past the last span starting at or before end
        if first < after:
            start, end = min(start, self.busy_starts[first]), max(end, self.busy_ends[after - 1])
        self.busy_starts[first:after] = [start]
        self.busy_ends[first:after] = [end]


class BusySpans(list):
    """Busy time already in microseconds, (start, end) pairs, as the database can hand it over: a Resource's
    `busy` may be this instead of Intervals, so a month of reservations is never turned into datetimes."""


def _merged(spans: Iterable[tuple[int, int]]) -> tuple[list[int], list[int]]:
    # Merging touching and overlapping spans leaves disjoint, sorted spans, so both
    # starts and ends are sorted and one bisect finds the only span that matters.
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(spans):
        if ends and start <= ends[-1]:
            if end > ends[-1]:
                ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _timelines(resources: Sequence[Resource]) -> list[_Timeline]:
    return [_Timeline.of(resource) for resource in resources]


def _free_ids(
    start: int, need: Need, clinicians: Sequence[_Timeline], chairs: Sequence[_Timeline]
) -> tuple[list[int], list[int]]:
    end = start + _span(need.length)
    if need.clinician_on_duty_whole_window and not any(c.works(start, end) for c in clinicians):
        return [], []
    held_until = start + _span(need.clinician_length)
    clinician_ids = [c.id for c in clinicians if c.can_take(start, held_until)]
    chair_ids = [c.id for c in chairs if c.can_take(start, end)] if need.needs_chair else []
    return clinician_ids, chair_ids


def _counts_in_order(
    starts: Sequence[int], need: Need, clinicians: Sequence[_Timeline], chairs: Sequence[_Timeline]
) -> list[int]:
    """`_count` for every one of strictly ascending starts. Each resource's free windows (working time minus
    busy time) each admit one contiguous run of starts, found by two bisects: a month costs a few hundred
    bisects per resource instead of a test per start and resource."""
    length, clinician_length = _span(need.length), _span(need.clinician_length)
    free_clinicians = _starts_taken_by(clinicians, starts, clinician_length)
    if need.clinician_on_duty_whole_window:
        on_duty = _starts_taken_by(clinicians, starts, length, mind_busy=False)
        free_clinicians = [free if duty else 0 for free, duty in zip(free_clinicians, on_duty)]
    if not need.needs_chair:
        return free_clinicians
    free_chairs = _starts_taken_by(chairs, starts, length)
    return [min(people, seats) for people, seats in zip(free_clinicians, free_chairs)]


def _starts_taken_by(lines: Sequence[_Timeline], starts: Sequence[int], length: int,
                     mind_busy: bool = True) -> list[int]:
    """For ascending starts: how many of these resources could take [start, start + length) (as `can_take`, or
    `works` without `mind_busy`). A resource's free windows are disjoint, so it counts at most once per start."""
    steps = [0] * (len(starts) + 1)
    for line in lines:
        for low, high in _free_windows(line, mind_busy):
            first, after = bisect_left(starts, low), bisect_right(starts, high - length)
            if first < after:
                steps[first] += 1
                steps[after] -= 1
    return list(accumulate(steps[:-1]))


def _free_windows(line: _Timeline, mind_busy: bool = True) -> Iterator[tuple[int, int]]:
    """The maximal spans in which the resource works and, with `mind_busy`, is not busy."""
    busy_starts, busy_ends = (line.busy_starts, line.busy_ends) if mind_busy else ([], [])
    for work_start, work_end in zip(line.work_starts, line.work_ends):
        free_from = work_start
        b = bisect_right(busy_ends, work_start)  # the first busy span still running at work_start
        while b < len(busy_starts) and busy_starts[b] < work_end:
            if busy_starts[b] > free_from:
                yield free_from, busy_starts[b]
            free_from = max(free_from, busy_ends[b])
            b += 1
        if free_from < work_end:
            yield free_from, work_end


def _count(start: int, need: Need, clinicians: Sequence[_Timeline], chairs: Sequence[_Timeline]) -> int:
    # Any free chair pairs with any free clinician, so the smaller pool is the exact count.
    clinician_ids, chair_ids = _free_ids(start, need, clinicians, chairs)
    return min(len(clinician_ids), len(chair_ids)) if need.needs_chair else len(clinician_ids)
