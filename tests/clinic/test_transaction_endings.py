"""How a request's transaction ends: a refused request leaves nothing it wrote, and on PostgreSQL a request that
wrote nothing ends with COMMIT so psycopg keeps the statements it prepared (a rollback makes it forget them all)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from booking.models import Appointment, Series
from clinic.extensions import db
from tests.factories import at, clear_patient, DRIVER, next_weekday, patient_login, staff


def test_a_series_refused_after_it_began_writing_leaves_nothing(demo, client):
    """The series row is written before its sessions; a session then refused (the patient has a consultation at
    that time) must take the series row with it, whatever the database."""
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    consultation = client.post("/api/v1/appointments", headers=staff(client), json={
        "service": "consultation", "start": at(monday, 9), "patient_id": patient_id})
    assert consultation.status_code == 201, consultation.json
    refused = client.post("/api/v1/series", headers=headers, json={
        "protocol": "iv-induction", "first_date": monday.isoformat(), "preferred_time": "09:00", "driver": DRIVER})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "patient_busy", refused.json
    with demo.app_context():
        assert db.session.scalar(select(func.count()).select_from(Series)) == 0
        assert db.session.scalar(select(func.count()).select_from(Appointment)
                                 .where(Appointment.patient_id == patient_id)) == 1
        db.session.remove()


def test_statements_stay_prepared_across_read_only_requests(demo, client, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("psycopg's prepared statements are PostgreSQL's")
    for _ in range(8):  # psycopg prepares a statement on its fifth run on a connection
        assert client.get("/api/v1/services").status_code == 200
    with demo.app_context():
        prepared = db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements"))
        db.session.remove()
    assert prepared > 0



def test_what_a_request_flushed_but_did_not_commit_is_rolled_back(app):
    """Written (flushed, nothing left pending) but never committed: the request's end must not commit it."""
    from clinic.models import Patient
    with app.app_context():
        db.session.add(Patient(name="Never Saved", email="never-saved@example.com"))
        db.session.flush()
    with app.app_context():  # the first context's teardown ran, with no error
        assert db.session.scalar(select(func.count()).select_from(Patient)
                                 .where(Patient.email == "never-saved@example.com")) == 0
        db.session.remove()

