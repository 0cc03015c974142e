"""The booking pages: who may open them, the manage page (the booking's confirmation) and the staff day view."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from booking.models import Appointment
from clinic.extensions import db
from tests.factories import at, csrf_from, guest_booking, next_weekday, sign_in


def book_consultation(client, day=None, hour=10, **extra) -> dict:
    day = day or next_weekday(1)
    response = client.post("/api/v1/appointments", json=guest_booking(day, hour, **extra))
    assert response.status_code == 201, response.json
    return response.json["appointment"]


def manage_path(appointment: dict) -> str:
    return appointment["manage_url"].removeprefix("http://127.0.0.1:5000")


def free_starts(client, day) -> set[str]:
    response = client.get(f"/api/v1/availability?service=consultation&from={day}&to={day}")
    assert response.status_code == 200, response.json
    return {slot["start"] for slot in response.json["slots"]}


def test_home_lists_services_and_links_to_booking(demo, client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "IV ketamine infusion" in html and "Free 15-minute consultation" in html
    assert "$475" in html and 'href="/book"' in html


def test_book_page_renders_the_picker_without_an_account(demo, client):
    page = client.get("/book")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "data-slot-picker" in html and 'data-service="consultation"' in html
    for field in ("patient-name", "patient-email", "patient-phone", "mode-video", "mode-in_person"):
        assert f'id="{field}"' in html
    assert "/static/book.js" in html
    assert "<script>" not in html and " style=" not in html and "onclick" not in html


@pytest.mark.parametrize("path", ["/account", "/staff", "/billing"])
def test_signed_out_visitors_are_sent_to_sign_in(demo, client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ["/staff", "/billing"])
def test_a_patient_may_not_open_staff_pages(demo, client, path):
    sign_in(client, "patient@clinic.test")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("email, path", [
    ("patient@clinic.test", "/account"),
    ("frontdesk@clinic.test", "/staff"),
    ("dr.rivera@clinic.test", "/staff"),
    ("billing@clinic.test", "/staff"),
    ("billing@clinic.test", "/billing"),
])
def test_each_page_opens_for_its_roles(demo, client, email, path):
    sign_in(client, email)
    assert client.get(path).status_code == 200


def test_frontdesk_may_not_open_billing(demo, client):
    sign_in(client, "frontdesk@clinic.test")
    assert client.get("/billing").status_code == 403


def test_billing_page_lists_payments_even_when_there_are_none(demo, client):
    sign_in(client, "billing@clinic.test")
    html = client.get("/billing").get_data(as_text=True)
    assert "Payments and refunds" in html and "No payments match these filters." in html


def test_manage_page_confirms_the_booking(demo, client):
    day = next_weekday(1)
    appointment = book_consultation(client, day, 10, mode="video")
    page = client.get(manage_path(appointment))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "You&#39;re booked" in html or "You're booked" in html
    assert f"{day.strftime('%A')}, {day.strftime('%B')} {day.day}, {day.year} at 10:00 AM" in html
    assert "Video call" in html and "We will email you a video link." in html
    assert "Add to calendar" in html and "/calendar.ics" in html
    assert 'name="csrf_token"' in html and "/cancel" in html and "/reschedule" in html


def test_manage_link_with_a_bad_token_is_404(demo, client):
    assert client.get("/appointments/manage/not-a-token").status_code == 404


def test_manage_page_calendar_link_downloads_the_event(demo, client):
    appointment = book_consultation(client)
    response = client.get(manage_path(appointment) + "/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert b"BEGIN:VEVENT" in response.data


def test_cancel_form_cancels_and_frees_the_place(demo, client):
    day = next_weekday(2)
    appointment = book_consultation(client, day, 11)
    path = manage_path(appointment)
    page = client.get(path).get_data(as_text=True)
    response = client.post(path + "/cancel", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    after = client.get(path).get_data(as_text=True)
    assert "This appointment is cancelled" in after and "Your appointment is cancelled" in after
    with demo.app_context():
        assert db.session.get(Appointment, appointment["id"]).status == "cancelled"
        db.session.remove()
    assert at(day, 11) in free_starts(client, day)


def test_cancel_form_without_csrf_token_changes_nothing(demo, client):
    appointment = book_consultation(client)
    response = client.post(manage_path(appointment) + "/cancel")
    assert response.status_code == 400
    with demo.app_context():
        assert db.session.get(Appointment, appointment["id"]).status == "confirmed"
        db.session.remove()


def test_reschedule_form_moves_the_appointment(demo, client):
    day = next_weekday(3)
    appointment = book_consultation(client, day, 9)
    path = manage_path(appointment)
    page = client.get(path).get_data(as_text=True)
    response = client.post(path + "/reschedule", data={"csrf_token": csrf_from(page), "start": at(day, 14, 30)})
    assert response.status_code == 302
    assert "at 2:30 PM" in client.get(path).get_data(as_text=True)
    assert at(day, 9) in free_starts(client, day)


def test_account_lists_the_patients_appointments(demo, client):
    sign_in(client, "patient@clinic.test")
    day = next_weekday(4)
    token = client.get("/account").get_data(as_text=True)
    response = client.post("/api/v1/appointments", json={"service": "consultation", "start": at(day, 13), "mode": "phone"},
                           headers={"X-CSRFToken": csrf_from(token)})
    assert response.status_code == 201, response.json
    html = client.get("/account").get_data(as_text=True)
    assert "Upcoming appointments" in html and "at 1:00 PM" in html
    assert f"/api/v1/appointments/{response.json['appointment']['id']}/calendar.ics" in html
    assert f"/api/v1/appointments/{response.json['appointment']['id']}/cancel" in html
    assert "/static/account.js" in html


def test_staff_day_shows_each_clinician_and_chair(demo, client):
    day = next_weekday(1)
    book_consultation(client, day, 10)
    sign_in(client, "frontdesk@clinic.test")
    html = client.get(f"/staff?day={day.isoformat()}").get_data(as_text=True)
    assert "Casey Guest" in html and "10:00 AM" in html and "Free 15-minute consultation" in html
    assert "Dr. Maya Rivera" in html and "Dr. Samuel Chen" in html
    assert "Chair 1" in html and "Chair 3" in html
    previous_day, next_day = day - timedelta(days=1), day + timedelta(days=1)
    assert f"/staff?day={previous_day.isoformat()}" in html and f"/staff?day={next_day.isoformat()}" in html
    assert "/check-in" in html and "/no-show" in html and "/cancel" in html


def test_staff_day_with_a_bad_date_is_422(demo, client):
    sign_in(client, "frontdesk@clinic.test")
    assert client.get("/staff?day=yesterday").status_code == 422


def test_billing_staff_see_the_day_without_actions(demo, client):
    day = next_weekday(1)
    book_consultation(client, day, 10)
    sign_in(client, "billing@clinic.test")
    html = client.get(f"/staff?day={day.isoformat()}").get_data(as_text=True)
    assert "Casey Guest" in html and "/check-in" not in html


def staff_post(client, appointment_id: int, action: str, day) -> str:
    page = client.get(f"/staff?day={day.isoformat()}").get_data(as_text=True)
    response = client.post(f"/staff/appointments/{appointment_id}/{action}", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff?day={day.isoformat()}")
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_staff_check_in_form(demo, client):
    day = next_weekday(1)
    appointment = book_consultation(client, day, 10)
    sign_in(client, "frontdesk@clinic.test")
    html = staff_post(client, appointment["id"], "check-in", day)
    assert "Checked in" in html and "Done." in html
    with demo.app_context():
        assert db.session.get(Appointment, appointment["id"]).checked_in_at is not None
        db.session.remove()


def test_staff_cancel_form_frees_the_place(demo, client):
    day = next_weekday(1)
    appointment = book_consultation(client, day, 10)
    sign_in(client, "frontdesk@clinic.test")
    html = staff_post(client, appointment["id"], "cancel", day)
    assert "Cancelled" in html
    with demo.app_context():
        assert db.session.get(Appointment, appointment["id"]).status == "cancelled"
        db.session.remove()
    assert at(day, 10) in free_starts(client, day)


def test_staff_no_show_form_is_refused_before_the_time_and_works_after(demo, client):
    day = next_weekday(1)
    appointment = book_consultation(client, day, 10)
    sign_in(client, "frontdesk@clinic.test")
    html = staff_post(client, appointment["id"], "no-show", day)
    assert "only once its time has come" in html
    with demo.app_context():
        row = db.session.get(Appointment, appointment["id"])
        assert row.status == "confirmed"
        # Move it into the past, as if the day had come and gone.
        shift = row.starts_at - (datetime.now(timezone.utc) - timedelta(hours=1))
        row.starts_at, row.ends_at = row.starts_at - shift, row.ends_at - shift
        for reservation in row.reservations:
            reservation.starts_at, reservation.ends_at = reservation.starts_at - shift, reservation.ends_at - shift
        db.session.commit()
        db.session.remove()
    staff_post_any_day(client, appointment["id"], "no-show")
    with demo.app_context():
        assert db.session.get(Appointment, appointment["id"]).status == "no_show"
        db.session.remove()


def staff_post_any_day(client, appointment_id: int, action: str) -> None:
    page = client.get("/staff").get_data(as_text=True)
    response = client.post(f"/staff/appointments/{appointment_id}/{action}", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302


def book_for_signed_in_patient(client, day, hour: int) -> dict:
    token = csrf_from(client.get("/account").get_data(as_text=True))
    response = client.post("/api/v1/appointments", json={"service": "consultation", "start": at(day, hour)},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.json
    return response.json["appointment"]


def test_a_signed_in_patient_moves_an_appointment_from_the_account_page(demo, client):
    sign_in(client, "patient@clinic.test")
    day = next_weekday(1)
    appointment = book_for_signed_in_patient(client, day, 9)
    html = client.get("/account").get_data(as_text=True)
    path = f"/account/appointments/{appointment['id']}/reschedule"
    assert f'action="{path}"' in html and "data-slot-picker" in html and f'id="start-{appointment["id"]}"' in html
    moved = client.post(path, data={"csrf_token": csrf_from(html), "start": at(day, 15)}, follow_redirects=True)
    assert "Your appointment has moved to" in moved.get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Appointment, appointment["id"]).starts_at == datetime.fromisoformat(at(day, 15))
        db.session.remove()
    refused = client.post(path, data={"csrf_token": csrf_from(html), "start": at(day, 23)}, follow_redirects=True)
    assert "not open for this at that time" in refused.get_data(as_text=True)


def test_the_account_page_says_what_cancelling_means_and_cancels_without_javascript(demo, client):
    sign_in(client, "patient@clinic.test")
    day = next_weekday(2)
    appointment = book_for_signed_in_patient(client, day, 10)
    html = client.get("/account").get_data(as_text=True)
    assert "Cancelling gives up your place on" in html and "cancelling costs nothing" in html
    path = f"/account/appointments/{appointment['id']}/cancel"
    done = client.post(path, data={"csrf_token": csrf_from(html)}, follow_redirects=True)
    assert "Your appointment is cancelled" in done.get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Appointment, appointment["id"]).status == "cancelled"
        db.session.remove()
    assert at(day, 10) in free_starts(client, day)


def test_a_patient_cannot_move_or_cancel_someone_elses_appointment_from_the_account_page(demo, client, app):
    other = book_consultation(app.test_client(), next_weekday(1), 11)
    sign_in(client, "patient@clinic.test")
    token = csrf_from(client.get("/account").get_data(as_text=True))
    for action in ("cancel", "reschedule"):
        response = client.post(f"/account/appointments/{other['id']}/{action}",
                               data={"csrf_token": token, "start": at(next_weekday(1), 14)})
        assert response.status_code == 404
    with demo.app_context():
        assert db.session.get(Appointment, other["id"]).status == "confirmed"
        db.session.remove()


def test_the_staff_day_says_which_day_it_shows(demo, client):
    sign_in(client, "frontdesk@clinic.test")
    html = client.get("/staff?day=2027-03-17").get_data(as_text=True)
    assert "<h1>Wednesday, March 17, 2027</h1>" in html
    assert "<title>Schedule for Wednesday, March 17, 2027" in html
    assert "Previous day, </span>Tue, Mar 16" in html and "Next day, </span>Thu, Mar 18" in html


def test_the_clinicians_treatment_day_says_which_day_it_shows(demo, client):
    sign_in(client, "dr.rivera@clinic.test")
    html = client.get("/clinical/today?day=2027-03-17").get_data(as_text=True)
    assert "<h1>Treatments on Wednesday, March 17, 2027</h1>" in html
    assert "Previous day (Mar 16)" in html and "Next day (Mar 18)" in html
    assert "Today&#39;s treatments: " in client.get("/clinical/today").get_data(as_text=True)
