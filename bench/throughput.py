"""booking-throughput-postgresql: sixteen clients at once, for a bounded time, use the clinic as its callers do,
through gunicorn (four workers of four threads) on PostgreSQL: each round reads a day's availability, books one of its
free starts (a guest's consultation, or a front-desk IV treatment for a cleared patient) and now and then cancels an
earlier booking. Bookings made per second are compared with bare inserts of one row per booking into a scratch table
of the same database by sixteen threads over the same time. Afterwards plain SQL counts double bookings (a
clinician, a chair or a patient in two live places at once): they must be 0, as must the 5xx answers.

The full bench runs 60 s of each; BENCH_THROUGHPUT_SECONDS (or --throughput-seconds) shortens it."""
from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

from bench import clinic, server

NAME = "booking-throughput-postgresql"
TARGET = 0.1
CLIENTS = 16
SECONDS = float(os.environ.get("BENCH_THROUGHPUT_SECONDS", "60"))
TREATMENT_PATIENTS = 600
DAYS = 56
DRIVER = {"name": "Robin Driver", "phone": "617 555 0123", "relationship": "partner"}


def not_measured(why: str) -> dict:
    return {"name": NAME, "ratio": None, "target": TARGET, "met": None, "detail": f"not measured: {why}"}


def measure(database_url: str | None, seconds: float = SECONDS, patients: int = TREATMENT_PATIENTS) -> dict:
    """The result for bench/results.json; `database_url` None or not PostgreSQL gives a null ratio saying why."""
    if not database_url:
        return not_measured("TEST_DATABASE_URL is not set; this measure needs PostgreSQL")
    if not database_url.startswith("postgresql"):
        return not_measured(f"{database_url.split(':')[0]} is not PostgreSQL")
    app = clinic.build(database_url)
    cleared = clinic.cleared_patients(app, patients, label="throughput")
    clinic.close(app)
    with server.gunicorn(database_url, workers=4, threads=4) as base:
        load = Load(base, cleared, date.today() + timedelta(days=1))
        load.run(seconds)
    inserted = bare_inserts(database_url, seconds)
    doubles = double_bookings(database_url)
    return result(load, inserted, doubles, seconds)


def result(load: Load, inserted: int, doubles: dict[str, int], seconds: float) -> dict:
    booked = load.statuses["book", 201]
    ratio = round((booked / seconds) / (inserted / seconds), 3) if inserted else None
    errors = sum(n for (_, status), n in load.statuses.items() if status >= 500)
    answers = ", ".join(f"{step} {status}: {n}" for (step, status), n in sorted(load.statuses.items()))
    detail = (f"{booked / seconds:.1f} bookings/s ({booked} in {seconds:g} s by {CLIENTS} clients, gunicorn 4x4) vs "
              f"{inserted / seconds:.0f} bare one-row inserts/s ({CLIENTS} threads); double bookings: "
              f"{sum(doubles.values())} ({', '.join(f'{k} {v}' for k, v in doubles.items())}); 5xx: {errors}; "
              f"answers: {answers}")
    met = ratio is not None and ratio >= TARGET and errors == 0 and not any(doubles.values())
    return {"name": NAME, "ratio": ratio, "target": TARGET, "met": met, "detail": detail}


