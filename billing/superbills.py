"""Issuing, voiding and reissuing superbills: gathered once into plain data, stored as issued, never changed.

A superbill bills every completed, paid visit of a patient in a date range at the fee schedule in force on each
visit's date. What it showed is kept as a JSON snapshot with the PDF and its sha256; a download serves that very PDF,
and a void one is rendered again from the snapshot, marked VOID. Numbers come from a locked counter row per year and
are never reused."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields as dataclass_fields, is_dataclass, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billing import documents, fee_schedule, notifications, packages, services, states
from billing.documents import POINTER_LETTERS, MAX_POINTERS, Diagnosis, Drug, Practice, Provider, SuperbillData, SuperbillLine
from billing.models import (CreditKind, PackageCredit, PackagePurchase, PaymentStatus, Superbill, SuperbillCounter,
                            SuperbillRequest, SuperbillStatus, SuperbillVisit)
from booking.models import Appointment, AppointmentStatus, ServiceKind
from clinical.models import Clearance
from clinic import audit, claim_codes, diagnoses as icd10
from clinic.database import utcnow
from clinic.errors import DomainError, ValidationError
from clinic.extensions import db
from clinic.models import Clinician, Patient, User
from clinic.settings import clinic_settings, clinic_zone

BILLED_KINDS = (ServiceKind.treatment.value, ServiceKind.psychotherapy.value)
ADMIN_FIXES = "billing staff can add it at /billing/identifiers, an administrator at /admin/"
PATIENT_FIXES = "the patient can add it on /account/details (or staff for them)"
CLINICIAN_FIXES = "a clinician records it with the patient's clearance"


def billable_visits(patient: Patient, first: date, last: date) -> list[Appointment]:
    """Completed, still paid treatments and psychotherapy whose clinic-local date falls in [first, last]."""
    zone = clinic_zone()
    starts = datetime.combine(first, time(), zone)
    ends = datetime.combine(last + timedelta(days=1), time(), zone)
    visits = db.session.scalars(select(Appointment).where(
        Appointment.patient_id == patient.id, Appointment.status == AppointmentStatus.completed.value,
        Appointment.starts_at >= starts, Appointment.starts_at < ends).order_by(Appointment.starts_at))
    return [v for v in visits if v.service.kind in BILLED_KINDS and paid_for_visit(v) > 0]


def issue(actor: User | None, patient: Patient, first: date, last: date, *, replaces: Superbill | None = None,
          clinician_ids: set[int] | None = None) -> Superbill:
    """Issue the superbills for the range and return the first (see `issue_all`: one per rendering clinician).
    Raises 422 `nothing_to_bill` or `missing_billing_details`."""
    return issue_all(actor, patient, first, last, replaces=replaces, clinician_ids=clinician_ids)[0]


def issue_all(actor: User | None, patient: Patient, first: date, last: date, *, replaces: Superbill | None = None,
              clinician_ids: set[int] | None = None) -> list[Superbill]:
    """One superbill per rendering clinician of the billable visits in the range (a claim names one rendering
    provider, so visits by two clinicians make two superbills, each with its own number), in the order of each
    clinician's first visit. Every missing detail is named at once (practice, patient, each clinician, diagnosis)."""
    issued = []
    for prepared in prepare_all(patient, first, last, replaces=replaces, clinician_ids=clinician_ids):
        data = replace(prepared.data, number=_next_number())
        issued.append(record(actor, prepared, data, documents.superbill_pdf(data)))
    return issued


@dataclass(frozen=True)
class Prepared:
    """What one superbill will show, gathered before its number is taken (the batch renders many, then records)."""
    patient: Patient
    first: date
    last: date
    visits: list
    data: SuperbillData  # its number still empty
    replaces: Superbill | None = None


