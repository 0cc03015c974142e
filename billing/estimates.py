"""Good Faith Estimates (No Surprises Act, 45 CFR 149.610) for self-pay patients, from the fee schedule.

Booking tells billing through signals (booking never imports billing): `appointment_booked` and
`appointment_rescheduled` only note the patient on the database session; the estimate is made once, just before
that request's commit, so a series booked in one request gets one estimate covering every session. A new estimate
is given for a patient's first booked treatment, when a visit it covers moves, and when the services change."""
from __future__ import annotations

from datetime import date

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from billing import fee_schedule
from billing.superbills import diagnosis_codes, local_day, snapshot_of
from billing.documents import EstimateData, EstimateLine, Practice, Provider, estimate_pdf
from billing.models import Estimate, Superbill, SuperbillStatus
from booking import states as booking_states
from booking.models import Appointment, ServiceKind
from booking.services import appointment_booked, appointment_rescheduled
from clinic import audit
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import Clinician, Patient
from clinic.settings import clinic_settings

PENDING_KEY = "billing.estimates.pending"  # {patient_id: {appointment ids moved}} on the session, until commit
ESTIMATED_KINDS = (ServiceKind.treatment.value, ServiceKind.psychotherapy.value)
OVERRUN_CENTS = 40000  # a bill $400 or more above the estimate may be disputed (45 CFR 149.620)


@appointment_booked.connect
def _note_booking(appointment: Appointment, **_) -> None:
    if appointment.service.kind == ServiceKind.treatment.value:
        _pending(appointment.patient_id)


@appointment_rescheduled.connect
def _note_reschedule(appointment: Appointment, **_) -> None:
    _pending(appointment.patient_id).add(appointment.id)


def _pending(patient_id: int) -> set[int]:
    return db.session.info.setdefault(PENDING_KEY, {}).setdefault(patient_id, set())


@event.listens_for(Session, "before_commit")
def _estimate_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: wait for the request's own commit
    for patient_id, moved in session.info.pop(PENDING_KEY, {}).items():
        give_estimate_if_due(session.get(Patient, patient_id), moved)


def give_estimate_if_due(patient: Patient, moved: set[int] = frozenset()) -> Estimate | None:
    """A new estimate when the patient has none, a visit it covers moved, or the services booked changed."""
    visits = upcoming_visits(patient)
    if not visits:
        return None
    latest = latest_estimate(patient)
    if latest is not None and not (set(latest.appointment_ids) & set(moved)) and \
            {v.service.code for v in visits} <= set(latest.snapshot.get("service_codes", [])):
        return None
    return give_estimate(patient, visits)


def upcoming_visits(patient: Patient) -> list[Appointment]:
    rows = db.session.scalars(select(Appointment).where(
        Appointment.patient_id == patient.id, Appointment.starts_at >= utcnow(),
        Appointment.status.in_(booking_states.live()))
        .order_by(Appointment.starts_at))
    visits = [v for v in rows if v.service.kind in ESTIMATED_KINDS]
    priced = _fee_lines(visits)
    return [v for v in visits if priced[v.id]]


def latest_estimate(patient: Patient) -> Estimate | None:
    return db.session.scalar(select(Estimate).where(Estimate.patient_id == patient.id)
                             .order_by(Estimate.created_at.desc(), Estimate.id.desc()).limit(1))


def give_estimate(patient: Patient, visits: list[Appointment]) -> Estimate:
    data = estimate_data(patient, visits, number="")
    estimate = Estimate(patient_id=patient.id, total_cents=data.total_cents, currency=data.currency,
                        appointment_ids=[v.id for v in visits], snapshot={})
    db.session.add(estimate)
    db.session.flush()
    estimate.number = f"GFE-{local_day(utcnow()).year}-{estimate.id:06d}"
    estimate.snapshot = {**snapshot_of(data), "number": estimate.number,
                         "service_codes": sorted({v.service.code for v in visits})}
    audit.record("issue", "estimate", estimate.id, user=None, detail={"number": estimate.number})
    return estimate


def estimate_data(patient: Patient, visits: list[Appointment], number: str) -> EstimateData:
    settings = clinic_settings()
    codes = tuple(diagnosis_codes(patient))
    priced = _fee_lines(visits)
    lines = tuple(EstimateLine(description=f"{visit.service.name}: {line.description or line.code}", code=line.code,
                               diagnosis_codes=codes, charge_cents=line.charge_cents, quantity=line.units,
                               expected_on=local_day(visit.starts_at))
                  for visit in visits for line in priced[visit.id])
    clinician = db.session.get(Clinician, visits[0].clinician_id)
    return EstimateData(
        number=number, issued_on=local_day(utcnow()), patient_name=patient.name,
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
    fields = {k: v for k, v in snapshot.items() if k != "service_codes"}
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


def overruns() -> list[dict]:
    """Patients whose superbills (issued, not void) bill $400 or more above their latest estimate."""
    flagged = []
    for patient_id in db.session.scalars(select(Estimate.patient_id).distinct()):
        estimate = latest_estimate(db.session.get(Patient, patient_id))
        billed = sum(db.session.scalars(select(Superbill.total_charged_cents).where(
            Superbill.patient_id == patient_id, Superbill.status == SuperbillStatus.issued.value)))
        if billed - estimate.total_cents >= OVERRUN_CENTS:
            flagged.append({"patient_id": patient_id, "estimate_id": estimate.id, "estimate_cents": estimate.total_cents,
                            "billed_cents": billed, "over_cents": billed - estimate.total_cents})
    return flagged
