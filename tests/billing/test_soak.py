"""Race and soak: sixteen clients at once, through gunicorn with four workers and real localstripe, book
consultations and treatments, cancel, reschedule, pay (good and declined cards), refund (sometimes more than the
payment: 422) and let holds expire, in a random sequence fixed by a seed. Afterwards plain SQL, not the app's
models, checks the database: no resource or patient in two places at once, no payment without its appointment,
no refund above its payment, no confirmed treatment unpaid, every protocol rule kept or overridden with a reason.
No answer is ever a 5xx.

SOAK_OPERATIONS (default 300) and SOAK_SEED (default 12) tune it; `make soak` runs 3000 operations. A failure
names the seed and the operations; rerun with the same SOAK_SEED (threads interleave differently, the operations
and their arguments do not).
"""
from __future__ import annotations

import os
import random
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from booking import protocols
from clinical.models import Clearance
from clinic import accounts
from clinic.extensions import db
from clinic.models import Patient, Role, User
from tests.factories import (at, card, DECLINED, DEMO_PASSWORD, DRIVER, GOOD, NEW_YORK, next_weekday,
                             STRIPE_SECRET_KEY as SECRET_KEY)
from tests.gunicorn_server import gunicorn

OPERATIONS = int(os.environ.get("SOAK_OPERATIONS", "300"))
SEED = int(os.environ.get("SOAK_SEED", "12"))
PATIENTS = 12
LIVE = ("pending_payment", "confirmed")


@pytest.fixture
def soak_patients(stripe_app):
    """Cleared patients (IV induction and maintenance) with accounts (only a patient pays); their ids."""
    with stripe_app.app_context():
        doctor = db.session.scalar(db.select(User).where(User.email == "dr.rivera@clinic.test"))
        patients = [Patient(name=f"Soak Patient {n}", email=f"soak{n}@example.com", phone=f"617 555 02{n:02d}")
                    for n in range(PATIENTS)]
        db.session.add_all(patients)
        db.session.flush()
        for patient in patients:
            accounts.create_user(patient.email, patient.name, Role.patient, DEMO_PASSWORD)
        db.session.add_all(Clearance(patient_id=p.id, clinician_id=doctor.clinician.id, decided_by_id=doctor.id,
                                     cleared=True, protocols=["iv-induction", "iv-maintenance"],
                                     diagnosis_codes=["F43.12"], notes="cleared for the soak") for p in patients)
        db.session.commit()
        ids = [p.id for p in patients]
        db.session.remove()
    return ids


@pytest.fixture
def soak_server(stripe_app, soak_patients, database_url, localstripe_url, tmp_path):
    with gunicorn(stripe_app, database_url, tmp_path, workers=4, threads=4, STRIPE_API_BASE=localstripe_url,
                  STRIPE_SECRET_KEY=SECRET_KEY) as base:
        yield base


class Soak:
    """The clients' shared view: what was booked and paid, and every answer's status."""

    def __init__(self, base: str, database_url: str, localstripe_url: str, patient_ids: list[int]):
        self.base, self.stripe, self.patients = base, localstripe_url, patient_ids
        self.engine = create_engine(database_url, poolclass=NullPool,
                                    connect_args={"timeout": 30} if database_url.startswith("sqlite") else {})
        self.lock = threading.Lock()
        self.appointments: dict[int, int] = {}  # id -> patient id
        self.payments: dict[int, int] = {}  # id -> amount
        self.statuses: Counter = Counter()
        self.failures: list[str] = []
        self.headers = {role: self.token(email) for role, email in (
            ("desk", "frontdesk@clinic.test"), ("doctor", "dr.rivera@clinic.test"), ("billing", "billing@clinic.test"),
            *((patient_id, f"soak{n}@example.com") for n, patient_id in enumerate(patient_ids)))}

    def token(self, email: str) -> dict:
        response = requests.post(f"{self.base}/api/v1/tokens", json={"email": email, "password": DEMO_PASSWORD},
                                 timeout=60)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def call(self, step: str, role: str | int, method: str, path: str, expected: set[int], **body) -> requests.Response:
        response = requests.request(method, f"{self.base}/api/v1{path}", json=body or None,
                                    headers=self.headers[role], timeout=120)
        with self.lock:
            self.statuses[(step, response.status_code)] += 1
            if response.status_code not in expected:
                self.failures.append(f"seed {SEED} {step} {method} {path} {body} -> {response.status_code} "
                                     f"{response.text[:300]}")
        return response

    def pick(self, rng: random.Random, items) -> int | None:
        with self.lock:
            return rng.choice(list(items)) if items else None


