"""A guest booking joins a patient's account only when the owner of its email address says so.

A booking made without signing in is always a guest record of its own, whatever the address: so a stranger
who types someone's address learns nothing (same answer, never `patient_busy`) and touches nothing on their
record. Its confirmation email, sent to that address, carries a "this is me" link; signed in as the patient
with that address, its owner adds the booking to their account. Confirming the address when registering
does the same for every guest booking made with it."""
from __future__ import annotations

from sqlalchemy import func, select, update

from booking.models import Appointment
from clinic.accounts import patient_linked
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.models import Patient, User


def is_guest(patient: Patient) -> bool:
    return patient.user_id is None


def claimable(actor: User, appointment: Appointment) -> bool:
    """A guest booking made with the address of the signed-in patient's account."""
    mine, guest = actor.patient, appointment.patient
    return mine is not None and is_guest(guest) and guest.email.casefold() == mine.email.casefold()


def claim(actor: User, appointment: Appointment) -> None:
    """Add a guest booking to the signed-in patient whose confirmed address it was made with."""
    if not claimable(actor, appointment):
        raise NotFound("We could not find that booking. It may already be on your account.")
    appointment.patient_id = actor.patient.id
    appointment.sequence += 1
    db.session.flush()


@patient_linked.connect
def join_guest_bookings(patient: Patient, **_kwargs) -> int:
    """The address is confirmed: the guest bookings made with it move onto the account's record."""
    guests = select(Patient.id).where(func.lower(Patient.email) == patient.email.lower(), Patient.user_id.is_(None),
                                      Patient.id != patient.id)
    moved = db.session.execute(update(Appointment).where(Appointment.patient_id.in_(guests))
                               .values(patient_id=patient.id).execution_options(synchronize_session=False))
    return moved.rowcount
