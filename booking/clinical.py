"""The clinical path around treatments: intake screening, a clinician's clearance (or refusal, or its
withdrawal), flags staff must see today, PCL-5 outcome scores, and the integration-therapy offer.

Services take the acting user explicitly, flush, never commit, and raise domain errors with a sentence a
patient understands. The questions and the PCL-5 items are data, shared by the API and the pages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from booking import queries, services, slots, treatments
from booking.models import (Appointment, AppointmentStatus as S, Clearance, Intake, OutcomeScore, PatientFlag,
                            Protocol, Service)
from booking.requests import BookingRequest
from clinic.database import utcnow
from clinic.errors import Conflict, ValidationError
from clinic.extensions import db
from clinic.models import Patient, User
from clinic.settings import clinic_zone

# --- intake -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One screening question. kind: yes_no (true/false), choice, count (0..maximum) or text (optional)."""

    key: str
    text: str
    kind: str
    section: str
    concern: str | None = None  # "exclusion" or "case_by_case" when a "yes" needs a clinician's judgement
    choices: tuple[tuple[str, str], ...] = ()
    maximum: int = 0

    @property
    def required(self) -> bool:
        return self.kind != "text"


HEALTH, HISTORY, NOW = "Your health", "Treatments you have tried", "How you are feeling now"
SUICIDAL_CHOICES = (
    ("no", "No"),
    ("passive", "Sometimes I wish I were not alive, but I do not think about acting on it"),
    ("active", "Yes, I am having thoughts of ending my life"),
)

# The exclusions and case-by-case conditions come from shared/domain.md ("Clearance").
INTAKE_QUESTIONS: tuple[Question, ...] = (
    Question("uncontrolled_hypertension", "Do you have high blood pressure that is not controlled by treatment?",
             "yes_no", HEALTH, "exclusion"),
    Question("severe_cardiovascular_disease", "Do you have serious heart or blood vessel disease (for example heart "
             "failure, a recent heart attack or stroke, or an aneurysm)?", "yes_no", HEALTH, "exclusion"),
    Question("psychosis_history", "Have you ever had psychosis, schizophrenia, or bipolar disorder with psychotic "
             "features?", "yes_no", HEALTH, "exclusion"),
    Question("active_substance_use_disorder", "Are you currently misusing alcohol or drugs, including ketamine or "
             "other dissociatives?", "yes_no", HEALTH, "exclusion"),
    Question("raised_intracranial_pressure", "Have you been told you have raised pressure inside your skull (for "
             "example after a head injury or from a brain tumour)?", "yes_no", HEALTH, "exclusion"),
    Question("severe_liver_disease", "Do you have serious liver disease, such as cirrhosis?", "yes_no", HEALTH,
             "exclusion"),
    Question("hyperthyroidism", "Do you have an overactive thyroid (hyperthyroidism)?", "yes_no", HEALTH, "exclusion"),
    Question("pregnant_or_breastfeeding", "Are you pregnant, trying to become pregnant, or breastfeeding?",
             "yes_no", HEALTH, "case_by_case"),
    Question("past_substance_abuse", "Have you misused alcohol or drugs in the past?", "yes_no", HEALTH,
             "case_by_case"),
    Question("dissociative_disorder", "Have you been diagnosed with a dissociative disorder?", "yes_no", HEALTH,
             "case_by_case"),
    Question("anaesthetic_reaction", "Have you ever had a bad reaction to an anaesthetic, including ketamine?",
             "yes_no", HEALTH, "case_by_case"),
    Question("health_details", "Tell us more about any \"yes\" above, other conditions, and the medicines you take "
             "now.", "text", HEALTH),
    Question("psychotherapy_tried", "Have you had psychotherapy for PTSD (for example cognitive processing therapy, "
             "prolonged exposure, EMDR or trauma-focused CBT)?", "yes_no", HISTORY),
    Question("medications_tried", "Have you taken medication for PTSD (for example sertraline, paroxetine or "
             "venlafaxine)?", "yes_no", HISTORY),
    Question("evidence_based_treatments_tried", "How many different evidence-based treatments for PTSD (therapies "
             "and medications) have you tried?", "count", HISTORY, maximum=50),
    Question("treatment_details", "Which treatments did you try, and how did they go?", "text", HISTORY),
    Question("suicidal_thoughts", "Are you having thoughts of suicide or of ending your life now?", "choice", NOW,
             choices=SUICIDAL_CHOICES),
)
QUESTIONS_BY_KEY = {q.key: q for q in INTAKE_QUESTIONS}
TEXT_MAX = 2000

