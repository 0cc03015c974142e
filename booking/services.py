"""Booking services: book, reschedule, cancel, check in, no-show, expire holds.

Each takes the acting user explicitly, flushes, never commits, and raises domain errors with a
sentence a patient understands. No double booking, whatever the timing: the resources a service
can use are locked in a fixed order (PostgreSQL advisory locks; SQLite's BEGIN IMMEDIATE already
serialises writers), the calendar is re-read under the lock, and the database itself refuses an
overlapping reservation (exclusion constraint / trigger) as the last word.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta, timezone

from blinker import Namespace
from sqlalchemy import bindparam, insert, literal_column, select, text, union_all
from sqlalchemy.exc import IntegrityError

from booking import notifications, schedule, slots, states, treatments
from booking.requests import BookingRequest, Driver
from booking.errors import SlotTaken, StartRefused
from booking.models import (HOLDS, Appointment, AppointmentStatus as S, Chair, Reservation, Service, ServiceKind,
                            service_clinicians)
from clinic.database import utcnow
from clinic.errors import Conflict, Forbidden, ValidationError
from clinic.extensions import db
from clinic.models import Patient, Role, User
from clinic.settings import clinic_settings, clinic_zone

signals = Namespace()
#: Sent after an appointment is cancelled (sender: the appointment; `actor`, `now`). Billing connects to
#: refund by the cancellation policy and returns {"amount_cents", "status"} or None.
appointment_cancelled = signals.signal("appointment-cancelled")
#: Sent after a treatment is booked (sender: the appointment); used to offer integration therapy.
appointment_booked = signals.signal("appointment-booked")
#: Sent once a whole series is booked (sender: its appointments, in order; `actor`), after `appointment_booked`
#: for each: billing confirms the sessions its prepaid package covers, reading the package once for all of them.
series_booked = signals.signal("series-booked")
#: Sent after an appointment moves (sender: the appointment; `actor`): billing gives a new Good Faith Estimate.
appointment_rescheduled = signals.signal("appointment-rescheduled")

START_MESSAGES = {
    "in_the_past": "That time has already passed. Please choose a time in the future.",
    "too_soon": "That time is too soon to book online. Please choose a time at least {notice} from now.",
    "too_far": "We only take bookings up to {horizon} days ahead. Please choose an earlier date.",
    "outside_hours": "The clinic is not open for this at that time. Please choose one of the times offered.",
    "off_grid": "Appointments start on the quarter hour. Please choose one of the times offered.",
}


def book(actor: User | None, request: BookingRequest, now: datetime | None = None, *, notify: bool = True) -> Appointment:
    """Book one appointment: refused with a clear reason, or held/confirmed with its resources reserved."""
    now = now or utcnow()
    start = request.start.astimezone(timezone.utc)
    calendar = check_rules(actor, request, start, now)
    appointment = _new_appointment(actor, request, start, calendar.need, now)
    _reserve(appointment, calendar, start)
    if notify:
        notifications.booked(appointment)
    appointment_booked.send(appointment, actor=actor)
    return appointment


def book_many(actor: User | None, requests: list[BookingRequest], now: datetime, *,
              seen: treatments.History | None = None, options: treatments.ProtocolOptions | None = None,
              calendar: schedule.Calendar | None = None) -> list[Appointment]:
    """Book several appointments of one patient for one service together (a series), all or nothing, under the
    same rules as `book`: the locks taken, holds tidied, the calendar, the patient's history and their other visits
    each read once for all of them instead of once per appointment, and every row written in one flush. `seen`,
    `options` and `calendar` are the patient's history and protocol choices and the calendar, when the caller read
    them under these locks (a series plans on the calendar it books on)."""
    first = requests[0]
    starts = [request.start.astimezone(timezone.utc) for request in requests]
    require_may_book(actor, first.patient)
    lock(first.service, first.patient)
    expire_holds(now)  # the calendar read under the locks leaves out holds that ran out already
    if calendar is None or not calendar.covers(*_days_around(min(starts), max(starts))):
        calendar = _calendar_for(first.service, min(starts), now, until=max(starts))
    for start in starts:
        refuse_bad_start(start, calendar, now)
    seen = _check_treatments(actor, requests, starts, now, seen, options)
    _refuse_patient_overlaps(first.patient, [(start, start + calendar.need.length) for start in starts],
                             seen.live_spans if seen is not None else None)
    appointments = [_new_appointment(actor, request, start, calendar.need, now)
                    for request, start in zip(requests, starts)]
    _write(appointments, [row for appointment, start in zip(appointments, starts)
                          for row in _choose_resources(appointment, calendar, start)])
    for appointment in appointments:
        appointment_booked.send(appointment, actor=actor)
    series_booked.send(appointments, actor=actor)
    return appointments


def _check_treatments(actor: User | None, requests: list[BookingRequest], starts: list[datetime], now: datetime,
                      seen: treatments.History | None,
                      options: treatments.ProtocolOptions | None) -> treatments.History | None:
    """The treatment rules for each request against the patient's history and the requests before it; returns
    the history read (None for a service that is not a treatment)."""
    first = requests[0]
    if first.service.kind != ServiceKind.treatment:
        return None
    seen = read = treatments.history(first.patient, now) if seen is None else seen
    options = treatments.protocol_options(first.patient, first.service) if options is None else options
    zone = clinic_zone()
    for request, start in zip(requests, starts):
        treatments.check_booking(actor, request, start, now, seen=seen, options=options)
        seen = seen.plus(start.astimezone(zone).date(), request.protocol_code)
    return read


def check_rules(actor: User | None, request: BookingRequest, start: datetime, now: datetime,
                ignore: int | None = None) -> schedule.Calendar:
    """Every rule that putting a patient in a slot keeps, the one check that booking, rescheduling and series
    share: who may book, the start (past, notice, horizon, hours, grid, closures), the treatment's rules
    (clearance, REMS, driver, spacing, one a day) and the patient's other visits. `ignore` is the appointment
    being moved. Returns the calendar re-read under the locks, for reserving."""
    require_may_book(actor, request.patient)
    lock(request.service, request.patient)
    expire_holds(now)
    calendar = _calendar_for(request.service, start, now, ignore)  # read once, under the locks
    refuse_bad_start(start, calendar, now)
    treatments.check_booking(actor, request, start, now, ignore=ignore)
    _refuse_patient_overlap(request.patient, start, start + calendar.need.length, ignore)
    return calendar


#: Staff who book for a patient: the front desk and clinicians, and administrators (who may do every other
#: staff-only scheduling action: check-in, no-show, cancel). Billing staff handle money, not the calendar.
BOOKING_STAFF = frozenset({Role.clinician.value, Role.frontdesk.value, Role.admin.value})


def require_may_book(actor: User | None, patient: Patient | None) -> None:
    """A guest books for themselves, a patient only for themselves, staff only in a booking role."""
    if actor is None:
        return
    if actor.role == Role.patient.value:
        if actor.patient is None or (patient is not None and patient.id not in (None, actor.patient.id)):
            raise Forbidden("You can only book appointments for yourself.")
        return
    if actor.role not in BOOKING_STAFF:
        raise Forbidden("Your account cannot book appointments. Please ask the front desk or a clinician.",
                        code="booking_not_allowed")


def _calendar_for(service: Service, start: datetime, now: datetime, ignore: int | None = None,
                  until: datetime | None = None) -> schedule.Calendar:
    """The calendar around `start` (to `until`, when given), a day either side for windows crossing midnight."""
    return schedule.load(service, *_days_around(start, until or start), now, ignore_appointment_id=ignore)


def _days_around(start: datetime, until: datetime) -> tuple[date, date]:
    return schedule.local_days(start - timedelta(days=1), until + timedelta(days=1))


def refuse_bad_start(start: datetime, calendar: schedule.Calendar, now: datetime) -> None:
    settings = clinic_settings()
    problem = slots.check_start(start, calendar.opening, calendar.need, now,
                                timedelta(minutes=settings.min_notice_minutes), timedelta(days=settings.horizon_days))
    if problem:
        notice = f"{settings.min_notice_minutes // 60} hours" if settings.min_notice_minutes >= 60 else \
            f"{settings.min_notice_minutes} minutes"
        message = START_MESSAGES[problem].format(notice=notice, horizon=settings.horizon_days)
        raise StartRefused(message, code=problem, fields={"start": message})


#: Which (service, patient) locks this transaction took, with the transaction: advisory transaction locks last until
#: it ends, so within it locking the same again needs no round trip (a series locks before it plans, then books).
LOCKS_KEY = "booking.locks"


# What lock() locks besides the patient, read in one query: (1, clinician id) for each of the service's clinicians
# and, for a service that needs one, (2, chair id) for every chair. Built once, as availability's busy-time query is.
_CLINICIAN_KEYS = select(literal_column("1"), service_clinicians.c.clinician_id).where(
    service_clinicians.c.service_id == bindparam("service"))
_CLINICIAN_AND_CHAIR_KEYS = union_all(_CLINICIAN_KEYS, select(literal_column("2"), Chair.id))


def lock(service: Service, patient: Patient | None) -> None:
    """Take the transaction locks for a patient and every resource the service may use, in one fixed order
    (patient, clinicians by id, chairs by id), so racing bookings queue instead of deadlocking."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    session, patient_id = db.session(), patient.id if patient is not None else None
    held = session.info.get(LOCKS_KEY)
    if held is not None and held[0] is session.get_transaction() and (service.id, patient_id) in held[1]:
        return
    keys = [(3, patient_id)] if patient_id is not None else []
    query = _CLINICIAN_AND_CHAIR_KEYS if service.needs_chair else _CLINICIAN_KEYS
    keys += sorted((namespace, key) for namespace, key in db.session.execute(query, {"service": service.id}))
    if keys:  # one statement: its calls run left to right, so the order holds with one round trip
        calls = ", ".join(f"pg_advisory_xact_lock(:n{i}, :k{i})" for i in range(len(keys)))
        db.session.execute(text(f"SELECT {calls}"), {name: value for i, (namespace, key) in enumerate(keys)
                                                      for name, value in ((f"n{i}", namespace), (f"k{i}", key))})
    if session.in_nested_transaction():
        return  # a savepoint rolled back releases what it locked: only the transaction's own locks are noted
    transaction = session.get_transaction()
    taken = held[1] if held is not None and held[0] is transaction else set()
    session.info[LOCKS_KEY] = (transaction, taken | {(service.id, patient_id)})


