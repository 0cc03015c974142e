"""Plain JSON shapes of booking records for the API (times in the clinic's zone, with its offset)."""
from __future__ import annotations

from datetime import datetime, timedelta

from booking import slots
from booking.links import manage_url
from booking.models import Appointment, Service, ServiceKind
from clinic.settings import clinic_zone, local_iso  # noqa: F401  (local_iso: callers read it here)


class LocalTimes:
    """ISO times in the clinic's zone for instants in microseconds since the epoch (booking.slots.micros), each
    formatted once: a month of availability is thousands of them, mostly ascending, on whole minutes and within
    one UTC offset, so most are a day's date, a clock time from a table and the offset, put together."""

    def __init__(self, zone):
        self.zone, self.cache, self.days = zone, {}, {}
        self.low = self.high = self.offset = 0
        self.suffix = ""

    def __call__(self, us: int) -> str:
        text = self.cache.get(us)
        if text is None:
            text = self.cache[us] = self._format(us)
        return text

    def _format(self, us: int) -> str:
        if not self.low <= us < self.high and not self._learn_offset(us):
            return slots.instant(us).astimezone(self.zone).isoformat()
        local = us + self.offset
        day, rest = divmod(local, _DAY)
        minute, odd = divmod(rest, _MINUTE)
        if odd:  # seconds or microseconds: the rare start at the end of a DST gap
            return (_NAIVE_EPOCH + timedelta(microseconds=local)).isoformat() + self.suffix
        return self._date(day) + _CLOCK[minute] + self.suffix

    def _date(self, day: int) -> str:
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = (_NAIVE_EPOCH + timedelta(days=day)).date().isoformat() + "T"
        return text

    def _learn_offset(self, us: int) -> bool:
        # An offset that holds now and twelve hours later holds in between: no zone changes its offset twice
        # within twelve hours. Across a change, each instant goes through the zone itself.
        here, later = slots.instant(us).astimezone(self.zone), slots.instant(us + _HALF_DAY).astimezone(self.zone)
        if here.utcoffset() != later.utcoffset():
            return False
        self.low, self.high, self.offset = us, us + _HALF_DAY, here.utcoffset() // timedelta(microseconds=1)
        self.suffix = here.isoformat()[len(here.replace(tzinfo=None).isoformat()):]
        return True


_NAIVE_EPOCH = datetime(1970, 1, 1)
_MINUTE = 60 * 1_000_000
_HALF_DAY = 12 * 60 * _MINUTE
_DAY = 2 * _HALF_DAY
_CLOCK = [f"{hour:02d}:{minute:02d}:00" for hour in range(24) for minute in range(60)]


def service_json(service: Service) -> dict:
    return {"code": service.code, "name": service.name,
            "kind": "consultation" if service.kind == ServiceKind.consultation
            else "treatment" if service.kind == ServiceKind.treatment else service.kind,
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
