"""Payments (one Stripe PaymentIntent each), what each payment covers, refunds, the append-only ledger
and the Stripe webhook events already handled."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.models import Appointment
from clinic.database import UTCDateTime, utcnow
from clinic.extensions import db


class PaymentStatus(str, enum.Enum):
    pending = "pending"  # written before Stripe is called
    unknown = "unknown"  # Stripe's answer was lost (down, 5xx, timeout): settled later by webhook or sync
    requires_action = "requires_action"  # 3-D Secure in the patient's browser
    succeeded = "succeeded"
    failed = "failed"


PAYMENT_STATUS_VALUES = tuple(s.value for s in PaymentStatus)


class Payment(db.Model):
    """One attempt to take a card payment: one PaymentIntent, covering one or more appointments."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"status IN {PAYMENT_STATUS_VALUES}", name="status_known"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.pending.value)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    failure_message: Mapped[str | None] = mapped_column(Text)
    # The card as Stripe describes it (for the receipt), kept once the payment succeeds.
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan", order_by="PaymentAllocation.appointment_id")
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")


class PaymentAllocation(db.Model):
    """The part of a payment that pays for one appointment (a series is paid in one payment)."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        UniqueConstraint("payment_id", "appointment_id", name="one_share_per_appointment"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    amount_cents: Mapped[int]

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    appointment: Mapped[Appointment] = relationship()


class RefundStatus(str, enum.Enum):
    pending = "pending"
    unknown = "unknown"
    succeeded = "succeeded"
    failed = "failed"


REFUND_STATUS_VALUES = tuple(s.value for s in RefundStatus)


class Refund(db.Model):
    """Money given back on a payment. The database refuses refunds (not failed) above what was paid."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint(f"status IN {REFUND_STATUS_VALUES}", name="status_known"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)  # kept here only: Stripe gets no reason (and no health information)
    status: Mapped[str] = mapped_column(String(20), default=RefundStatus.pending.value)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class LedgerKind(str, enum.Enum):
    charge = "charge"
    refund = "refund"


class LedgerEntry(db.Model):
    """Append-only: every charge and refund as it happened at Stripe (triggers refuse UPDATE and DELETE).
    Balances are sums of these rows, never a stored field."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('charge', 'refund')", name="kind_known"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("kind = 'charge' OR refund_id IS NOT NULL", name="refund_has_refund"),
        Index("ix_ledger_entries_payment", "payment_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    stripe_object_id: Mapped[str] = mapped_column(String(255), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class StripeEvent(db.Model):
    """A webhook event handled: written in the same transaction as its effect, so it is handled once."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PackagePurchase(db.Model):
    """A prepaid induction package: `sessions` credits for the service `service_code`, bought with one card
    payment (no appointment). Its credits count once that payment succeeded; what is left is never stored but
    counted from `package_credits`: bought - used + returned."""

    __tablename__ = "package_purchases"
    __table_args__ = (
        CheckConstraint("sessions > 0", name="sessions_positive"),
        CheckConstraint("price_cents > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    service_code: Mapped[str] = mapped_column(String(50))
    sessions: Mapped[int]
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    payment: Mapped[Payment] = relationship()


class CreditKind(str, enum.Enum):
    used = "used"  # a session booked with the credit
    returned = "returned"  # that session cancelled within the policy: the credit is back


class PackageCredit(db.Model):
    """One draw on a package, or its return: rows are added, never changed (a session uses a credit once
    and gets it back at most once)."""

    __tablename__ = "package_credits"
    __table_args__ = (
        CheckConstraint("kind IN ('used', 'returned')", name="kind_known"),
        UniqueConstraint("appointment_id", "kind", name="one_draw_per_appointment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("package_purchases.id"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeeScheduleLine(db.Model):
    """One line a service bills, in force from `effective_on` until a later version of that service's lines.

    Versioned, never edited: a change adds the service's whole new set of lines with a later `effective_on`, so a
    visit is billed at the schedule in force on its date. Dose bounds pick between codes that depend on the dose
    given (esketamine: G2082 up to 56 mg, G2083 above)."""

    __tablename__ = "fee_schedule_lines"
    __table_args__ = (
        CheckConstraint("units >= 1", name="units_positive"),
        CheckConstraint("charge_cents >= 0", name="charge_not_negative"),
        CheckConstraint("place_of_service IN ('11', '02', '10')", name="place_known"),
        Index("ix_fee_schedule_lines_version", "service_id", "effective_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    effective_on: Mapped[date]
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(5))
    description: Mapped[str] = mapped_column(String(200), default="")
    modifiers: Mapped[list] = mapped_column(JSON, default=list)
    units: Mapped[int] = mapped_column(default=1)
    charge_cents: Mapped[int]
    place_of_service: Mapped[str] = mapped_column(String(2), default="11")
    min_dose_mg: Mapped[int | None]
    max_dose_mg: Mapped[int | None]
    drug_name: Mapped[str | None] = mapped_column(String(200))
    ndc: Mapped[str | None] = mapped_column(String(13))
    dose_unit: Mapped[str | None] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SuperbillStatus(str, enum.Enum):
    issued = "issued"
    void = "void"


class Superbill(db.Model):
    """An issued superbill: the plain data it showed (a JSON snapshot), the PDF it was issued as and that PDF's
    sha256, never changed. Voiding only sets the reason; the snapshot stays and the PDF is rendered from it marked
    VOID. (Superbills issued before the PDF was kept have none: theirs is rendered from the snapshot.)"""

    __tablename__ = "superbills"
    __table_args__ = (
        CheckConstraint("status IN ('issued', 'void')", name="status_known"),
        CheckConstraint("status = 'issued' OR void_reason IS NOT NULL", name="void_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default=SuperbillStatus.issued.value)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("superbills.id"), unique=True)
    total_charged_cents: Mapped[int]
    total_paid_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    snapshot: Mapped[dict] = mapped_column(JSON)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # read only for a download
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    visits: Mapped[list[SuperbillVisit]] = relationship(cascade="all, delete-orphan")


class SuperbillVisit(db.Model):
    """A visit a superbill bills: how a refund on that visit finds the superbills to void and reissue."""

    __tablename__ = "superbill_visits"
    __table_args__ = (UniqueConstraint("superbill_id", "appointment_id", name="one_row_per_visit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    superbill_id: Mapped[int] = mapped_column(ForeignKey("superbills.id", ondelete="CASCADE"))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)


class SuperbillCounter(db.Model):
    """The last superbill number given out each year, taken under a row lock: numbers are never reused."""

    __tablename__ = "superbill_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Estimate(db.Model):
    """A Good Faith Estimate as given (45 CFR 149.610): the plain data it showed, never changed. A reschedule or a
    change of services gives a new one; the latest is the one in force."""

    __tablename__ = "estimates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)  # GFE-YYYY-<id>, set once the id is known
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    total_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    appointment_ids: Mapped[list] = mapped_column(JSON, default=list)  # the visits it estimates
    snapshot: Mapped[dict] = mapped_column(JSON)


class SuperbillRequest(db.Model):
    """A patient's request for a superbill for a date range, in billing staff's queue until one is issued."""

    __tablename__ = "superbill_requests"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="range_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    superbill_id: Mapped[int | None] = mapped_column(ForeignKey("superbills.id"))  # set when it is answered
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_note: Mapped[str | None] = mapped_column(Text)