def prepare_all(patient: Patient, first: date, last: date, *, replaces: Superbill | None = None,
                clinician_ids: set[int] | None = None) -> list[Prepared]:
    """Each rendering clinician's superbill as plain data without a number. Raises 422 `nothing_to_bill` or
    `missing_billing_details` (naming every missing field at once)."""
    visits = [v for v in billable_visits(patient, first, last)
              if fee_schedule.lines_for_dose(_lines(v), v.dose_mg)
              and (clinician_ids is None or v.clinician_id in clinician_ids)]
    by_clinician = _by_rendering_clinician(visits)
    diagnoses = diagnosis_codes(patient)
    _refuse_missing(missing_billing_details(patient, list(by_clinician), diagnoses if visits else None))
    if not visits:
        message = "There is no completed, paid visit to bill between those dates."
        raise ValidationError(message, code="nothing_to_bill", fields={"from": message, "to": message})
    return [Prepared(patient, first, last, group,
                     _superbill_data(patient, group, clinician, diagnoses, "", replaces if i == 0 else None),
                     replaces if i == 0 else None)
            for i, (clinician, group) in enumerate(by_clinician.items())]


def record(actor: User | None, prepared: Prepared, data: SuperbillData, pdf: bytes) -> Superbill:
    """Store the superbill as `data` (numbered) showed it in `pdf`, answer the requests it covers, tell the patient."""
    patient, replaces = prepared.patient, prepared.replaces
    superbill = Superbill(
        number=data.number, patient_id=patient.id, first_day=prepared.first, last_day=prepared.last,
        replaces_id=replaces.id if replaces else None, total_charged_cents=data.total_charged_cents,
        total_paid_cents=data.paid_cents, currency=data.currency, snapshot=snapshot_of(data),
        pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest(), issued_by_id=actor.id if actor else None,
        visits=[SuperbillVisit(appointment_id=v.id) for v in prepared.visits])
    db.session.add(superbill)
    db.session.flush()
    audit.record("issue", "superbill", superbill.id, user=actor, detail={"number": superbill.number})
    answer_requests(superbill)
    notifications.superbill_ready(superbill, patient)
    return superbill


def answer_requests(superbill: Superbill) -> None:
    """The patient's open requests whose dates the superbill covers leave billing staff's queue, answered by it."""
    for request in db.session.scalars(select(SuperbillRequest).where(
            SuperbillRequest.patient_id == superbill.patient_id, SuperbillRequest.closed_at.is_(None),
            SuperbillRequest.first_day >= superbill.first_day, SuperbillRequest.last_day <= superbill.last_day)):
        request.superbill_id, request.closed_at = superbill.id, utcnow()


def void(actor: User | None, superbill: Superbill, reason: str, *, reissue: bool = True) -> Superbill | None:
    """Void with a reason; with `reissue`, issue the one that replaces it (None when nothing is left to bill)."""
    if superbill.status == SuperbillStatus.void.value:
        message = "This superbill is already void."
        raise ValidationError(message, code="already_void", fields={"reason": message})
    superbill.void_reason, superbill.voided_at = reason, utcnow()
    states.void_superbill(superbill)
    db.session.flush()
    audit.record("void", "superbill", superbill.id, user=actor, detail={"reason": reason[:200]})
    patient, clinicians = superbill_patient(superbill), _clinicians_billed(superbill)
    if not reissue or not any(v.clinician_id in clinicians for v in
                              billable_visits(patient, superbill.first_day, superbill.last_day)):
        return None
    return issue(actor, patient, superbill.first_day, superbill.last_day, replaces=superbill, clinician_ids=clinicians)


def _clinicians_billed(superbill: Superbill) -> set[int]:
    """Whose visits the superbill billed: its replacement bills theirs only (another clinician's has its own)."""
    billed = select(SuperbillVisit.appointment_id).where(SuperbillVisit.superbill_id == superbill.id)
    return set(db.session.scalars(select(Appointment.clinician_id).where(Appointment.id.in_(billed))))


def paid_for_visit(visit: Appointment) -> int:
    """What the patient paid for this visit and kept: its share of each payment less the refunds on it (a refund
    made on the whole payment, billing staff's, is taken from the payment's visits latest first), or its share of
    the induction package whose credit it used."""
    return _paid_by_card(visit) + _package_share(visit)[0]