def _new_appointment(actor: User | None, request: BookingRequest, start: datetime, need: slots.Need,
                     now: datetime) -> Appointment:
    service = request.service
    held = service.price_cents > 0
    driver = request.driver
    return Appointment(
        service=service, patient=request.patient, starts_at=start, ends_at=start + need.length,
        status=(S.pending_payment if held else S.confirmed).value,
        hold_expires_at=now + timedelta(minutes=clinic_settings().hold_minutes) if held else None,
        mode=request.mode, notes=request.notes, amount_due_cents=service.price_cents, currency=service.currency,
        manage_nonce=secrets.token_hex(8), protocol_code=request.protocol_code, series_id=request.series_id,
        driver_name=driver.name if driver else None, driver_phone=driver.phone if driver else None,
        driver_relationship=driver.relationship if driver else None,
        spacing_override_reason=request.override_reason,
        spacing_override_by_id=actor.id if actor and request.override_reason else None,
        created_by_id=actor.id if actor else None,
    )


def _refuse_patient_overlap(patient: Patient, start: datetime, end: datetime, ignore: int | None = None) -> None:
    if patient.id is None:
        return
    query = select(Appointment.id).where(
        Appointment.patient_id == patient.id, Appointment.status.in_(states.live()),
        Appointment.starts_at < end, Appointment.ends_at > start)
    if ignore is not None:
        query = query.where(Appointment.id != ignore)
    if db.session.scalar(query.limit(1)) is not None:
        _patient_busy()


