"""The one place for test data with defaults and for signing in: override only what a test is about.

Two kinds: requests through the app as a person would make them (a guest's consultation, a patient's treatment,
a clearance, a payment), and rows written straight to the database for what the API cannot make (the past, a
hold already run out). Plain data for billing documents lives beside them in tests/billing/factories.py."""
from __future__ import annotations

import hashlib
import hmac
import json
import time as time_module
import re
import secrets
import shutil
import socket
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pyotp
import pytest
import requests
from sqlalchemy import select

from booking.models import Appointment, Chair, Reservation, Service
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import Patient

DEMO_PASSWORD = "demo-clinic-2026"
NEW_YORK = ZoneInfo("America/New_York")
DRIVER = {"name": "Robin Driver", "phone": "617 555 0123", "relationship": "partner"}
PATIENT = "patient@clinic.test"
MONDAY = 0
STRIPE_SECRET_KEY = "sk_test_localstripe"  # the local emulator's
GOOD, DECLINED, THREE_D_SECURE = "4242424242424242", "4000000000000341", "4000002500003155"  # test cards

needs_engine = pytest.mark.skipif(not shutil.which("wkhtmltopdf") or not shutil.which("pdftotext"),
                                  reason="needs wkhtmltopdf and poppler-utils (make system-packages)")


# --- days and times -----------------------------------------------------------------------------------------------

def next_weekday(weekday: int, weeks_ahead: int = 1) -> date:
    """A day at least a week ahead on the given weekday (0 = Monday), counted from the clinic's date (so the same
    all around midnight UTC). The demo fixture keeps the clinic open on federal holidays, so any such day is open."""
    today = datetime.now(NEW_YORK).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = NEW_YORK) -> str:
    return datetime.combine(day, time(hour, minute), zone).isoformat()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- signing in ---------------------------------------------------------------------------------------------------

def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client, email: str, password: str = DEMO_PASSWORD, *, expect: int | None = 302):
    """Sign in on /login as a person does (the form and its CSRF token); `expect=None` for a test about refusals."""
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_from(page)})
    if expect is not None:
        assert response.status_code == expect, response.get_data(as_text=True)[:500]
    return response


def api_token(client, email: str, password: str = DEMO_PASSWORD) -> dict:
    response = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def patient_login(client, email: str = PATIENT) -> tuple[dict, int]:
    """The API headers of a patient and their patient id."""
    response = client.post("/api/v1/tokens", json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}, response.json["user"]["patient_id"]


def staff(client) -> dict:
    return api_token(client, "frontdesk@clinic.test")


# --- through the app ----------------------------------------------------------------------------------------------

def guest_booking(day: date, hour: int, minute: int = 0, email: str = "guest@example.com", **extra) -> dict:
    body = {"service": "consultation", "start": at(day, hour, minute),
            "patient": {"name": "Casey Guest", "email": email, "phone": "617 555 0199"}}
    body.update(extra)
    return body


def booked(client, day: date, hour: int, minute: int = 0, email: str = "guest@example.com") -> dict:
    """A guest's consultation, booked."""
    response = client.post("/api/v1/appointments", json=guest_booking(day, hour, minute, email=email))
    assert response.status_code == 201, response.json
    return response.json["appointment"]


def clear_patient(client, patient_id: int, protocols=("iv-induction", "iv-maintenance"), **extra) -> None:
    headers = api_token(client, "dr.rivera@clinic.test")
    body = {"protocols": list(protocols), "diagnosis_codes": ["F43.12"], "notes": "cleared after evaluation", **extra}
    response = client.post(f"/api/v1/patients/{patient_id}/clearance", json=body, headers=headers)
    assert response.status_code == 201, response.json


def book(client, headers, day: date, hour: int = 9, minute: int = 0, service: str = "iv-ketamine", **extra):
    """A treatment booked through the API (the response, to check refusals too)."""
    body = {"service": service, "start": at(day, hour, minute), "driver": DRIVER, **extra}
    return client.post("/api/v1/appointments", json=body, headers=headers)


def pay(client, headers, appointment_id: int, payment_method: str):
    return client.post(f"/api/v1/appointments/{appointment_id}/pay", json={"payment_method": payment_method},
                       headers=headers)