CRISIS = {
    "message": "Your safety comes first. If you are thinking about ending your life, please reach out now: you do "
               "not have to wait for us. A member of our clinical team will also contact you today.",
    "resources": ["Call or text 988 (Suicide & Crisis Lifeline)", "Call 911 in an emergency"],
}
CRISIS_FLAG = "suicidal_thoughts"


def read_intake_answers(raw: dict) -> dict:
    """Every answer checked against its question; a 422 names each field that is missing or wrong."""
    answers, problems = {}, {}
    for question in INTAKE_QUESTIONS:
        try:
            value = _answer(question, raw.get(question.key))
        except ValueError as problem:
            problems[question.key] = str(problem)
            continue
        if value is not None:
            answers[question.key] = value
    if problems:
        first = next(iter(problems.values()))
        message = first if len(problems) == 1 else f"Please check {len(problems)} answers. {first}"
        raise ValidationError(message, code="invalid", fields=problems)
    return answers


def _answer(question: Question, value):
    if value is None or (isinstance(value, str) and not value.strip()):
        if question.required:
            raise ValueError("Please answer this question.")
        return None
    if question.kind == "yes_no":
        if not isinstance(value, bool):
            raise ValueError("Please answer yes (true) or no (false).")
        return value
    if question.kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= question.maximum:
            raise ValueError(f"Please give a whole number from 0 to {question.maximum}.")
        return value
    if question.kind == "choice":
        return _choice(question, value)
    if not isinstance(value, str) or len(value.strip()) > TEXT_MAX or "\x00" in value:
        raise ValueError(f"Please write at most {TEXT_MAX} characters of plain text.")
    return value.strip()


def _choice(question: Question, value) -> str:
    if question.key == "suicidal_thoughts" and (isinstance(value, bool) or value in ("yes", "no")):
        return "active" if value in (True, "yes") else "no"  # a plain yes to this question means active thoughts
    allowed = [key for key, _label in question.choices]
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"Please choose one of: {', '.join(allowed)}.")
    return value


def signals_crisis(answers: dict) -> bool:
    return answers.get("suicidal_thoughts") == "active"


def concerns(answers: dict) -> list[dict]:
    """The answers a clinician must weigh at clearance: exclusions first, then case-by-case conditions."""
    found = [{"question": q.key, "text": q.text, "kind": q.concern}
             for q in INTAKE_QUESTIONS if q.concern and answers.get(q.key) is True]
    return sorted(found, key=lambda c: c["kind"] != "exclusion")


def submit_intake(actor: User, patient: Patient, raw_answers: dict, now: datetime | None = None) -> Intake:
    """Store the screening answers with the date; an answer signalling active suicidal thoughts raises a flag
    that staff see the same day (the caller then shows crisis resources, never a booking form)."""
    now = now or utcnow()
    answers = read_intake_answers(raw_answers)
    intake = Intake(patient_id=patient.id, submitted_at=now, answers=answers, crisis_flag=signals_crisis(answers))
    db.session.add(intake)
    if intake.crisis_flag:
        raise_flag(patient, CRISIS_FLAG, now)
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
    current = treatments.current_clearance(patient)
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
    return _decide(actor, patient, treatments.current_clearance(patient), now, cleared=False, protocols=[],
                   diagnosis_codes=diagnoses, notes=notes, reason=reason.strip())


def withdraw(actor: User, patient: Patient, *, reason: str, now: datetime | None = None) -> Clearance:
    """Withdraw the clearance in force: from now on nothing can be booked until a clinician clears again.
    Treatments already booked stay booked (see upcoming_treatments) for staff to review."""
    now = now or utcnow()
    if not reason or not reason.strip():
        message = "Please give the reason for withdrawing the clearance."
        raise ValidationError(message, fields={"reason": message})
    current = treatments.current_clearance(patient)
    if current is None or not current.cleared:
        raise Conflict("This patient has no clearance in force to withdraw.", code="no_clearance")
    current.withdrawn_at, current.withdrawn_by_id, current.withdrawn_reason = now, actor.id, reason.strip()
    db.session.flush()
    return current


