"""A demo clinic on a fresh database (a throwaway SQLite file, or a PostgreSQL database emptied first), with a
calendar full of bookings over the next month."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from booking import services
from booking.models import Service
from clinical.models import Clearance
from booking.requests import BookingRequest, Driver
from clinic import create_app
from clinic.errors import DomainError
from clinic.extensions import db
from clinic.models import Patient, User
from clinic.settings import clinic_zone

DRIVER = Driver(name="Robin Driver", phone="617 555 0123", relationship="partner")


def build(database_url: str) -> Flask:
    """Migrate an empty database and seed the demo clinic, as `flask db upgrade` and `flask seed-demo` do."""
    if database_url.startswith("postgresql"):
        _empty(database_url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "SMTP_HOST": None})
    with app.app_context():
        upgrade()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    return app


def _empty(database_url: str) -> None:
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def cleared_patients(app: Flask, count: int, label: str = "series") -> list[int]:
    """Patients cleared for the IV induction, with no treatment yet: one per series the bench books."""
    with app.app_context():
        clinician = db.session.scalar(select(User).where(User.email == "dr.rivera@clinic.test"))
        service = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        ids = [_patient(label, n, service, clinician).id for n in range(count)]
        db.session.commit()
        db.session.remove()
    return ids


def close(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def fill(app: Flask, first: date, days: int, consultations: int, treatments: int, seed: int = 7) -> dict[str, int]:
    """Book consultations and IV treatments at random free starts through the booking service; returns counts."""
    rng = random.Random(seed)
    booked = {"consultation": 0, "iv-ketamine": 0}
    with app.app_context():
        frontdesk = db.session.scalar(select(User).where(User.email == "frontdesk@clinic.test"))
        clinician = db.session.scalar(select(User).where(User.email == "dr.rivera@clinic.test"))
        for code, wanted in (("iv-ketamine", treatments), ("consultation", consultations)):
            service = db.session.scalar(select(Service).where(Service.code == code))
            for n in range(wanted * 3):  # a random start may be taken already: try again elsewhere
                if booked[code] == wanted:
                    break
                patient = _patient(code, n, service, clinician)
                booked[code] += _try_book(frontdesk, service, patient, _random_start(rng, first, days, service))
        db.session.remove()
    return booked


def _patient(code: str, n: int, service: Service, clinician: User) -> Patient:
    """A new patient per booking, so no patient's own overlap or protocol spacing gets in the way."""
    patient = Patient(name=f"Bench Patient {code} {n}", email=f"bench-{code}-{n}@example.com", phone="617 555 0199")
    db.session.add(patient)
    if service.kind == "treatment":
        db.session.add(Clearance(patient=patient, clinician_id=clinician.clinician.id, decided_by_id=clinician.id,
                                 cleared=True, protocols=["iv-induction"], diagnosis_codes=["F43.12"]))
    db.session.flush()
    return patient


def _random_start(rng: random.Random, first: date, days: int, service: Service) -> datetime:
    day = first + timedelta(days=rng.randrange(days))
    latest = 18 * 60 - service.window_minutes
    minutes = 8 * 60 + 15 * rng.randrange((latest - 8 * 60) // 15 + 1)
    return datetime.combine(day, time(minutes // 60, minutes % 60), clinic_zone())


def _try_book(actor: User, service: Service, patient: Patient, start: datetime) -> int:
    request = BookingRequest(service=service, patient=patient, start=start, mode="phone" if not service.needs_chair
                             else None, driver=DRIVER if service.requires_driver else None)
    try:
        services.book(actor, request, notify=False)
    except DomainError:  # taken, or a start the rules refuse: the caller picks another
        db.session.rollback()
        return 0
    db.session.commit()
    return 1
