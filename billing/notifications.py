"""Emails about payments, written to the outbox in the same transaction; the receipt stays behind login."""
from __future__ import annotations

from billing.models import Payment, Refund
from booking.links import manage_url
from booking.models import Appointment
from booking.notifications import local_datetime
from clinic import formatting, mail


def dollars(cents: int) -> str:
    """US amounts, `$475.00`, from integer cents (no floats)."""
    return formatting.money(cents)


def payment_received(payment: Payment, appointment: Appointment) -> None:
    share = next(a.amount_cents for a in payment.allocations if a.appointment_id == appointment.id)
    mail.queue(appointment.patient.email, "Payment received – your treatment is confirmed", "payment_received",
               dedupe_key=f"payment-{payment.id}-appointment-{appointment.id}", name=appointment.patient.name,
               amount=dollars(share), when=local_datetime(appointment.starts_at), manage_url=manage_url(appointment),
               account_url=mail.absolute_url("booking.account"))


def late_payment_refunded(appointments: list[Appointment], refunds: list[Refund]) -> None:
    """The payment went through after the hold ended and the place (or a rule) no longer allowed it: refunded."""
    first = appointments[0]
    mail.queue(first.patient.email, "Your payment arrived after your hold ended: refunded",
               "payment_late_refunded", dedupe_key=f"late-refund-{refunds[0].id}", name=first.patient.name,
               amount=dollars(sum(r.amount_cents for r in refunds)), when=_when(appointments),
               book_url=mail.absolute_url("booking.book"))


def late_payment_confirmed(payment: Payment, appointments: list[Appointment]) -> None:
    """The payment went through after the hold ended, and the place was still free: confirmed after all."""
    first = appointments[0]
    mail.queue(first.patient.email, "Payment received – your treatment is confirmed after all",
               "payment_late_confirmed", dedupe_key=f"late-confirmed-{payment.id}", name=first.patient.name,
               amount=dollars(payment.amount_cents), when=_when(appointments), count=len(appointments),
               account_url=mail.absolute_url("booking.account"))


def _when(appointments: list[Appointment]) -> str:
    return "; ".join(local_datetime(a.starts_at) for a in sorted(appointments, key=lambda a: a.starts_at))


def superbill_ready(superbill, patient) -> None:
    """Every superbill issued (batch, single or a replacement): a link to the account page; the PDF stays behind login."""
    if not patient.email:
        return
    mail.queue(patient.email, "Your superbill is ready", "superbill_ready", dedupe_key=f"superbill-{superbill.id}",
               name=patient.name, number=superbill.number, first_day=formatting.numeric_date(superbill.first_day),
               last_day=formatting.numeric_date(superbill.last_day), account_url=mail.absolute_url("booking.account"))
