"""Every refusal of booking holds on every path that puts a patient in a slot: booking, rescheduling through
the API and through the manage link, and booking a series where the rule applies. Also who may book for a
patient (per role), the spacing override (clinicians only, for the appointment as booked) and the past being
closed to patients."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from markupsafe import escape

from booking.models import Appointment, Closure
from clinic.extensions import db
from clinic.models import ClinicSettings
from tests.factories import (api_token, at, book, clear_patient, csrf_from, DRIVER, guest_booking, next_weekday,
                             past_treatment, patient_login, sign_in)

ESKETAMINE_REMS = {"protocols": ("esketamine",), "rems_enrollment_date": "2026-01-15"}


@dataclass
class Case:
    """A refusal: what to arrange once the appointment to move exists, the start to try, the answer expected."""
    target: datetime | str
    status: int
    code: str
    service: str = "iv-ketamine"
    series_protocol: str | None = None  # when a series request meets the same refusal
    setup: object = None
    clearance: dict = field(default_factory=lambda: {"protocols": ("iv-induction", "iv-maintenance")})


def _base() -> date:
    return next_weekday(0)  # a Monday 7 to 13 days ahead: the appointment to move is booked then


def _withdraw(app, client, patient_id):
    from clinical import services as clinical
    from clinic.accounts import find_user
    from clinic.models import Patient
    with app.app_context():
        clinical.withdraw(find_user("dr.rivera@clinic.test"), db.session.get(Patient, patient_id), reason="BP too high")
        db.session.commit()


def _drop_rems(app, client, patient_id):
    clear_patient(client, patient_id, protocols=("esketamine",), rems_enrollment_date=None)


def _treatment_next_monday(app, client, patient_id):
    headers, _ = patient_login(client)
    assert book(client, headers, _base() + timedelta(days=7)).status_code == 201


def _long_notice(app, client, patient_id):
    with app.app_context():
        db.session.get(ClinicSettings, 1).min_notice_minutes = 60 * 24 * 30
        db.session.commit()


def _closed_wednesday(app, client, patient_id):
    with app.app_context():
        wednesday = _base() + timedelta(days=2)
        db.session.add(Closure(starts_on=wednesday, ends_on=wednesday, reason="Staff training"))
        db.session.commit()


def _consultation_wednesday(app, client, patient_id):
    headers, _ = patient_login(client)
    body = {"service": "consultation", "start": at(_base() + timedelta(days=2), 9), "mode": "phone"}
    assert client.post("/api/v1/appointments", json=body, headers=headers).status_code == 201


def _both_clinicians_busy_wednesday(app, client, patient_id):
    for n in range(2):
        body = guest_booking(_base() + timedelta(days=2), 9, email=f"caller{n}@example.com")
        assert client.post("/api/v1/appointments", json=body).status_code == 201


def _wednesday(hour: int = 9, minute: int = 0) -> str:
    return at(_base() + timedelta(days=2), hour, minute)


CASES = {
    "clearance_required": lambda: Case(_wednesday(), 403, "clearance_required", series_protocol="iv-induction",
                                       setup=_withdraw),
    "rems_enrollment_required": lambda: Case(_wednesday(), 422, "rems_enrollment_required", service="esketamine-nasal",
                                             series_protocol="esketamine", setup=_drop_rems, clearance=ESKETAMINE_REMS),
    "spacing_violation": lambda: Case(at(_base() + timedelta(days=8), 9), 422, "spacing_violation",
                                      setup=_treatment_next_monday),
    "one_treatment_a_day": lambda: Case(at(_base() + timedelta(days=7), 14), 422, "spacing_violation",
                                        setup=_treatment_next_monday),
    "outside_hours": lambda: Case(at(_base() + timedelta(days=5), 9), 422, "outside_hours"),
    "too_soon": lambda: Case(_wednesday(), 422, "too_soon", setup=_long_notice),
    "in_the_past": lambda: Case(at(_base() - timedelta(days=14), 9), 422, "in_the_past"),
    "off_grid": lambda: Case(_wednesday(9, 7), 422, "off_grid"),
    "closure_day": lambda: Case(_wednesday(), 422, "outside_hours", setup=_closed_wednesday),
    "patient_busy": lambda: Case(_wednesday(), 409, "patient_busy", setup=_consultation_wednesday),
    "slot_taken": lambda: Case(_wednesday(), 409, "slot_taken", setup=_both_clinicians_busy_wednesday),
}


def _arrange(demo, client, case: Case) -> tuple[dict, dict]:
    """A cleared patient with one treatment booked on the base Monday, then the case's setup."""
    headers, patient_id = patient_login(client)
    clearance = dict(case.clearance)
    clear_patient(client, patient_id, protocols=clearance.pop("protocols"), **clearance)
    booked = book(client, headers, _base(), service=case.service)
    assert booked.status_code == 201, booked.json
    if case.setup:
        case.setup(demo, client, patient_id)
    return headers, booked.json["appointment"]


