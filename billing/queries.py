"""What the billing pages list: payments filtered by clinic-local days, status and patient, with their refunds,
what each one charged and refunded (from the ledger and the refunds) and the totals. Read-only."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from billing.models import PAYMENT_STATUS_VALUES, LedgerEntry, LedgerKind, Payment, PaymentAllocation, Refund
from billing.states import counting_refund_statuses
from billing.packages import Balance, balances as package_balances
from clinic.models import Patient
from clinic.settings import clinic_zone

MAX_ROWS = 500  # a page (and an export) never loads more; narrow the filters to see older payments


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    status: str | None = None
    patient: str | None = None

    def as_args(self) -> dict[str, str]:
        """The query string that gives these filters back (for the export link and the audit row)."""
        values = {"start": self.start, "end": self.end, "status": self.status, "patient": self.patient}
        return {key: str(value) for key, value in values.items() if value}


def parse_filters(args) -> tuple[Filters, dict[str, str]]:
    """Filters from a query string; a value that does not parse is left out and explained."""
    errors: dict[str, str] = {}
    start, end = _day(args, "start", errors), _day(args, "end", errors)
    status = args.get("status") or None
    if status is not None and status not in PAYMENT_STATUS_VALUES:
        errors["status"], status = "Please choose a status from the list.", None
    patient = (args.get("patient") or "").strip()[:200] or None
    return Filters(start, end, status, patient), errors


def _day(args, key: str, errors: dict[str, str]) -> date | None:
    value = args.get(key) or ""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[key] = "Please enter a date like 2027-03-17."
        return None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), clinic_zone())


def _filtered(filters: Filters) -> Select:
    query = select(Payment).join(Patient, Patient.id == Payment.patient_id)
    if filters.start:
        query = query.where(Payment.created_at >= _local_midnight(filters.start))
    if filters.end:  # the whole end day, in the clinic's wall-clock time
        query = query.where(Payment.created_at < _local_midnight(filters.end + timedelta(days=1)))
    if filters.status:
        query = query.where(Payment.status == filters.status)
    if filters.patient:
        pattern = f"%{_escape_like(filters.patient.lower())}%"
        query = query.where(or_(func.lower(Patient.name).like(pattern, escape="\\"),
                                func.lower(Patient.email).like(pattern, escape="\\")))
    return query


def _escape_like(text: str) -> str:
    """A typed `%` or `_` means itself, not a wildcard."""
    return re.sub(r"([%_\\])", r"\\\1", text)


@dataclass(frozen=True)
class PaymentRow:
    payment: Payment
    charged_cents: int
    refunded_cents: int  # refunds not failed, as the refund form counts them (one pending is never sent twice)

    @property
    def refundable_cents(self) -> int:
        return self.charged_cents - self.refunded_cents


@dataclass(frozen=True)
class Listing:
    rows: list[PaymentRow]
    truncated: bool

    @property
    def charged_cents(self) -> int:
        return sum(r.charged_cents for r in self.rows)

    @property
    def refunded_cents(self) -> int:
        return sum(r.refunded_cents for r in self.rows)

    @property
    def net_cents(self) -> int:
        return self.charged_cents - self.refunded_cents


def payments(session, filters: Filters) -> Listing:
    """The filtered payments, newest first, each with its patient, appointments and refunds loaded."""
    query = _filtered(filters).options(
        selectinload(Payment.allocations).selectinload(PaymentAllocation.appointment),
        selectinload(Payment.refunds)).order_by(Payment.created_at.desc(), Payment.id.desc()).limit(MAX_ROWS + 1)
    found = list(session.scalars(query))
    shown = found[:MAX_ROWS]
    charged, refunded = _sums(session, [p.id for p in shown])
    rows = [PaymentRow(p, charged.get(p.id, 0), refunded.get(p.id, 0)) for p in shown]
    return Listing(rows, truncated=len(found) > MAX_ROWS)


def _sums(session, ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Charged (ledger charges) and refunded (refunds not failed) per payment, in two grouped queries."""
    if not ids:
        return {}, {}
    charged = session.execute(select(LedgerEntry.payment_id, func.sum(LedgerEntry.amount_cents)).where(
        LedgerEntry.payment_id.in_(ids), LedgerEntry.kind == LedgerKind.charge.value).group_by(LedgerEntry.payment_id))
    refunded = session.execute(select(Refund.payment_id, func.sum(Refund.amount_cents)).where(
        Refund.payment_id.in_(ids), Refund.status.in_(counting_refund_statuses())).group_by(Refund.payment_id))
    return dict(charged.all()), dict(refunded.all())


def patients_by_id(session, listing: Listing) -> dict[int, Patient]:
    ids = {r.payment.patient_id for r in listing.rows}
    return {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))} if ids else {}


def packages(session, filters: Filters) -> list[tuple[Balance, Patient]]:
    """Every induction package with what is left, newest first, narrowed by the patient filter (not by dates:
    credits bought long ago still count)."""
    found = list(reversed(package_balances()))
    people = {p.id: p for p in session.scalars(select(Patient).where(
        Patient.id.in_({b.purchase.patient_id for b in found})))} if found else {}
    if filters.patient:
        needle = filters.patient.lower()
        people = {i: p for i, p in people.items() if needle in p.name.lower() or needle in p.email.lower()}
    return [(b, people[b.purchase.patient_id]) for b in found if b.purchase.patient_id in people]