def _refuse_patient_overlaps(patient: Patient, spans: list[tuple[datetime, datetime]],
                             visits: tuple[tuple[datetime, datetime], ...] | None = None) -> None:
    """`_refuse_patient_overlap` for several spans, on one read of the patient's visits from the first to the last
    (or on `visits`, the patient's live visits when the caller read them under the locks)."""
    if patient.id is None:
        return
    if visits is None:
        visits = db.session.execute(select(Appointment.starts_at, Appointment.ends_at).where(
            Appointment.patient_id == patient.id, Appointment.status.in_(states.live()),
            Appointment.starts_at < max(end for _, end in spans),
            Appointment.ends_at > min(start for start, _ in spans))).all()
    if any(visit_start < end and visit_end > start for visit_start, visit_end in visits for start, end in spans):
        _patient_busy()


def _patient_busy() -> None:
    raise Conflict("You already have an appointment at that time.", code="patient_busy",
                   fields={"start": "you already have an appointment then"})


def _reserve(appointment: Appointment, calendar: schedule.Calendar, start: datetime, *, keep: bool = False) -> None:
    """Pick the first free clinician (and chair), or with keep=True its own when still free, and write the
    reservations; the database has the last word."""
    _write([appointment], _choose_resources(appointment, calendar, start, keep=keep))


