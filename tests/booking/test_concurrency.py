"""No double booking, ever: racing clients against the real app under gunicorn (several worker processes, each
with threads), and racing transactions straight against the database's own guard (the exclusion constraints on
PostgreSQL, the triggers on SQLite), on whichever database the fixtures give (CLINIC_TEST_DB).

These tests start servers and threads: about 20-30 s for the module. The test process never keeps a database
session open while the server works: on SQLite every transaction holds the write lock (BEGIN IMMEDIATE).
"""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

import pytest
import requests
from sqlalchemy import create_engine, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool

from booking.models import Appointment, Chair, Reservation, Service
from clinical.models import Clearance
from clinic.extensions import db
from clinic.models import Patient, User
from tests.factories import at, DEMO_PASSWORD, DRIVER, guest_booking, NEW_YORK, next_weekday
from tests.gunicorn_server import gunicorn

MONDAY = 0


# --- the app under gunicorn -----------------------------------------------------------------------------------------


@pytest.fixture
def server(demo, database_url, tmp_path):
    """The demo clinic served by gunicorn, 4 worker processes with 4 threads each, on this test's database."""
    with gunicorn(demo, database_url, tmp_path) as base:
        yield base


def race(calls) -> list[requests.Response]:
    """Run every call at the same moment, one thread each, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def outcome(responses: list[requests.Response]) -> Counter:
    return Counter((r.status_code, r.json().get("error", {}).get("code") if r.status_code >= 400 else None)
                   for r in responses)


def guest_call(base: str, day, hour: int, minute: int, email: str):
    return lambda: requests.post(f"{base}/api/v1/appointments", json=guest_booking(day, hour, minute, email=email),
                                 timeout=60)


def available_at(base: str, day, hour: int, minute: int = 0) -> int:
    response = requests.get(f"{base}/api/v1/availability", params={
        "service": "consultation", "from": day.isoformat(), "to": day.isoformat()}, timeout=30)
    assert response.status_code == 200, response.text
    return {s["start"]: s["available"] for s in response.json()["slots"]}.get(at(day, hour, minute), 0)


def live_reservations(app) -> list[Reservation]:
    with app.app_context():
        rows = db.session.scalars(select(Reservation).where(Reservation.active).order_by(Reservation.starts_at)).all()
        db.session.expunge_all()
        db.session.remove()
    return rows


def assert_no_resource_overlaps(rows: list[Reservation]) -> None:
    by_resource: dict[tuple, list[Reservation]] = {}
    for row in rows:
        by_resource.setdefault(("clinician", row.clinician_id) if row.clinician_id else ("chair", row.chair_id),
                               []).append(row)
    for resource, held in by_resource.items():
        held.sort(key=lambda r: r.starts_at)
        for earlier, later in zip(held, held[1:]):
            assert earlier.ends_at <= later.starts_at, f"{resource} double-booked: {earlier.id} and {later.id}"


# --- through the server --------------------------------------------------------------------------------------------

def test_twelve_guests_race_for_the_last_place_and_exactly_one_gets_it(server, demo):
    day = next_weekday(MONDAY)
    first = guest_call(server, day, 10, 0, "early@example.com")()
    assert first.status_code == 201, first.text
    assert available_at(server, day, 10) == 1

    responses = race([guest_call(server, day, 10, 0, f"racer{n}@example.com") for n in range(12)])

    assert outcome(responses) == {(201, None): 1, (409, "slot_taken"): 11}, [r.text for r in responses]
    assert all(r.json()["error"]["message"] for r in responses if r.status_code == 409)
    assert available_at(server, day, 10) == 0
    rows = live_reservations(demo)
    assert len(rows) == 2 and len({r.clinician_id for r in rows}) == 2
    assert_no_resource_overlaps(rows)


def test_twenty_guests_race_for_one_start_and_each_clinician_takes_one(server, demo):
    day = next_weekday(MONDAY)

    responses = race([guest_call(server, day, 14, 30, f"racer{n}@example.com") for n in range(20)])

    assert outcome(responses) == {(201, None): 2, (409, "slot_taken"): 18}, [r.text for r in responses]
    winners = [r.json()["appointment"] for r in responses if r.status_code == 201]
    assert len({w["provider_id"] for w in winners}) == 2
    assert available_at(server, day, 14, 30) == 0
    assert available_at(server, day, 14, 15) == available_at(server, day, 14, 45) == 2  # neighbours untouched
    assert_no_resource_overlaps(live_reservations(demo))


@pytest.fixture
def cleared_patients(demo):
    """Twenty patients a clinician has cleared for IV ketamine; their ids."""
    with demo.app_context():
        clinician_user = db.session.scalar(select(User).where(User.email == "dr.rivera@clinic.test"))
        patients = [Patient(name=f"Treated Patient {n}", email=f"treated{n}@example.com", phone=f"617 555 01{n:02d}")
                    for n in range(20)]
        db.session.add_all(patients)
        db.session.flush()
        db.session.add_all(Clearance(patient_id=p.id, clinician_id=clinician_user.clinician.id,
                                     decided_by_id=clinician_user.id, cleared=True, protocols=["iv-induction"],
                                     diagnosis_codes=["F43.12"], notes="cleared for the race") for p in patients)
        db.session.commit()
        ids = [p.id for p in patients]
        db.session.remove()
    return ids


def test_twenty_staff_bookings_race_for_overlapping_treatment_chairs(cleared_patients, server, demo):
    """IV ketamine holds a chair for 170 minutes: starts 15 minutes apart all overlap one another without being
    the same, and the demo clinic has three chairs, so exactly three of twenty may win."""
    token = requests.post(f"{server}/api/v1/tokens", json={"email": "frontdesk@clinic.test",
                                                           "password": DEMO_PASSWORD}, timeout=30)
    assert token.status_code == 201, token.text
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    day = next_weekday(MONDAY)

    def staff_call(n: int, patient_id: int):
        minutes = 15 * (n % 5)  # 09:00, 09:15, ... 10:00, four clients each
        body = {"service": "iv-ketamine", "start": at(day, 9 + minutes // 60, minutes % 60),
                "patient_id": patient_id, "driver": DRIVER}
        return lambda: requests.post(f"{server}/api/v1/appointments", json=body, headers=headers, timeout=60)

    responses = race([staff_call(n, patient_id) for n, patient_id in enumerate(cleared_patients)])

    assert outcome(responses) == {(201, None): 3, (409, "slot_taken"): 17}, [r.text for r in responses]
    winners = [r.json()["appointment"] for r in responses if r.status_code == 201]
    assert len({w["chair_id"] for w in winners}) == 3
    rows = live_reservations(demo)
    assert len([r for r in rows if r.chair_id]) == 3
    assert_no_resource_overlaps(rows)


# --- straight against the database's guard ---------------------------------------------------------------------------

@dataclass
class Attempt:
    starts_at: datetime
    ends_at: datetime
    error: Exception | None = None


def appointments_for_raw_rows(app, count: int, start: datetime) -> tuple[list[int], int, int]:
    """`count` appointment rows (no reservations) the raw reservation rows can belong to; also a clinician and a
    chair of the demo clinic."""
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.code == "consultation"))
        clinician_id = service.clinicians[0].id
        chair_id = db.session.scalar(select(Chair.id).order_by(Chair.id).limit(1))
        patient = Patient(name="Raw Rows", email="raw@example.com")
        rows = [Appointment(service=service, patient=patient, clinician_id=clinician_id, starts_at=start,
                            ends_at=start + timedelta(minutes=15), status="confirmed", manage_nonce=f"raw{n}")
                for n in range(count)]
        db.session.add_all(rows)
        db.session.commit()
        ids = [row.id for row in rows]
        db.session.remove()
    return ids, clinician_id, chair_id


def race_raw_inserts(database_url: str, appointment_ids: list[int], attempts: list[Attempt],
                     resource: dict) -> None:
    """Each attempt inserts one reservation in its own connection and transaction, all released at once."""
    engine = create_engine(database_url, poolclass=NullPool,
                           connect_args={"timeout": 30} if database_url.startswith("sqlite") else {})
    barrier = threading.Barrier(len(attempts))

    def insert_one(appointment_id: int, attempt: Attempt) -> None:
        with engine.connect() as conn:
            barrier.wait(30)
            try:
                with conn.begin():
                    conn.execute(insert(Reservation).values(
                        appointment_id=appointment_id, starts_at=attempt.starts_at, ends_at=attempt.ends_at,
                        active=True, **resource))
            except DBAPIError as error:
                attempt.error = error

    with ThreadPoolExecutor(len(attempts)) as pool:
        list(pool.map(insert_one, appointment_ids, attempts))
    engine.dispose()


def overlaps(a, b) -> bool:
    return a.starts_at < b.ends_at and b.starts_at < a.ends_at


def deadlock_victim(error: Exception) -> bool:
    """PostgreSQL: two inserters that each wait on the other's uncommitted, conflicting row are ended by the
    deadlock detector, one of them, which is a refusal too (the app answers it 409, retry). The booking
    service never meets this: its advisory locks make racing bookings queue before they insert."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) == "40P01"


