"""The clinical path around treatments: intake screening, a clinician's clearance (or refusal, or its
withdrawal), flags staff must see today, and PCL-5 outcome scores. (The integration-therapy offer books
appointments, so it lives in booking.integration.)

Services take the acting user explicitly, flush, never commit, and raise domain errors with a sentence a
patient understands. The questions and the PCL-5 items are data, shared by the API and the pages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from clinic.database import utcnow
from clinic.errors import Conflict, ValidationError
from clinic.extensions import db
from clinic.models import Patient, User
from clinic.settings import clinic_zone
from clinical import crisis, hooks, states
from clinical.intake import (CRISIS_FLAG, INTAKE_QUESTIONS, QUESTIONS_BY_KEY, TEXT_MAX, Question, concerns,  # noqa: F401
                             questions_for_review, read_intake_answers, signals_crisis)
from clinical.models import Clearance, ClearanceStatus, Intake, OutcomeScore, PatientFlag
from clinical.pcl5 import (INSTRUMENTS, MEANINGFUL_FALL, PCL5_ITEM_MAX, PCL5_ITEMS, PCL5_MAX, PCL5_SCALE,  # noqa: F401
                           OutcomeSummary, read_pcl5_answers)



def submit_intake(actor: User, patient: Patient, raw_answers: dict, now: datetime | None = None) -> Intake:
    """Store the screening answers with the date; an answer signalling active suicidal thoughts raises a flag
    that staff see the same day (the caller then shows crisis resources, never a booking form)."""
    now = now or utcnow()
    answers = read_intake_answers(raw_answers)
    intake = Intake(patient_id=patient.id, submitted_at=now, answers=answers, crisis_flag=signals_crisis(answers))
    db.session.add(intake)
    if intake.crisis_flag:
        flag = raise_flag(patient, CRISIS_FLAG, now)
        if flag.id is None:  # newly raised: an open flag was already announced
            db.session.flush()
            crisis.alert_clinicians(flag, now)
    db.session.flush()
    return intake


def intakes_of(patient: Patient) -> list[Intake]:
    return list(db.session.scalars(select(Intake).where(Intake.patient_id == patient.id)
                                   .order_by(Intake.submitted_at.desc(), Intake.id.desc())))


# --- flags --------------------------------------------------------------------------------------------------------

def raise_flag(patient: Patient, kind: str, now: datetime) -> PatientFlag:
    """A flag for staff; an open flag of the same kind is kept rather than repeated."""
    flag = db.session.scalar(select(PatientFlag).where(
        PatientFlag.patient_id == patient.id, PatientFlag.kind == kind, PatientFlag.resolved_at.is_(None)).limit(1))
    if flag is None:
        flag = PatientFlag(patient_id=patient.id, kind=kind, raised_at=now)
        db.session.add(flag)
    return flag


def open_flags(patient: Patient | None = None) -> list[PatientFlag]:
    query = select(PatientFlag).where(PatientFlag.resolved_at.is_(None)).order_by(PatientFlag.raised_at, PatientFlag.id)
    if patient is not None:
        query = query.where(PatientFlag.patient_id == patient.id)
    return list(db.session.scalars(query))


def in_crisis(patient: Patient) -> bool:
    """Whether the patient has an open suicidal-thoughts flag: pages then show crisis resources, not booking."""
    return any(flag.kind == CRISIS_FLAG for flag in open_flags(patient))


def resolve_flag(actor: User, flag: PatientFlag, now: datetime | None = None) -> None:
    """A clinician has contacted the patient and dealt with what the flag raised."""
    if flag.resolved_at is not None:
        raise Conflict("This flag was already resolved.", code="not_allowed_now")
    flag.resolved_at, flag.resolved_by_id = now or utcnow(), actor.id


@dataclass(frozen=True)
class ReviewItem:
    patient: Patient
    flags: list[PatientFlag]
    intake: Intake | None


def review_queue() -> list[ReviewItem]:
    """Patients a clinician should look at: open flags first (oldest first), then unreviewed intakes."""
    items: dict[int, ReviewItem] = {}
    for flag in open_flags():
        item = items.setdefault(flag.patient_id, ReviewItem(db.session.get(Patient, flag.patient_id), [], None))
        item.flags.append(flag)
    unreviewed = db.session.scalars(select(Intake).where(Intake.reviewed_at.is_(None))
                                    .order_by(Intake.submitted_at, Intake.id))
    for intake in unreviewed:
        item = items.get(intake.patient_id)
        if item is None:
            items[intake.patient_id] = ReviewItem(intake.patient, [], intake)
        elif item.intake is None:
            items[intake.patient_id] = ReviewItem(item.patient, item.flags, intake)
    return list(items.values())


# --- clearance ----------------------------------------------------------------------------------------------------

ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
SUPERSEDED = "Replaced by a later decision."
KEEP = object()  # rems_enrollment_date not given: keep the one on file


def clear(actor: User, patient: Patient, *, protocols: list[str], diagnosis_codes: list[str], notes: str | None,
          rems_enrollment_date=KEEP, now: datetime | None = None) -> Clearance:
    """Clear the patient for these protocols. The decision replaces the one in force (kept in the history);
    a REMS enrollment date on file carries over unless a new one (or null) is given."""
    now = now or utcnow()
    codes = _known_protocols(protocols)
    diagnoses = _diagnosis_codes(diagnosis_codes, required=True)
    current = current_clearance(patient)
    if rems_enrollment_date is KEEP:
        rems_enrollment_date = current.rems_enrollment_date if current is not None and current.cleared else None
    _check_rems_date(rems_enrollment_date, now)
    return _decide(actor, patient, current, now, cleared=True, protocols=codes, diagnosis_codes=diagnoses,
                   notes=notes, rems_enrollment_date=rems_enrollment_date)


def refuse(actor: User, patient: Patient, *, reason: str, notes: str | None = None,
           diagnosis_codes: list[str] | None = None, now: datetime | None = None) -> Clearance:
    """Record that ketamine is not right (or not safe) for the patient, with the reason; nothing can be booked."""
    now = now or utcnow()
    if not reason or not reason.strip():
        message = "Please give the reason for the refusal."
        raise ValidationError(message, fields={"reason": message})
    diagnoses = _diagnosis_codes(diagnosis_codes or [], required=False)
    return _decide(actor, patient, current_clearance(patient), now, cleared=False, protocols=[],
                   diagnosis_codes=diagnoses, notes=notes, reason=reason.strip())


def withdraw(actor: User, patient: Patient, *, reason: str, now: datetime | None = None) -> Clearance:
    """Withdraw the clearance in force: from now on nothing can be booked until a clinician clears again.
    Treatments already booked stay booked (see upcoming_treatments) for staff to review."""
    now = now or utcnow()
    if not reason or not reason.strip():
        message = "Please give the reason for withdrawing the clearance."
        raise ValidationError(message, fields={"reason": message})
    current = current_clearance(patient)
    if current is None or not current.cleared:
        raise Conflict("This patient has no clearance in force to withdraw.", code="no_clearance")
    _end(current, ClearanceStatus.withdrawn, actor, now, reason.strip())
    db.session.flush()
    return current


def _decide(actor: User, patient: Patient, current: Clearance | None, now: datetime, **decision) -> Clearance:
    if current is not None:
        _end(current, ClearanceStatus.superseded, actor, now, SUPERSEDED)
    clearance = Clearance(patient_id=patient.id, clinician_id=actor.clinician.id if actor.clinician else None,
                          decided_by_id=actor.id, decided_at=now, **decision)
    db.session.add(clearance)
    for intake in db.session.scalars(select(Intake).where(Intake.patient_id == patient.id,
                                                          Intake.reviewed_at.is_(None))):
        intake.reviewed_at, intake.reviewed_by_id = now, actor.id
    db.session.flush()
    return clearance


def _end(clearance: Clearance, status: ClearanceStatus, actor: User, now: datetime, reason: str) -> None:
    """A decision stops being in force: withdrawn by a clinician or superseded by a later one."""
    states.move(clearance, status)
    clearance.withdrawn_at, clearance.withdrawn_by_id, clearance.withdrawn_reason = now, actor.id, reason


def current_clearance(patient: Patient) -> Clearance | None:
    """The patient's decision in force (a clearance or a refusal), if any."""
    return db.session.scalar(select(Clearance).where(Clearance.patient_id == patient.id,
                                                     Clearance.status == ClearanceStatus.current.value)
                             .order_by(Clearance.decided_at.desc(), Clearance.id.desc()).limit(1))


