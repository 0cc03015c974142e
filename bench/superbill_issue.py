"""superbill-issue-download: billing staff issue a patient's superbill through the API (POST /api/v1/superbills) on
gunicorn and download its PDF, against one bare wkhtmltopdf run of a one-line page (bench/pdf.py's floor), in
interleaved rounds of the same run. Each round bills another patient's month of six completed, paid IV treatments,
written straight into the database beforehand: paying is not what is timed."""
from __future__ import annotations

import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from bench import clinic, pdf as pdf_bench, server, timing
from billing.models import Payment, PaymentAllocation
from booking.models import Appointment, Chair, Service
from clinic.extensions import db
from clinic.models import Patient, User
from clinical.models import Clearance

NAME = "superbill-issue-download"
VISITS = 6
WARMUP = 2


def measure(database_url: str, rounds: int) -> dict:
    """Builds the clinic on `database_url` (emptied first), serves it and times issue-and-download rounds."""
    app = clinic.build(database_url)
    first, last = date.today() - timedelta(days=35), date.today() - timedelta(days=1)
    patients = billable_patients(app, rounds + WARMUP, first)
    clinic.close(app)
    with server.gunicorn(database_url) as base, tempfile.TemporaryDirectory(prefix="clinic-bench-sb-") as folder:
        token = timing.Client(base).call("POST", "/api/v1/tokens", {"email": "billing@clinic.test",
                                                                    "password": "demo-clinic-2026"}, expect=201)
        billing = timing.Client(base, token["token"])
        sizes: list[int] = []

        def issue_and_download() -> None:
            body = {"patient_id": patients.pop(), "from": first.isoformat(), "to": last.isoformat()}
            issued = billing.call("POST", "/api/v1/superbills", body, expect=201)["superbill"]
            document = billing.fetch("GET", issued["pdf_url"])
            if not document.startswith(b"%PDF"):
                raise RuntimeError(f"{issued['pdf_url']} is not a PDF: {document[:40]!r}")
            sizes.append(len(document))
        found = timing.medians({"bare": pdf_bench.bare_run(Path(folder)), "superbill": issue_and_download},
                               rounds, WARMUP)
    ratio = found["superbill"] / found["bare"]
    detail = (f"POST /api/v1/superbills (a month of {VISITS} IV visits) then GET its PDF "
              f"({sizes[-1] // 1024} kB) on gunicorn: {found['superbill'] * 1000:.0f} ms vs bare wkhtmltopdf "
              f"one-line page {found['bare'] * 1000:.0f} ms, medians of {rounds}")
    ratio = round(ratio, 3)  # judged on the ratio as reported
    return {"name": NAME, "ratio": ratio, "target": pdf_bench.ISSUE_TARGET, "met": ratio <= pdf_bench.ISSUE_TARGET,
            "detail": detail}


def billable_patients(app: Flask, count: int, first: date) -> list[int]:
    """`count` patients with what a superbill needs (birth date, address, a diagnosis on their clearance) and six
    completed IV treatments from `first` on, every other day, paid in one card payment; their ids."""
    with app.app_context():
        iv = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        doctor = db.session.scalar(select(User).where(User.email == "dr.rivera@clinic.test"))
        chair = db.session.scalar(select(Chair.id).order_by(Chair.id).limit(1))
        ids = [_billable_patient(n, first, iv, doctor, chair) for n in range(count)]
        db.session.commit()
        db.session.remove()
    return ids


def _billable_patient(n: int, first: date, iv: Service, doctor: User, chair: int) -> int:
    patient = Patient(name=f"Superbill Patient {n}", email=f"superbill-{n}@example.com", phone="617 555 0177",
                      date_of_birth=date(1986, 4, 12), address="8 Wharf Lane\nBoston, MA 02110")
    db.session.add(patient)
    db.session.flush()
    db.session.add(Clearance(patient_id=patient.id, clinician_id=doctor.clinician.id, decided_by_id=doctor.id,
                             cleared=True, protocols=["iv-induction"], diagnosis_codes=["F43.12"]))
    visits = [_completed_visit(n * VISITS + k, patient.id, iv, doctor, chair,
                               datetime.combine(first + timedelta(days=2 * k), time(15), timezone.utc))
              for k in range(VISITS)]
    db.session.add_all(visits)
    db.session.flush()
    payment = Payment(patient_id=patient.id, amount_cents=sum(v.amount_due_cents for v in visits), currency="usd",
                      status="succeeded", idempotency_key=f"bench-superbill-{n}", settled_at=visits[0].starts_at,
                      stripe_payment_intent_id=f"pi_bench_superbill_{n}", card_brand="visa", card_last4="4242")
    payment.allocations = [PaymentAllocation(appointment_id=v.id, amount_cents=v.amount_due_cents) for v in visits]
    db.session.add(payment)
    return patient.id


def _completed_visit(n: int, patient_id: int, iv: Service, doctor: User, chair: int, start: datetime) -> Appointment:
    end = start + timedelta(minutes=iv.window_minutes)
    return Appointment(service_id=iv.id, patient_id=patient_id, clinician_id=doctor.clinician.id, chair_id=chair,
                       protocol_code="iv-induction", starts_at=start, ends_at=end, status="completed",
                       amount_due_cents=iv.price_cents, currency=iv.currency, manage_nonce=f"sb{n:014x}",
                       completed_at=end, dose_mg=35, released_to_driver=True, driver_name="Robin Driver",
                       driver_phone="617 555 0123", driver_relationship="partner")
