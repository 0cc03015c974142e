"""Years of past appointments, written with bulk inserts (the booking service would take minutes for 50,000).

Each past day holds consultations back to back for every clinician in the morning and one IV treatment per chair
in the afternoon, so both kinds of reservation grow with the history, and none overlaps another of its resource.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone

from flask import Flask
from sqlalchemy import func, insert, select, text

from booking.models import Appointment, Chair, Reservation, Service
from clinic.extensions import db
from clinic.models import Patient

PATIENTS = 200
BATCH = 5000


def count(app: Flask) -> int:
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Appointment).where(Appointment.status == "completed"))
        db.session.remove()
    return total


def grow(app: Flask, total: int, before: date) -> None:
    """Add completed past appointments, ending the day before `before`, until there are `total` of them."""
    with app.app_context():
        have = db.session.scalar(select(func.count()).select_from(Appointment).where(Appointment.status == "completed"))
        if have < total:
            _insert(_history(_patients(), have, before), total - have)
        if db.engine.dialect.name == "postgresql":  # the statistics autovacuum keeps on a real database
            db.session.execute(text("ANALYZE reservations, appointments"))
            db.session.commit()
        db.session.remove()


def _patients() -> list[int]:
    ids = list(db.session.scalars(select(Patient.id).where(Patient.email.like("history-%"))))
    if not ids:
        db.session.execute(insert(Patient), [{"name": f"History Patient {n}", "email": f"history-{n}@example.com",
                                              "phone": "617 555 0100"} for n in range(PATIENTS)])
        ids = list(db.session.scalars(select(Patient.id).where(Patient.email.like("history-%"))))
    return ids


def _history(patients: list[int], skip: int, before: date) -> Iterator[tuple[dict, list[dict]]]:
    """(appointment, reservations) from the day before `before` backwards; the first `skip` exist already."""
    consultation = db.session.scalar(select(Service).where(Service.code == "consultation"))
    iv = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
    clinicians = sorted(c.id for c in consultation.clinicians)
    chairs = list(db.session.scalars(select(Chair.id).order_by(Chair.id)))
    n = 0
    for back in range(1, 100_000):
        day = before - timedelta(days=back)
        for start, service, clinician, chair in _day(day, consultation, iv, clinicians, chairs):
            if n >= skip:
                yield _rows(n, patients, service, start, clinician, chair)
            n += 1


def _day(day: date, consultation: Service, iv: Service, clinicians: list[int], chairs: list[int]):
    morning = datetime.combine(day, time(13, 0), timezone.utc)
    for clinician in clinicians:
        for k in range(16):
            yield morning + timedelta(minutes=k * consultation.window_minutes), consultation, clinician, None
    afternoon = datetime.combine(day, time(18, 0), timezone.utc)
    for k, chair in enumerate(chairs):
        yield afternoon + timedelta(minutes=k * iv.clinician_minutes), iv, clinicians[0], chair


def _rows(n: int, patients: list[int], service: Service, start: datetime, clinician: int, chair: int | None):
    end = start + timedelta(minutes=service.window_minutes)
    appointment = {"service_id": service.id, "patient_id": patients[n % len(patients)], "clinician_id": clinician,
                   "chair_id": chair, "starts_at": start, "ends_at": end, "status": "completed",
                   "amount_due_cents": service.price_cents, "currency": service.currency,
                   "manage_nonce": f"{n:016x}", "created_at": start - timedelta(days=7), "completed_at": end}
    held = [{"clinician_id": clinician, "chair_id": None, "starts_at": start,
             "ends_at": start + timedelta(minutes=min(service.clinician_minutes, service.window_minutes))}]
    if chair is not None:
        held.append({"clinician_id": None, "chair_id": chair, "starts_at": start, "ends_at": end})
    return appointment, held


def _insert(rows: Iterator[tuple[dict, list[dict]]], wanted: int) -> None:
    done = 0
    while done < wanted:
        batch = [next(rows) for _ in range(min(BATCH, wanted - done))]
        ids = db.session.scalars(insert(Appointment).returning(Appointment.id, sort_by_parameter_order=True), [a for a, _ in batch]).all()
        db.session.execute(insert(Reservation), [{**r, "appointment_id": i, "active": True}
                                                 for i, (_, held) in zip(ids, batch) for r in held])
        db.session.commit()
        done += len(batch)
