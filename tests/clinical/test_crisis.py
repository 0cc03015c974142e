"""An intake answer of active suicidal thoughts: the patient is promised only what the clinic does, and the
clinicians on duty are emailed at once, with no health details and a link to the flag."""
from __future__ import annotations

from datetime import datetime, time
from html import unescape
from urllib.parse import urlsplit

from sqlalchemy import select

from clinical import crisis, services as clinical
from booking.models import ClinicianHours
from clinical.models import PatientFlag
from clinic.extensions import db
from clinic.models import Clinician, OutboxMessage, User
from tests.factories import answers, NEW_YORK, next_weekday, sign_in

TUESDAY = next_weekday(1)
OPEN = datetime.combine(TUESDAY, time(15, 0), NEW_YORK)  # the demo clinic opens 8 AM to 6 PM on weekdays
EVENING = datetime.combine(TUESDAY, time(21, 30), NEW_YORK)
SUNDAY = datetime.combine(next_weekday(6), time(11, 0), NEW_YORK)

# What the email must never say: the question's words, the answer, the condition, who the patient is.
HEALTH_WORDS = ("suicid", "crisis", "ending", "life", "ptsd", "thoughts", "self-harm", "Pat Jordan", "Jordan")


def patient_user() -> User:
    return db.session.scalar(select(User).where(User.email == "patient@clinic.test"))


def submit_crisis(now: datetime) -> int:
    user = patient_user()
    intake = clinical.submit_intake(user, user.patient, answers(suicidal_thoughts="active"), now=now)
    db.session.commit()
    return intake.patient_id


def crisis_mail() -> list[OutboxMessage]:
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "crisis_flag")
                              .order_by(OutboxMessage.to)).all()


def test_within_opening_hours_a_clinician_will_call_today(demo):
    with demo.app_context():
        said = crisis.response(OPEN)
    assert "A clinician will call you today" in said["message"] and said["clinician_calls_today"] is True
    assert "988" in said["message"] and "911" in said["message"]


def test_outside_opening_hours_the_patient_is_sent_to_988_now_and_promised_no_call(demo):
    with demo.app_context():
        for now in (EVENING, SUNDAY, datetime.combine(TUESDAY, time(7, 59), NEW_YORK)):
            said = crisis.response(now)
            assert "call or text 988 now" in said["message"] and "911" in said["message"], now
            assert "call you today" not in said["message"] and said["clinician_calls_today"] is False


def test_each_clinician_on_duty_is_emailed_at_once_without_health_details(demo, client):
    with demo.app_context():
        chen = db.session.scalar(select(Clinician).join(User, Clinician.user_id == User.id)
                                 .where(User.email == "dr.chen@clinic.test"))
        db.session.add(ClinicianHours(clinician_id=chen.id, weekday=TUESDAY.weekday(), starts=time(8), ends=time(12)))
        db.session.commit()
        patient_id = submit_crisis(OPEN)  # 3 PM: Dr. Chen has gone home; Dr. Rivera works the clinic's hours
        (message,) = crisis_mail()
        assert message.to == "dr.rivera@clinic.test" and "today" in message.subject
        for part in (message.subject, message.text):
            for word in HEALTH_WORDS:
                assert word.lower() not in part.lower(), word
        link = next(line for line in message.text.splitlines() if line.startswith("http"))
        assert urlsplit(link).path == f"/clinical/patients/{patient_id}"

    assert client.get(urlsplit(link).path).status_code in (302, 401, 403)  # staff sign-in first
    sign_in(client, "dr.rivera@clinic.test")
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200 and "Contact the patient today" in page.get_data(as_text=True)


def test_a_flag_raised_out_of_hours_reaches_every_clinician_for_the_opening_and_is_not_repeated(demo):
    with demo.app_context():
        submit_crisis(SUNDAY)
        emailed = [m.to for m in crisis_mail()]
        assert emailed == ["dr.chen@clinic.test", "dr.rivera@clinic.test"]
        assert all("when the clinic opens" in m.subject for m in crisis_mail())
        submit_crisis(SUNDAY.replace(hour=12))  # the flag is still open: no second round of mail
        assert len(crisis_mail()) == 2
        assert len(db.session.scalars(select(PatientFlag)).all()) == 1


def test_the_crisis_page_says_what_the_clinic_does_now(demo, client):
    sign_in(client, "patient@clinic.test")
    with demo.app_context():
        submit_crisis(datetime.now(NEW_YORK))
        before = crisis.response(datetime.now(NEW_YORK))["message"]
    html = unescape(client.get("/account/intake").get_data(as_text=True))
    with demo.app_context():  # the page says what holds when it is asked: at closing time or midnight, that moves
        after = crisis.response(datetime.now(NEW_YORK))["message"]
    assert before in html or after in html
    assert "will contact you today" not in html