def answers(**overrides) -> dict:
    """Intake answers that clear the screen: nothing contraindicated, treatments tried, no suicidal thoughts."""
    from clinical import intake
    base = {q.key: False for q in intake.INTAKE_QUESTIONS if q.kind == "yes_no"}
    base.update(psychotherapy_tried=True, medications_tried=True, evidence_based_treatments_tried=3,
                suicidal_thoughts="no", treatment_details="CPT for 12 weeks, sertraline for a year")
    base.update(overrides)
    return base


def pcl5(total: int) -> list[int]:
    """PCL-5 answers adding up to `total`, spread over every item."""
    from clinical.pcl5 import PCL5_ITEMS
    count = len(PCL5_ITEMS)
    items = [0] * count
    for i in range(total):
        items[i % count] += 1
    return items


# --- straight to the database -------------------------------------------------------------------------------------

def a_patient(app, email: str = "second@example.com", name: str = "Sam Second") -> int:
    """A patient with an account (signs in with the demo password); their patient id."""
    from clinic import accounts
    from clinic.models import Role
    with app.app_context():
        user = accounts.create_user(email, name, Role.patient, DEMO_PASSWORD)
        db.session.commit()
        return user.patient_id


def appointment_row(service: Service, start: datetime, *, patient: Patient | None = None, patient_id: int | None = None,
                    clinician_id: int | None = None, chair_id: int | None = None, length: timedelta | None = None,
                    reserve: bool = True, **fields) -> Appointment:
    """An appointment as booking would write it (with its reservations unless `reserve=False`), for a test inside
    an app context to add: the past, a hold already run out, rows a constraint must refuse."""
    clinician_id = clinician_id or service.clinicians[0].id
    length = length or timedelta(minutes=service.window_minutes)
    if patient is None and patient_id is None:
        patient = Patient(name="Held Patient", email="held@example.com", phone="617 555 0111")
    fields.setdefault("manage_nonce", secrets.token_hex(8))
    fields.setdefault("status", "confirmed")
    who = {"patient": patient} if patient is not None else {"patient_id": patient_id}
    appointment = Appointment(service=service, clinician_id=clinician_id, chair_id=chair_id, starts_at=start,
                              ends_at=start + length, **who, **fields)
    if reserve:
        # a treatment holds its clinician for the dosing part and its chair throughout; anything else, the clinician
        clinician_part = timedelta(minutes=service.clinician_minutes) if chair_id is not None else length
        appointment.reservations = [Reservation(clinician_id=clinician_id, starts_at=start, ends_at=start + clinician_part)]
        if chair_id is not None:
            appointment.reservations.append(Reservation(chair_id=chair_id, starts_at=start, ends_at=start + length))
    return appointment


def past_treatment(app, patient_id: int, hours_ago: int = 3, **fields) -> int:
    """A treatment that has already started, written straight to the database (the API books only the future)."""
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=hours_ago)
        appointment = appointment_row(
            service, start, patient_id=patient_id, chair_id=db.session.scalar(select(Chair.id).limit(1)),
            reserve=False, amount_due_cents=service.price_cents, protocol_code="iv-induction",
            driver_name=DRIVER["name"], driver_phone=DRIVER["phone"], driver_relationship=DRIVER["relationship"],
            **fields)
        db.session.add(appointment)
        db.session.commit()
        return appointment.id


def paid(held, localstripe_url) -> tuple:
    client, headers, appointment = held
    response = pay(client, headers, appointment["id"], card(localstripe_url))
    assert response.status_code == 200, response.json
    return client, headers, appointment, response.json["payment"]

def refunds_at_stripe(base: str) -> list[int]:
    return [r["amount"] for r in stripe_get(base, "/v1/refunds", limit=100)["data"]]

def move_start_to(app, appointment_id: int, hours_ahead: float) -> None:
    with app.app_context():
        row = db.session.get(Appointment, appointment_id)
        length = row.ends_at - row.starts_at
        row.starts_at = utcnow() + timedelta(hours=hours_ahead)
        row.ends_at = row.starts_at + length
        db.session.commit()