def _package_share(visit: Appointment) -> tuple[int, int]:
    """(kept, charged) for a visit booked with a package credit: one credit's worth (the price shared out; the odd
    cents are never billed, never more than was paid). A refund of the package takes back unused credits only and
    is refused when it would reach a used one (billing.packages), so it never changes what a used credit paid."""
    rows = db.session.scalars(select(PackageCredit).where(PackageCredit.appointment_id == visit.id))
    credits = {credit.kind: credit for credit in rows}
    used = credits.get(CreditKind.used.value)
    if used is None or CreditKind.returned.value in credits:
        return 0, 0
    purchase = db.session.get(PackagePurchase, used.purchase_id)
    if purchase.payment.status != PaymentStatus.succeeded.value:
        return 0, 0
    return packages.credit_cents(purchase), packages.credit_cents(purchase)


def _paid_by_card(visit: Appointment) -> int:
    total = 0
    for allocation in services.paid_allocations(visit):
        payment = allocation.payment
        unassigned = services.refunded_cents(payment) - sum(
            services.refunded_cents(payment, a.appointment) for a in payment.allocations)
        for other in sorted(payment.allocations, key=lambda a: a.appointment.starts_at, reverse=True):
            left = other.amount_cents - services.refunded_cents(payment, other.appointment)
            taken = min(left, unassigned)
            unassigned -= taken
            if other.id == allocation.id:
                total += left - taken
                break
    return total


def superbill_patient(superbill: Superbill) -> Patient:
    return db.session.get(Patient, superbill.patient_id)


def reissue_after_refund(refund, actor: User | None = None) -> list[Superbill]:
    """A refund on a visit an issued superbill bills voids that superbill and issues its replacement."""
    if refund.appointment_id is not None:
        visit_ids = [refund.appointment_id]
    else:
        visit_ids = [a.appointment_id for a in refund.payment.allocations]
    billing_them = select(SuperbillVisit.superbill_id).where(SuperbillVisit.appointment_id.in_(visit_ids))
    issued = db.session.scalars(select(Superbill).where(
        Superbill.id.in_(billing_them), Superbill.status == SuperbillStatus.issued.value).order_by(Superbill.id))
    return [_void_and_reissue(actor, superbill, "Refund of a billed visit") for superbill in list(issued)]


def _void_and_reissue(actor: User | None, superbill: Superbill, reason: str) -> Superbill | None:
    """Never lets a refund fail: when the replacement cannot be issued yet (a detail went missing, the PDF engine
    is down), the superbill is still voided and billing staff issue the replacement from /billing."""
    try:
        with db.session.begin_nested():
            return void(actor, superbill, reason)
    except DomainError:
        void(actor, superbill, f"{reason}; the replacement is still to be issued", reissue=False)
        return None


def pdf_for(superbill: Superbill) -> bytes:
    """The very PDF it was issued as; once voided (or if issued before PDFs were kept), rendered again from the stored
    snapshot, marked VOID with its reason."""
    if not superbill.void_reason and superbill.pdf is not None:
        return superbill.pdf
    data = superbill_from_snapshot(superbill.snapshot)
    if superbill.void_reason:
        data = replace(data, void_reason=superbill.void_reason)
    return documents.superbill_pdf(data)


# --- what must be on file ---------------------------------------------------------------------------------------

def missing_billing_details(patient: Patient | None, clinicians: list[Clinician], diagnoses: list[str] | None = None) -> dict[str, str]:
    """Every required field that is empty (or an NPI or EIN that cannot be right), by name, with who can fix it."""
    settings = clinic_settings()
    missing = {f"practice.{name}": f"The practice's {label} is missing: {ADMIN_FIXES}." for name, label in (
        ("legal_name", "legal name"), ("address", "address"), ("phone", "phone"), ("npi", "NPI (type 2)"),
        ("tax_id", "tax id (EIN)")) if not _valid(name, getattr(settings, name))}
    for clinician in clinicians:
        missing.update({f"clinician.{clinician.id}.{name}": f"{clinician.name}'s {label} is missing: {ADMIN_FIXES}."
                        for name, label in (("credentials", "credentials"), ("npi", "NPI (type 1)"),
                                            ("license_number", "license number"), ("license_state", "license state"))
                        if not _valid(name, getattr(clinician, name))})
        if clinician.npi and clinician.npi == settings.npi:
            missing[f"clinician.{clinician.id}.npi"] = (
                f"{clinician.name}'s NPI is the practice's (type 2): a rendering clinician has their own type 1 NPI; "
                f"{ADMIN_FIXES}.")
    if patient is not None:
        missing.update({f"patient.{name}": f"The patient's {label} is missing: {PATIENT_FIXES}." for name, label in (
            ("date_of_birth", "date of birth"), ("address", "address")) if not getattr(patient, name)})
    if diagnoses is not None and not diagnoses:
        missing["patient.diagnosis_codes"] = f"The patient has no diagnosis on file: {CLINICIAN_FIXES}."
    return missing


