"""Receipts from the records: a succeeded payment or refund turned into `receipts.ReceiptData` (plain data),
with dates on the clinic's calendar and the service named as the patient booked it."""
from __future__ import annotations

from datetime import date, datetime

from billing import services, states, stripe_gateway as gateway
from billing.models import Payment, Refund, RefundStatus as R
from billing.receipts import ReceiptData
from booking.models import Appointment
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.models import Patient
from clinic.settings import clinic_settings, clinic_zone


def payment_receipt(payment: Payment) -> ReceiptData:
    """The receipt of a succeeded payment. Raises NotFound for an attempt that took no money."""
    if not states.is_paid(payment):
        raise NotFound("This payment did not go through, so it has no receipt.")
    return ReceiptData(number=f"P-{payment.id:06d}", paid_on=_local_day(payment.settled_at or payment.created_at),
                       stripe_reference=payment.stripe_payment_intent_id or "",
                       **_common(payment, [a.appointment for a in payment.allocations]))


def refund_receipt(refund: Refund) -> ReceiptData:
    """The receipt of a refund Stripe made. Raises NotFound for one that failed or is not settled yet."""
    if refund.status != R.succeeded.value:
        raise NotFound("This refund has not gone through yet, so it has no receipt.")
    payment = refund.payment
    covered = [a.appointment for a in payment.allocations if refund.appointment_id in (None, a.appointment_id)]
    return ReceiptData(number=f"R-{refund.id:06d}", paid_on=_local_day(payment.settled_at or payment.created_at),
                       stripe_reference=refund.stripe_refund_id or "", refund_cents=refund.amount_cents,
                       refunded_on=_local_day(refund.created_at), **_common(payment, covered))


def _common(payment: Payment, appointments: list[Appointment]) -> dict:
    clinic = clinic_settings()
    _fill_in_card(payment)
    appointments = sorted(appointments, key=lambda a: a.starts_at)
    return {"clinic_name": clinic.name, "clinic_address": clinic.address, "clinic_phone": clinic.phone,
            "patient_name": db.session.get(Patient, payment.patient_id).name,
            "service_description": service_description(appointments),
            "service_dates": tuple(_local_day(a.starts_at) for a in appointments),
            "amount_cents": payment.amount_cents, "currency": payment.currency,
            "card_brand": payment.card_brand or "", "card_last4": payment.card_last4 or ""}


def service_description(appointments: list[Appointment]) -> str:
    """'IV ketamine infusion', or 'IV ketamine infusion, 6 visits' for a series paid at once."""
    names = list(dict.fromkeys(a.service.name for a in appointments))
    text = ", ".join(names)
    return f"{text}, {len(appointments)} visits" if len(appointments) > 1 else text


def _fill_in_card(payment: Payment) -> None:
    """A payment settled by a webhook (whose events carry no card) learns its card from the intent once;
    if Stripe cannot be reached the receipt says just 'Card'."""
    if payment.card_last4 is not None or not payment.stripe_payment_intent_id:
        return
    try:
        services.keep_card(payment, gateway.retrieve_intent(payment.stripe_payment_intent_id).card)
    except (gateway.StripeUnavailable, gateway.StripeRefused):
        return


def _local_day(instant: datetime) -> date:
    return instant.astimezone(clinic_zone()).date()