def protocol_codes() -> list[str]:
    return hooks.protocol_codes()


def _known_protocols(codes: list[str]) -> list[str]:
    known = protocol_codes()
    unknown = [code for code in codes if code not in known]
    if not codes or unknown:
        message = (f"We do not know the protocol '{unknown[0][:50]}'. " if unknown else "Choose at least one protocol. ") \
            + f"Choose from: {', '.join(known)}."
        raise ValidationError(message, code="unknown_protocol", fields={"protocols": message})
    return list(dict.fromkeys(codes))


def _diagnosis_codes(codes: list[str], *, required: bool) -> list[str]:
    cleaned = [code.strip().upper() for code in codes]
    bad = [code for code in cleaned if not ICD10.match(code)]
    if bad or (required and not cleaned):
        message = (f"'{bad[0][:20]}' is not an ICD-10 code; write it like F43.12." if bad
                   else "Give at least one ICD-10 diagnosis code, like F43.12.")
        raise ValidationError(message, fields={"diagnosis_codes": message})
    return list(dict.fromkeys(cleaned))


def _check_rems_date(value: date | None, now: datetime) -> None:
    # A day of slack: "today" where the clinician is may already be tomorrow in the clinic's zone, or the reverse.
    if value is not None and not date(2019, 1, 1) <= value <= now.astimezone(clinic_zone()).date() + timedelta(days=1):
        message = "The REMS enrollment date must be a real date that has already happened."
        raise ValidationError(message, fields={"rems_enrollment_date": message})


