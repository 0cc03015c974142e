"""Issue 11: the fast availability answer (integer slot arithmetic, local times from a clock table, orjson) says
exactly what the plain computation says (Slot datetimes, one timezone conversion per instant), through bookings,
cancellations, an expired hold and changes to hours, closures, chairs and settings; and it only reads the
reservations that can overlap the asked range."""
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking import queries, schedule, slots
from booking.models import Appointment, Chair, ClinicianHours, Closure, Service
from booking.serialize import LocalTimes
from clinic.database import epoch_micros, utcnow
from clinic.extensions import db
from clinic.models import ClinicSettings, OpeningHours, Patient
from tests.factories import api_token, appointment_row, DRIVER, guest_booking, next_weekday

MONDAY = 0


def api_slots(client, service: str, first: date, last: date, headers: dict | None = None) -> list[dict]:
    query = {"service": service, "from": first.isoformat(), "to": last.isoformat()}
    response = client.get("/api/v1/availability", query_string=query, headers=headers or {})
    assert response.status_code == 200, response.json
    return response.json["slots"]


def cold_slots(app, service_code: str, first: date, last: date) -> list[dict]:
    """The same answer the slow, obvious way: datetimes throughout, each formatted through the zone."""
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.code == service_code))
        zone = ZoneInfo(db.session.get(ClinicSettings, 1).timezone)
        found = queries.available(service, first, last, utcnow())
        answer = [{"start": s.start.astimezone(zone).isoformat(), "end": s.end.astimezone(zone).isoformat(),
                   "available": s.available} for s in found]
        db.session.remove()
    return answer


def same_answers(app, client, first: date, last: date) -> None:
    for code in ("consultation", "iv-ketamine"):
        answer = api_slots(client, code, first, last)
        assert answer == cold_slots(app, code, first, last), code
        assert answer, f"no {code} slots at all: the comparison would prove nothing"


def test_fast_answer_matches_a_cold_computation_through_every_change(demo, app, client):
    first = next_weekday(MONDAY)
    last = first + timedelta(days=13)
    same_answers(app, client, first, last)
    staff = api_token(client, "frontdesk@clinic.test")

    booked = client.post("/api/v1/appointments", json=guest_booking(first, 10))
    assert booked.status_code == 201, booked.json
    same_answers(app, client, first, last)
    assert client.post(f"/api/v1/appointments/{booked.json['appointment']['id']}/cancel", headers=staff).status_code == 200
    same_answers(app, client, first, last)

    _expired_iv_hold(app, first)
    same_answers(app, client, first, last)

    with app.app_context():
        clinician_id = db.session.scalar(select(Service).where(Service.code == "consultation")).clinicians[0].id
        db.session.add(ClinicianHours(clinician_id=clinician_id, weekday=first.weekday(), starts=time(10), ends=time(13)))
        db.session.add(Closure(clinician_id=clinician_id, starts_on=first + timedelta(days=1), ends_on=first + timedelta(days=2)))
        db.session.add(Closure(clinician_id=None, starts_on=first + timedelta(days=7), ends_on=first + timedelta(days=7)))
        db.session.commit()
    same_answers(app, client, first, last)

    with app.app_context():
        db.session.scalar(select(Chair).order_by(Chair.id)).active = False
        settings = db.session.get(ClinicSettings, 1)
        settings.slot_step_minutes, settings.min_notice_minutes = 20, 60 * 24 * 3
        for row in db.session.scalars(select(OpeningHours).where(OpeningHours.weekday == (first + timedelta(days=3)).weekday())):
            row.opens = time(11, 30)
        db.session.commit()
    same_answers(app, client, first, last)


def _expired_iv_hold(app, day: date) -> None:
    """A held IV treatment whose payment window ran out: it frees its chair and clinician at once."""
    start = datetime.combine(day, time(9), ZoneInfo("America/New_York")).astimezone(timezone.utc)
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        chair_id = db.session.scalar(select(Chair.id).order_by(Chair.id))
        clinician_id = service.clinicians[0].id
        db.session.add(appointment_row(service, start, clinician_id=clinician_id, chair_id=chair_id,
                                       status="pending_payment", hold_expires_at=utcnow() - timedelta(minutes=1),
                                       driver_name=DRIVER["name"]))
        db.session.commit()


