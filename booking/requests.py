"""What a booking asks for, as plain data passed from the API and pages to the services."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking.models import Service
from clinic.models import Patient


@dataclass(frozen=True)
class Driver:
    name: str
    phone: str
    relationship: str


@dataclass
class BookingRequest:
    service: Service
    patient: Patient
    start: datetime
    mode: str | None = None
    notes: str | None = None
    driver: Driver | None = None
    protocol_code: str | None = None
    series_id: int | None = None
    override_reason: str | None = None
