"""Good Faith Estimates (No Surprises Act, 45 CFR 149.610) for self-pay patients, from the fee schedule.

Booking tells billing through signals (booking never imports billing): `appointment_booked`,
`appointment_rescheduled` and `appointment_cancelled` only note the patient on the database session; the estimate
is made once, just before that request's commit, so a series booked in one request gets one estimate covering every
session. A new estimate is given for a patient's first booked treatment, when a visit it covers moves or is
cancelled, and when a visit it does not cover is booked (the services expected changed). Each records when it was
due, in business days (`billing/gfe_deadlines.py`)."""
from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import date, timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload

from billing import fee_schedule, gfe_deadlines
from billing.superbills import diagnosis_codes, local_day, snapshot_of
from billing.documents import EstimateData, EstimateLine, Practice, Provider, estimate_pdf
from billing.models import Estimate, Superbill, SuperbillStatus
from booking import states as booking_states
from booking.holidays import federal_holidays_between
from booking.models import Appointment, AppointmentStatus, Closure, ServiceKind
from booking.services import appointment_booked, appointment_cancelled, appointment_rescheduled
from clinic import audit
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import Patient
from clinic.settings import clinic_settings

PENDING_KEY = "billing.estimates.pending"  # {patient_id: {appointment ids moved}} on the session, until commit
BOOKED_KEY = "billing.estimates.booked"  # {appointment ids booked} in the same transaction
ESTIMATED_KINDS = (ServiceKind.treatment.value, ServiceKind.psychotherapy.value)
OVERRUN_CENTS = 40000  # a bill $400 or more above the estimate may be disputed (45 CFR 149.620)


@appointment_booked.connect
def _note_booking(appointment: Appointment, **_) -> None:
    if appointment.service.kind in ESTIMATED_KINDS:
        _pending(appointment.patient_id)
        db.session.info.setdefault(BOOKED_KEY, set()).add(appointment.id)


@appointment_rescheduled.connect
def _note_reschedule(appointment: Appointment, **_) -> None:
    _pending(appointment.patient_id).add(appointment.id)


@appointment_cancelled.connect
def _note_cancellation(appointment: Appointment, **_) -> None:
    """A visit dropped from a series changes the services estimated: the rest get a new estimate."""
    if appointment.service.kind in ESTIMATED_KINDS:
        _pending(appointment.patient_id).add(appointment.id)


def _pending(patient_id: int) -> set[int]:
    return db.session.info.setdefault(PENDING_KEY, {}).setdefault(patient_id, set())


@event.listens_for(Session, "before_commit")
def _estimate_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: wait for the request's own commit
    booked = session.info.pop(BOOKED_KEY, set())
    for patient_id, moved in session.info.pop(PENDING_KEY, {}).items():
        give_estimate_if_due(session.get(Patient, patient_id), moved, booked)


def give_estimate_if_due(patient: Patient, moved: set[int] = frozenset(),
                         booked: set[int] = frozenset()) -> Estimate | None:
    """A new estimate when the patient has none, a visit it covers moved or was cancelled (`moved`), or a visit
    it does not cover was booked (a change of the services expected: 45 CFR 149.610(b)(1)(vii)). A visit booked in
    this transaction (`booked`) is on no estimate yet, so one is due without asking for the latest."""
    visits, priced = _upcoming_visits(patient)
    if not visits:
        return None
    ids = {v.id for v in visits}
    if not ids & set(booked):
        latest = latest_estimate(patient)
        if latest is not None and not (set(latest.appointment_ids) & set(moved)) and ids <= set(latest.appointment_ids):
            return None
    return give_estimate(patient, visits, priced)


def _upcoming_visits(patient: Patient) -> tuple[list[Appointment], dict[int, list]]:
    """The patient's live visits to come that the fee schedule prices, with their fee lines (read once: the
    estimate's lines and its expected charge per visit come from the same)."""
    rows = db.session.scalars(select(Appointment).options(joinedload(Appointment.clinician)).where(
        Appointment.patient_id == patient.id, Appointment.starts_at >= utcnow(),
        Appointment.status.in_(booking_states.live()))
        .order_by(Appointment.starts_at))  # the clinician comes along: the estimate names the first visit's
    visits = [v for v in rows if v.service.kind in ESTIMATED_KINDS]
    priced = _fee_lines(visits)
    return [v for v in visits if priced[v.id]], priced


