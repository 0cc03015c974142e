"""The treatment path's rules at booking time: clearance, the designated driver and protocol spacing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select

from booking import protocols, states
from booking.errors import ClearanceRequired
from booking.models import Appointment, AppointmentStatus as S, Protocol, Service, ServiceKind
from booking.requests import BookingRequest
from clinic.database import utcnow
from clinic.errors import Forbidden, ValidationError
from clinic.extensions import db
from clinic.models import Patient, Role, User
from clinic.settings import clinic_zone
from clinical.models import Clearance
from clinical.services import current_clearance



def check_booking(actor: User | None, request: BookingRequest, start: datetime, now: datetime,
                  ignore: int | None = None, seen: History | None = None,
                  options: ProtocolOptions | None = None) -> None:
    """Refuse a treatment that lacks clearance, a driver, or breaks its protocol; sets request.protocol_code.
    `ignore` is the appointment being moved. One treatment a day holds always; a clinician may override the
    protocol's spacing with a reason (kept on the appointment). `seen` and `options`, when given, are the
    patient's history and protocol choices already read (a series checks all its sessions on one read)."""
    if request.service.kind != ServiceKind.treatment:
        return
    seen = seen or history(request.patient, now)  # read once: the course, one a day and spacing all ask it
    protocol = protocol_for(request.patient, request.service, request.protocol_code, now, seen=seen, options=options)
    if request.service.requires_driver and request.driver is None:
        message = "Every treatment needs a designated driver to take you home. Please add their details."
        raise ValidationError(message, code="driver_required", fields={"driver": message})
    request.protocol_code = protocol.code
    check_one_a_day(request.patient, start, ignore, seen=seen)
    if not may_override_spacing(actor, request.override_reason):
        check_spacing(request.patient, protocol, start, now, ignore=ignore, seen=seen)


def may_override_spacing(actor: User | None, reason: str | None) -> bool:
    """Only a clinician overrides protocol spacing, and only with a reason; other staff asking are refused."""
    if not reason or actor is None or not actor.is_staff:
        return False
    if actor.role != Role.clinician.value:
        raise Forbidden("Only a clinician can override protocol spacing.", code="override_not_allowed",
                        fields={"override_reason": "only a clinician can override spacing"})
    return True


@dataclass(frozen=True)
class ProtocolOptions:
    """The patient's current clearance and the service's active protocols: what choosing a protocol reads."""
    clearance: Clearance | None
    candidates: tuple[Protocol, ...]


def protocol_options(patient: Patient, service: Service,
                     candidates: tuple[Protocol, ...] | None = None) -> ProtocolOptions:
    """`candidates`: the service's active protocols by id, when the caller has read them already."""
    clearance = current_clearance(patient) if patient.id is not None else None
    if candidates is None:
        candidates = tuple(db.session.scalars(
            select(Protocol).where(Protocol.service_id == service.id, Protocol.active).order_by(Protocol.id)))
    return ProtocolOptions(clearance, candidates)


def protocol_for(patient: Patient, service: Service, code: str | None, now: datetime,
                 seen: History | None = None, options: ProtocolOptions | None = None) -> Protocol:
    """The protocol this treatment is booked under: the one asked for, else the patient's cleared protocol for
    this service (induction until its course is booked, then maintenance)."""
    options = options or protocol_options(patient, service)
    clearance = options.clearance
    cleared = set(clearance.protocols) if clearance is not None and clearance.cleared else set()
    allowed = [p for p in options.candidates if p.code in cleared and (code is None or p.code == code)]
    if not allowed:
        raise ClearanceRequired("A clinician needs to clear you for this treatment before it can be booked. "
                                "Please book a free consultation first.")
    protocol = _next_in_course(seen or history(patient, now), allowed)
    if protocol.needs_rems and clearance.rems_enrollment_date is None:
        raise ValidationError(f"{protocol.name} can only be booked once your REMS enrollment date is on file. "
                              "Please ask the clinic to record it.", code="rems_enrollment_required")
    return protocol


def _next_in_course(seen: History, allowed: list[Protocol]) -> Protocol:
    for protocol in allowed:
        rules = protocols.ProtocolRules.from_dict(protocol.rules)
        if rules.max_treatments is None or len(seen.dates(protocol.code)) < rules.max_treatments:
            return protocol
    return allowed[-1]


@dataclass(frozen=True)
class History:
    """A patient's treatments that still count (confirmed, held, completed) as (appointment id, local date,
    protocol code), read in one query, so that one booking's rules (the course, one a day, spacing) ask it
    their questions without reading the calendar again each."""
    visits: tuple[tuple[int, date, str | None], ...]
    #: (start, end) of the patient's visits of every service that hold a place (held or confirmed), read in the same
    #: query: what a booking must not overlap.
    live_spans: tuple[tuple[datetime, datetime], ...] = ()

    def dates(self, *codes: str, ignore: int | None = None) -> list[date]:
        """Their dates, of the protocols given (all when none), leaving out the appointment `ignore`."""
        return sorted(day for id_, day, code in self.visits if id_ != ignore and (not codes or code in codes))

    def plus(self, day: date, code: str | None) -> History:
        """This history with one more treatment not yet written (an earlier session of the same series)."""
        return History((*self.visits, (-1, day, code)), self.live_spans)


