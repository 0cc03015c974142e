"""Booking's part of `flask seed-demo`: services, chairs, clinicians, protocols and the US federal holidays
of the next eighteen months as closures (idempotent)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from booking import closures, protocols
from booking.models import Chair, Protocol, Route, Service
from clinic.accounts import find_user
from clinic.extensions import db
from clinic.models import Clinician
from clinic.settings import clinic_zone

# code, name, kind, route, duration, monitoring, clinician minutes, chair, price, driver, clearance, on duty
SERVICES = [
    ("consultation", "Free 15-minute consultation", "consultation", None, 15, 0, 15, False, 0, False, False, False),
    ("iv-ketamine", "IV ketamine infusion", "treatment", "iv", 50, 120, 15, True, 47500, True, True, False),
    ("im-ketamine", "Intramuscular ketamine", "treatment", "im", 15, 120, 15, True, 35000, True, True, False),
    ("esketamine-nasal", "Esketamine nasal spray (Spravato)", "treatment", "intranasal", 15, 120, 15, True, 60000,
     True, True, True),
    ("sublingual-ketamine", "Supervised sublingual ketamine", "treatment", "sublingual", 30, 120, 15, True, 25000,
     True, True, False),
    ("psychotherapy", "Integration psychotherapy (50 min)", "psychotherapy", None, 50, 0, 50, False, 17500,
     False, False, False),
]
CLINICIANS = [
    ("dr.rivera@clinic.test", "Dr. Maya Rivera", "MD", "1679576722", "MD-48213", "MA"),
    ("dr.chen@clinic.test", "Dr. Samuel Chen", "DO", "1437263159", "DO-22917", "MA"),
]
THERAPIST = ("Jordan Ellis", "LICSW", "1548397201", "LICSW-11873", "MA")
HOLIDAY_HORIZON = timedelta(days=549)  # about eighteen months
PROTOCOL_SERVICES = {"iv-induction": "iv-ketamine", "iv-maintenance": "iv-ketamine", "im-induction": "im-ketamine",
                     "esketamine": "esketamine-nasal"}


def seed(_sender, timezone: str) -> None:
    services = {code: _service(row) for row, code in ((r, r[0]) for r in SERVICES)}
    clinicians = [_clinician(*row) for row in CLINICIANS]
    therapist = _clinician(None, *THERAPIST)
    for code, service in services.items():
        if not service.clinicians:
            service.clinicians = [therapist] if code == "psychotherapy" else clinicians
    for number in (1, 2, 3):
        _chair(f"Chair {number}")
    for code, service_code in PROTOCOL_SERVICES.items():
        _protocol(code, services[service_code])
    today = datetime.now(clinic_zone()).date()
    closures.seed_federal_holidays(today, today + HOLIDAY_HORIZON)
    db.session.flush()


def _service(row) -> Service:
    code, name, kind, route, duration, monitoring, clinician_minutes, chair, price, driver, clearance, duty = row
    service = db.session.scalar(select(Service).where(Service.code == code))
    if service is None:
        service = Service(code=code, name=name, kind=kind, route=route, duration_minutes=duration,
                          monitoring_minutes=monitoring, clinician_minutes=clinician_minutes, needs_chair=chair,
                          price_cents=price, requires_driver=driver, requires_clearance=clearance,
                          clinician_on_duty_whole_window=duty, position=len(SERVICES),
                          modes=["phone", "video", "in_person"] if kind == "consultation" else None)
        db.session.add(service)
    return service


def _clinician(email, name, credentials, npi, licence, state) -> Clinician:
    user = find_user(email) if email else None
    clinician = db.session.scalar(select(Clinician).where(Clinician.npi == npi))
    if clinician is None:
        clinician = Clinician(user=user, name=name, credentials=credentials, npi=npi, license_number=licence,
                              license_state=state)
        db.session.add(clinician)
    return clinician


def _chair(name: str) -> None:
    if db.session.scalar(select(Chair).where(Chair.name == name)) is None:
        db.session.add(Chair(name=name))


def _protocol(code: str, service: Service) -> None:
    if db.session.scalar(select(Protocol).where(Protocol.code == code)) is None:
        rules = protocols.DEFAULT_PROTOCOLS[code]
        db.session.add(Protocol(code=code, name=rules.name, service=service, rules=rules.to_dict(),
                                needs_rems=service.route == Route.intranasal))
