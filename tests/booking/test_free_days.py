"""The per-day free lists availability keeps (booking.free_days): after every kind of change, the kept answer is the
one computed afresh, through the API on a real database; and a change made through one app reaches another."""
from __future__ import annotations

import time as clock
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from booking import free_days, queries
from booking.models import Appointment, Chair, ClinicianHours, Closure, Service
from clinic import create_app
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import ClinicSettings, Clinician, OpeningHours
from clinic.settings import local_iso
from tests.factories import (api_token, appointment_row, at, book, booked, clear_patient, next_weekday,
                             patient_login, staff)

DAY = next_weekday(2)


def _instant(day, hour: int) -> datetime:
    """The clinic-local hour on `day`, as an aware datetime."""
    return datetime.fromisoformat(at(day, hour))


def _url(service: str = "consultation", days: int = 7) -> str:
    return f"/api/v1/availability?service={service}&from={DAY}&to={DAY + timedelta(days=days - 1)}"


def _answer(client, service: str = "consultation") -> dict:
    response = client.get(_url(service))
    assert response.status_code == 200, response.json
    return response.json


def _cold(app, client, service: str = "consultation") -> dict:
    """The answer with nothing kept, checked against the uncached computation (booking.queries.available)."""
    with app.app_context():
        free_days.clear()
    answer = _answer(client, service)
    with app.app_context():
        code = db.session.scalar(select(Service).where(Service.code == service))
        found = queries.available(code, DAY, DAY + timedelta(days=6), utcnow())
        assert answer["slots"] == [{"start": local_iso(s.start), "end": local_iso(s.end), "available": s.available}
                                   for s in found]
        db.session.remove()
    return answer


def _kept_equals_cold(app, client, service: str = "consultation") -> dict:
    kept = _answer(client, service)
    assert kept == _cold(app, client, service)
    return kept


def _warm(client, service: str = "consultation") -> dict:
    first = _answer(client, service)
    assert _answer(client, service) == first
    return first


def _change(app, change) -> None:
    with app.app_context():
        change()
        db.session.commit()
        db.session.remove()


def test_kept_answer_follows_booking_cancelling_and_rescheduling(demo, client):
    before = _warm(client)
    appointment = booked(client, DAY, 10)
    after_booking = _kept_equals_cold(demo, client)
    assert after_booking != before
    headers = staff(client)
    moved = client.post(f"/api/v1/appointments/{appointment['id']}/reschedule", json={"start": at(DAY, 14)},
                        headers=headers)
    assert moved.status_code == 200, moved.json
    assert _kept_equals_cold(demo, client) != after_booking
    cancelled = client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.json
    assert _kept_equals_cold(demo, client) == before


def test_kept_answer_frees_a_treatment_hold_when_it_runs_out_with_nothing_written(demo, client):
    with demo.app_context():
        service = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        db.session.add(appointment_row(service, _instant(DAY, 10), chair_id=db.session.scalar(select(Chair.id).limit(1)),
                                       status="pending_payment", hold_expires_at=utcnow() + timedelta(seconds=2)))
        db.session.commit()
        db.session.remove()
    held = _warm(client, "iv-ketamine")
    clock.sleep(2.5)
    freed = _kept_equals_cold(demo, client, "iv-ketamine")
    assert freed != held


def test_kept_answer_follows_clinician_hours_and_closures(demo, client):
    before = _warm(client)
    with demo.app_context():
        clinician_id = db.session.scalar(select(Clinician.id).order_by(Clinician.id))
    _change(demo, lambda: db.session.add(ClinicianHours(clinician_id=clinician_id, weekday=DAY.weekday(),
                                                        starts=_instant(DAY, 12).time(), ends=_instant(DAY, 13).time())))
    assert _kept_equals_cold(demo, client) != before
    _change(demo, lambda: db.session.add(Closure(starts_on=DAY, ends_on=DAY, reason="Training")))
    closed = _kept_equals_cold(demo, client)
    assert not [s for s in closed["slots"] if s["start"].startswith(DAY.isoformat())]

    def reopen():
        for row in db.session.scalars(select(Closure).where(Closure.starts_on == DAY)):
            db.session.delete(row)
        for row in db.session.scalars(select(ClinicianHours).where(ClinicianHours.clinician_id == clinician_id)):
            db.session.delete(row)
    _change(demo, reopen)
    assert _kept_equals_cold(demo, client) == before


@pytest.mark.parametrize("setting, days_in", [("min_notice_minutes", 2), ("horizon_days", 3), ("slot_step_minutes", None)])
def test_kept_answer_follows_the_clinic_settings(demo, client, setting, days_in):
    """Notice and horizon moved to fall inside the week asked; the step from a quarter to a half hour."""
    before = _warm(client)
    ahead = (DAY - utcnow().date()).days + (days_in or 0)
    value = {"min_notice_minutes": ahead * 24 * 60, "horizon_days": ahead, "slot_step_minutes": 30}[setting]
    _change(demo, lambda: setattr(db.session.get(ClinicSettings, 1), setting, value))
    assert _kept_equals_cold(demo, client) != before


def test_kept_answer_follows_opening_hours_and_a_changed_service(demo, client):
    before = _warm(client)

    def shorter_day():
        for row in db.session.scalars(select(OpeningHours).where(OpeningHours.weekday == DAY.weekday())):
            row.closes = row.opens.replace(hour=row.opens.hour + 2)
    _change(demo, shorter_day)
    shorter = _kept_equals_cold(demo, client)
    assert shorter != before
    _change(demo, lambda: setattr(db.session.scalar(select(Service).where(Service.code == "consultation")),
                                  "duration_minutes", 50))
    assert _kept_equals_cold(demo, client) != shorter


def test_a_change_made_through_another_app_on_the_same_database_reaches_this_one(demo, client, database_url):
    """Two apps stand for two gunicorn worker processes: each keeps its own lists, the version is in the database."""
    other_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
                            "RATELIMIT_ENABLED": False, "PUBLIC_URL": "http://127.0.0.1:5000", "SMTP_HOST": None,
                            "PASSWORD_HASH_FAST": True})
    other = other_app.test_client()
    before = _warm(client)
    assert _warm(other) == before
    appointment = booked(other, DAY, 11)
    assert _kept_equals_cold(demo, client) != before
    cancelled = other.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=api_token(other, "frontdesk@clinic.test"))
    assert cancelled.status_code == 200, cancelled.json
    assert _answer(client) == before
    with other_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_patients_token_still_gets_their_protocol_spacing_on_top_of_the_kept_lists(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    everyone = _warm(client, "iv-ketamine")
    assert book(client, headers, DAY, 9).status_code == 201
    mine = client.get(_url("iv-ketamine"), headers=headers).json
    assert not [s for s in mine["slots"] if s["start"].startswith(DAY.isoformat())]
    assert len(mine["slots"]) < len(_kept_equals_cold(demo, client, "iv-ketamine")["slots"]) <= len(everyone["slots"])
    with demo.app_context():
        assert db.session.scalar(select(Appointment.id).where(Appointment.patient_id == patient_id)) is not None