def history(patient: Patient, now: datetime | None = None) -> History:
    """The patient's treatments that count; a hold whose time ran out is not one of them, whether or not
    `expire_holds` has tidied it yet (its place is free, and the patient may hold those days again)."""
    if patient.id is None:
        return History(())
    query = (select(Appointment.id, Appointment.starts_at, Appointment.ends_at, Appointment.status,
                    Appointment.protocol_code, Service.kind).join(Service)
             .where(Appointment.patient_id == patient.id, Appointment.status.in_(states.live(completed=True)),
                    or_(Appointment.status != S.pending_payment.value, Appointment.hold_expires_at > (now or utcnow()))))
    zone, live = clinic_zone(), set(states.live())
    rows = db.session.execute(query).all()
    return History(tuple((row.id, row.starts_at.astimezone(zone).date(), row.protocol_code) for row in rows
                         if row.kind == ServiceKind.treatment.value),
                   tuple((row.starts_at, row.ends_at) for row in rows if row.status in live))


def treatment_dates(patient: Patient, protocol_code: str | None = None, ignore: int | None = None) -> list[date]:
    """Local dates of the patient's treatments that still count (confirmed, held, completed)."""
    found = history(patient)
    return found.dates(protocol_code, ignore=ignore) if protocol_code is not None else found.dates(ignore=ignore)


def spacing_dates(patient: Patient, protocol: Protocol, rules: protocols.ProtocolRules,
                  ignore: int | None = None, seen: History | None = None) -> list[date]:
    """The treatments a protocol's spacing is checked against: its own; an open-ended protocol (maintenance) also
    counts the course before it on the same service, so maintenance starts at its spacing after the last induction."""
    seen = seen or history(patient)
    if rules.max_treatments is not None:
        return seen.dates(protocol.code, ignore=ignore)
    codes = db.session.scalars(select(Protocol.code).where(Protocol.service_id == protocol.service_id)).all()
    return seen.dates(*codes, ignore=ignore)


def check_one_a_day(patient: Patient, start: datetime, ignore: int | None = None, seen: History | None = None) -> None:
    """Whatever the protocol and any override: at most one treatment a day."""
    day = start.astimezone(clinic_zone()).date()
    if patient.id is None or day not in (seen or history(patient)).dates(ignore=ignore):
        return
    message = "Only one treatment a day is allowed, and you already have one that day. Please choose another date."
    raise ValidationError(message, code="spacing_violation", fields={"start": message})


def check_spacing(patient: Patient, protocol: Protocol, start: datetime, now: datetime, ignore: int | None = None,
                  seen: History | None = None) -> None:
    day = start.astimezone(clinic_zone()).date()
    rules = protocols.ProtocolRules.from_dict(protocol.rules)
    violation = protocols.check(rules, spacing_dates(patient, protocol, rules, ignore, seen), day)
    if violation is not None:
        raise ValidationError(violation.message, code="spacing_violation", fields={"start": violation.message})


def spacing_filter(patient: Patient, service: Service, now: datetime):
    """For availability with a patient's token: a callable that keeps only starts their protocol allows,
    or None when no protocol applies (no clearance means no treatment starts at all)."""
    try:
        protocol = protocol_for(patient, service, None, now)
    except (ClearanceRequired, ValidationError):
        return lambda _start: False
    rules = protocols.ProtocolRules.from_dict(protocol.rules)
    seen = history(patient, now)
    same, every = spacing_dates(patient, protocol, rules, seen=seen), set(seen.dates())
    zone = clinic_zone()
    cache: dict[date, bool] = {}

    def allowed(start: datetime) -> bool:
        day = start.astimezone(zone).date()
        if day not in cache:
            cache[day] = day not in every and protocols.check(rules, same, day) is None
        return cache[day]
    return allowed


def complete(actor: User, appointment: Appointment, *, dose_mg: int | None, notes: str | None,
             released_to_driver: bool, now: datetime | None = None) -> None:
    """Record the session and the discharge; a treatment stays open until released to its designated driver."""
    now = now or utcnow()
    if appointment.starts_at > now:
        raise ValidationError("An appointment can be completed only once it has started.", code="not_started")
    if appointment.service.kind == ServiceKind.treatment and not released_to_driver:
        message = "Confirm that the patient was released to their designated driver before completing the treatment."
        raise ValidationError(message, code="driver_required", fields={"released_to_driver": message})
    states.move(appointment, S.completed)
    appointment.completed_at, appointment.dose_mg = now, dose_mg
    appointment.completion_notes, appointment.released_to_driver = notes, released_to_driver


def change_driver(actor: User, appointment: Appointment, driver, now: datetime | None = None) -> None:
    """Patients change their designated driver until the day before; staff may also on the day itself."""
    now = now or utcnow()
    states.require_movable(appointment)
    today = now.astimezone(clinic_zone()).date()
    day = appointment.starts_at.astimezone(clinic_zone()).date()
    if day < today or (day == today and not actor.is_staff):
        message = "The driver can be changed online until the day before. Please call the clinic."
        raise ValidationError(message, code="too_late", fields={"driver": message})
    appointment.driver_name, appointment.driver_phone = driver.name, driver.phone
    appointment.driver_relationship = driver.relationship
    appointment.sequence += 1