def _choose_resources(appointment: Appointment, calendar: schedule.Calendar, start: datetime, *,
                      keep: bool = False) -> list[dict]:
    """Pick the resources and return the appointment's reservations to write, adding them to the calendar's busy
    time, so a later appointment chosen from the same calendar in the same request does not take them again."""
    board = calendar.board
    clinician_ids, chair_ids = board.free_ids(slots.micros(start))
    if not clinician_ids or (calendar.need.needs_chair and not chair_ids):
        raise SlotTaken()
    appointment.clinician_id = _pick(clinician_ids, appointment.clinician_id if keep else None)
    appointment.chair_id = _pick(chair_ids, appointment.chair_id if keep else None) if calendar.need.needs_chair \
        else None
    rows = _reservations(appointment, calendar.need, start)
    for row in rows:
        kind, resource_id = ("clinician", row["clinician_id"]) if row["clinician_id"] is not None \
            else ("chair", row["chair_id"])
        board.take(kind, resource_id, slots.micros(row["starts_at"]), slots.micros(row["ends_at"]))
    return rows


def _write(appointments: list[Appointment], reservations: list[dict]) -> None:
    """The appointments in one flush, then every reservation in one INSERT (a series' twelve rows in one statement
    rather than one each), in a savepoint: the database refusing an overlap means another request took the place
    first."""
    try:
        with db.session.begin_nested():
            db.session.add_all(appointments)
            db.session.flush()
            # The table, not the entity: the ORM's bulk insert would split rows by which columns are None. RETURNING
            # makes it one multi-row INSERT on both databases (psycopg would otherwise send one per row).
            table = Reservation.__table__
            db.session.execute(insert(table).returning(table.c.id),
                               [{**row, "appointment_id": row.pop("appointment").id} for row in reservations])
    except IntegrityError:
        raise SlotTaken()
    for appointment in appointments:  # written beside the ORM: read afresh when next asked for
        db.session.expire(appointment, ["reservations"])


def _pick(free_ids: list[int], own: int | None) -> int:
    return own if own in free_ids else free_ids[0]


def _reservations(appointment: Appointment, need: slots.Need, start: datetime) -> list[dict]:
    rows = [{"appointment": appointment, "clinician_id": appointment.clinician_id, "chair_id": None,
             "starts_at": start, "ends_at": start + need.clinician_length}]
    if appointment.chair_id is not None:
        rows.append({"appointment": appointment, "clinician_id": None, "chair_id": appointment.chair_id,
                     "starts_at": start, "ends_at": start + need.length})
    return rows


def reschedule(actor: User | None, appointment: Appointment, new_start: datetime, now: datetime | None = None,
               override_reason: str | None = None) -> Appointment:
    """Move an appointment to a new start under the same rules as booking; its old place is freed. A spacing
    override covered the appointment as booked: the new start keeps spacing again unless a clinician overrides
    it anew with a reason."""
    now = now or utcnow()
    states.require_movable(appointment)
    refuse_past_for_patient(actor, appointment, now)
    start = new_start.astimezone(timezone.utc)
    request = _request_for(appointment, start, override_reason)
    calendar = check_rules(actor, request, start, now, ignore=appointment.id)
    _release(appointment)
    appointment.starts_at, appointment.ends_at = start, start + calendar.need.length
    appointment.protocol_code = request.protocol_code
    appointment.spacing_override_reason = request.override_reason
    appointment.spacing_override_by_id = actor.id if actor is not None and request.override_reason else None
    appointment.sequence += 1
    appointment.reminder_sent_at = None
    _reserve(appointment, calendar, start)
    notifications.rescheduled(appointment)
    appointment_rescheduled.send(appointment, actor=actor)
    return appointment