@pytest.mark.parametrize("resource", ["clinician", "chair"])
def test_database_refuses_overlapping_reservations_shifted_by_five_minutes(demo, database_url, resource):
    start = datetime.combine(next_weekday(MONDAY), time(9), NEW_YORK).astimezone(timezone.utc)
    ids, clinician_id, chair_id = appointments_for_raw_rows(demo, 20, start)
    attempts = [Attempt(start + timedelta(minutes=5 * n), start + timedelta(minutes=5 * n + 15)) for n in range(20)]

    race_raw_inserts(database_url, ids, attempts,
                     {"clinician_id": clinician_id} if resource == "clinician" else {"chair_id": chair_id})

    kept = [a for a in attempts if a.error is None]
    refused = [a for a in attempts if isinstance(a.error, IntegrityError)]
    deadlocked = [a for a in attempts if a.error is not None and deadlock_victim(a.error)]
    assert len(kept) + len(refused) + len(deadlocked) == 20, [repr(a.error) for a in attempts]
    assert 1 <= len(kept) <= 7  # 15-minute ranges 5 minutes apart: at most every third fits
    assert [(a, b) for a in kept for b in kept if a is not b and overlaps(a, b)] == []
    # Refused only for a reason: each refusal overlaps a reservation that stayed.
    assert [r for r in refused if not any(overlaps(r, k) for k in kept)] == []
    if not database_url.startswith("postgresql"):
        assert deadlocked == []  # SQLite has one writer at a time: nothing to deadlock on
    rows = live_reservations(demo)
    assert sorted((r.starts_at, r.ends_at) for r in rows) == sorted((a.starts_at, a.ends_at) for a in kept)
    assert_no_resource_overlaps(rows)


