"""Patients with a completed, paid visit in a month, written straight to the database (the demo clinic must be seeded):
what the month's superbill batch bills, made in bulk for its tests and its benchmark. Paying through Stripe is tested
elsewhere; here the rows are what a settled payment leaves."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from billing.models import Payment, PaymentAllocation, PaymentStatus
from booking.models import Appointment, AppointmentStatus, Service
from clinic.extensions import db
from clinic.models import Clinician, Patient
from clinic.settings import clinic_zone
from clinical.models import Clearance

SERVICE = "iv-ketamine"


def billable_patients(count: int, month_first_day: date, *, name: str = "Zoë Ñúñez-O'Brien", start: int = 1) -> list[int]:
    """`count` cleared patients, each with one completed IV treatment paid in full in the month; returns their ids."""
    service = db.session.scalar(select(Service).where(Service.code == SERVICE))
    clinician = db.session.scalar(select(Clinician).where(Clinician.npi.is_not(None)).order_by(Clinician.id))
    ids = []
    for n in range(start, start + count):
        patient = Patient(name=f"{name} {n}", email=f"batch-{n}@example.com", date_of_birth=date(1988, 7, 4),
                          address=f"{n} Rue d'Élan, Apt 2\nSpringfield, MA 01103")
        db.session.add(patient)
        db.session.flush()
        paid_visit(patient, month_first_day + timedelta(days=n % 27), n, service, clinician)
        ids.append(patient.id)
    db.session.commit()
    return ids


def paid_visit(patient: Patient, day: date, n: int, service: Service | None = None,
               clinician: Clinician | None = None) -> Appointment:
    """Clear the patient (F43.12) and give them a completed IV treatment on `day`, paid in full (not committed)."""
    service = service or db.session.scalar(select(Service).where(Service.code == SERVICE))
    clinician = clinician or db.session.scalar(select(Clinician).where(Clinician.npi.is_not(None)).order_by(Clinician.id))
    db.session.add(Clearance(patient_id=patient.id, clinician_id=clinician.id, decided_by_id=clinician.user_id,
                             cleared=True, protocols=["iv-induction"], diagnosis_codes=["F43.12"]))
    return _paid_visit(patient, service, clinician, day, n)


def _paid_visit(patient: Patient, service: Service, clinician: Clinician, day: date, n: int) -> Appointment:
    starts = datetime.combine(day, time(9), clinic_zone())
    visit = Appointment(service_id=service.id, patient_id=patient.id, clinician_id=clinician.id, starts_at=starts,
                        ends_at=starts + timedelta(minutes=service.duration_minutes),
                        status=AppointmentStatus.completed.value, amount_due_cents=service.price_cents,
                        manage_nonce=secrets.token_hex(16), completed_at=starts + timedelta(hours=2), dose_mg=35,
                        released_to_driver=True)
    db.session.add(visit)
    db.session.flush()
    payment = Payment(patient_id=patient.id, amount_cents=service.price_cents, currency="usd",
                      status=PaymentStatus.succeeded.value, stripe_payment_intent_id=f"pi_batch_{n}_{secrets.token_hex(4)}",
                      idempotency_key=f"batch-visit-{n}-{secrets.token_hex(4)}", settled_at=starts - timedelta(days=3))
    payment.allocations.append(PaymentAllocation(appointment_id=visit.id, amount_cents=service.price_cents))
    db.session.add(payment)
    return visit