def start(rng: random.Random) -> str:
    day = next_weekday(rng.randrange(5), weeks_ahead=1) + timedelta(days=7 * rng.randrange(2))
    minutes = 15 * rng.randrange(24)  # 9:00 AM to 2:45 PM
    return at(day, 9 + minutes // 60, minutes % 60)


def book_consultation(soak: Soak, rng: random.Random) -> None:
    response = soak.call("book_consultation", "desk", "POST", "/appointments", {201, 409, 422},
                         service="consultation", start=start(rng), patient_id=rng.choice(soak.patients))
    remember(soak, response)


def book_treatment(soak: Soak, rng: random.Random) -> None:
    override = rng.random() < 0.2
    extra = {"override_reason": "clinical need, discussed with the patient"} if override else {}
    response = soak.call("book_treatment", "doctor" if override else "desk", "POST", "/appointments",
                         {201, 409, 422}, service="iv-ketamine", start=start(rng),
                         patient_id=rng.choice(soak.patients), driver=DRIVER, **extra)
    remember(soak, response)


def remember(soak: Soak, response: requests.Response) -> None:
    if response.status_code == 201:
        with soak.lock:
            booked = response.json()["appointment"]
            soak.appointments[booked["id"]] = booked["patient_id"]


def cancel(soak: Soak, rng: random.Random) -> None:
    chosen = soak.pick(rng, soak.appointments)
    if chosen:
        soak.call("cancel", "desk", "POST", f"/appointments/{chosen}/cancel", {200, 409, 422})


def reschedule(soak: Soak, rng: random.Random) -> None:
    chosen = soak.pick(rng, soak.appointments)
    if chosen:
        soak.call("reschedule", "desk", "POST", f"/appointments/{chosen}/reschedule", {200, 409, 422},
                  start=start(rng))


def pay(soak: Soak, rng: random.Random) -> None:
    chosen = soak.pick(rng, soak.appointments)
    if chosen:
        method = card(soak.stripe, DECLINED if rng.random() < 0.25 else GOOD)
        response = soak.call("pay", soak.appointments[chosen], "POST", f"/appointments/{chosen}/pay", {200, 201, 402, 409, 422},
                             payment_method=method)
        payment = response.json().get("payment") if response.status_code in (200, 201) else None
        if payment and payment.get("status") == "succeeded":
            with soak.lock:
                soak.payments[payment["id"]] = payment["amount_cents"]


def refund(soak: Soak, rng: random.Random) -> None:
    chosen = soak.pick(rng, soak.payments)
    if chosen:
        above = rng.random() < 0.3
        amount = soak.payments[chosen] + rng.randint(1, 5000) if above else rng.randint(1, soak.payments[chosen])
        soak.call("refund_above" if above else "refund", "billing", "POST", f"/payments/{chosen}/refunds",
                  {422} if above else {201, 409, 422}, amount_cents=amount, reason="soak refund")


def expire_hold(soak: Soak, rng: random.Random) -> None:
    """Moves a hold's expiry into the past (as if its minutes had run out), then reads the appointment."""
    chosen = soak.pick(rng, soak.appointments)
    if chosen:
        with soak.engine.begin() as conn:
            conn.execute(text("UPDATE appointments SET hold_expires_at = :past WHERE id = :id "
                              "AND status = 'pending_payment'"),
                         {"past": datetime.now(timezone.utc) - timedelta(minutes=1), "id": chosen})
        soak.call("expire_hold", "desk", "GET", f"/appointments/{chosen}", {200})


STEPS = [(book_consultation, 3), (book_treatment, 6), (cancel, 2), (reschedule, 2), (pay, 5), (refund, 2),
         (expire_hold, 1)]


def run_step(soak: Soak, number: int) -> None:
    rng = random.Random(f"{SEED}-{number}")
    step = rng.choices([s for s, _ in STEPS], weights=[w for _, w in STEPS])[0]
    try:
        step(soak, rng)
    except Exception as error:  # noqa: BLE001  (a dropped connection is a failure to report, not to hide)
        with soak.lock:
            soak.failures.append(f"seed {SEED} step {number} {step.__name__}: {error!r}")


def test_soak(soak_server, soak_patients, database_url, localstripe_url):
    soak = Soak(soak_server, database_url, localstripe_url, soak_patients)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: run_step(soak, n), range(OPERATIONS)))

    assert soak.failures == [], "\n".join(soak.failures[:20])
    assert not [k for k in soak.statuses if k[1] >= 500], soak.statuses
    print(sorted(soak.statuses.items()))  # what the run did, shown with -s
    done = {step for (step, code), _ in soak.statuses.items() if code in (200, 201)}
    assert {"book_consultation", "book_treatment", "pay", "refund", "cancel", "expire_hold"} <= done, soak.statuses
    with soak.engine.connect() as conn:
        problems = invariant_problems(conn)
    soak.engine.dispose()
    assert problems == [], "\n".join(problems[:30])