def test_busy_time_skips_reservations_that_ended_before_the_range(demo, app):
    """Years of history are not read: only reservations starting within the longest reservation before the range."""
    first = next_weekday(MONDAY)
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.code == "consultation"))
        clinician_id = service.clinicians[0].id
        range_start = datetime.combine(first, time(9), ZoneInfo("America/New_York")).astimezone(timezone.utc)
        old = range_start - timedelta(days=3)
        spanning = range_start - timedelta(hours=1)
        patient = Patient(name="Past Patient", email="past@example.com")
        for start, length in ((old, timedelta(minutes=15)), (spanning, timedelta(hours=2))):
            db.session.add(appointment_row(service, start, patient=patient, clinician_id=clinician_id, length=length))
        db.session.commit()
        busy = schedule._busy((range_start, range_start + timedelta(days=1)), utcnow(), None, [clinician_id], [])
        assert busy[("c", clinician_id)] == [(slots.micros(spanning), slots.micros(spanning + timedelta(hours=2)))]


def test_database_epoch_micros_are_exact(demo, app):
    moment = datetime(2027, 3, 14, 6, 59, 59, 123456, tzinfo=timezone.utc)
    with app.app_context():
        assert db.session.scalar(select(epoch_micros(db.literal(moment, type_=Appointment.starts_at.type)))) \
            == slots.micros(moment)
        assert slots.instant(slots.micros(moment)) == moment


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Europe/Dublin"])
def test_local_times_match_the_zone_across_offset_changes(zone):
    tz = ZoneInfo(zone)
    local = LocalTimes(tz)
    start = datetime(2027, 3, 1, tzinfo=timezone.utc)
    instants = [start + timedelta(minutes=15 * n) for n in range(4 * 24 * 70)]  # across spring changes north and south
    instants += [start + timedelta(days=200, seconds=7, microseconds=5), datetime(2027, 11, 7, 6, 0, tzinfo=timezone.utc)]
    for moment in instants:
        assert local(slots.micros(moment)) == moment.astimezone(tz).isoformat(), moment


@pytest.mark.parametrize("seed", range(40))
def test_counting_a_month_at_once_equals_asking_start_by_start(seed):
    """Random hours, busy times (touching, overlapping, straddling the opening) and needs: the bulk count of every
    start gives what free_resources says for each start alone."""
    rng = random.Random(seed)
    base = datetime(2027, 1, 4, 13, tzinfo=timezone.utc)
    minutes = lambda n: timedelta(minutes=n)  # noqa: E731
    opening = [slots.Interval(base + timedelta(days=d), base + timedelta(days=d) + minutes(rng.choice([240, 480, 600])))
               for d in range(6)]

    def resource(resource_id: int) -> slots.Resource:
        working = [slots.Interval(i.start + minutes(rng.choice([0, 0, 60])), i.end - minutes(rng.choice([0, 0, 90])))
                   for i in opening if rng.random() < 0.9]
        busy = [slots.Interval(start, start + minutes(rng.choice([15, 30, 45, 170, 300])))
                for start in (base + minutes(rng.randrange(-60, 6 * 24 * 60, 15)) for _ in range(rng.randrange(0, 40)))]
        return slots.Resource(resource_id, working, busy)

    need = slots.Need(length=minutes(rng.choice([15, 60, 170])), clinician_length=minutes(15),
                      needs_chair=rng.random() < 0.5, clinician_on_duty_whole_window=rng.random() < 0.3,
                      step=minutes(rng.choice([15, 20])))
    clinicians, chairs = [resource(n) for n in range(3)], [resource(10 + n) for n in range(3)]
    found = slots.available_slots(opening, need, clinicians, chairs, base - timedelta(days=1), timedelta(0),
                                  timedelta(days=30))
    expected = []
    for start in slots.candidate_starts(opening, need):
        people, seats = slots.free_resources(start, need, clinicians, chairs)
        available = min(len(people), len(seats)) if need.needs_chair else len(people)
        if available:
            expected.append((start, available))
    assert [(slot.start, slot.available) for slot in found] == expected