def _valid(name: str, value: str | None) -> bool:
    value = (value or "").strip()
    checks = {"npi": claim_codes.is_npi, "tax_id": claim_codes.is_ein, "license_state": claim_codes.is_us_state}
    return bool(value) and checks.get(name, bool)(value)


def _refuse_missing(missing: dict[str, str]) -> None:
    if missing:
        raise ValidationError("This superbill cannot be issued yet: " + " ".join(missing.values()),
                              code="missing_billing_details", fields=missing)


def diagnosis_codes(patient: Patient) -> list[str]:
    """The codes of the patient's latest clearance (the column alone: every booking's estimate asks it)."""
    codes = db.session.scalar(select(Clearance.diagnosis_codes).where(Clearance.patient_id == patient.id,
                                                                      Clearance.cleared)
                              .order_by(Clearance.decided_at.desc(), Clearance.id.desc()).limit(1))
    return list(codes or [])[:len(POINTER_LETTERS)]


def _by_rendering_clinician(visits: list[Appointment]) -> dict[Clinician, list[Appointment]]:
    """The visits grouped by the clinician who rendered them, in the order of each one's first visit."""
    groups: dict[int, list[Appointment]] = {}
    for visit in visits:
        groups.setdefault(visit.clinician_id, []).append(visit)
    return {db.session.get(Clinician, clinician_id): group for clinician_id, group in groups.items()}


# --- the plain data ------------------------------------------------------------------------------------------------

def _lines(visit: Appointment):
    return fee_schedule.lines_in_force(visit.service, local_day(visit.starts_at))


def local_day(instant: datetime) -> date:
    return instant.astimezone(clinic_zone()).date()


def _superbill_data(patient, visits, clinician, codes, number, replaces) -> SuperbillData:
    settings = clinic_settings()
    pointers = tuple(POINTER_LETTERS[:min(len(codes), MAX_POINTERS)])
    # A billable visit was settled when booked (a card payment in full, or a package credit), so whatever of its
    # charges the patient did not keep paid was refunded or discounted: an adjustment, never a balance owed.
    lines, paid, adjusted = [], 0, 0
    for visit in visits:
        visit_lines = [_superbill_line(visit, line, pointers) for line in fee_schedule.lines_for_dose(_lines(visit), visit.dose_mg)]
        lines += visit_lines
        charged = sum(line.charge_cents for line in visit_lines)
        visit_paid = min(paid_for_visit(visit), charged)
        paid, adjusted = paid + visit_paid, adjusted + charged - visit_paid
    return SuperbillData(
        number=number, issued_on=local_day(utcnow()),
        practice=Practice(legal_name=settings.legal_name, address=settings.address, phone=settings.phone,
                          npi=settings.npi, ein=settings.tax_id),
        provider=Provider(name=clinician.name, credentials=clinician.credentials or "", npi=clinician.npi or "",
                          license_number=clinician.license_number or "", license_state=clinician.license_state or ""),
        patient_name=patient.name, patient_date_of_birth=patient.date_of_birth, patient_address=patient.address,
        diagnoses=tuple(Diagnosis(code, icd10.description(code)) for code in codes), lines=tuple(lines),
        paid_cents=paid, adjustment_cents=adjusted,
        currency=visits[0].currency, replaces=replaces.number if replaces else None)