# --- the independent check: plain SQL -------------------------------------------------------------------------------

def utc(value) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def overlapping(rows, key) -> list[str]:
    found, by = [], defaultdict(list)
    for row in rows:
        by[key(row)].append(row)
    for owner, held in by.items():
        held.sort(key=lambda r: utc(r.starts_at))
        found += [f"{owner}: {a.id} and {b.id} overlap" for a, b in zip(held, held[1:])
                  if utc(b.starts_at) < utc(a.ends_at)]
    return found


def invariant_problems(conn) -> list[str]:
    reservations = conn.execute(text("SELECT id, clinician_id, chair_id, starts_at, ends_at FROM reservations "
                                     "WHERE active")).all()
    appointments = conn.execute(text(
        "SELECT a.id, a.patient_id, a.starts_at, a.ends_at, a.status, a.protocol_code, a.amount_due_cents, "
        "a.spacing_override_reason, s.kind FROM appointments a JOIN services s ON s.id = a.service_id")).all()
    live = [a for a in appointments if a.status in LIVE]
    return (overlapping([r for r in reservations if r.clinician_id], lambda r: ("clinician", r.clinician_id))
            + overlapping([r for r in reservations if r.chair_id], lambda r: ("chair", r.chair_id))
            + overlapping(live, lambda a: ("patient", a.patient_id))
            + payment_problems(conn) + unpaid_confirmed(conn, live) + protocol_problems(conn, appointments))


def payment_problems(conn) -> list[str]:
    orphans = conn.execute(text(
        "SELECT p.id FROM payments p WHERE p.status = 'succeeded' AND NOT EXISTS (SELECT 1 FROM payment_allocations "
        "pa JOIN appointments a ON a.id = pa.appointment_id WHERE pa.payment_id = p.id)")).all()
    over = conn.execute(text(
        "SELECT p.id, p.amount_cents, SUM(r.amount_cents) AS refunded FROM payments p JOIN refunds r "
        "ON r.payment_id = p.id WHERE r.status <> 'failed' GROUP BY p.id, p.amount_cents "
        "HAVING SUM(r.amount_cents) > p.amount_cents")).all()
    return [f"payment {o.id} has no appointment" for o in orphans] + \
        [f"payment {o.id} of {o.amount_cents} refunded {o.refunded}" for o in over]


def unpaid_confirmed(conn, live) -> list[str]:
    paid = {row.appointment_id for row in conn.execute(text(
        "SELECT pa.appointment_id FROM payment_allocations pa JOIN payments p ON p.id = pa.payment_id "
        "WHERE p.status = 'succeeded'"))}
    return [f"confirmed treatment {a.id} unpaid" for a in live
            if a.status == "confirmed" and a.kind == "treatment" and a.amount_due_cents > 0 and a.id not in paid]


def protocol_problems(conn, appointments) -> list[str]:
    """Among a patient's treatments booked without an override the rules hold. An overridden one may sit next
    to any of them (a clinician decided so, with a reason), so it is left out of the dates checked against."""
    rules = {row.code: protocols.ProtocolRules.from_dict(_json(row.rules))
             for row in conn.execute(text("SELECT code, rules FROM protocols"))}
    kept = [a for a in appointments
            if a.status in (*LIVE, "completed") and a.kind == "treatment" and not a.spacing_override_reason]
    problems = []
    for a in kept:
        others = [o for o in kept if o.patient_id == a.patient_id and o.id != a.id]
        if local_day(a) in {local_day(o) for o in others}:
            problems.append(f"patient {a.patient_id}: two treatments on {local_day(a)} (appointment {a.id})")
        same_protocol = [local_day(o) for o in others if o.protocol_code == a.protocol_code]
        broken = protocols.check(rules[a.protocol_code], same_protocol, local_day(a)) if a.protocol_code else None
        if broken:
            problems.append(f"appointment {a.id} (patient {a.patient_id}) breaks {a.protocol_code}: {broken.message}")
    return problems


def local_day(a) -> date:
    return utc(a.starts_at).astimezone(NEW_YORK).date()


def _json(value):
    import json
    return json.loads(value) if isinstance(value, str) else value
