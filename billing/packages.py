"""The prepaid induction package: bought once by card (a payment with no appointment), drawn down one credit per
series session booked while credits are left, a credit returned when its session is cancelled within the policy.

What is left is always counted (bought - used + returned), never stored. Services flush and never commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from billing import states
from billing.keys import next_key
from billing.models import CreditKind, PackageCredit, PackagePurchase, Payment, Refund
from booking import states as booking_states, treatments as booking_treatments
from booking.models import Appointment, AppointmentStatus as S, Service
from clinic import formatting
from clinic.database import utcnow
from clinic.errors import DomainError, ValidationError
from clinic.extensions import db
from clinic.models import Patient, User
from clinic.settings import clinic_settings

SERVICE_CODE = "iv-ketamine"  # what the induction package's credits pay for


def may_buy(patient: Patient | None) -> bool:
    """A patient a clinician has cleared for the treatment the credits pay for (the page offers it to them)."""
    service = db.session.scalar(select(Service).where(Service.code == SERVICE_CODE))
    if patient is None or service is None:
        return False
    try:
        booking_treatments.protocol_for(patient, service, None, utcnow())
    except DomainError:
        return False
    return True


def start_purchase(actor: User) -> PackagePurchase:
    """A pending payment for one package at today's size and price, and the purchase it pays for."""
    settings = clinic_settings()
    payment = Payment(patient_id=actor.patient_id, amount_cents=settings.package_price_cents, currency="usd",
                      created_by_id=actor.id,
                      idempotency_key=next_key(f"pay-package-patient-{actor.patient_id}-attempt-"))
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
    refunded_cents: int = 0  # refunds of the package's payment that count (made, or not known yet)

    @property
    def bought(self) -> int:
        return self.purchase.sessions if states.is_paid(self.purchase.payment) else 0

    @property
    def taken_back(self) -> int:
        """Credits a refund of the package took back: the refunded value in whole credits, rounded down."""
        return min(self.bought, self.refunded_cents // credit_cents(self.purchase))

    @property
    def in_use(self) -> int:
        return self.used - self.returned

    @property
    def remaining(self) -> int:
        return self.bought - self.taken_back - self.in_use


def credit_cents(purchase: PackagePurchase) -> int:
    """What one credit is worth (the package price shared out, the cents left over going to the last credit)."""
    return purchase.price_cents // purchase.sessions


def balances(patient_id: int | None = None, payment_id: int | None = None) -> list[Balance]:
    """Each purchase (a patient's, one payment's, or everyone's) with its credits used and returned and what was
    refunded of it, oldest first."""
    used = func.count(case((PackageCredit.kind == CreditKind.used.value, 1)))
    returned = func.count(case((PackageCredit.kind == CreditKind.returned.value, 1)))
    refunded = (select(func.coalesce(func.sum(Refund.amount_cents), 0))
                .where(Refund.payment_id == PackagePurchase.payment_id,
                       Refund.status.in_(states.counting_refund_statuses())).scalar_subquery())
    query = (select(PackagePurchase, used, returned, refunded).outerjoin(PackageCredit)
             .group_by(PackagePurchase.id).order_by(PackagePurchase.id))
    if patient_id is not None:
        query = query.where(PackagePurchase.patient_id == patient_id)
    if payment_id is not None:
        query = query.where(PackagePurchase.payment_id == payment_id)
    return [Balance(purchase, u, r, cents) for purchase, u, r, cents in db.session.execute(query)]


def refuse_refund_of_used_credits(payment: Payment, refunded_after: int) -> None:
    """A refund of a package takes back its unused credits; one that would also pay back credits already used
    (the used ones are worth a credit each, the unused the rest of the price) is refused."""
    balance = next(iter(balances(payment_id=payment.id)), None)
    if balance is None:
        return
    limit = balance.purchase.price_cents - balance.in_use * credit_cents(balance.purchase)
    if refunded_after <= limit:
        return
    most = formatting.money(max(0, limit - balance.refunded_cents))
    message = (f"{balance.in_use} of this package's {balance.purchase.sessions} credits are already used, so at most "
               f"{most} more can be refunded.")
    raise ValidationError(message, code="refund_covers_used_credits", fields={"amount_cents": message})


@dataclass(frozen=True)
class Credits:
    bought: int  # credits of the packages paid for
    remaining: int


def credits(patient_id: int) -> Credits:
    found = balances(patient_id)
    return Credits(sum(b.bought for b in found), sum(b.remaining for b in found))


def _lock_packages(patient_id: int) -> list[int]:
    """The patient's package payments, locked in id order: a refund taking credits back (which locks its payment)
    and a session drawing one are never counted at once. Returns their ids (none: the patient has no package)."""
    return list(db.session.scalars(select(Payment.id).join(PackagePurchase)
                                   .where(PackagePurchase.patient_id == patient_id)
                                   .order_by(Payment.id).with_for_update(of=Payment)))


def draw_for_series(appointments: list[Appointment]) -> int:
    """The sessions of a series held for payment are confirmed with credits, in order, while the patient has any
    left; the package payments are locked and counted once for the series. Returns how many were drawn."""
    held = [a for a in appointments if a.series_id is not None and a.status == S.pending_payment.value
            and a.service.code == SERVICE_CODE]
    if not held:
        return 0
    if not _lock_packages(held[0].patient_id):
        return 0  # no package: nothing to count (most patients)
    credits_left = (b.purchase for b in balances(held[0].patient_id) for _ in range(max(b.remaining, 0)))
    covered = list(zip(held, credits_left))  # oldest purchase first, as many sessions as it has credits
    for appointment, purchase in covered:
        db.session.add(PackageCredit(purchase_id=purchase.id, appointment_id=appointment.id, kind=CreditKind.used.value))
        booking_states.move(appointment, S.confirmed)
        appointment.hold_expires_at = None
        appointment.sequence += 1
    db.session.flush()
    return len(covered)


def used_credit(appointment: Appointment) -> PackageCredit | None:
    """The credit this session used and has not had back."""
    rows = list(db.session.scalars(select(PackageCredit).where(PackageCredit.appointment_id == appointment.id)))
    used = [r for r in rows if r.kind == CreditKind.used.value]
    return used[0] if used and not any(r.kind == CreditKind.returned.value for r in rows) else None


def return_if_within_policy(appointment: Appointment, now: datetime | None = None) -> bool:
    """Cancelled at least the full-refund notice ahead, the credit comes back; later (or a no-show) it is used."""
    credit = used_credit(appointment)
    if credit is None or not credit_comes_back(appointment, now):
        return False
    db.session.add(PackageCredit(purchase_id=credit.purchase_id, appointment_id=appointment.id,
                                 kind=CreditKind.returned.value))
    db.session.flush()
    return True


def credit_comes_back(appointment: Appointment, now: datetime | None = None) -> bool:
    """Cancelled now, at least the full-refund notice ahead, a session paid with a credit gets it back."""
    hours = (appointment.starts_at - (now or utcnow())).total_seconds() / 3600
    return hours >= clinic_settings().full_refund_hours


def credit_policy(hours: int) -> str:
    return (f"This session is paid with a package credit: cancelling at least {hours} hours before returns the "
            f"credit to your package; later, the credit is used.")