def latest_estimate(patient: Patient) -> Estimate | None:
    return db.session.scalar(select(Estimate).where(Estimate.patient_id == patient.id)
                             .order_by(Estimate.created_at.desc(), Estimate.id.desc()).limit(1))


def give_estimate(patient: Patient, visits: list[Appointment], priced: dict[int, list]) -> Estimate:
    data = estimate_data(patient, visits, priced)
    estimate = Estimate(patient_id=patient.id, total_cents=data.total_cents, currency=data.currency,
                        appointment_ids=[v.id for v in visits], snapshot={})
    due = _iso(due_on(data.issued_on, data.first_date))  # read before the number is set: one UPDATE, not two
    db.session.add(estimate)
    db.session.flush()
    estimate.number = f"GFE-{local_day(utcnow()).year}-{estimate.id:06d}"
    estimate.snapshot = {**snapshot_of(data), "number": estimate.number,
                         "service_codes": sorted({v.service.code for v in visits}), "due_on": due,
                         "expected_by_appointment": _expected_by_visit(visits, priced)}
    audit.record("issue", "estimate", estimate.id, user=None, detail={"number": estimate.number})
    return estimate


def estimate_data(patient: Patient, visits: list[Appointment], priced: dict[int, list]) -> EstimateData:
    """What the estimate shows (its number is given once it has an id)."""
    settings = clinic_settings()
    codes = tuple(diagnosis_codes(patient))
    lines = tuple(EstimateLine(description=f"{visit.service.name}: {line.description or line.code}", code=line.code,
                               diagnosis_codes=codes, charge_cents=line.charge_cents, quantity=line.units,
                               expected_on=local_day(visit.starts_at))
                  for visit in visits for line in priced[visit.id])
    clinician = visits[0].clinician
    return EstimateData(
        number="", issued_on=local_day(utcnow()), patient_name=patient.name,
        patient_date_of_birth=patient.date_of_birth, summary=_summary(visits),
        practice=Practice(legal_name=settings.legal_name or settings.name, address=settings.address,
                          phone=settings.phone, npi=settings.npi, ein=settings.tax_id),
        provider=Provider(name=clinician.name, credentials=clinician.credentials or "", npi=clinician.npi or "",
                          license_number=clinician.license_number or "", license_state=clinician.license_state or ""),
        location=settings.address, lines=lines, currency=visits[0].currency)


def pdf_for(estimate: Estimate) -> bytes:
    """The estimate rendered again from what it showed when given."""
    return estimate_pdf(estimate_from_snapshot(estimate.snapshot))


def estimate_from_snapshot(snapshot: dict) -> EstimateData:
    names = {field.name for field in dataclass_fields(EstimateData)}
    fields = {k: v for k, v in snapshot.items() if k in names}
    return EstimateData(**{
        **fields, "issued_on": date.fromisoformat(fields["issued_on"]),
        "patient_date_of_birth": date.fromisoformat(fields["patient_date_of_birth"])
        if fields["patient_date_of_birth"] else None,
        "practice": Practice(**fields["practice"]), "provider": Provider(**fields["provider"]),
        "separately_scheduled": tuple(fields.get("separately_scheduled") or ()),
        "lines": tuple(EstimateLine(**{**line, "diagnosis_codes": tuple(line["diagnosis_codes"]),
                                       "expected_on": date.fromisoformat(line["expected_on"])
                                       if line["expected_on"] else None}) for line in fields["lines"])})


def _summary(visits: list[Appointment]) -> str:
    names = sorted({v.service.name for v in visits})
    count = len(visits)
    return f"{count} visit{'s' if count != 1 else ''}: " + ", ".join(names)