def test_database_accepts_back_to_back_and_other_resources_at_once(demo, database_url):
    start = datetime.combine(next_weekday(MONDAY), time(9), NEW_YORK).astimezone(timezone.utc)
    ids, clinician_id, _chair = appointments_for_raw_rows(demo, 20, start)
    back_to_back = [Attempt(start + timedelta(minutes=15 * n), start + timedelta(minutes=15 * (n + 1)))
                    for n in range(20)]

    race_raw_inserts(database_url, ids, back_to_back, {"clinician_id": clinician_id})

    assert [a.error for a in back_to_back] == [None] * 20
    with demo.app_context():
        other = next(c.id for c in db.session.scalar(select(Service).where(Service.code == "consultation")).clinicians
                     if c.id != clinician_id)
        same_time_other_clinician = Reservation(appointment_id=ids[0], clinician_id=other, starts_at=start,
                                                ends_at=start + timedelta(minutes=15))
        cancelled_overlap = Reservation(appointment_id=ids[1], clinician_id=clinician_id, starts_at=start,
                                        ends_at=start + timedelta(minutes=15), active=False)
        db.session.add_all([same_time_other_clinician, cancelled_overlap])
        db.session.commit()
        with pytest.raises(IntegrityError):
            cancelled_overlap.active = True  # reviving a cancelled overlap is refused as well
            db.session.commit()
        db.session.rollback()
        db.session.remove()
    assert len(live_reservations(demo)) == 21


