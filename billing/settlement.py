"""Settling payments from Stripe's side: webhook events (each handled once, in any order), `flask stripe sync`
for attempts and refunds whose answer was lost, and `flask stripe reconcile`."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billing import reconcile as reconcile_rules, services, states, stripe_gateway as gateway
from billing.models import LedgerEntry, Payment, PaymentStatus as P, Refund, RefundStatus as R, StripeEvent
from clinic.database import utcnow
from clinic.extensions import db
from clinic.settings import clinic_zone

PAYMENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed",
                            "payment_intent.requires_action", "payment_intent.canceled"})


def handle_event(event: gateway.WebhookEvent) -> bool:
    """Record the event id and apply its effect in the caller's transaction; False when already handled.
    If the effect fails, the caller rolls back both, so Stripe's retry can succeed."""
    try:
        with db.session.begin_nested():
            db.session.add(StripeEvent(event_id=event.id, type=event.type))
            db.session.flush()
    except IntegrityError:
        return False
    if event.type in PAYMENT_EVENTS:
        intent = gateway.intent_from_event(event)
        payment = payment_for(intent)
        if payment is not None:
            services.apply_intent(payment.id, intent)
    return True


def payment_for(intent: gateway.Intent) -> Payment | None:
    """Our payment for a PaymentIntent: by its id, else by the opaque id we put in its metadata."""
    payment = db.session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == intent.id))
    if payment is not None:
        return payment
    raw = intent.metadata.get("payment_id", "")
    payment = db.session.get(Payment, int(raw)) if raw.isdigit() else None
    if payment is None or payment.stripe_payment_intent_id not in (None, intent.id) or payment.amount_cents != intent.amount:
        return None
    return payment


def sync_payment(payment: Payment) -> str:
    """Fetch the attempt's PaymentIntent and apply it. An attempt Stripe never saw, long after the call
    timed out, failed (nothing was charged). Raises StripeUnavailable while Stripe cannot be reached."""
    intent = gateway.retrieve_intent(payment.stripe_payment_intent_id) if payment.stripe_payment_intent_id \
        else gateway.find_intent(payment.id)
    if intent is not None:
        return services.apply_intent(payment.id, intent).status
    if P(payment.status) in states.OPEN and payment.created_at < utcnow() - services.ABANDONED_AFTER:
        states.move(payment, P.failed)
        payment.failure_message, payment.settled_at = "The payment never reached the card processor.", utcnow()
        db.session.flush()
    return payment.status


def unsettled() -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(
        Payment.status.in_(states.unsettled_statuses())).order_by(Payment.id)))


def sync_refund(refund: Refund) -> str:
    """A refund whose answer was lost: found at Stripe by our opaque id it is recorded; never seen there long
    after the call timed out, it failed (nothing was refunded). Never re-sent: that could refund twice."""
    found = next((r for r in gateway.list_refunds() if r.metadata.get("refund_id") == str(refund.id)
                  and r.amount == refund.amount_cents), None)
    if found is not None:
        services.record_refund(refund, found)
    elif refund.created_at < utcnow() - services.ABANDONED_AFTER:
        states.move_refund(refund, R.failed)
    db.session.flush()
    return refund.status


def unsettled_refunds() -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(
        Refund.status.in_(states.unsettled_refund_statuses())).order_by(Refund.id)))


def reconcile(first: date, last: date) -> list[str]:
    """Every difference between the ledger and Stripe's lists for the clinic-local days first..last."""
    zone = clinic_zone()
    start = datetime.combine(first, time(0), zone).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    ledger = [reconcile_rules.Row(e.kind, e.stripe_object_id, e.amount_cents, start <= e.at < end)
              for e in db.session.scalars(select(LedgerEntry))]

    def within(created: int) -> bool:
        return start.timestamp() <= created < end.timestamp()
    stripe = [reconcile_rules.Row("charge", i.id, i.amount, within(i.created))
              for i in gateway.list_intents() if i.status == "succeeded"]
    stripe += [reconcile_rules.Row("refund", r.id, r.amount, within(r.created))
               for r in gateway.list_refunds() if r.status == "succeeded"]
    return reconcile_rules.differences(ledger, stripe)