def _request_for(appointment: Appointment, start: datetime, override_reason: str | None) -> BookingRequest:
    """The booking request an appointment would be made with at a new start."""
    driver = Driver(appointment.driver_name, appointment.driver_phone or "", appointment.driver_relationship or "") \
        if appointment.driver_name else None
    return BookingRequest(service=appointment.service, patient=appointment.patient, start=start, mode=appointment.mode,
                          notes=appointment.notes, driver=driver, protocol_code=appointment.protocol_code,
                          series_id=appointment.series_id, override_reason=override_reason)


def refuse_past_for_patient(actor: User | None, appointment: Appointment, now: datetime) -> None:
    """Once its time has come an appointment belongs to the clinic's record: a patient (or a manage link)
    cannot turn a missed visit into a cancellation; staff mark it missed, complete it or cancel it."""
    if actor is not None and actor.is_staff:
        return
    if appointment.starts_at <= now:
        raise ValidationError("This appointment's time has already come, so it can no longer be changed online. "
                              "Please call the clinic.", code="already_started")


def _release(appointment: Appointment) -> None:
    """Free the appointment's place, on every path (cancel, no-show, expiry, reschedule): its reservations stay,
    inactive, as the record of what it held; the overlap constraints ignore inactive rows."""
    for reservation in appointment.reservations:
        reservation.active = False
    db.session.flush()


def cancel(actor: User | None, appointment: Appointment, now: datetime | None = None, *, notify: bool = True) -> dict | None:
    """Cancel and free the place; returns the refund billing made under the cancellation policy, if any."""
    now = now or utcnow()
    if S(appointment.status) in states.MOVABLE:
        refuse_past_for_patient(actor, appointment, now)
    states.move(appointment, S.cancelled)
    appointment.cancelled_at = now
    appointment.sequence += 1
    _release(appointment)
    results = appointment_cancelled.send(appointment, actor=actor, now=now)
    refund = next((value for _receiver, value in results if value is not None), None)
    if notify:
        notifications.cancelled(appointment)
    return refund


# Holds whose time ran out, asked with the partial index's own condition (booking.models.HOLDS). Built once.
_EXPIRED_HOLDS = select(Appointment.id).where(HOLDS, Appointment.hold_expires_at <= bindparam("now"))


def expire_holds(now: datetime | None = None) -> int:
    """Cancel treatment holds whose time ran out, freeing their chairs. Readers already ignore an
    expired hold; this only tidies the rows, so nobody has to run anything for a place to free up."""
    now = now or utcnow()
    expired_ids = db.session.scalars(_EXPIRED_HOLDS, {"now": now}).all()  # almost always none: ids only
    expired = db.session.scalars(select(Appointment).where(Appointment.id.in_(expired_ids))).all() if expired_ids else []
    for appointment in expired:
        states.move(appointment, S.cancelled)
        appointment.cancelled_at = appointment.hold_expires_at  # when the hold ended, not when it was tidied
        appointment.sequence += 1
        _release(appointment)
    return len(expired)


def revive(appointment: Appointment, now: datetime | None = None) -> Appointment:
    """Confirm a hold whose time ran out after all (billing calls it when its payment went through late): its place
    is reserved again through the one rule check, under the same locks as a booking, keeping its own chair and
    clinician when they are still free. Refused (SlotTaken, a rule's error, TransitionRefused) otherwise, with
    nothing written that the caller's savepoint does not undo."""
    now = now or utcnow()
    if not states.may_move(appointment, S.confirmed):
        states.move(appointment, S.confirmed)  # raises, saying why
    start = appointment.starts_at
    calendar = check_rules(None, _request_for(appointment, start, None), start, now, ignore=appointment.id)
    _reserve(appointment, calendar, start, keep=True)
    states.move(appointment, S.confirmed)
    appointment.hold_expires_at = appointment.cancelled_at = None
    appointment.sequence += 1
    db.session.flush()
    return appointment


def check_in(actor: User, appointment: Appointment, now: datetime | None = None) -> None:
    if appointment.status != S.confirmed.value:
        raise ValidationError("Only a confirmed appointment can be checked in.", code="not_allowed_now")
    appointment.checked_in_at = now or utcnow()


def mark_no_show(actor: User, appointment: Appointment, now: datetime | None = None) -> None:
    now = now or utcnow()
    if appointment.starts_at > now:
        raise ValidationError("An appointment can be marked missed only once its time has come.", code="too_early")
    states.move(appointment, S.no_show)
    _release(appointment)
