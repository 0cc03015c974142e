"""Good Faith Estimates: due dates in business days (weekends, federal holidays and clinic closures are not), a
new estimate when services change (a visit cancelled or a new one booked), every disclaimer in the PDF, the
billing staff's list, and an overrun report that compares each visit with the estimate that covered it."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from billing import estimates, gfe_deadlines
from billing.models import Estimate, Superbill
from booking.models import Closure
from clinic.extensions import db
from tests.billing.factories import pdf_text
from tests.factories import (api_token, book_series, clear_patient, DRIVER, move_to_the_past, patient_login,
                             schedule_total, sign_in, signed_in as sign_in_role)

MONDAY = date(2027, 3, 8)
NONE: frozenset[date] = frozenset()


@pytest.mark.parametrize("scheduled,service,closed,due", [
    (MONDAY, MONDAY + timedelta(days=3), NONE, MONDAY + timedelta(days=1)),  # Thursday: 3 business days ahead
    (MONDAY, MONDAY + timedelta(days=2), NONE, None),  # Wednesday: 2 ahead, no deadline
    (MONDAY + timedelta(days=4), MONDAY + timedelta(days=9), NONE, MONDAY + timedelta(days=7)),  # Fri: the weekend skipped
    (MONDAY, MONDAY + timedelta(days=14), NONE, MONDAY + timedelta(days=3)),  # 10 ahead: 3 business days
    (MONDAY, MONDAY + timedelta(days=13), NONE, MONDAY + timedelta(days=1)),  # 9 ahead: still 1
    (MONDAY, MONDAY + timedelta(days=3), {MONDAY + timedelta(days=1)}, None),  # a closure: only 2 ahead
    (MONDAY, MONDAY + timedelta(days=4), {MONDAY + timedelta(days=1)}, MONDAY + timedelta(days=2)),
    (date(2027, 1, 15), date(2027, 1, 21), {date(2027, 1, 18)}, date(2027, 1, 19)),  # Friday before MLK Day
])
def test_the_due_date_counts_business_days(scheduled, service, closed, due):
    assert gfe_deadlines.due_on(scheduled, service, closed) == due


def test_business_days_between_and_after():
    assert gfe_deadlines.business_days_between(MONDAY, MONDAY + timedelta(days=7), NONE) == 5
    assert gfe_deadlines.add_business_days(MONDAY + timedelta(days=4), 1, NONE) == MONDAY + timedelta(days=7)
    assert not gfe_deadlines.is_business_day(MONDAY + timedelta(days=5), NONE)


def test_closed_days_are_holidays_and_whole_clinic_closures_only(demo):
    with demo.app_context():
        rivera = db.session.scalar(select(Closure.clinician_id).where(Closure.clinician_id.is_not(None)))
        assert rivera is None  # the demo closes the whole clinic for holidays only
        db.session.add(Closure(starts_on=date(2027, 3, 9), ends_on=date(2027, 3, 10), reason="training"))
        db.session.add(Closure(clinician_id=1, starts_on=date(2027, 3, 11), ends_on=date(2027, 3, 11), reason="leave"))
        db.session.flush()
        closed = estimates.closed_days(date(2027, 3, 1), date(2027, 3, 20))
        assert {date(2027, 3, 9), date(2027, 3, 10)} <= closed and date(2027, 3, 11) not in closed
        assert date(2027, 7, 5) in estimates.closed_days(date(2027, 7, 1), date(2027, 7, 6))  # July 4th observed
        assert estimates.due_on(date(2027, 3, 8), date(2027, 3, 12)) is None  # Tue and Wed closed: 2 ahead


def test_a_series_estimate_states_its_due_date_and_every_disclaimer(demo, client, tmp_path):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    sessions = book_series(client, headers)
    (listed,) = client.get("/api/v1/estimates", headers=headers).json["estimates"]
    assert listed["total_cents"] == schedule_total(demo, sessions)
    with demo.app_context():
        estimate = db.session.get(Estimate, listed["id"])
        given = date.fromisoformat(estimate.snapshot["issued_on"])
        first = date.fromisoformat(sessions[0]["start"][:10])
        assert estimate.snapshot["due_on"] == estimates.due_on(given, first).isoformat()
        assert set(estimate.snapshot["expected_by_appointment"].values()) == {47500}
    text = pdf_text(client.get(listed["pdf_url"], headers=headers).data, tmp_path)
    for disclaimer in ("only an estimate", "not a contract", "right to dispute", "$400 more",
                       "www.cms.gov/nosurprises", "1-800-985-3059", "within 120 calendar days", "Keep a copy"):
        assert disclaimer in text, disclaimer


def test_a_cancelled_session_or_a_new_booking_gives_a_new_estimate(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    sessions = book_series(client, headers)
    cancelled = client.post(f"/api/v1/appointments/{sessions[-1]['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.json
    latest, first = client.get("/api/v1/estimates", headers=headers).json["estimates"]
    assert first["total_cents"] == 6 * 47500 and latest["total_cents"] == 5 * 47500
    again = client.post("/api/v1/appointments", headers=headers, json={
        "service": "iv-ketamine", "start": sessions[-1]["start"], "driver": DRIVER})  # booked again: a new visit
    assert again.status_code == 201, again.json
    newest = client.get("/api/v1/estimates", headers=headers).json["estimates"][0]
    assert newest["total_cents"] == 6 * 47500 and newest["id"] != latest["id"]


def test_the_overrun_report_compares_each_visit_with_the_estimate_that_covered_it(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    sessions = book_series(client, headers)
    for days_ago, session in zip((20, 17, 14), sessions[:3]):
        move_to_the_past(demo, session["id"], days_ago)
    client.post(f"/api/v1/appointments/{sessions[-1]['id']}/cancel", headers=headers)
    estimates_given = client.get("/api/v1/estimates", headers=headers).json["estimates"]
    assert estimates_given[0]["total_cents"] == 2 * 47500  # only what was still to come
    billing = api_token(client, "billing@clinic.test")

    def billed(cents: int) -> list:
        with demo.app_context():
            db.session.query(Superbill).delete()
            db.session.add(Superbill(number="SB-2099-000001", patient_id=patient_id, first_day=date(2026, 1, 1),
                                     last_day=date(2099, 1, 1), total_charged_cents=cents, total_paid_cents=0,
                                     snapshot={}, pdf_sha256="0" * 64))
            db.session.commit()
        return client.get("/api/v1/estimates/overruns", headers=billing).json["overruns"]
    assert billed(5 * 47500) == []  # three past visits at the first estimate, two at the second
    assert billed(5 * 47500 + 39999) == []
    (flag,) = billed(5 * 47500 + 40000)
    assert flag["estimate_cents"] == 5 * 47500 and flag["over_cents"] == 40000


@pytest.mark.parametrize("role", ["billing", "admin"])
def test_billing_staff_see_each_estimate_with_its_due_date(demo, role):
    client = demo.test_client()
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    book_series(client, headers)
    staff, _ = sign_in_role(demo, role)
    assert "/billing/estimates" in staff.get("/billing").get_data(as_text=True)
    page = staff.get("/billing/estimates")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "GFE-" in text and "$2,850.00" in text and "data-no-overruns" in text
    assert "(given in time)" in text or "No deadline" in text
    assert "/api/v1/estimates/" in text and ".pdf" in text


@pytest.mark.parametrize("email", ["patient@clinic.test", "frontdesk@clinic.test", "dr.rivera@clinic.test"])
def test_other_roles_cannot_open_the_estimates_list(demo, email):
    client = demo.test_client()
    sign_in(client, email)
    assert client.get("/billing/estimates").status_code == 403
