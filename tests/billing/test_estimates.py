"""Good Faith Estimates: given when a self-pay patient's first series is booked (through booking's signal), from
the fee schedule; a reschedule gives a new one; owners and billing read them; the overrun report."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from billing import fee_schedule
from billing.models import Estimate
from booking.models import Service
from clinic.extensions import db
from tests.billing.factories import pdf_text
from tests.factories import api_token, at, book, clear_patient, DRIVER, next_weekday, patient_login


def book_series(client, headers):
    response = client.post("/api/v1/series", headers=headers, json={
        "protocol": "iv-induction", "first_date": next_weekday(0).isoformat(), "driver": DRIVER})
    assert response.status_code == 201, response.json
    return response.json["appointments"]


def schedule_total(app, sessions) -> int:
    with app.app_context():
        iv = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        return sum(line.charge_cents for s in sessions
                   for line in fee_schedule.lines_in_force(iv, date.fromisoformat(s["start"][:10])))


def test_an_induction_series_gets_one_estimate_whose_total_matches_the_fee_schedule(demo, client, tmp_path):
    headers, patient_id = patient_login(client)
    client.patch(f"/api/v1/patients/{patient_id}", headers=headers, json={"date_of_birth": "1990-02-03"})
    clear_patient(client, patient_id)
    assert client.get("/api/v1/estimates", headers=headers).json["estimates"] == []
    sessions = book_series(client, headers)
    (estimate,) = client.get(f"/api/v1/estimates?patient_id={patient_id}", headers=headers).json["estimates"]
    assert estimate["total_cents"] == schedule_total(demo, sessions) == 6 * 47500
    assert estimate["currency"] == "usd" and estimate["patient_id"] == patient_id

    text = pdf_text(client.get(estimate["pdf_url"], headers=headers).data, tmp_path)
    for expected in ("96365", "J3490", "F43.12", "1234567893", "1679576722", "12-3456789", "$2,850.00", "$400",
                     "February 3, 1990"):
        assert expected in text, expected

    other = api_token(client, "frontdesk@clinic.test")
    assert client.get(estimate["pdf_url"], headers=other).status_code == 404
    billing = api_token(client, "billing@clinic.test")
    assert client.get(estimate["pdf_url"], headers=billing).status_code == 200


def test_a_reschedule_gives_a_new_estimate_and_a_same_service_booking_does_not(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    first = book(client, headers, next_weekday(1)).json["appointment"]
    assert len(client.get("/api/v1/estimates", headers=headers).json["estimates"]) == 1
    moved = client.post(f"/api/v1/appointments/{first['id']}/reschedule", headers=headers,
                        json={"start": at(next_weekday(3), 10)})
    assert moved.status_code == 200, moved.json
    assert len(client.get("/api/v1/estimates", headers=headers).json["estimates"]) == 2
    with demo.app_context():
        assert db.session.scalars(select(Estimate.number)).all()[0].startswith("GFE-")


def test_the_overrun_report_flags_billing_400_or_more_above_the_estimate(demo, client):
    from billing.models import Superbill
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    book(client, headers, next_weekday(1))
    billing = api_token(client, "billing@clinic.test")
    assert client.get("/api/v1/estimates/overruns", headers=billing).json["overruns"] == []
    with demo.app_context():
        day = next_weekday(1)
        db.session.add(Superbill(number="SB-2099-000001", patient_id=patient_id, first_day=day - timedelta(days=1),
                                 last_day=day, total_charged_cents=47500 + 40000, total_paid_cents=0, snapshot={},
                                 pdf_sha256="0" * 64))
        db.session.commit()
    (flag,) = client.get("/api/v1/estimates/overruns", headers=billing).json["overruns"]
    assert flag["patient_id"] == patient_id and flag["over_cents"] == 40000
    assert client.get("/api/v1/estimates/overruns", headers=headers).status_code == 403