def _superbill_line(visit: Appointment, line, pointers: tuple[str, ...]) -> SuperbillLine:
    drug = None
    if line.drug_name:
        dose = f"{visit.dose_mg} {line.dose_unit or 'mg'}" if visit.dose_mg is not None else ""
        drug = Drug(name=line.drug_name, ndc=line.ndc or "", dose=dose)
    return SuperbillLine(date_of_service=local_day(visit.starts_at), place_of_service=line.place_of_service,
                         code=line.code, charge_cents=line.charge_cents, diagnosis_pointers=pointers,
                         units=line.units, modifiers=tuple(line.modifiers or ()), description=line.description,
                         drug=drug)


def snapshot_of(data: SuperbillData) -> dict:
    """The plain data as JSON-ready values (dates as ISO strings), in one pass: `asdict` would deep-copy every
    value first, only for this to copy it again."""
    def plain(value):
        if isinstance(value, date):
            return value.isoformat()
        if is_dataclass(value):
            return {field.name: plain(getattr(value, field.name)) for field in dataclass_fields(value)}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value
    return plain(data)


def superbill_from_snapshot(snapshot: dict) -> SuperbillData:
    lines = tuple(SuperbillLine(**{**line, "date_of_service": date.fromisoformat(line["date_of_service"]),
                                   "diagnosis_pointers": tuple(line["diagnosis_pointers"]),
                                   "modifiers": tuple(line["modifiers"]),
                                   "drug": Drug(**line["drug"]) if line["drug"] else None})
                  for line in snapshot["lines"])
    return SuperbillData(**{
        **snapshot, "issued_on": date.fromisoformat(snapshot["issued_on"]),
        "patient_date_of_birth": date.fromisoformat(snapshot["patient_date_of_birth"]),
        "practice": Practice(**snapshot["practice"]), "provider": Provider(**snapshot["provider"]),
        "diagnoses": tuple(Diagnosis(**d) for d in snapshot["diagnoses"]), "lines": lines})


# --- numbers ---------------------------------------------------------------------------------------------------------

def _next_number() -> str:
    """SB-YYYY-NNNNNN from the year's counter row, taken under a row lock (never reused, even after a void)."""
    year = local_day(utcnow()).year
    counter = _locked_counter(year)
    if counter is None:
        try:
            with db.session.begin_nested():
                db.session.add(SuperbillCounter(year=year, last_number=0))
        except IntegrityError:
            pass  # another transaction made the year's row first
        counter = _locked_counter(year)
    counter.last_number += 1
    db.session.flush()
    return f"SB-{year}-{counter.last_number:06d}"


def _locked_counter(year: int) -> SuperbillCounter | None:
    return db.session.scalar(select(SuperbillCounter).where(SuperbillCounter.year == year)
                             .with_for_update().execution_options(populate_existing=True))


@services.refund_made.connect
def _void_after_refund(refund, *, actor: User | None = None, **_) -> None:
    """The refund path's signal: superbills billing the refunded visit are voided and reissued."""
    reissue_after_refund(refund, actor)


# --- the month's batch -------------------------------------------------------------------------------------------

def month_range(month: str) -> tuple[date, date]:
    """`2027-03` as its first and last day; a malformed month is a ValidationError."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValidationError("Give the month as YYYY-MM.", fields={"month": "Give the month as YYYY-MM."})
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def patients_to_bill(first: date, last: date) -> list[Patient]:
    """Patients with completed visits in the range and no issued superbill for exactly that range yet."""
    zone = clinic_zone()
    starts, ends = datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)
    ids = db.session.scalars(select(Appointment.patient_id).where(
        Appointment.status == AppointmentStatus.completed.value, Appointment.starts_at >= starts,
        Appointment.starts_at < ends).distinct().order_by(Appointment.patient_id)).all()
    issued = set(db.session.scalars(select(Superbill.patient_id).where(
        Superbill.first_day == first, Superbill.last_day == last, Superbill.status == SuperbillStatus.issued.value)))
    return [db.session.get(Patient, i) for i in ids if i not in issued]


def reserve_numbers(count: int) -> list[str]:
    """`count` numbers at once under the counter's row lock, for a batch that renders before it records: the caller
    commits at once, so the lock is held a moment, not while PDFs render. A number whose superbill then fails is
    never used by another (a gap, never a repeat)."""
    return [_next_number() for _ in range(count)]