def _start_of(demo, appointment_id: int) -> datetime:
    with demo.app_context():
        start = db.session.get(Appointment, appointment_id).starts_at
        db.session.remove()
        return start


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_refusal_of_booking_holds_when_rescheduling_and_for_a_series(demo, client, name):
    case = CASES[name]()
    headers, appointment = _arrange(demo, client, case)
    before = _start_of(demo, appointment["id"])

    booking = client.post("/api/v1/appointments", headers=headers,
                          json={"service": case.service, "start": case.target, "driver": DRIVER})
    assert (booking.status_code, booking.json["error"]["code"]) == (case.status, case.code), booking.json

    moved = client.post(f"/api/v1/appointments/{appointment['id']}/reschedule", json={"start": case.target},
                        headers=headers)
    assert (moved.status_code, moved.json["error"]["code"]) == (case.status, case.code), moved.json
    assert moved.json["error"]["message"] == booking.json["error"]["message"]

    path = appointment["manage_url"].removeprefix("http://127.0.0.1:5000")
    page = client.get(path).get_data(as_text=True)
    by_link = client.post(path + "/reschedule", data={"csrf_token": csrf_from(page), "start": case.target})
    assert by_link.status_code == 302
    assert str(escape(moved.json["error"]["message"])) in client.get(path).get_data(as_text=True)
    assert _start_of(demo, appointment["id"]) == before

    if case.series_protocol:
        series = client.post("/api/v1/series", headers=headers, json={
            "protocol": case.series_protocol, "first_date": (_base() + timedelta(days=21)).isoformat(), "driver": DRIVER})
        assert (series.status_code, series.json["error"]["code"]) == (case.status, case.code), series.json


