"""Private links: the manage link a guest gets with a booking, and a clinician's calendar feed."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from booking.models import Appointment
from clinic.extensions import db
from clinic.mail import absolute_url


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="manage-appointment")


def manage_token(appointment: Appointment) -> str:
    """Signed (id, nonce): rotating the nonce revokes every earlier link."""
    return _serializer().dumps([appointment.id, appointment.manage_nonce])


def manage_url(appointment: Appointment) -> str:
    return absolute_url("booking.manage", token=manage_token(appointment))


def appointment_from_token(token: str) -> Appointment | None:
    try:
        appointment_id, nonce = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    appointment = db.session.get(Appointment, appointment_id) if isinstance(appointment_id, int) else None
    return appointment if appointment is not None and appointment.manage_nonce == nonce else None


def _claim_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="claim-appointment")


def claim_url(appointment: Appointment) -> str | None:
    """The "this is me" link of a guest booking's confirmation (booking.claims); None once it is on an account."""
    if appointment.patient is None or appointment.patient.user_id is not None:
        return None
    return absolute_url("booking.claim", token=_claim_serializer().dumps([appointment.id, appointment.manage_nonce]))


def appointment_from_claim(token: str) -> Appointment | None:
    try:
        appointment_id, nonce = _claim_serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    appointment = db.session.get(Appointment, appointment_id) if isinstance(appointment_id, int) else None
    return appointment if appointment is not None and appointment.manage_nonce == nonce else None
