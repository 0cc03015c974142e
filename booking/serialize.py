"""Plain JSON shapes of booking records for the API (times in the clinic's zone, with its offset)."""
from __future__ import annotations

from datetime import datetime

from booking.links import manage_url
from booking.models import Appointment, Service
from clinic.settings import clinic_zone


def local_iso(instant: datetime | None) -> str | None:
    return instant.astimezone(clinic_zone()).isoformat() if instant is not None else None


def service_json(service: Service) -> dict:
    return {"code": service.code, "name": service.name,
            "kind": "consultation" if service.kind == "consultation" else "treatment" if service.kind == "treatment"
            else service.kind,
            "route": service.route, "duration_minutes": service.duration_minutes,
            "monitoring_minutes": service.monitoring_minutes, "price_cents": service.price_cents,
            "currency": service.currency, "requires_driver": service.requires_driver,
            "requires_clearance": service.requires_clearance, "modes": service.modes or []}


def appointment_json(appointment: Appointment, *, reveal_patient: bool = True) -> dict:
    driver = None
    if appointment.driver_name:
        driver = {"name": appointment.driver_name, "phone": appointment.driver_phone,
                  "relationship": appointment.driver_relationship}
    return {"id": appointment.id, "service": appointment.service.code, "start": local_iso(appointment.starts_at),
            "end": local_iso(appointment.ends_at), "status": appointment.status,
            "patient_id": appointment.patient_id if reveal_patient else None,
            "provider_id": appointment.clinician_id, "chair_id": appointment.chair_id,
            "amount_due_cents": appointment.amount_due_cents, "currency": appointment.currency,
            "hold_expires_at": local_iso(appointment.hold_expires_at), "driver": driver,
            "manage_url": manage_url(appointment), "mode": appointment.mode, "protocol": appointment.protocol_code,
            "series_id": appointment.series_id}
