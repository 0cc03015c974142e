"""Every appointment email, rendered through the real flow and read back from the outbox."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking import notifications
from booking.models import Appointment
from clinic import mail
from clinic.extensions import db
from clinic.models import OutboxMessage
from tests.factories import api_token, at, clear_patient, csrf_from, DRIVER, guest_booking, next_weekday

CRISIS = "If you are in crisis, call or text 988"


def outbox(app, kind: str) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        db.session.remove()
    return list(rows)


def local_words(day, clock: str) -> str:
    return f"{day.strftime('%A')}, {day.strftime('%B')} {day.day}, {day.year} at {clock}"


def book_guest(client, day, hour, **extra) -> dict:
    response = client.post("/api/v1/appointments", json=guest_booking(day, hour, **extra))
    assert response.status_code == 201, response.json
    return response.json["appointment"]


def assert_calendar_attached(message: OutboxMessage, *, cancelled: bool = False) -> None:
    (attachment,) = message.attachments
    assert attachment["filename"].endswith(".ics") and attachment["content_type"].startswith("text/calendar")
    content = mail.attachment_content(attachment)  # as the sender writes it
    assert "BEGIN:VEVENT" in content and "TZID=America/New_York" in content
    assert ("STATUS:CANCELLED" in content) is cancelled
    method = "CANCEL" if cancelled else "PUBLISH"  # the MIME type's method says what the file's METHOD says
    assert f"METHOD:{method}" in content and attachment["content_type"] == f"text/calendar; method={method}"


def test_booking_a_consultation_emails_the_time_and_the_manage_link(demo, client):
    day = next_weekday(1)
    appointment = book_guest(client, day, 10, mode="video")
    (message,) = outbox(demo, "appointment_booked")
    assert message.to == "guest@example.com"
    assert message.subject == "Your appointment is confirmed"
    for body in (message.text, message.html):
        assert local_words(day, "10:00 AM") in body
        assert appointment["manage_url"] in body
        assert "Free 15-minute consultation" in body and "We will email you a video link." in body
    assert CRISIS in message.text and "call or text <strong>988</strong>" in message.html
    assert message.text.startswith("Hello Casey Guest,")
    assert "{{" not in message.text and "{%" not in message.text
    assert_calendar_attached(message)


def test_rescheduling_from_the_manage_page_emails_the_new_time(demo, client):
    day = next_weekday(2)
    appointment = book_guest(client, day, 9)
    path = appointment["manage_url"].removeprefix("http://127.0.0.1:5000")
    token = csrf_from(client.get(path).get_data(as_text=True))
    response = client.post(path + "/reschedule", data={"csrf_token": token, "start": at(day, 15, 45)})
    assert response.status_code == 302
    (message,) = outbox(demo, "appointment_rescheduled")
    assert message.subject == "Your appointment has moved"
    assert f"The new time is {local_words(day, '3:45 PM')}" in message.text
    assert local_words(day, "3:45 PM") in message.html
    assert appointment["manage_url"] in message.text and CRISIS in message.text
    assert_calendar_attached(message)


def test_cancelling_emails_a_cancellation_with_the_calendar_update(demo, client):
    day = next_weekday(3)
    appointment = book_guest(client, day, 11)
    path = appointment["manage_url"].removeprefix("http://127.0.0.1:5000")
    token = csrf_from(client.get(path).get_data(as_text=True))
    assert client.post(path + "/cancel", data={"csrf_token": token}).status_code == 302
    (message,) = outbox(demo, "appointment_cancelled")
    assert message.subject == "Your appointment is cancelled"
    assert f"on {local_words(day, '11:00 AM')} Eastern Time is cancelled" in message.text
    assert "is cancelled" in message.html and appointment["manage_url"] in message.html
    assert "refund" not in message.text  # a free consultation has nothing to refund
    assert_calendar_attached(message, cancelled=True)


def book_treatment(demo, client, day) -> dict:
    headers = api_token(client, "patient@clinic.test")
    with demo.app_context():
        patient_id = _patient_id()
        db.session.remove()
    clear_patient(client, patient_id)
    response = client.post("/api/v1/appointments", headers=headers,
                           json={"service": "iv-ketamine", "start": at(day, 9), "driver": DRIVER})
    assert response.status_code == 201, response.json
    return response.json["appointment"]


def _patient_id() -> int:
    from clinic.accounts import find_user
    return find_user("patient@clinic.test").patient_id


def test_a_treatment_held_for_payment_says_until_when(demo, client):
    day = next_weekday(1)
    appointment = book_treatment(demo, client, day)
    assert appointment["status"] == "pending_payment"
    (message,) = outbox(demo, "appointment_booked")
    assert message.subject == "Your appointment is held – please pay to confirm"
    with demo.app_context():
        hold = notifications.local_datetime(db.session.get(Appointment, appointment["id"]).hold_expires_at)
        db.session.remove()
    for body in (message.text, message.html):
        assert "held until it is paid" in body and hold in body and "$475" in body
        assert local_words(day, "9:00 AM") in body
        assert "Robin Driver" in body and "Do not eat or drink for 4 hours" in body
    assert_calendar_attached(message)


def test_reminder_and_driver_note_are_queued_the_day_before_a_treatment(demo, client):
    day = next_weekday(1)
    appointment = book_treatment(demo, client, day)
    with demo.app_context():
        row = db.session.get(Appointment, appointment["id"])
        row.status, row.hold_expires_at = "confirmed", None  # as if paid
        assert notifications.due_reminders(now=row.starts_at - timedelta(hours=12)) == 1
        db.session.commit()
        db.session.remove()
    (reminder,) = outbox(demo, "appointment_reminder")
    assert reminder.subject == "Reminder: your appointment is coming up"
    assert f"is on {local_words(day, '9:00 AM')}" in reminder.text and local_words(day, "9:00 AM") in reminder.html
    assert appointment["manage_url"] in reminder.text and "Robin Driver" in reminder.text
    assert_calendar_attached(reminder)
    (pickup,) = outbox(demo, "driver_pickup")
    assert pickup.to == "patient@clinic.test" and "Robin Driver" in pickup.subject
    assert "Please pass this note on to your designated driver, Robin Driver (617 555 0123)." in pickup.text
    assert "Pat Jordan has named you as their designated driver" in pickup.text
    assert "120 Harbor Street, Suite 300, Boston, MA 02110" in pickup.text
    ends = local_words(day, "11:50 AM")  # 50 minutes of dosing, then 120 of monitoring
    assert ends in pickup.text and CRISIS in pickup.text
