"""The front desk books for a caller from /staff/book: find or add the patient, then a consultation, or a treatment
for a cleared patient with a designated driver, through the same API and rules as patients."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from booking.models import Appointment
from clinic.extensions import db
from clinic.models import Patient
from tests.factories import at, clear_patient, csrf_from, DRIVER, next_weekday, sign_in


def add_caller(client, **fields) -> object:
    page = client.get("/staff/book").get_data(as_text=True)
    data = {"name": "Jamie Caller", "email": "jamie@example.com", "phone": "617 555 0142",
            "date_of_birth": "1985-03-17", **fields}
    return client.post("/staff/patients", data={"csrf_token": csrf_from(page), **data})


def patient_id(app, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(Patient.id).where(Patient.email == email))
        db.session.remove()
        return found


def test_the_day_schedule_links_to_booking_for_a_caller(demo, client):
    sign_in(client, "frontdesk@clinic.test")
    assert 'href="/staff/book"' in client.get("/staff").get_data(as_text=True)
    assert client.get("/staff/book").status_code == 200


@pytest.mark.parametrize("email", ["billing@clinic.test", "patient@clinic.test"])
def test_billing_staff_and_patients_may_not_book_for_callers(demo, client, email):
    sign_in(client, email)
    assert client.get("/staff/book").status_code == 403
    assert 'href="/staff/book"' not in client.get("/staff").get_data(as_text=True)


def test_a_caller_is_found_by_name_email_phone_or_date_of_birth(demo, client, app):
    sign_in(client, "frontdesk@clinic.test")
    assert add_caller(client).status_code == 302
    add_caller(client, name="Alex Other", email="alex@example.com", phone="212 555 0100", date_of_birth="1990-01-02")
    for query in ("jamie", "JAMIE@EXAMPLE", "(617) 555-0142", "6175550142", "03/17/1985", "1985-03-17"):
        html = client.get("/staff/book", query_string={"q": query}).get_data(as_text=True)
        assert "Book for Jamie Caller" in html and "Book for Alex Other" not in html, query
        assert "born Sunday, March 17, 1985" in html
    missing = client.get("/staff/book", query_string={"q": "nobody_%"}).get_data(as_text=True)
    assert "No patient matches" in missing and "Book for Jamie" not in missing
    assert client.get("/staff/book", query_string={"q": "02/30/1985"}).status_code == 200


def test_adding_a_caller_reports_every_mistake_at_once_and_never_duplicates_a_patient(demo, client, app):
    sign_in(client, "frontdesk@clinic.test")
    bad = add_caller(client, name="", email="nope", phone="12", date_of_birth="2999-01-01")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for message in ("Please enter your name.", "valid email address", "at least 7 digits", "real date of birth"):
        assert message in html
    assert html.count('aria-invalid="true"') == 4 and 'value="12"' in html
    summary = html.split("data-error-summary", 1)[1].split("</div>", 1)[0]  # the one error summary macro
    assert "There is a problem" in summary and 'href="#caller-name">Please enter your name.' in summary
    created = add_caller(client)
    assert created.status_code == 302
    assert created.headers["Location"].endswith(f"/staff/book?patient_id={patient_id(app, 'jamie@example.com')}")
    again = add_caller(client, name="Jamie Again")
    assert again.status_code == 409 and "Jamie Caller already has a record" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Patient).where(Patient.email == "jamie@example.com")).name == "Jamie Caller"
        db.session.remove()


def test_an_uncleared_patient_is_offered_only_a_consultation(demo, client, app):
    sign_in(client, "frontdesk@clinic.test")
    add_caller(client)
    html = client.get(f"/staff/book?patient_id={patient_id(app, 'jamie@example.com')}").get_data(as_text=True)
    assert "Not cleared for treatment" in html and 'value="consultation"' in html and 'value="iv-ketamine"' not in html
    assert client.get("/staff/book?patient_id=99999999").status_code == 404
    assert client.get("/staff/book?patient_id=99999999999999999999999").status_code == 404


def test_the_front_desk_books_a_consultation_for_a_caller_through_the_api(demo, client, app):
    sign_in(client, "frontdesk@clinic.test")
    add_caller(client)
    pid = patient_id(app, "jamie@example.com")
    page = client.get(f"/staff/book?patient_id={pid}&service=consultation").get_data(as_text=True)
    assert "data-booking-form" in page and f'data-patient-id="{pid}"' in page and 'name="mode"' in page
    day = next_weekday(1)
    response = client.post("/api/v1/appointments", json={
        "service": "consultation", "start": at(day, 10), "patient_id": pid, "mode": "phone"},
        headers={"X-CSRFToken": csrf_from(page)})
    assert response.status_code == 201, response.json
    html = client.get(f"/staff?day={day.isoformat()}").get_data(as_text=True)
    assert "Jamie Caller" in html


def test_a_treatment_for_a_caller_needs_clearance_and_a_driver(demo, client, app):
    sign_in(client, "frontdesk@clinic.test")
    add_caller(client)
    pid = patient_id(app, "jamie@example.com")
    token = csrf_from(client.get("/staff/book").get_data(as_text=True))
    day = next_weekday(2)
    body = {"service": "iv-ketamine", "start": at(day, 9), "patient_id": pid, "driver": DRIVER}
    refused = client.post("/api/v1/appointments", json=body, headers={"X-CSRFToken": token})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "clearance_required"
    clear_patient(app.test_client(), pid)
    page = client.get(f"/staff/book?patient_id={pid}&service=iv-ketamine").get_data(as_text=True)
    assert "Cleared for treatment: IV ketamine infusion" in page and 'name="driver_name"' in page
    no_driver = client.post("/api/v1/appointments", json={**body, "driver": None}, headers={"X-CSRFToken": token})
    assert no_driver.status_code == 422 and no_driver.json["error"]["code"] == "driver_required"
    held = client.post("/api/v1/appointments", json=body, headers={"X-CSRFToken": token})
    assert held.status_code == 201, held.json
    with app.app_context():
        row = db.session.get(Appointment, held.json["appointment"]["id"])
        assert (row.patient_id, row.driver_name, row.status) == (pid, DRIVER["name"], "pending_payment")
        db.session.remove()
