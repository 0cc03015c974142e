"""What happens when an intake answer signals active suicidal thoughts: what the patient is told, and who is told.

The patient is promised only what the clinic does: a clinician's call today while clinicians are on duty;
otherwise the 988 Lifeline now (and 911 in an emergency), since nobody at the clinic would see the answer
before it opens. The clinicians on duty are emailed at once through the outbox (all active clinicians when
nobody is on duty, so it is the first thing they see). The email carries no health details, only a link to
the patient's page (staff sign-in required): mail crosses servers that the clinic does not control.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from clinic import mail
from clinic.extensions import db
from clinic.models import Clinician, User
from clinical.hooks import clinicians_on_duty
from clinical.models import PatientFlag

RESOURCES = ["Call or text 988 (Suicide & Crisis Lifeline)", "Call 911 in an emergency"]

CALL_TODAY = ("Your safety comes first. A clinician will call you today. If you are thinking about ending your "
              "life, you do not have to wait for us: call or text 988 now, or call 911 in an emergency.")
CALL_988_NOW = ("Your safety comes first. The clinic is closed right now, so please call or text 988 now: the "
                "Suicide & Crisis Lifeline answers day and night. In an emergency, call 911. Our clinicians will "
                "see your answer when the clinic opens.")


def response(now: datetime) -> dict:
    """The crisis message and resources for the patient, true to whether a clinician can call today."""
    call_today = bool(clinicians_on_duty(now))
    return {"message": CALL_TODAY if call_today else CALL_988_NOW, "resources": RESOURCES,
            "clinician_calls_today": call_today}


def alert_clinicians(flag: PatientFlag, now: datetime) -> int:
    """Email each clinician on duty (everyone active when nobody is) about a new flag; returns how many."""
    on_duty = clinicians_on_duty(now)
    clinicians = on_duty or db.session.scalars(select(Clinician).where(Clinician.active)).all()
    link = mail.absolute_url("clinical.patient", patient_id=flag.patient_id)
    sent = 0
    for clinician in clinicians:
        user = db.session.get(User, clinician.user_id) if clinician.user_id else None
        if user is None or not user.active:
            continue
        mail.queue(user.email, "A patient needs a clinician's call today" if on_duty else
                   "A patient needs a clinician's call when the clinic opens", "crisis_flag",
                   dedupe_key=f"flag-{flag.id}-{clinician.id}", name=clinician.name, link=link, on_duty=bool(on_duty))
        sent += 1
    return sent
