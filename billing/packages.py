"""The prepaid induction package: bought once by card (a payment with no appointment), drawn down one credit per
series session booked while credits are left, a credit returned when its session is cancelled within the policy.

What is left is always counted (bought - used + returned), never stored. Services flush and never commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from billing import services, states
from billing.models import CreditKind, PackageCredit, PackagePurchase, Payment
from booking import states as booking_states
from booking.models import Appointment, AppointmentStatus as S
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import User
from clinic.settings import clinic_settings

SERVICE_CODE = "iv-ketamine"  # what the induction package's credits pay for


def start_purchase(actor: User) -> PackagePurchase:
    """A pending payment for one package at today's size and price, and the purchase it pays for."""
    settings = clinic_settings()
    payment = Payment(patient_id=actor.patient_id, amount_cents=settings.package_price_cents, currency="usd",
                      created_by_id=actor.id,
                      idempotency_key=services.next_key(f"pay-package-patient-{actor.patient_id}-attempt-"))
    purchase = PackagePurchase(patient_id=actor.patient_id, payment=payment, service_code=SERVICE_CODE,
                               sessions=settings.package_sessions, price_cents=settings.package_price_cents,
                               currency="usd")
    db.session.add_all([payment, purchase])
    db.session.flush()
    return purchase


def open_purchase_payments(patient_id: int) -> list[Payment]:
    """This patient's package payments whose outcome is not known yet (settled before buying again)."""
    return list(db.session.scalars(select(Payment).join(PackagePurchase).where(
        PackagePurchase.patient_id == patient_id,
        Payment.status.in_(states.unsettled_statuses()))))


@dataclass(frozen=True)
class Balance:
    purchase: PackagePurchase
    used: int
    returned: int

    @property
    def remaining(self) -> int:
        bought = self.purchase.sessions if states.is_paid(self.purchase.payment) else 0
        return bought - self.used + self.returned


def balances(patient_id: int | None = None) -> list[Balance]:
    """Each purchase (a patient's, or everyone's) with its credits used and returned, oldest first."""
    used = func.count(case((PackageCredit.kind == CreditKind.used.value, 1)))
    returned = func.count(case((PackageCredit.kind == CreditKind.returned.value, 1)))
    query = (select(PackagePurchase, used, returned).outerjoin(PackageCredit)
             .group_by(PackagePurchase.id).order_by(PackagePurchase.id))
    if patient_id is not None:
        query = query.where(PackagePurchase.patient_id == patient_id)
    return [Balance(purchase, u, r) for purchase, u, r in db.session.execute(query)]


@dataclass(frozen=True)
class Credits:
    bought: int  # credits of the packages paid for
    remaining: int


def credits(patient_id: int) -> Credits:
    found = balances(patient_id)
    bought = sum(b.purchase.sessions for b in found if states.is_paid(b.purchase.payment))
    return Credits(bought, sum(b.remaining for b in found))


def draw_for(appointment: Appointment) -> bool:
    """A series session held for payment is confirmed with a credit when the patient has one left."""
    if appointment.series_id is None or appointment.status != S.pending_payment.value \
            or appointment.service.code != SERVICE_CODE:
        return False
    balance = next((b for b in balances(appointment.patient_id) if b.remaining > 0), None)
    if balance is None:
        return False
    db.session.add(PackageCredit(purchase_id=balance.purchase.id, appointment_id=appointment.id,
                                 kind=CreditKind.used.value))
    booking_states.move(appointment, S.confirmed)
    appointment.hold_expires_at = None
    appointment.sequence += 1
    db.session.flush()
    return True


def used_credit(appointment: Appointment) -> PackageCredit | None:
    """The credit this session used and has not had back."""
    rows = list(db.session.scalars(select(PackageCredit).where(PackageCredit.appointment_id == appointment.id)))
    used = [r for r in rows if r.kind == CreditKind.used.value]
    return used[0] if used and not any(r.kind == CreditKind.returned.value for r in rows) else None


def return_if_within_policy(appointment: Appointment, now: datetime | None = None) -> bool:
    """Cancelled at least the full-refund notice ahead, the credit comes back; later (or a no-show) it is used."""
    credit = used_credit(appointment)
    hours = (appointment.starts_at - (now or utcnow())).total_seconds() / 3600
    if credit is None or hours < clinic_settings().full_refund_hours:
        return False
    db.session.add(PackageCredit(purchase_id=credit.purchase_id, appointment_id=appointment.id,
                                 kind=CreditKind.returned.value))
    db.session.flush()
    return True


def credit_policy(hours: int) -> str:
    return (f"This session is paid with a package credit: cancelling at least {hours} hours before returns the "
            f"credit to your package; later, the credit is used.")