def stripe_get(base: str, path: str, **params) -> dict:
    response = requests.get(f"{base}{path}", params=params, auth=(STRIPE_SECRET_KEY, ""), timeout=5)
    assert response.ok, response.text
    return response.json()

def card(base: str, number: str = GOOD) -> str:
    """A PaymentMethod made at localstripe, as Stripe.js would make it in the browser."""
    response = requests.post(f"{base}/v1/payment_methods", auth=(STRIPE_SECRET_KEY, ""), timeout=5, data={
        "type": "card", "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034",
        "card[cvc]": "123"})
    assert response.ok, response.text
    return response.json()["id"]

def intents_for(base: str, payment_id: int) -> list[dict]:
    found = stripe_get(base, "/v1/payment_intents", limit=100)["data"]
    return [pi for pi in found if pi["metadata"].get("payment_id") == str(payment_id)]


ROLES = {"patient": "patient@clinic.test", "clinician": "dr.rivera@clinic.test", "frontdesk": "frontdesk@clinic.test",
         "billing": "billing@clinic.test", "admin": "admin@clinic.test"}

def signed_in(app, role: str):
    """A client of its own, signed in as the demo's `role` (the administrator with a second factor set up, as a
    person would); returns it with where the sign-in led."""
    client = app.test_client()
    signed = sign_in(client, ROLES[role])
    if role == "admin":
        set_up_second_factor(client)
    return client, signed.headers["Location"]


def set_up_second_factor(client) -> None:
    """As an administrator would: open the security page, type the key into an app (pyotp), enter its code."""
    page = client.get("/admin/", follow_redirects=True)
    assert page.status_code == 200 and page.request.path == "/account/security"
    html = page.get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    done = client.post("/account/security", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(html)})
    assert done.status_code == 200 and "recovery codes" in done.get_data(as_text=True)
    assert client.get("/admin/").status_code == 200


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(NEW_YORK)

def assert_keeps_induction_rules(days: list[date]) -> None:
    days = sorted(days)
    assert all((b - a).days >= 2 for a, b in zip(days, days[1:])), days
    assert all(sum(d <= x < d + timedelta(days=7) for x in days) <= 3 for d in days), days
    assert (days[-1] - days[0]).days <= 28, days


def take_the_place(client, start_iso: str) -> None:
    """Two guest consultations at the same start keep both clinicians busy: no treatment can start then."""
    start = datetime.fromisoformat(start_iso)
    for n in range(2):
        body = {**guest_booking(start.date(), start.hour, start.minute, email=f"guest{n}@example.com"),
                "start": start.isoformat()}
        response = client.post("/api/v1/appointments", json=body)
        assert response.status_code == 201, response.json


def cleared_patient(app):
    client = app.test_client()
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    return client, headers

def buy(client, headers, base, number=None):
    method = card(base, number) if number else card(base)
    return client.post("/api/v1/packages", headers=headers, json={"payment_method": method})

def book_series(client, headers):
    response = client.post("/api/v1/series", headers=headers, json={
        "protocol": "iv-induction", "first_date": next_weekday(0).isoformat(), "driver": DRIVER})
    assert response.status_code == 201, response.json
    return response.json["appointments"]


def signed(app, event: dict, secret: str | None = None) -> tuple[bytes, dict]:
    payload = json.dumps(event).encode()
    stamp = int(time_module.time())
    key = (secret or app.config["STRIPE_WEBHOOK_SECRET"]).encode()
    signature = hmac.new(key, b"%d.%s" % (stamp, payload), hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"}


def sign_in_for_scripts(client, email: str = PATIENT) -> str:
    """Sign in through /login; returns the CSRF token the pages' scripts send as X-CSRFToken."""
    sign_in(client, email)
    return csrf_from(client.get("/account/treatments").get_data(as_text=True))

def patient_id(client) -> int:
    """Asked with a separate client: a signed-in browser session must send CSRF even to /api/v1/tokens."""
    response = client.application.test_client().post("/api/v1/tokens", json={"email": PATIENT, "password": DEMO_PASSWORD})
    assert response.status_code == 201, response.json
    return response.json["user"]["patient_id"]