def _decide(actor: User, patient: Patient, current: Clearance | None, now: datetime, **decision) -> Clearance:
    if current is not None:
        current.withdrawn_at, current.withdrawn_by_id, current.withdrawn_reason = now, actor.id, SUPERSEDED
    clearance = Clearance(patient_id=patient.id, clinician_id=actor.clinician.id if actor.clinician else None,
                          decided_by_id=actor.id, decided_at=now, **decision)
    db.session.add(clearance)
    for intake in db.session.scalars(select(Intake).where(Intake.patient_id == patient.id,
                                                          Intake.reviewed_at.is_(None))):
        intake.reviewed_at, intake.reviewed_by_id = now, actor.id
    db.session.flush()
    return clearance


def protocol_codes() -> list[str]:
    return list(db.session.scalars(select(Protocol.code).where(Protocol.active).order_by(Protocol.id)))


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
    if clearance.withdrawn_at is None:
        return "current"
    return "superseded" if clearance.withdrawn_reason == SUPERSEDED else "withdrawn"


def upcoming_treatments(patient: Patient, now: datetime | None = None) -> list[Appointment]:
    now = now or utcnow()
    return list(db.session.scalars(select(Appointment).join(Service).where(
        Appointment.patient_id == patient.id, Service.kind == "treatment", Appointment.starts_at > now,
        Appointment.status.in_([S.confirmed.value, S.pending_payment.value])).order_by(Appointment.starts_at)))


# --- outcomes (PCL-5) ---------------------------------------------------------------------------------------------

# The PTSD Checklist for DSM-5 (Weathers et al., National Center for PTSD, 2013), public domain.
PCL5_ITEMS = (
    "Repeated, disturbing, and unwanted memories of the stressful experience?",
    "Repeated, disturbing dreams of the stressful experience?",
    "Suddenly feeling or acting as if the stressful experience were actually happening again (as if you were "
    "actually back there reliving it)?",
    "Feeling very upset when something reminded you of the stressful experience?",
    "Having strong physical reactions when something reminded you of the stressful experience (for example, heart "
    "pounding, trouble breathing, sweating)?",
    "Avoiding memories, thoughts, or feelings related to the stressful experience?",
    "Avoiding external reminders of the stressful experience (for example, people, places, conversations, "
    "activities, objects, or situations)?",
    "Trouble remembering important parts of the stressful experience?",
    "Having strong negative beliefs about yourself, other people, or the world (for example, having thoughts such "
    "as: I am bad, there is something seriously wrong with me, no one can be trusted, the world is completely "
    "dangerous)?",
    "Blaming yourself or someone else for the stressful experience or what happened after it?",
    "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
    "Loss of interest in activities that you used to enjoy?",
    "Feeling distant or cut off from other people?",
    "Trouble experiencing positive feelings (for example, being unable to feel happiness or have loving feelings "
    "for people close to you)?",
    "Irritable behavior, angry outbursts, or acting aggressively?",
    "Taking too many risks or doing things that could cause you harm?",
    "Being \"superalert\" or watchful or on guard?",
    "Feeling jumpy or easily startled?",
    "Having difficulty concentrating?",
    "Trouble falling or staying asleep?",
)
PCL5_SCALE = ((0, "Not at all"), (1, "A little bit"), (2, "Moderately"), (3, "Quite a bit"), (4, "Extremely"))
PCL5_MAX = 4 * len(PCL5_ITEMS)
INSTRUMENTS = ("pcl5",)
MEANINGFUL_FALL = 10  # a fall of 10 points or more from baseline is clinically meaningful (issue 4)


def read_pcl5_answers(answers) -> list[int]:
    if not isinstance(answers, list) or len(answers) != len(PCL5_ITEMS) or not all(
            isinstance(a, int) and not isinstance(a, bool) and 0 <= a <= 4 for a in answers):
        message = f"Please answer all {len(PCL5_ITEMS)} questions, each with a number from 0 (not at all) to 4 (extremely)."
        raise ValidationError(message, fields={"answers": message})
    return list(answers)


def record_outcome(actor: User, patient: Patient, *, answers, instrument: str = "pcl5",
                   appointment: Appointment | None = None, now: datetime | None = None) -> OutcomeScore:
    """Score a PCL-5 (0-80) and keep it with its answers, optionally tied to the treatment it came before."""
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