def _fee_lines(visits: list[Appointment]) -> dict[int, list]:
    """Each visit's fee lines at the schedule in force on its date, one read per service."""
    by_service: dict[int, list[Appointment]] = {}
    for visit in visits:
        by_service.setdefault(visit.service_id, []).append(visit)
    priced = {}
    for group in by_service.values():
        in_force = fee_schedule.lines_on_days(group[0].service, [local_day(v.starts_at) for v in group])
        priced.update({v.id: fee_schedule.lines_for_dose(in_force[local_day(v.starts_at)], v.dose_mg) for v in group})
    return priced


def due_on(issued_on: date, first_service_on: date | None) -> date | None:
    """When the estimate for visits starting `first_service_on` is due, booked on `issued_on` (business days)."""
    if first_service_on is None:
        return None
    return gfe_deadlines.due_on(issued_on, first_service_on, closed_days(issued_on, first_service_on))


def closed_days(first: date, last: date) -> set[date]:
    """Days that are not business days besides weekends: US federal holidays and whole-clinic closures."""
    last = last + timedelta(days=21)  # room for the deadline itself, counted past the service date
    closed = {day for day, _name in federal_holidays_between(first, last)}
    for closure in db.session.scalars(select(Closure).where(
            Closure.clinician_id.is_(None), Closure.starts_on <= last, Closure.ends_on >= first)):
        closed |= {closure.starts_on + timedelta(days=n) for n in range((closure.ends_on - closure.starts_on).days + 1)}
    return closed


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _expected_by_visit(visits: list[Appointment], priced: dict[int, list]) -> dict[str, int]:
    return {str(v.id): sum(line.charge_cents for line in priced[v.id]) for v in visits}


def overruns() -> list[dict]:
    """Patients billed $400 or more above what their estimates expect (45 CFR 149.620): each visit an estimate
    covers counts at the latest estimate's charge for it (a reschedule's new estimate covers only what was still
    to come, the earlier visits keep the first one's), cancelled and missed visits left out; billed is the net
    charges of their issued superbills."""
    flagged = []
    for patient_id in db.session.scalars(select(Estimate.patient_id).distinct().order_by(Estimate.patient_id)):
        expected, billed = expected_cents(patient_id), billed_cents(patient_id)
        if billed - expected >= OVERRUN_CENTS:
            latest = latest_estimate(db.session.get(Patient, patient_id))
            flagged.append({"patient_id": patient_id, "estimate_id": latest.id, "estimate_cents": expected,
                            "billed_cents": billed, "over_cents": billed - expected})
    return flagged


def expected_cents(patient_id: int) -> int:
    per_visit: dict[int, int] = {}
    for estimate in db.session.scalars(select(Estimate).where(Estimate.patient_id == patient_id)
                                       .order_by(Estimate.created_at, Estimate.id)):
        per_visit.update(_expected_of(estimate))
    dropped = set(db.session.scalars(select(Appointment.id).where(Appointment.id.in_(per_visit), Appointment.status.in_(
        (AppointmentStatus.cancelled.value, AppointmentStatus.no_show.value)))))
    return sum(cents for visit_id, cents in per_visit.items() if visit_id not in dropped)


def _expected_of(estimate: Estimate) -> dict[int, int]:
    by_visit = (estimate.snapshot or {}).get("expected_by_appointment")
    if by_visit is not None:
        return {int(visit_id): cents for visit_id, cents in by_visit.items()}
    ids = list(estimate.appointment_ids or [])  # given before per-visit charges were kept: the total spread evenly
    share, left = divmod(estimate.total_cents, len(ids)) if ids else (0, 0)
    return {visit_id: share + (left if i == 0 else 0) for i, visit_id in enumerate(ids)}


def billed_cents(patient_id: int) -> int:
    issued = db.session.scalars(select(Superbill).where(
        Superbill.patient_id == patient_id, Superbill.status == SuperbillStatus.issued.value))
    return sum(s.total_charged_cents - (s.snapshot or {}).get("adjustment_cents", 0) for s in issued)
