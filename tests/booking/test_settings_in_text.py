"""Pages and emails say the policies an administrator set (clinic settings) and the services' own data, never
numbers written into templates: change the setting, and the sentence changes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking import integration
from booking.models import Service
from clinic.extensions import db
from clinic.models import ClinicSettings, OutboxMessage
from tests.factories import book, clear_patient, next_weekday, patient_id, patient_login, sign_in_for_scripts


def set_policies(app, **values) -> None:
    with app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        for name, value in values.items():
            setattr(settings, name, value)
        db.session.commit()
        db.session.remove()


def set_monitoring(app, code: str, minutes: int) -> None:
    with app.app_context():
        db.session.scalars(select(Service).where(Service.code == code)).one().monitoring_minutes = minutes
        db.session.commit()
        db.session.remove()


def booked_email(app) -> str:
    with app.app_context():
        text = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "appointment_booked")).one().text
        db.session.remove()
    return text


def test_the_home_page_says_the_fasting_and_driving_hours_set(demo, client):
    before = client.get("/").get_data(as_text=True)
    assert "for 4 hours before" in before and "for 24 hours afterwards" in before
    set_policies(demo, fasting_hours=7, no_driving_hours=13)
    after = client.get("/").get_data(as_text=True)
    assert "for 7 hours before" in after and "for 13 hours afterwards" in after
    assert "for 4 hours before" not in after and "24 hours afterwards" not in after


def test_the_consultation_pages_say_how_long_the_consultation_is(demo, client):
    assert "15 minutes with one of our clinicians" in client.get("/book").get_data(as_text=True)
    assert "15 minutes with a clinician" in client.get("/").get_data(as_text=True)
    with demo.app_context():
        db.session.scalars(select(Service).where(Service.code == "consultation")).one().duration_minutes = 20
        db.session.commit()
        db.session.remove()
    assert "20 minutes with one of our clinicians" in client.get("/book").get_data(as_text=True)
    assert "20 minutes with a clinician" in client.get("/").get_data(as_text=True)


def test_the_treatment_page_says_the_hours_set_and_the_services_monitoring(demo, client):
    sign_in_for_scripts(client)
    clear_patient(client.application.test_client(), patient_id(client), protocols=("iv-induction",))
    before = client.get("/account/treatments").get_data(as_text=True)
    assert "fast for 4 hours" in before and "machinery for 24 hours" in before
    assert "at least 2 hours of monitoring" in before
    set_policies(demo, fasting_hours=6, no_driving_hours=18)
    set_monitoring(demo, "iv-ketamine", 150)
    after = client.get("/account/treatments").get_data(as_text=True)
    assert "fast for 6 hours" in after and "machinery for 18 hours" in after
    assert "at least 2 hours 30 minutes of monitoring" in after
    assert "fast for 4 hours" not in after and "machinery for 24 hours" not in after


def test_the_booking_email_says_the_hours_set(demo, client):
    set_policies(demo, fasting_hours=5, no_driving_hours=20)
    headers, patient = patient_login(client)
    clear_patient(client, patient, protocols=("iv-induction",))
    assert book(client, headers, next_weekday(1)).status_code == 201
    text = booked_email(demo)
    assert "Do not eat or drink for 5 hours before your treatment." in text
    assert "Do not drive or operate machinery for 20 hours afterwards." in text
    assert "4 hours" not in text and "24 hours" not in text


def test_the_manage_page_says_the_refund_notice_set(demo, client):
    headers, patient = patient_login(client)
    clear_patient(client, patient, protocols=("iv-induction",))
    booked = book(client, headers, next_weekday(1))
    assert booked.status_code == 201, booked.json
    manage = booked.json["appointment"]["manage_url"]
    assert "at least 48 hours before" in client.get(manage).get_data(as_text=True)
    set_policies(demo, full_refund_hours=72)
    page = client.get(manage).get_data(as_text=True)
    assert "at least 72 hours before" in page and "48 hours" not in page


def test_the_integration_page_says_the_window_booking_keeps(demo, client, monkeypatch):
    headers, patient = patient_login(client)
    clear_patient(client, patient, protocols=("iv-induction",))
    treatment = book(client, headers, next_weekday(1)).json["appointment"]
    sign_in_for_scripts(client)
    assert "24 to 48 hours after" in client.get(f"/account/integration/{treatment['id']}").get_data(as_text=True)
    monkeypatch.setattr(integration, "INTEGRATION_FROM", timedelta(hours=12))
    monkeypatch.setattr(integration, "INTEGRATION_UNTIL", timedelta(hours=36))
    page = client.get(f"/account/integration/{treatment['id']}").get_data(as_text=True)
    assert "12 to 36 hours after" in page and "24 to 48" not in page