def test_a_transaction_locks_a_service_and_patient_once_and_locks_again_once_it_ends(demo, database_url):
    """A series locks before it plans and books: the second lock is already held, so it costs no round trip. A
    savepoint's locks are not noted (rolling it back releases them), and a new transaction locks afresh."""
    if not database_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's; on SQLite BEGIN IMMEDIATE already serialises writers")
    from sqlalchemy import event, text
    from booking import services
    locks: list[str] = []

    def record(_connection, _cursor, statement, *_args):
        if "pg_advisory_xact_lock" in statement:
            locks.append(statement)

    def held() -> int:
        return db.session.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                      "AND pid = pg_backend_pid()"))
    with demo.app_context():
        iv = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        first, second = (Patient(name=f"Lock Patient {n}", email=f"lock-{n}@example.com") for n in (1, 2))
        db.session.add_all([first, second])
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            services.lock(iv, first)
            services.lock(iv, first)
            chairs = len(db.session.scalars(select(Chair.id)).all())
            assert len(locks) == 1 and held() == 1 + len(iv.clinicians) + chairs  # the patient, clinicians, chairs
            with db.session.begin_nested():
                services.lock(iv, second)
            services.lock(iv, second)
            assert len(locks) == 3
            db.session.commit()
            assert held() == 0
            services.lock(iv, first)
            assert len(locks) == 4
            db.session.rollback()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
            db.session.remove()


@pytest.mark.parametrize("resource", ["clinician_id", "chair_id"])
def test_database_sees_an_overlap_past_cancelled_rows_and_across_a_long_reservation(demo, resource):
    """The guard on each database, asked the cases a shortcut could miss: a long reservation that started well
    before, with cancelled and shorter rows after its start; a new row inside it, around it, or touching its end;
    and a cancelled row brought back over it."""
    start = datetime.combine(next_weekday(MONDAY), time(9), NEW_YORK).astimezone(timezone.utc)
    ids, clinician_id, chair_id = appointments_for_raw_rows(demo, 8, start)
    who = {resource: clinician_id if resource == "clinician_id" else chair_id}

    def add(appointment_id: int, begins: int, ends: int, active: bool = True) -> Reservation:
        row = Reservation(appointment_id=appointment_id, starts_at=start + timedelta(minutes=begins),
                          ends_at=start + timedelta(minutes=ends), active=active, **who)
        db.session.add(row)
        db.session.commit()
        return row

    def refused(appointment_id: int, begins: int, ends: int) -> bool:
        try:
            add(appointment_id, begins, ends)
        except IntegrityError:
            db.session.rollback()
            return True
        return False
    with demo.app_context():
        add(ids[0], 0, 300)  # 09:00-14:00
        cancelled = add(ids[1], 60, 75, active=False)
        add(ids[2], 120, 135, active=False)
        assert refused(ids[3], 200, 215)  # inside the long one, past the cancelled rows
        assert refused(ids[3], -30, 330)  # around it
        assert refused(ids[3], 299, 310)  # over its last minute
        assert not refused(ids[3], 300, 315)  # from its end: back to back
        assert not refused(ids[4], -15, 0)  # up to its start
        with pytest.raises(IntegrityError):
            cancelled.active = True
            db.session.commit()
        db.session.rollback()
        assert refused(ids[5], 310, 320)  # inside the 14:00 one, the last before it ends
        db.session.remove()
