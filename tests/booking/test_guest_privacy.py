"""A guest booking never reveals or touches another person's account: the same answer whatever the email, a
record of its own, and it joins an account only when the address's owner confirms it."""
from __future__ import annotations

import re

from sqlalchemy import select

from booking.models import Appointment
from clinic.extensions import db
from clinic.models import OutboxMessage, Patient
from tests.factories import at, csrf_from, guest_booking, next_weekday, patient_login, sign_in

VARYING = {"id", "start", "end", "manage_url", "provider_id"}
STRANGER_NOTES = "Stranger's notes: please call my cell."


def _shape(body: dict) -> dict:
    return {key: value for key, value in body["appointment"].items() if key not in VARYING}


def _record(app, patient_id: int) -> tuple:
    with app.app_context():
        p = db.session.get(Patient, patient_id)
        row = (p.name, p.email, p.phone, p.date_of_birth, p.address, p.user_id)
        db.session.remove()
        return row


def _own_appointments(client, headers) -> list[int]:
    return [a["id"] for a in client.get("/api/v1/appointments", headers=headers).json["appointments"]]


def _claim_path(app) -> str:
    """The "this is me" link of the latest confirmation email."""
    with app.app_context():
        text = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "appointment_booked")
                                  .order_by(OutboxMessage.id.desc())).first().text
        db.session.remove()
    return re.search(r"http://127\.0\.0\.1:5000(/appointments/claim/\S+)", text).group(1)


def test_a_guest_gets_the_same_answer_with_a_patients_email_even_when_that_patient_is_busy(demo, client):
    headers, patient_id = patient_login(client)
    day = next_weekday(1)
    own = client.post("/api/v1/appointments", headers=headers,
                      json={"service": "consultation", "start": at(day, 9), "mode": "phone"})
    assert own.status_code == 201
    before, listed = _record(demo, patient_id), _own_appointments(client, headers)

    known = client.post("/api/v1/appointments", json=guest_booking(day, 9, email="patient@clinic.test",
                                                                   notes=STRANGER_NOTES))
    unknown = client.post("/api/v1/appointments", json=guest_booking(day, 9, 15, email="nobody-yet@example.com",
                                                                     notes=STRANGER_NOTES))
    assert known.status_code == unknown.status_code == 201, (known.json, unknown.json)
    assert _shape(known.json) == _shape(unknown.json)
    assert known.json["appointment"]["patient_id"] is None

    bad_known = client.post("/api/v1/appointments", json=guest_booking(day, 10, email="patient@clinic.test", start="x"))
    bad_unknown = client.post("/api/v1/appointments", json=guest_booking(day, 10, email="nobody@example.com", start="x"))
    assert (bad_known.status_code, bad_known.json) == (bad_unknown.status_code, bad_unknown.json)

    assert _record(demo, patient_id) == before
    assert _own_appointments(client, headers) == listed
    sign_in(client, "patient@clinic.test")
    assert STRANGER_NOTES not in client.get("/account").get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Appointment, known.json["appointment"]["id"]).patient_id != patient_id


def test_the_owner_of_the_address_adds_the_booking_to_their_account_from_the_email(demo, client):
    headers, patient_id = patient_login(client)
    day = next_weekday(2)
    guest = client.post("/api/v1/appointments", json=guest_booking(day, 11, email="patient@clinic.test")).json
    appointment_id = guest["appointment"]["id"]
    path = _claim_path(demo)

    assert client.get(path).status_code == 302  # sign in first
    sign_in(client, "patient@clinic.test")
    page = client.get(path)
    assert page.status_code == 200 and "This is me" in page.get_data(as_text=True)
    assert appointment_id not in _own_appointments(client, headers)
    done = client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True))})
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    assert appointment_id in _own_appointments(client, headers)
    assert "11:00 AM" in client.get("/account").get_data(as_text=True)
    assert client.get(path).status_code == 404  # already on the account


def test_another_patient_cannot_use_the_link(demo, client):
    from clinic.accounts import create_user
    from clinic.models import Role
    day = next_weekday(2)
    appointment_id = client.post("/api/v1/appointments", json=guest_booking(day, 11, email="patient@clinic.test")
                                 ).json["appointment"]["id"]
    path = _claim_path(demo)
    with demo.app_context():
        user = create_user("other@example.com", "Other Person", Role.patient, "lantern orchard velvet 93")
        db.session.add(Patient(name="Other Person", email="other@example.com", user=user))
        db.session.commit()
    page = client.get("/login")
    client.post("/login", data={"email": "other@example.com", "password": "lantern orchard velvet 93",
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert client.get(path).status_code == 404
    assert client.post(path, data={"csrf_token": csrf_from(client.get("/account").get_data(as_text=True))}
                       ).status_code == 404
    assert client.get("/appointments/claim/forged-token").status_code == 404


def test_registering_and_confirming_the_address_brings_its_guest_bookings(demo, client):
    day = next_weekday(3)
    ids = [client.post("/api/v1/appointments", json=guest_booking(day, hour, email="later@example.com")
                       ).json["appointment"]["id"] for hour in (9, 13)]
    page = client.get("/register").get_data(as_text=True)
    password = "lantern orchard velvet 93"
    client.post("/register", data={"name": "Casey Later", "email": "later@example.com", "password": password,
                                   "confirm": password, "csrf_token": csrf_from(page)})
    with demo.app_context():
        text = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "verify_email")).one().text
        db.session.remove()
    client.get(re.search(r"http://127\.0\.0\.1:5000(/register/confirm/\S+)", text).group(1))
    response = client.post("/api/v1/tokens", json={"email": "later@example.com", "password": password})
    headers = {"Authorization": f"Bearer {response.json['token']}"}
    assert sorted(_own_appointments(client, headers)) == sorted(ids)
