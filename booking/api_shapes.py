"""What booking's API takes and gives (clinic.shapes declarations; clinic.openapi documents them). Checks that
need the acting user or the database (which services exist, whose record, the protocol's rules) stay in the
services; these say what a well-formed request and answer are."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import Field

from booking import series
from booking.models import AppointmentStatus, Route, ServiceKind
from booking.queries import MODES
from clinic import jsonin, shapes
from clinic.errors import ValidationError

UNKNOWN_SERVICE = "Please choose one of the clinic's services."


def _service_code(data: dict, field: str) -> str:
    code = jsonin.text(data, field, required=False, max_len=50)
    if code is None:
        raise ValidationError(UNKNOWN_SERVICE, code="unknown_service", fields={field: UNKNOWN_SERVICE})
    return code


def _mode(data: dict, field: str) -> str | None:
    """How a consultation is held; empty means the default (by phone). Which modes a service offers is the
    service's to say (booking.queries.mode_for)."""
    value = data.get(field)
    if value in (None, ""):
        return None
    if value not in MODES:
        message = "Choose phone, video or in person."
        raise ValidationError(message, code="invalid", fields={field: message})
    return value


SERVICE_CODE = shapes.Reads(_service_code, {"type": "string", "maxLength": 50})
MODE = shapes.Reads(_mode, {"type": "string", "enum": list(MODES), "nullable": True})
PREFERRED_TIME = shapes.Reads(lambda data, field: series.parse_time(data.get(field)),
                              {"type": "string", "pattern": r"^\d{2}:\d{2}$", "example": "09:00", "nullable": True})
WEEKDAYS = shapes.Reads(lambda data, field: series.parse_weekdays(data.get(field)),
                        {"type": "array", "items": {"type": "string", "example": "mon"}, "nullable": True})
OVERRIDE_REASON = shapes.text(required=False, max_len=500, multiline=True)
PATIENT_ID = shapes.integer("patient", minimum=1)


# --- requests -------------------------------------------------------------------------------------------------------

class DriverDetails(shapes.Shape):
    """The designated driver who takes the patient home after a treatment."""
    refusal = ("driver_required", "Please give the designated driver's name, phone and relationship.")
    name: Annotated[str, shapes.person_name("driver's name")]
    phone: Annotated[str, shapes.phone("driver's phone number")]
    relationship: Annotated[str, shapes.text("driver's relationship to you", max_len=100)]


class GuestDetails(shapes.Shape):
    """Who is booking, when a guest books a consultation without an account."""
    refusal = ("invalid", "Please tell us your name, email and phone number.")
    name: Annotated[str, shapes.person_name()]
    email: Annotated[str, shapes.email()]
    phone: Annotated[str, shapes.phone()]
    date_of_birth: Annotated[date | None, shapes.birth_date()] = None


class AppointmentRequest(shapes.Shape):
    service: Annotated[str, SERVICE_CODE]
    start: Annotated[datetime, shapes.instant()]
    mode: Annotated[str | None, MODE] = None
    patient: GuestDetails | None = None
    patient_id: Annotated[int | None, PATIENT_ID] = None
    driver: DriverDetails | None = None
    protocol: Annotated[str | None, shapes.text(required=False, max_len=50)] = None
    notes: Annotated[str | None, shapes.text(required=False, max_len=2000, multiline=True)] = None
    override_reason: Annotated[str | None, OVERRIDE_REASON] = None


class RescheduleRequest(shapes.Shape):
    start: Annotated[datetime, shapes.instant()]
    override_reason: Annotated[str | None, OVERRIDE_REASON] = None


class DriverChange(shapes.Shape):
    driver: DriverDetails


class CompletionRecord(shapes.Shape):
    dose_mg: Annotated[int | None, shapes.integer("dose (mg)", maximum=1000)] = None
    notes: Annotated[str | None, shapes.text(required=False, max_len=4000, multiline=True)] = None
    released_to_driver: Annotated[bool, shapes.boolean()] = False


class SeriesRequest(shapes.Shape):
    protocol: Annotated[str, shapes.text("protocol", max_len=50)]
    first_date: Annotated[date, shapes.day("first date")]
    preferred_time: Annotated[time | None, PREFERRED_TIME] = None
    weekdays: Annotated[set[int] | None, WEEKDAYS] = None
    patient_id: Annotated[int | None, PATIENT_ID] = None
    driver: DriverDetails


class AvailabilityQuery(shapes.Shape):
    service: Annotated[str, SERVICE_CODE]
    first: Annotated[date, shapes.day("first date")] = Field(alias="from")
    last: Annotated[date | None, shapes.day("last date", required=False)] = Field(None, alias="to")


class AppointmentsQuery(shapes.Shape):
    first: Annotated[date | None, shapes.day("first date", required=False)] = Field(None, alias="from")
    last: Annotated[date | None, shapes.day("last date", required=False)] = Field(None, alias="to")


# --- answers --------------------------------------------------------------------------------------------------------

class Service(shapes.Answer):
    code: str
    name: str
    kind: ServiceKind
    route: Route | None
    duration_minutes: int
    monitoring_minutes: int
    price_cents: int
    currency: str
    requires_driver: bool
    requires_clearance: bool
    modes: list[str]


class Services(shapes.Answer):
    """services"""
    services: list[Service]


class Slot(shapes.Answer):
    start: datetime
    end: datetime
    available: int


class Availability(shapes.Answer):
    """slots"""
    service: str
    timezone: str
    slots: list[Slot]


class Driver(shapes.Answer):
    name: str
    phone: str
    relationship: str


class Appointment(shapes.Answer):
    id: int
    service: str
    start: datetime
    end: datetime
    status: AppointmentStatus
    patient_id: int | None
    provider_id: int
    chair_id: int | None
    amount_due_cents: int
    currency: str
    hold_expires_at: datetime | None
    driver: Driver | None
    manage_url: str
    mode: str | None
    protocol: str | None
    series_id: int | None


class AppointmentAnswer(shapes.Answer):
    """the appointment"""
    appointment: Appointment


class Appointments(shapes.Answer):
    """appointments"""
    appointments: list[Appointment]


class RefundDue(shapes.Answer):
    amount_cents: int
    status: str


class Cancelled(shapes.Answer):
    """cancelled (the refund follows the cancellation policy)"""
    appointment: Appointment
    refund: RefundDue | None


class IntegrationWindow(shapes.Answer):
    from_: datetime = Field(alias="from")
    to: datetime


class BookingRequestTemplate(shapes.Answer):
    method: Literal["POST"]
    path: str
    body: dict[str, Any]


class IntegrationSlot(shapes.Answer):
    start: datetime
    end: datetime
    available: int
    book: BookingRequestTemplate


class BookedIntegration(shapes.Answer):
    id: int
    start: datetime
    status: str


class IntegrationSlots(shapes.Answer):
    """psychotherapy starts 24 to 48 hours after the treatment, each with the request that books it"""
    appointment_id: int
    service: str
    window: IntegrationWindow
    slots: list[IntegrationSlot]
    booked: list[BookedIntegration]