def clearance_history(patient: Patient) -> list[Clearance]:
    return list(db.session.scalars(select(Clearance).where(Clearance.patient_id == patient.id)
                                   .order_by(Clearance.decided_at.desc(), Clearance.id.desc())))


def clearance_status(clearance: Clearance) -> str:
    return clearance.status


def upcoming_treatments(patient: Patient, now: datetime | None = None) -> list:
    return hooks.upcoming_treatments(patient, now or utcnow())


def record_outcome(actor: User, patient: Patient, *, answers, instrument: str = "pcl5",
                   appointment=None, now: datetime | None = None) -> OutcomeScore:
    """Score a PCL-5 (0 to PCL5_MAX) and keep it with its answers, optionally tied to the treatment it came before."""
    if instrument not in INSTRUMENTS:
        message = "The only questionnaire we record is the PCL-5 (instrument \"pcl5\")."
        raise ValidationError(message, fields={"instrument": message})
    items = read_pcl5_answers(answers)
    if appointment is not None and appointment.patient_id != patient.id:
        message = "We could not find that appointment."
        raise ValidationError(message, fields={"appointment_id": message})
    score = OutcomeScore(patient_id=patient.id, appointment_id=appointment.id if appointment else None,
                         instrument=instrument, taken_at=now or utcnow(), answers=items, score=sum(items))
    db.session.add(score)
    db.session.flush()
    return score


def outcome_scores(patient: Patient, instrument: str = "pcl5") -> list[OutcomeScore]:
    return list(db.session.scalars(select(OutcomeScore).where(
        OutcomeScore.patient_id == patient.id, OutcomeScore.instrument == instrument)
        .order_by(OutcomeScore.taken_at, OutcomeScore.id)))


def outcome_summary(patient: Patient, instrument: str = "pcl5") -> OutcomeSummary:
    """Scores over time; the first is the baseline, and change is the latest minus the baseline."""
    scores = outcome_scores(patient, instrument)
    return OutcomeSummary(scores, scores[0].score if scores else None, scores[-1].score if scores else None)