class Load:
    """The sixteen clients: a shared pool of cleared patients (each books one treatment) and every answer's status."""

    def __init__(self, base: str, patients: list[int], first: date):
        parts = urlsplit(base)
        self.host, self.port, self.first = parts.hostname, parts.port, first
        self.patients, self.lock, self.statuses = list(patients), threading.Lock(), Counter()
        self.staff = {"Authorization": "Bearer " + self.call("token", "POST", "/api/v1/tokens", {
            "email": "frontdesk@clinic.test", "password": "demo-clinic-2026"})[1]["token"]}

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with ThreadPoolExecutor(CLIENTS) as pool:
            for done in [pool.submit(self.client, n, deadline) for n in range(CLIENTS)]:
                done.result()

    def client(self, number: int, deadline: float) -> None:
        rng, mine = random.Random(number), []
        while time.monotonic() < deadline:
            if mine and rng.random() < 0.1:
                self.call("cancel", "POST", f"/api/v1/appointments/{mine.pop(rng.randrange(len(mine)))}/cancel",
                          None, self.staff)
            else:
                booked = self.book(rng, number)
                if booked:
                    mine.append(booked)

    def book(self, rng: random.Random, number: int) -> int | None:
        treatment = rng.random() < 0.35
        service = "iv-ketamine" if treatment else "consultation"
        day = self.first + timedelta(days=rng.randrange(DAYS))
        if day.weekday() >= 5:  # the clinic is closed at weekends: on to Monday
            day += timedelta(days=7 - day.weekday())
        _, found = self.call("availability", "GET", f"/api/v1/availability?service={service}&from={day}&to={day}")
        starts = [slot["start"] for slot in (found or {}).get("slots", [])]
        if not starts:
            return None
        if treatment:
            return self.book_treatment(rng.choice(starts))
        status, booked = self.call("book", "POST", "/api/v1/appointments", {
            "service": "consultation", "start": rng.choice(starts), "patient": {
                "name": "Throughput Guest", "email": f"guest-{number}-{rng.randrange(10**9)}@example.com",
                "phone": "617 555 0199"}})
        return booked["appointment"]["id"] if status == 201 else None

    def book_treatment(self, start: str) -> int | None:
        with self.lock:
            patient = self.patients.pop() if self.patients else None
        if patient is None:
            return None
        status, booked = self.call("book", "POST", "/api/v1/appointments", {
            "service": "iv-ketamine", "start": start, "patient_id": patient, "driver": DRIVER}, self.staff)
        if status != 201:
            with self.lock:
                self.patients.append(patient)
            return None
        return booked["appointment"]["id"]

    def call(self, step: str, method: str, path: str, body: dict | None = None,
             headers: dict | None = None) -> tuple[int, dict | None]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            connection.request(method, path, json.dumps(body) if body is not None else None,
                               {**(headers or {}), **({"Content-Type": "application/json"} if body else {})})
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        with self.lock:
            self.statuses[step, response.status] += 1
        ok = response.status < 300 and data[:1] == b"{"
        return response.status, json.loads(data) if ok else None


def bare_inserts(database_url: str, seconds: float) -> int:
    """Rows inserted, one per transaction, by sixteen threads into a scratch table (dropped after) in `seconds`."""
    engine = create_engine(database_url, pool_size=CLIENTS, max_overflow=0)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS bench_bare_bookings"))
        connection.execute(text("CREATE TABLE bench_bare_bookings (id bigserial PRIMARY KEY, patient_id integer, "
                                "starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL)"))
    deadline, counts = time.monotonic() + seconds, []

    def insert(number: int) -> None:
        done, start = 0, datetime.now(timezone.utc)
        end = start + timedelta(hours=1)
        while time.monotonic() < deadline:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO bench_bare_bookings (patient_id, starts_at, ends_at) "
                                        "VALUES (:p, :s, :e)"), {"p": number, "s": start, "e": end})
            done += 1
        counts.append(done)
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(insert, range(CLIENTS)))
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE bench_bare_bookings"))
        engine.dispose()
    return sum(counts)


DOUBLES = {
    "clinician": "SELECT count(*) FROM reservations a JOIN reservations b ON a.id < b.id AND a.clinician_id = "
                 "b.clinician_id WHERE a.active AND b.active AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at",
    "chair": "SELECT count(*) FROM reservations a JOIN reservations b ON a.id < b.id AND a.chair_id = b.chair_id "
             "WHERE a.active AND b.active AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at",
    "patient": "SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id AND a.patient_id = b.patient_id "
               "WHERE a.status IN ('pending_payment', 'confirmed') AND b.status IN ('pending_payment', 'confirmed') "
               "AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at",
}


def double_bookings(database_url: str) -> dict[str, int]:
    """Pairs of live uses of one clinician, chair or patient that overlap, counted by plain SQL."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        found = {name: connection.execute(text(query)).scalar_one() for name, query in DOUBLES.items()}
    engine.dispose()
    return found
