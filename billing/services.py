"""Payment services: start a payment, settle it from Stripe's answer, refund, and the cancellation policy.

They take the acting user explicitly, flush and never commit. Stripe is called between two commits
(the view's): the attempt is written first with a deterministic idempotency key, so that a lost answer
leaves a row to settle later (webhook or `flask stripe sync`) and never a second charge.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from sqlalchemy import func, select

from billing import notifications, packages, policy, states, stripe_gateway as gateway
from billing.keys import next_key
from billing.models import (
    LedgerEntry, LedgerKind, Payment, PaymentAllocation, PaymentStatus as P, Refund, RefundStatus as R,
)
from booking import services as booking_services, states as booking_states
from booking.models import Appointment, AppointmentStatus as S
from clinic.database import utcnow
from clinic.errors import Conflict, DomainError, ValidationError
from clinic.extensions import db
from clinic.models import User
from clinic.settings import clinic_settings

#: An open attempt Stripe has never heard of after this long never reached it (the call timed out long ago).
ABANDONED_AFTER = timedelta(seconds=3 * gateway.TIMEOUT_SECONDS)

#: Sent (sender: the Refund, `actor=`) once a refund is made and not refused: a superbill billing the visit is void.
refund_made = Namespace().signal("refund-made")


def _locked_payment(payment_id: int) -> Payment:
    """The payment row, locked for this transaction (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers)."""
    return db.session.get(Payment, payment_id, with_for_update=True, populate_existing=True)


def _lock_appointments(appointments: list[Appointment]) -> None:
    ids = sorted(a.id for a in appointments)
    db.session.scalars(select(Appointment).where(Appointment.id.in_(ids)).order_by(Appointment.id)
                       .with_for_update().execution_options(populate_existing=True)).all()


def payments_covering(appointments: list[Appointment]) -> list[Payment]:
    ids = [a.id for a in appointments]
    return list(db.session.scalars(select(Payment).join(PaymentAllocation).where(
        PaymentAllocation.appointment_id.in_(ids)).distinct().order_by(Payment.id)))


def open_attempts(appointments: list[Appointment]) -> list[Payment]:
    return [p for p in payments_covering(appointments) if P(p.status) in states.OPEN]


def start_payment(actor: User, appointments: list[Appointment], idempotency_scope: str,
                  now: datetime | None = None) -> Payment:
    """Write a pending payment for held appointments; refused if paid, not held, expired or already in flight."""
    now = now or utcnow()
    _lock_appointments(appointments)
    covering = payments_covering(appointments)
    _refuse_unpayable(appointments, covering, now)
    payment = Payment(patient_id=appointments[0].patient_id, amount_cents=sum(a.amount_due_cents for a in appointments),
                      currency=appointments[0].currency, created_by_id=actor.id,
                      idempotency_key=next_key(f"pay-{idempotency_scope}-attempt-"))
    payment.allocations = [PaymentAllocation(appointment_id=a.id, amount_cents=a.amount_due_cents)
                           for a in appointments]
    db.session.add(payment)
    db.session.flush()
    return payment


def _refuse_unpayable(appointments: list[Appointment], covering: list[Payment], now: datetime) -> None:
    if any(states.is_paid(p) for p in covering) or any(a.status == S.confirmed.value for a in appointments):
        raise Conflict("This has already been paid.", code="already_paid")
    if any(P(p.status) in states.OPEN for p in covering):
        raise Conflict("We are still confirming your last payment attempt with the card processor. "
                       "Please wait a minute and check again before paying.", code="payment_in_progress")
    if any(a.status != S.pending_payment.value for a in appointments):
        raise Conflict("This appointment is not waiting for payment.", code="not_payable")
    if any(a.hold_expires_at is None or a.hold_expires_at <= now for a in appointments):
        raise Conflict("Your hold on this time has ended. Please book again.", code="hold_expired")
    if any(a.amount_due_cents <= 0 for a in appointments) or len({a.currency for a in appointments}) != 1:
        raise ValidationError("There is nothing to pay for this appointment.", code="nothing_to_pay")


def charge_request(payment: Payment, payment_method: str) -> dict:
    """The arguments of `stripe_gateway.charge`, read before the commit so that no ORM attribute has to be
    reloaded (and no transaction, on SQLite a write lock, opened) while Stripe answers."""
    return {"amount_cents": payment.amount_cents, "currency": payment.currency, "payment_method": payment_method,
            "payment_id": payment.id, "idempotency_key": payment.idempotency_key}


def record_failure(payment_id: int, error: Exception) -> None:
    """A declined or refused card fails the attempt (nothing was charged); a lost answer leaves it unknown."""
    payment = _locked_payment(payment_id)
    target = P.unknown if isinstance(error, gateway.StripeUnavailable) else P.failed
    if states.move(payment, target) and target is P.failed:
        payment.failure_message = getattr(error, "message", None)
        payment.settled_at = utcnow()
    db.session.flush()


def apply_intent(payment_id: int, intent: gateway.Intent, actor: User | None = None) -> Payment:
    """Settle a payment from a PaymentIntent (the synchronous answer, a webhook or sync: whichever comes
    first wins, the others are no-ops). Success writes the charge to the ledger and confirms the appointments."""
    payment = _locked_payment(payment_id)
    if payment.stripe_payment_intent_id is None:
        payment.stripe_payment_intent_id = intent.id
    keep_card(payment, intent.card)
    target = states.FROM_STRIPE.get(intent.status)
    if target is None or not states.move(payment, target):
        return payment
    if target is P.failed:
        payment.failure_message, payment.settled_at = intent.error_message, utcnow()
    if target is P.succeeded:
        _record_charge(payment, intent, actor)
    db.session.flush()
    return payment


def keep_card(payment: Payment, card: gateway.Card | None) -> None:
    """Remember the card's brand and last four for the receipt (webhook events carry no card: a later
    fetch of the intent fills it in)."""
    if card is not None and payment.card_last4 is None:
        payment.card_brand, payment.card_last4 = card.brand[:20], card.last4[-4:]


def _record_charge(payment: Payment, intent: gateway.Intent, actor: User | None) -> None:
    now = utcnow()
    payment.settled_at = now
    db.session.add(LedgerEntry(payment_id=payment.id, kind=LedgerKind.charge.value, amount_cents=intent.amount,
                               currency=intent.currency, stripe_object_id=intent.id,
                               user_id=actor.id if actor else None, at=now))
    db.session.flush()
    settle_appointments(payment, now)


def settle_appointments(payment: Payment, now: datetime) -> None:
    """A payment that went through confirms what it covers, all or none: holds still in place are confirmed, and
    holds whose time ran out are brought back through booking's one rule check (under booking's locks, so a
    booking racing for the same chair is seen); if any cannot be, the whole payment is refunded and the patient told."""
    appointments = [a.appointment for a in payment.allocations]
    if not appointments:
        return
    _lock_for_booking(appointments)
    late = any(a.status != S.pending_payment.value for a in appointments)
    try:
        with db.session.begin_nested():
            for appointment in appointments:
                _confirm(appointment, now)
    except DomainError as refused:
        _refund_late(payment, refused.message)
        return
    if late:
        notifications.late_payment_confirmed(payment, appointments)
    else:
        for appointment in appointments:
            notifications.payment_received(payment, appointment)


def _lock_for_booking(appointments: list[Appointment]) -> None:
    """Booking's own locks (patient, clinicians, chairs) and then the rows, read again: a booking that tidied one
    of these holds away has committed before we look."""
    for service in {a.service.id: a.service for a in appointments}.values():
        booking_services.lock(service, appointments[0].patient)
    _lock_appointments(appointments)


def _confirm(appointment: Appointment, now: datetime) -> None:
    if appointment.status != S.pending_payment.value:
        booking_services.revive(appointment, now)  # refused unless its hold ran out and its place is free
        return
    booking_states.move(appointment, S.confirmed)
    appointment.hold_expires_at = None
    appointment.sequence += 1


def _refund_late(payment: Payment, why: str) -> None:
    """Give back every share of a payment that confirmed nothing, and tell the patient once."""
    refunds = []
    for allocation in payment.allocations:
        share = allocation.amount_cents - refunded_cents(payment, allocation.appointment)
        if share > 0:
            refunds.append(refund_payment(None, payment, share, f"Automatic: paid after the hold ended. {why}",
                                          appointment=allocation.appointment))
    if refunds:
        notifications.late_payment_refunded([a.appointment for a in payment.allocations], refunds)


# --- refunds --------------------------------------------------------------------------------------------------------

def charged_cents(payment: Payment) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
        LedgerEntry.payment_id == payment.id, LedgerEntry.kind == LedgerKind.charge.value))


def refunded_cents(payment: Payment, appointment: Appointment | None = None) -> int:
    """What is refunded or being refunded (a refund whose outcome is not known yet counts: never refund twice)."""
    query = select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
        Refund.payment_id == payment.id, Refund.status.in_(states.counting_refund_statuses()))
    if appointment is not None:
        query = query.where(Refund.appointment_id == appointment.id)
    return db.session.scalar(query)


def remaining_cents(payment: Payment) -> int:
    return charged_cents(payment) - refunded_cents(payment)


def refund_payment(actor: User | None, payment: Payment, amount_cents: int, reason: str, *,
                   appointment: Appointment | None = None) -> Refund:
    """Refund up to what remains, under the payment's lock; the database refuses more as the last word.
    Stripe is called inside the transaction; an unknown outcome is kept as `unknown` for `flask stripe sync`."""
    payment = _locked_payment(payment.id)
    remaining = remaining_cents(payment)
    if amount_cents <= 0 or amount_cents > remaining:
        message = f"You can refund at most {notifications.dollars(remaining)} on this payment."
        raise ValidationError(message, code="refund_too_large", fields={"amount_cents": message})
    packages.refuse_refund_of_used_credits(payment, refunded_cents(payment) + amount_cents)
    refund = Refund(payment_id=payment.id, appointment_id=appointment.id if appointment else None,
                    amount_cents=amount_cents, currency=payment.currency, reason=reason,
                    created_by_id=actor.id if actor else None)
    db.session.add(refund)
    db.session.flush()
    _send_refund(refund, payment, actor)
    if states.refund_counts(refund):
        refund_made.send(refund, actor=actor)
    return refund


def _send_refund(refund: Refund, payment: Payment, actor: User | None) -> None:
    try:
        result = gateway.refund(intent_id=payment.stripe_payment_intent_id, amount_cents=refund.amount_cents,
                                refund_id=refund.id, idempotency_key=f"refund-{refund.id}")
    except gateway.StripeUnavailable:
        states.move_refund(refund, R.unknown)
    except gateway.StripeRefused as error:
        states.move_refund(refund, R.failed)
        refund.reason = f"{refund.reason} (refused by Stripe: {error.message})"
    else:
        record_refund(refund, result, actor)
    db.session.flush()


def record_refund(refund: Refund, result: gateway.RefundResult, actor: User | None = None) -> None:
    """Stripe refunded: the refund succeeded and the ledger gets its row (unique Stripe id)."""
    refund.stripe_refund_id = result.id
    states.move_refund(refund, R.succeeded)
    db.session.add(LedgerEntry(payment_id=refund.payment_id, refund_id=refund.id, kind=LedgerKind.refund.value,
                               amount_cents=result.amount, currency=result.currency, stripe_object_id=result.id,
                               user_id=actor.id if actor else None))


# --- cancellation ---------------------------------------------------------------------------------------------------

def paid_allocations(appointment: Appointment) -> list[PaymentAllocation]:
    return list(db.session.scalars(select(PaymentAllocation).join(Payment).where(
        PaymentAllocation.appointment_id == appointment.id, Payment.status.in_(states.paid_statuses()))))


def paid_for(appointment: Appointment) -> int:
    """What was paid for this appointment and not yet refunded (its share when a payment covered a series)."""
    return sum(a.amount_cents - refunded_cents(a.payment, appointment) for a in paid_allocations(appointment))


def cancellation_preview(appointment: Appointment, now: datetime | None = None) -> policy.CancellationRefund:
    settings = clinic_settings()
    return policy.cancellation_refund(paid_for(appointment), appointment.starts_at, now or utcnow(),
                                      full_refund_hours=settings.full_refund_hours,
                                      late_keep_percent=settings.late_cancel_keep_percent)


@dataclass(frozen=True)
class CancellationTerms:
    """What cancelling now would give back, said before anyone confirms: money by the policy, or a package credit."""
    refund_cents: int
    paid_cents: int
    policy: str
    credit: bool = False  # paid with a package credit
    credit_back: bool = False  # and cancelling now returns it


def cancellation_terms(appointment: Appointment, now: datetime | None = None) -> CancellationTerms:
    now = now or utcnow()
    preview = cancellation_preview(appointment, now)
    if packages.used_credit(appointment) is None:
        return CancellationTerms(preview.refund_cents, paid_for(appointment), preview.policy)
    return CancellationTerms(preview.refund_cents, paid_for(appointment),
                             packages.credit_policy(clinic_settings().full_refund_hours), credit=True,
                             credit_back=packages.credit_comes_back(appointment, now))


def refund_cancelled(appointment: Appointment, actor: User | None = None, now: datetime | None = None) -> dict | None:
    """Receiver of booking's `appointment_cancelled`: refund by the cancellation policy."""
    preview = cancellation_preview(appointment, now)
    if preview.refund_cents <= 0:
        return None
    left, refunds = preview.refund_cents, []
    for allocation in paid_allocations(appointment):
        share = min(left, allocation.amount_cents - refunded_cents(allocation.payment, appointment))
        if share > 0:
            refunds.append(refund_payment(actor, allocation.payment, share, "Cancellation policy",
                                          appointment=appointment))
            left -= share
    status = "succeeded" if all(r.status == R.succeeded.value for r in refunds) else "pending"
    return {"amount_cents": sum(r.amount_cents for r in refunds), "status": status}