def test_a_clinicians_spacing_override_covers_only_the_appointment_as_booked(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = _base()
    assert book(client, headers, monday).status_code == 201
    clinician = api_token(client, "dr.rivera@clinic.test")
    overridden = book(client, clinician, monday + timedelta(days=1), patient_id=patient_id,
                      override_reason="Travelling next week; agreed with the patient.").json["appointment"]
    later_that_day = client.post(f"/api/v1/appointments/{overridden['id']}/reschedule", headers=headers,
                                 json={"start": at(monday + timedelta(days=1), 13)})
    assert later_that_day.status_code == 422 and later_that_day.json["error"]["code"] == "spacing_violation"

    by_frontdesk = client.post(f"/api/v1/appointments/{overridden['id']}/reschedule", headers=api_token(
        client, "frontdesk@clinic.test"), json={"start": at(monday + timedelta(days=1), 13), "override_reason": "asked"})
    assert by_frontdesk.status_code == 403 and by_frontdesk.json["error"]["code"] == "override_not_allowed"
    anew = client.post(f"/api/v1/appointments/{overridden['id']}/reschedule", headers=clinician,
                       json={"start": at(monday + timedelta(days=1), 13), "override_reason": "Still travelling."})
    assert anew.status_code == 200, anew.json
    fine = client.post(f"/api/v1/appointments/{overridden['id']}/reschedule", headers=headers,
                       json={"start": at(monday + timedelta(days=2), 9)})
    assert fine.status_code == 200, fine.json
    with demo.app_context():
        row = db.session.get(Appointment, overridden["id"])
        assert row.spacing_override_reason is None and row.spacing_override_by_id is None


def test_no_override_books_two_treatments_on_one_day(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    assert book(client, headers, _base()).status_code == 201
    clinician = api_token(client, "dr.rivera@clinic.test")
    same_day = book(client, clinician, _base(), hour=13, patient_id=patient_id, override_reason="Two doses, please.")
    assert same_day.status_code == 422 and same_day.json["error"]["code"] == "spacing_violation"
    assert "one treatment a day" in same_day.json["error"]["message"]


# --- who may book for a patient --------------------------------------------------------------------------------------

@pytest.mark.parametrize("email, may_book, may_override", [
    ("frontdesk@clinic.test", True, False),
    ("dr.chen@clinic.test", True, True),
    ("admin@clinic.test", True, False),
    ("billing@clinic.test", False, False),
])
def test_who_may_book_reschedule_and_book_a_series_for_a_patient(demo, client, email, may_book, may_override):
    patient_headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    staff = api_token(client, email)
    monday = _base()
    booked = book(client, staff, monday, patient_id=patient_id)
    assert booked.status_code == (201 if may_book else 403), booked.json
    if not may_book:
        assert booked.json["error"]["code"] == "booking_not_allowed"
        booked = book(client, patient_headers, monday)
    appointment_id = booked.json["appointment"]["id"]

    moved = client.post(f"/api/v1/appointments/{appointment_id}/reschedule", headers=staff,
                        json={"start": at(monday, 10)})
    assert moved.status_code == (200 if may_book else 403), moved.json

    override = book(client, staff, monday + timedelta(days=1), patient_id=patient_id, override_reason="Agreed.")
    assert override.status_code == (201 if may_override else 403), override.json
    if not may_override:
        assert override.json["error"]["code"] in {"override_not_allowed", "booking_not_allowed"}

    series = client.post("/api/v1/series", headers=staff, json={
        "protocol": "iv-induction", "patient_id": patient_id, "driver": DRIVER,
        "first_date": (monday + timedelta(days=35)).isoformat()})
    assert series.status_code in ((201, 409, 422) if may_book else (403,)), series.json
    if not may_book:
        assert series.json["error"]["code"] == "booking_not_allowed"


# --- the past is not the patient's to change -------------------------------------------------------------------------

def test_a_patient_cannot_cancel_or_move_a_visit_whose_time_has_come(demo, client):
    headers, patient_id = patient_login(client)
    appointment_id = past_treatment(demo, patient_id, hours_ago=1)
    cancel = client.post(f"/api/v1/appointments/{appointment_id}/cancel", headers=headers)
    assert cancel.status_code == 422 and cancel.json["error"]["code"] == "already_started"
    assert "call the clinic" in cancel.json["error"]["message"]
    move = client.post(f"/api/v1/appointments/{appointment_id}/reschedule", headers=headers,
                       json={"start": at(_base(), 9)})
    assert move.status_code == 422 and move.json["error"]["code"] == "already_started"
    with demo.app_context():
        assert db.session.get(Appointment, appointment_id).status == "confirmed"

    staff_cancel = client.post(f"/api/v1/appointments/{appointment_id}/cancel",
                               headers=api_token(client, "frontdesk@clinic.test"))
    assert staff_cancel.status_code == 200 and staff_cancel.json["appointment"]["status"] == "cancelled"


def test_the_manage_link_of_a_past_visit_offers_no_change_and_refuses_one(demo, client):
    from booking import links
    _, patient_id = patient_login(client)
    appointment_id = past_treatment(demo, patient_id, hours_ago=1)
    with demo.test_request_context():
        path = links.manage_url(db.session.get(Appointment, appointment_id)).removeprefix("http://127.0.0.1:5000")
    page = client.get(path).get_data(as_text=True)
    assert "Yes, cancel my appointment" not in page and "Choose a new time" not in page
    client.post(path + "/cancel", data={"csrf_token": csrf_from(page)})
    assert "can no longer be changed online" in client.get(path).get_data(as_text=True)
    with demo.app_context():
        assert db.session.get(Appointment, appointment_id).status == "confirmed"


def test_the_account_page_offers_no_cancel_for_a_visit_under_way(demo, client):
    _, patient_id = patient_login(client)
    appointment_id = past_treatment(demo, patient_id, hours_ago=1)
    sign_in(client, "patient@clinic.test")
    html = client.get("/account").get_data(as_text=True)
    assert f"appointment-{appointment_id}-title" in html
    assert f"/api/v1/appointments/{appointment_id}/cancel" not in html


def test_staff_still_mark_a_past_visit_missed(demo, client):
    headers, patient_id = patient_login(client)
    appointment_id = past_treatment(demo, patient_id, hours_ago=1)
    sign_in(client, "frontdesk@clinic.test")
    page = client.get("/staff").get_data(as_text=True)
    client.post(f"/staff/appointments/{appointment_id}/no-show", data={"csrf_token": csrf_from(page)})
    with demo.app_context():
        assert db.session.get(Appointment, appointment_id).status == "no_show"


# --- a series completed around treatments already held -----------------------------------------------------------

def test_a_series_is_completed_around_a_treatment_already_booked_from_the_first_suitable_day(demo, client):
    from tests.factories import assert_keeps_induction_rules, local
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = _base()
    assert book(client, headers, monday).status_code == 201
    sign_in(client, "patient@clinic.test")
    page = " ".join(client.get("/account/treatments").get_data(as_text=True).split())
    assert "you already have 1 of 6 treatments booked or done. We find the other 5 around them." in page

    body = {"protocol": "iv-induction", "first_date": (monday + timedelta(days=1)).isoformat(), "driver": DRIVER}
    series = client.post("/api/v1/series", json=body, headers=headers)
    assert series.status_code == 201, series.json
    days = [local(s["start"]).date() for s in series.json["appointments"]]
    assert len(days) == 5 and days[0] == monday + timedelta(days=2)  # Tuesday would be the day after Monday's
    assert_keeps_induction_rules([monday, *days])

    again = client.post("/api/v1/series", json=body, headers=headers)
    assert again.status_code == 422 and again.json["error"]["code"] == "series_complete"
    assert "all 6 treatments" in again.json["error"]["message"]
    assert "Your series is complete." in client.get("/account/treatments").get_data(as_text=True)


def test_a_series_that_cannot_fit_around_held_treatments_says_how_many_it_looked_for(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = _base()
    assert book(client, headers, monday).status_code == 201
    body = {"protocol": "iv-induction", "first_date": (monday + timedelta(days=1)).isoformat(), "driver": DRIVER,
            "weekdays": ["fri"]}  # one a week cannot make 5 more within 28 days of the first
    refused = client.post("/api/v1/series", json=body, headers=headers)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "no_series_fits"
    assert "5 treatment times" in refused.json["error"]["message"] and "the 1 you already have" in refused.json["error"]["message"]
    assert "already booked" not in refused.json["error"]["message"]
