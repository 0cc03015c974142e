"""Every page and email reads the US way: no ISO dates ("2027-03-17") and no 24-hour times ("14:00") in what
people see, whoever signs in. Pages are fetched with demo data that puts dates and times on them; emails are
the ones real journeys queue, plus every template under templates/email rendered directly."""
from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from booking import notifications
from booking.links import manage_url
from booking.models import Appointment
from clinic import mail
from clinic.extensions import db
from clinic.models import OutboxMessage
from tests.factories import (answers, book, clear_patient, guest_booking, next_weekday, past_treatment,
                             patient_login, pcl5, sign_in)

US_CLOCK = re.compile(r"\b\d{1,2}:\d{2} [AP]M\b")
US_DATE = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), [A-Z][a-z]+ \d{1,2}, \d{4}\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# A clock time not followed by AM/PM: "14:00", "09:30" (a 12-hour time always carries AM or PM here).
TWENTY_FOUR_HOUR = re.compile(r"\b\d{1,2}:\d{2}\b(?!\s*[AP]M)")


class VisibleText(HTMLParser):
    """The text a person sees or hears: text nodes and the labels read aloud; never scripts, styles or the
    machine values of form fields."""

    HIDDEN = {"script", "style", "template"}

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in self.HIDDEN
        self.parts += [value for name, value in attrs if name in ("aria-label", "title", "alt", "placeholder") and value]

    def handle_endtag(self, tag):
        self._skip -= tag in self.HIDDEN

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def non_us(text: str) -> list[str]:
    return ISO_DATE.findall(text) + TWENTY_FOUR_HOUR.findall(text)


@pytest.fixture
def busy_clinic(demo, client):
    """The demo clinic with a guest consultation, a cleared patient's future and past treatments, an intake,
    PCL-5 scores and a flag: every page then has dates and times to show."""
    headers, patient_id = patient_login(client)
    assert client.post("/api/v1/intake", json=answers(), headers=headers).status_code == 201
    born = client.patch(f"/api/v1/patients/{patient_id}", json={"date_of_birth": "1984-07-09"}, headers=headers)
    assert born.status_code == 200, born.json
    clear_patient(client, patient_id, rems_enrollment_date=(date.today() - timedelta(days=30)).isoformat())
    for total in (52, 41):
        client.post("/api/v1/outcomes", json={"instrument": "pcl5", "answers": pcl5(total)}, headers=headers)
    treatment = book(client, headers, next_weekday(1), 14, 30)
    assert treatment.status_code == 201, treatment.json
    treatment = treatment.json["appointment"]
    guest = client.post("/api/v1/appointments", json=guest_booking(next_weekday(2), 15, 45)).json["appointment"]
    past = past_treatment(demo, patient_id, hours_ago=26)
    moved = client.post(f"/api/v1/appointments/{treatment['id']}/reschedule",
                        json={"start": treatment["start"].replace("T14:30", "T13:15")}, headers=headers)
    assert moved.status_code == 200, moved.json
    return {"patient_id": patient_id, "treatment": treatment, "guest": guest, "past": past}


def pages_for(role_email: str | None, data: dict) -> list[str]:
    common = ["/", "/book", "/login", "/register", "/password/forgot"]
    guest_manage = data["guest"]["manage_url"].split("5000", 1)[1]
    return {
        None: common + [guest_manage],
        "patient@clinic.test": ["/account", "/account/treatments", "/account/intake", "/account/pcl5",
                                "/account/progress", f"/account/integration/{data['past']}", guest_manage],
        "dr.rivera@clinic.test": ["/clinical/intakes", "/clinical/today", f"/clinical/today?day={next_weekday(1)}",
                                  f"/clinical/patients/{data['patient_id']}", "/staff",
                                  f"/staff?day={next_weekday(1)}"],
        "frontdesk@clinic.test": ["/staff", f"/staff?day={next_weekday(2)}"],
        "billing@clinic.test": ["/billing"],
    }[role_email]


@pytest.mark.parametrize("role_email", [None, "patient@clinic.test", "dr.rivera@clinic.test",
                                        "frontdesk@clinic.test", "billing@clinic.test"])
def test_pages_show_no_iso_dates_or_24_hour_times(busy_clinic, client, role_email):
    if role_email:
        sign_in(client, role_email)
    us_forms = 0
    for path in pages_for(role_email, busy_clinic):
        response = client.get(path)
        if response.status_code != 200:
            continue  # a page this role may not see is another test's business
        text = visible(response.get_data(as_text=True))
        assert non_us(text) == [], f"{path}: {non_us(text)}"
        us_forms += len(US_DATE.findall(text)) + len(US_CLOCK.findall(text))
    assert us_forms or role_email in (None, "billing@clinic.test")  # the scan saw dates and times to judge


def test_emails_from_real_journeys_show_no_iso_dates_or_24_hour_times(busy_clinic, demo, client):
    headers, _ = patient_login(client)
    client.post(f"/api/v1/appointments/{busy_clinic['treatment']['id']}/cancel", headers=headers)
    client.post("/password/forgot", data={"email": "patient@clinic.test"})
    with demo.app_context():
        messages = db.session.scalars(select(OutboxMessage)).all()
        assert {"appointment_booked", "appointment_rescheduled", "appointment_cancelled"} <= {m.kind for m in messages}
        for message in messages:
            for body in (message.subject, message.text, visible(message.html or "")):
                assert non_us(body) == [], f"{message.kind}: {non_us(body)}"


def test_every_email_template_renders_us_dates_and_times(busy_clinic, demo):
    with demo.test_request_context():
        appointment = db.session.scalar(select(Appointment).where(Appointment.driver_name.is_not(None))
                                        .order_by(Appointment.starts_at.desc()).limit(1))
        context = dict(appointment=appointment, name="Pat Jordan", when=notifications.local_datetime(appointment.starts_at),
                       notes=notifications.preparation_notes(appointment), manage_url=manage_url(appointment),
                       hold_until=notifications.local_datetime(appointment.starts_at), book_url="http://x/book",
                       pickup=notifications.local_datetime(appointment.ends_at), link="http://x/link", on_duty=True,
                       clinic=mail._clinic_details(), held=True, total_cents=appointment.amount_due_cents,
                       valid_for="1 hour",
                       sessions=[{"when": notifications.local_datetime(appointment.starts_at),
                                  "pickup": notifications.local_time(appointment.ends_at),
                                  "manage_url": manage_url(appointment)}])
        names = [n for n in demo.jinja_env.list_templates() if n.startswith("email/") and "/_" not in n
                 and "parts" not in n]
        assert len(names) >= 10
        for name in names:
            text = demo.jinja_env.get_template(name).render(**context)
            shown = visible(text) if name.endswith(".html") else text
            assert non_us(shown) == [], f"{name}: {non_us(shown)}"
        ics = notifications.calendar_event(appointment).description
        assert non_us(ics) == [] and US_CLOCK.search(ics) and "Monitoring ends about" in ics
        db.session.rollback()


def test_refusal_messages_name_dates_the_us_way(busy_clinic, client):
    headers, _ = patient_login(client)
    too_close = book(client, headers, next_weekday(1) + timedelta(days=1), 10)  # the day after a held treatment
    assert too_close.status_code == 422 and too_close.json["error"]["code"] == "spacing_violation"
    message = too_close.json["error"]["message"]
    first_allowed = next_weekday(1) + timedelta(days=2)
    assert f"{first_allowed:%A}, {first_allowed:%B} {first_allowed.day}, {first_allowed.year}" in message
    assert non_us(message) == [] and US_DATE.search(message)