@dataclass(frozen=True)
class OutcomeSummary:
    scores: list[OutcomeScore]
    baseline: int | None
    latest: int | None

    @property
    def change(self) -> int | None:
        return None if self.baseline is None else self.latest - self.baseline

    @property
    def clinically_meaningful(self) -> bool:
        return self.change is not None and -self.change >= MEANINGFUL_FALL

    def change_at(self, score: OutcomeScore) -> int | None:
        return None if self.baseline is None else score.score - self.baseline


def outcome_summary(patient: Patient, instrument: str = "pcl5") -> OutcomeSummary:
    """Scores over time; the first is the baseline, and change is the latest minus the baseline."""
    scores = outcome_scores(patient, instrument)
    return OutcomeSummary(scores, scores[0].score if scores else None, scores[-1].score if scores else None)


# --- integration therapy ------------------------------------------------------------------------------------------

INTEGRATION_FROM, INTEGRATION_UNTIL = timedelta(hours=24), timedelta(hours=48)


def integration_service() -> Service | None:
    return db.session.scalar(select(Service).where(Service.kind == "psychotherapy", Service.active)
                             .order_by(Service.position, Service.id).limit(1))


def integration_window(treatment: Appointment) -> tuple[datetime, datetime]:
    """Starts from a full day after monitoring ends to two days after the treatment began (domain brief:
    integration psychotherapy is booked 24-48 hours after a treatment)."""
    return treatment.ends_at + INTEGRATION_FROM, treatment.starts_at + INTEGRATION_UNTIL


def _require_offerable(treatment: Appointment) -> Service:
    if treatment.service.kind != "treatment":
        message = "Integration therapy is offered after a treatment, not after this kind of appointment."
        raise ValidationError(message, code="not_a_treatment")
    if treatment.status not in (S.confirmed.value, S.pending_payment.value, S.completed.value):
        raise Conflict("This treatment is not going ahead, so there is no integration session to book.",
                       code="not_allowed_now")
    service = integration_service()
    if service is None:
        raise Conflict("The clinic does not offer integration therapy at the moment.", code="not_offered")
    return service


def integration_slots(treatment: Appointment, now: datetime | None = None) -> tuple[Service, list[slots.Slot]]:
    """Psychotherapy starts in the treatment's integration window that the patient is free for."""
    now = now or utcnow()
    service = _require_offerable(treatment)
    earliest, latest = integration_window(treatment)
    zone = clinic_zone()
    found = queries.available(service, earliest.astimezone(zone).date(), latest.astimezone(zone).date(), now)
    busy = [(a.starts_at, a.ends_at) for a in _patient_busy(treatment.patient, earliest, latest + timedelta(hours=4))]
    return service, [s for s in found if earliest <= s.start <= latest
                     and not any(start < s.end and s.start < end for start, end in busy)]


def _patient_busy(patient: Patient, start: datetime, end: datetime) -> list[Appointment]:
    return list(db.session.scalars(select(Appointment).where(
        Appointment.patient_id == patient.id, Appointment.status.in_([S.confirmed.value, S.pending_payment.value]),
        Appointment.starts_at < end, Appointment.ends_at > start)))


def integration_booked(treatment: Appointment) -> list[Appointment]:
    """Psychotherapy the patient already has in this treatment's integration window."""
    earliest, latest = integration_window(treatment)
    return [a for a in _patient_busy(treatment.patient, earliest, latest + timedelta(minutes=1))
            if a.service.kind == "psychotherapy" and earliest <= a.starts_at <= latest]


def book_integration(actor: User, treatment: Appointment, start: datetime, now: datetime | None = None) -> Appointment:
    """One click: book the psychotherapy start offered after this treatment, under booking's usual rules."""
    now = now or utcnow()
    service = _require_offerable(treatment)
    earliest, latest = integration_window(treatment)
    if not earliest <= start <= latest:
        message = "Please choose one of the times offered, 24 to 48 hours after your treatment."
        raise ValidationError(message, code="outside_window", fields={"start": message})
    return services.book(actor, BookingRequest(service=service, patient=treatment.patient, start=start), now)


# --- today's treatments -------------------------------------------------------------------------------------------

def todays_treatments(day: date) -> list[Appointment]:
    """The day's treatments (not cancelled) in start order, for the clinician's day page."""
    return [a for a in queries.day_schedule(day)
            if a.service.kind == "treatment" and a.status != S.cancelled.value]


def local_day(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(clinic_zone()).date()
