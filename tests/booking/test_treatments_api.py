"""Booking treatments through the API on the demo clinic: clearance, the designated driver, holds,
protocol spacing, closing time, whole series across DST, REMS, discharge and staff overrides."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from booking.models import Protocol
from booking.protocols import readable_date
from clinic import mail
from clinic.extensions import db
from tests.factories import (api_token, assert_keeps_induction_rules, at, book, clear_patient, DRIVER, local,
                             NEW_YORK, next_weekday, past_treatment, patient_login)


def service_info(client, code: str) -> dict:
    return next(s for s in client.get("/api/v1/services").json["services"] if s["code"] == code)


def set_horizon(app, days: int) -> None:
    from clinic.models import ClinicSettings
    with app.app_context():
        db.session.get(ClinicSettings, 1).horizon_days = days
        db.session.commit()


# --- clearance and the designated driver ---------------------------------------------------------------------------

def test_patient_without_clearance_gets_403_clearance_required(demo, client):
    headers, _ = patient_login(client)
    response = book(client, headers, next_weekday(0))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "clearance_required"


def test_cleared_patient_without_driver_gets_422_and_with_one_a_hold_with_amount_due(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    no_driver = client.post("/api/v1/appointments", json={"service": "iv-ketamine", "start": at(monday, 9)},
                            headers=headers)
    assert no_driver.status_code == 422
    assert no_driver.json["error"]["code"] == "driver_required" and "driver" in no_driver.json["error"]["fields"]

    held = book(client, headers, monday)
    assert held.status_code == 201, held.json
    appointment = held.json["appointment"]
    assert appointment["status"] == "pending_payment"
    assert appointment["hold_expires_at"] is not None
    assert appointment["amount_due_cents"] == service_info(client, "iv-ketamine")["price_cents"] > 0
    assert appointment["driver"] == DRIVER
    assert local(appointment["end"]) - local(appointment["start"]) == timedelta(minutes=50 + 120)


def test_driver_must_be_someone_else_with_a_real_phone(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    myself = book(client, headers, monday, driver={**DRIVER, "name": "Pat Jordan"})
    assert myself.status_code == 422 and myself.json["error"]["code"] == "driver_required"
    bad_phone = book(client, headers, monday, driver={**DRIVER, "phone": "call me"})
    assert bad_phone.status_code == 422 and "phone" in bad_phone.json["error"]["fields"]


def test_clearance_for_another_protocol_does_not_cover_this_treatment(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("im-induction",))
    response = book(client, headers, next_weekday(0))
    assert response.status_code == 403 and response.json["error"]["code"] == "clearance_required"
    assert book(client, headers, next_weekday(0), service="im-ketamine").status_code == 201


# --- spacing --------------------------------------------------------------------------------------------------------

def test_next_day_is_refused_with_spacing_violation_naming_the_first_allowed_date(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    assert book(client, headers, monday).status_code == 201
    response = book(client, headers, monday + timedelta(days=1))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "spacing_violation"
    assert readable_date(monday + timedelta(days=2)) in error["message"]
    assert "start" in error["fields"]


def test_patients_own_availability_leaves_out_days_that_break_spacing(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    assert book(client, headers, monday).status_code == 201
    query = f"/api/v1/availability?service=iv-ketamine&from={monday}&to={monday + timedelta(days=4)}"

    def days(response) -> set[date]:
        assert response.status_code == 200, response.json
        return {local(s["start"]).date() for s in response.json["slots"]}

    everyone = days(client.get(query))
    mine = days(client.get(query, headers=headers))
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    assert tuesday in everyone and monday in everyone
    assert monday not in mine and tuesday not in mine
    assert wednesday in mine


def test_uncleared_patients_availability_offers_no_treatment(demo, client):
    headers, _ = patient_login(client)
    monday = next_weekday(0)
    response = client.get(f"/api/v1/availability?service=iv-ketamine&from={monday}&to={monday + timedelta(days=4)}",
                          headers=headers)
    assert response.status_code == 200 and response.json["slots"] == []


def test_sixth_induction_treatment_is_allowed_and_a_seventh_refused(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("iv-induction",))
    monday = next_weekday(0)
    days = [monday + timedelta(days=n) for n in (0, 2, 4, 7, 9, 11)]
    for number, day in enumerate(days, start=1):
        response = book(client, headers, day)
        assert response.status_code == 201, (number, response.json)
    seventh = book(client, headers, monday + timedelta(days=14))
    assert seventh.status_code == 422
    assert seventh.json["error"]["code"] == "spacing_violation"
    assert "6 treatments" in seventh.json["error"]["message"]


def test_with_maintenance_cleared_too_the_seventh_waits_a_week_after_the_last_induction(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)  # iv-induction and iv-maintenance
    monday = next_weekday(0)
    for offset in (0, 2, 4, 7, 9, 11):
        assert book(client, headers, monday + timedelta(days=offset)).json["appointment"]["protocol"] == "iv-induction"
    too_soon = book(client, headers, monday + timedelta(days=14))
    assert too_soon.status_code == 422 and too_soon.json["error"]["code"] == "spacing_violation"
    assert readable_date(monday + timedelta(days=18)) in too_soon.json["error"]["message"]
    maintenance = book(client, headers, monday + timedelta(days=18))
    assert maintenance.status_code == 201 and maintenance.json["appointment"]["protocol"] == "iv-maintenance"


def test_induction_treatment_beyond_28_days_from_the_first_is_refused(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("iv-induction",))
    monday = next_weekday(0)
    for offset in (0, 2, 4):
        assert book(client, headers, monday + timedelta(days=offset)).status_code == 201
    late = book(client, headers, monday + timedelta(days=29))
    assert late.status_code == 422 and late.json["error"]["code"] == "spacing_violation"
    assert "28 days" in late.json["error"]["message"]


def test_cancelled_treatment_no_longer_counts_against_spacing(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    first = book(client, headers, monday).json["appointment"]
    assert book(client, headers, monday + timedelta(days=1)).status_code == 422
    assert client.post(f"/api/v1/appointments/{first['id']}/cancel", headers=headers).status_code == 200
    assert book(client, headers, monday + timedelta(days=1)).status_code == 201


# --- opening hours --------------------------------------------------------------------------------------------------

def test_treatment_whose_monitoring_would_run_past_closing_is_refused(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    late = book(client, headers, monday, 15, 15)  # 50 min dosing + 120 monitoring ends 18:05
    assert late.status_code == 422 and late.json["error"]["code"] == "outside_hours"
    last = book(client, headers, monday, 15, 0)  # ends 17:50
    assert last.status_code == 201, last.json
    assert local(last.json["appointment"]["end"]).time() <= time(18, 0)


def test_esketamine_may_end_exactly_at_closing_but_not_after(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("esketamine",), rems_enrollment_date="2026-01-15")
    monday = next_weekday(0)
    assert book(client, headers, monday, 16, 0, service="esketamine-nasal").json["error"]["code"] == "outside_hours"
    ends_at_six = book(client, headers, monday, 15, 45, service="esketamine-nasal")
    assert ends_at_six.status_code == 201, ends_at_six.json
    assert local(ends_at_six.json["appointment"]["end"]).time() == time(18, 0)


# --- series ---------------------------------------------------------------------------------------------------------

def next_dst_change(after: date) -> date:
    """The first day after `after` whose clock differs from the day before (a Sunday in New York)."""
    day = after
    while datetime.combine(day, time(12), NEW_YORK).utcoffset() == \
            datetime.combine(day + timedelta(days=1), time(12), NEW_YORK).utcoffset():
        day += timedelta(days=1)
    return day + timedelta(days=1)


def test_iv_induction_series_across_a_dst_change_stays_at_nine_and_keeps_every_rule(demo, client):
    change = next_dst_change(date.today() + timedelta(days=7))
    first_monday = change - timedelta(days=6)
    set_horizon(demo, (first_monday - date.today()).days + 60)
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    response = client.post("/api/v1/series", json={"protocol": "iv-induction", "first_date": first_monday.isoformat(),
                                                    "driver": DRIVER}, headers=headers)
    assert response.status_code == 201, response.json
    sessions = response.json["appointments"]
    assert len(sessions) == 6
    starts = [local(s["start"]) for s in sessions]
    assert all(s.time() == time(9, 0) for s in starts)
    assert starts[0].date() >= first_monday
    assert len({datetime.fromisoformat(s["start"]).utcoffset() for s in sessions}) == 2  # both sides of the change
    assert any(s.date() < change for s in starts) and any(s.date() > change for s in starts)
    assert_keeps_induction_rules([s.date() for s in starts])
    assert all(s["status"] == "pending_payment" and s["driver"] == DRIVER for s in sessions)
    assert len({s["series_id"] for s in sessions}) == 1


def test_series_without_clearance_is_403_and_all_or_nothing(demo, client):
    headers, patient_id = patient_login(client)
    body = {"protocol": "iv-induction", "first_date": next_weekday(0).isoformat(), "driver": DRIVER}
    refused = client.post("/api/v1/series", json=body, headers=headers)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "clearance_required"
    clear_patient(client, patient_id)
    no_driver = client.post("/api/v1/series", json={k: v for k, v in body.items() if k != "driver"}, headers=headers)
    assert no_driver.status_code == 422 and no_driver.json["error"]["code"] == "driver_required"
    assert client.get("/api/v1/appointments", headers=headers).json["appointments"] == []


def test_a_series_plans_around_the_minimum_notice_and_stops_at_the_horizon(demo, client):
    """Days inside the notice are skipped by the plan itself (no session refused as too soon afterwards), and a
    series that cannot fit before the horizon is refused as not fitting."""
    from clinic.models import ClinicSettings
    from clinic.database import utcnow
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    with demo.app_context():
        settings = db.session.get(ClinicSettings, 1)
        settings.min_notice_minutes = ((monday - date.today()).days + 2) * 24 * 60  # Monday and Tuesday too soon
        db.session.commit()
    body = {"protocol": "iv-induction", "first_date": monday.isoformat(), "preferred_time": "09:00", "driver": DRIVER}
    planned = client.post("/api/v1/series", json=body, headers=headers)
    assert planned.status_code == 201, planned.json
    starts = [datetime.fromisoformat(s["start"]) for s in planned.json["appointments"]]
    assert len(starts) == 6 and min(starts) >= utcnow() + timedelta(days=(monday - date.today()).days + 1)
    assert_keeps_induction_rules([local(s["start"]).date() for s in planned.json["appointments"]])
    for appointment in planned.json["appointments"]:
        assert client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers).status_code == 200
    set_horizon(demo, (monday - date.today()).days + 10)  # room for three or four of the six, not all
    refused = client.post("/api/v1/series", json=body, headers=headers)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "no_series_fits", refused.json
    assert "first_date" in refused.json["error"]["fields"]


def test_a_series_of_an_unknown_or_one_at_a_time_protocol_is_refused_naming_the_protocol(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("iv-induction", "iv-maintenance"))
    body = {"first_date": next_weekday(0).isoformat(), "driver": DRIVER}
    for code, expected in (("no-such-protocol", "unknown_protocol"), ("iv-maintenance", "not_a_series")):
        refused = client.post("/api/v1/series", json={**body, "protocol": code}, headers=headers)
        assert refused.status_code == 422 and refused.json["error"]["code"] == expected, refused.json
        assert "protocol" in refused.json["error"]["fields"]
    with demo.app_context():  # a protocol the clinic stopped offering is unknown too
        db.session.scalar(select(Protocol).where(Protocol.code == "iv-induction")).active = False
        db.session.commit()
    refused = client.post("/api/v1/series", json={**body, "protocol": "iv-induction"}, headers=headers)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "unknown_protocol"
    assert client.get("/api/v1/appointments", headers=headers).json["appointments"] == []


def test_a_series_whose_holds_ran_out_books_again_at_once(demo, client):
    """Holds that ran out free their places and no longer count as treatments the patient has, even before
    anything tidied them: the same series can be held again straight away, at the same times."""
    from booking.models import Appointment
    from clinic.database import utcnow
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    body = {"protocol": "iv-induction", "first_date": next_weekday(0).isoformat(), "driver": DRIVER}
    first = client.post("/api/v1/series", json=body, headers=headers)
    assert first.status_code == 201, first.json
    first_day = local(first.json["appointments"][0]["start"]).date()
    query = f"/api/v1/availability?service=iv-ketamine&from={first_day}&to={first_day}"
    assert client.get(query, headers=headers).json["slots"] == []  # one treatment a day: the held one
    with demo.app_context():
        for appointment in db.session.scalars(select(Appointment).where(Appointment.patient_id == patient_id)):
            appointment.hold_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    mine = [s["start"] for s in client.get(query, headers=headers).json["slots"]]
    assert first.json["appointments"][0]["start"] in mine  # offered to them again, before anything tidied it
    again = client.post("/api/v1/series", json=body, headers=headers)
    assert again.status_code == 201, again.json
    assert [s["start"] for s in again.json["appointments"]] == [s["start"] for s in first.json["appointments"]]
    statuses = Counter(a["status"] for a in client.get("/api/v1/appointments", headers=headers).json["appointments"])
    assert statuses == {"pending_payment": 6, "cancelled": 6}


def test_esketamine_series_keeps_two_a_week_then_one_a_week_with_two_hours_of_monitoring(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("esketamine",), rems_enrollment_date="2026-01-15")
    first_monday = next_weekday(0)
    response = client.post("/api/v1/series", json={"protocol": "esketamine", "first_date": first_monday.isoformat(),
                                                    "driver": DRIVER}, headers=headers)
    assert response.status_code == 201, response.json
    sessions = response.json["appointments"]
    service = service_info(client, "esketamine-nasal")
    assert service["monitoring_minutes"] >= 120
    for session in sessions:
        window = local(session["end"]) - local(session["start"])
        assert window - timedelta(minutes=service["duration_minutes"]) >= timedelta(minutes=120)
        assert local(session["end"]).time() <= time(18, 0)
    days = sorted(local(s["start"]).date() for s in sessions)
    assert len(set(days)) == len(days)
    per_week = Counter((d - days[0]).days // 7 + 1 for d in days)
    assert [per_week[w] for w in range(1, 5)] == [2, 2, 2, 2]
    assert all(per_week[w] <= 1 for w in per_week if w >= 5)
    assert sum(per_week[w] for w in range(5, 9)) >= 1


def test_esketamine_without_rems_enrollment_date_is_refused(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("esketamine",))
    monday = next_weekday(0)
    response = book(client, headers, monday, service="esketamine-nasal")
    assert response.status_code == 422 and response.json["error"]["code"] == "rems_enrollment_required"
    series = client.post("/api/v1/series", json={"protocol": "esketamine", "first_date": monday.isoformat(),
                                                  "driver": DRIVER}, headers=headers)
    assert series.status_code == 422 and series.json["error"]["code"] == "rems_enrollment_required"
    clear_patient(client, patient_id, protocols=("esketamine",), rems_enrollment_date="2026-01-15")
    assert book(client, headers, monday, service="esketamine-nasal").status_code == 201


def set_needs_rems(app, **codes) -> None:
    """Protocol code -> whether it needs REMS, as an administrator sets it."""
    with app.app_context():
        for code, needs in codes.items():
            db.session.scalars(select(Protocol).where(Protocol.code == code)).one().needs_rems = needs
        db.session.commit()
        db.session.remove()


def test_rems_follows_the_protocols_needs_rems_flag_not_its_code(demo, client):
    with demo.app_context():  # an administrator renames the esketamine protocol: REMS still holds
        db.session.scalars(select(Protocol).where(Protocol.code == "esketamine")).one().code = "spravato-course"
        db.session.commit()
        db.session.remove()
    set_needs_rems(demo, **{"iv-induction": True})
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id, protocols=("spravato-course", "iv-induction"))
    monday = next_weekday(0)
    refused = book(client, headers, monday, service="esketamine-nasal")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "rems_enrollment_required"
    refused = book(client, headers, monday, service="iv-ketamine")
    assert refused.status_code == 422 and refused.json["error"]["code"] == "rems_enrollment_required"
    assert refused.json["error"]["message"].startswith("IV")  # the protocol's own name, not "Esketamine"
    set_needs_rems(demo, **{"iv-induction": False})
    assert book(client, headers, monday, service="iv-ketamine").status_code == 201


# --- completing a treatment: the discharge to the designated driver -------------------------------------------------


def test_completing_without_release_to_driver_is_refused_and_the_treatment_stays_open(demo, client):
    _, patient_id = patient_login(client)
    appointment_id = past_treatment(demo, patient_id)
    clinician = api_token(client, "dr.rivera@clinic.test")
    refused = client.post(f"/api/v1/appointments/{appointment_id}/complete", json={"dose_mg": 35}, headers=clinician)
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "driver_required"
    assert "released_to_driver" in refused.json["error"]["fields"]
    not_released = client.post(f"/api/v1/appointments/{appointment_id}/complete",
                               json={"dose_mg": 35, "released_to_driver": False}, headers=clinician)
    assert not_released.status_code == 422 and not_released.json["error"]["code"] == "driver_required"
    still = client.get(f"/api/v1/appointments/{appointment_id}", headers=clinician).json["appointment"]
    assert still["status"] == "confirmed"

    done = client.post(f"/api/v1/appointments/{appointment_id}/complete",
                       json={"dose_mg": 35, "notes": "tolerated well", "released_to_driver": True}, headers=clinician)
    assert done.status_code == 200, done.json
    assert done.json["appointment"]["status"] == "completed"
    from booking.models import Appointment
    with demo.app_context():
        row = db.session.get(Appointment, appointment_id)
        assert row.released_to_driver is True and row.dose_mg == 35 and row.completed_at is not None


def test_only_a_clinician_completes_and_only_once_started(demo, client):
    headers, patient_id = patient_login(client)
    appointment_id = past_treatment(demo, patient_id)
    body = {"released_to_driver": True}
    assert client.post(f"/api/v1/appointments/{appointment_id}/complete", json=body, headers=headers).status_code == 403
    frontdesk = api_token(client, "frontdesk@clinic.test")
    assert client.post(f"/api/v1/appointments/{appointment_id}/complete", json=body,
                       headers=frontdesk).status_code == 403
    clear_patient(client, patient_id)
    future = book(client, headers, next_weekday(0)).json["appointment"]
    clinician = api_token(client, "dr.rivera@clinic.test")
    early = client.post(f"/api/v1/appointments/{future['id']}/complete", json=body, headers=clinician)
    assert early.status_code == 422 and early.json["error"]["code"] == "not_started"


# --- staff override -------------------------------------------------------------------------------------------------

def test_clinician_override_of_spacing_is_booked_and_its_reason_kept(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    monday = next_weekday(0)
    assert book(client, headers, monday).status_code == 201
    tuesday = monday + timedelta(days=1)
    patient_try = book(client, headers, tuesday, override_reason="I want it")
    assert patient_try.status_code == 422 and patient_try.json["error"]["code"] == "spacing_violation"

    frontdesk = api_token(client, "frontdesk@clinic.test")
    without_reason = book(client, frontdesk, tuesday, patient_id=patient_id)
    assert without_reason.status_code == 422 and without_reason.json["error"]["code"] == "spacing_violation"
    reason = "Travelling abroad next week; Dr. Rivera agreed to a closer session."
    by_frontdesk = book(client, frontdesk, tuesday, patient_id=patient_id, override_reason=reason)
    assert by_frontdesk.status_code == 403 and by_frontdesk.json["error"]["code"] == "override_not_allowed"
    clinician = api_token(client, "dr.rivera@clinic.test")
    overridden = book(client, clinician, tuesday, patient_id=patient_id, override_reason=reason)
    assert overridden.status_code == 201, overridden.json
    from booking.models import Appointment
    from clinic.accounts import find_user
    with demo.app_context():
        row = db.session.get(Appointment, overridden.json["appointment"]["id"])
        assert row.spacing_override_reason == reason
        assert row.spacing_override_by_id == find_user("dr.rivera@clinic.test").id
        assert row.patient_id == patient_id


def test_driver_can_be_changed_until_the_day_before(demo, client):
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    day = next_weekday(1)
    appointment = book(client, headers, day, driver=DRIVER).json["appointment"]
    new_driver = {"name": "Sam Sister", "phone": "617 555 0177", "relationship": "sister"}
    changed = client.post(f"/api/v1/appointments/{appointment['id']}/driver", json={"driver": new_driver}, headers=headers)
    assert changed.status_code == 200 and changed.json["appointment"]["driver"] == new_driver
    another = client.post(f"/api/v1/appointments/{appointment['id']}/driver", headers=headers,
                           json={"driver": {**new_driver, "phone": "617 555 0199"}})
    assert another.status_code == 200
    empty = client.post(f"/api/v1/appointments/{appointment['id']}/driver", json={}, headers=headers)
    assert empty.status_code == 422 and empty.json["error"]["code"] == "driver_required"


def test_driver_cannot_be_changed_online_on_the_day(demo, app):
    from booking import treatments
    from booking.models import Appointment
    from booking.requests import Driver
    from clinic.accounts import find_user
    client = app.test_client()
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    day = next_weekday(1)
    appointment_id = book(client, headers, day, driver=DRIVER).json["appointment"]["id"]
    on_the_day = datetime.combine(day, time(7), NEW_YORK)
    with app.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        patient, staff = find_user("patient@clinic.test"), find_user("frontdesk@clinic.test")
        driver = Driver("Sam Sister", "617 555 0177", "sister")
        try:
            treatments.change_driver(patient, appointment, driver, now=on_the_day)
        except treatments.ValidationError as error:
            assert error.code == "too_late"
        else:
            raise AssertionError("a patient changed the driver on the day")
        treatments.change_driver(staff, appointment, driver, now=on_the_day)
        assert appointment.driver_name == "Sam Sister"
        db.session.rollback()


def test_a_series_is_one_email_listing_every_session_with_one_calendar_file_holding_them_all(demo, client):
    from icalendar import Calendar
    from sqlalchemy import select

    from booking.links import manage_url
    from booking.models import Appointment
    from clinic.models import OutboxMessage

    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    body = {"protocol": "iv-induction", "first_date": next_weekday(0).isoformat(), "driver": DRIVER}
    response = client.post("/api/v1/series", json=body, headers=headers)
    assert response.status_code == 201, response.json
    sessions = response.json["appointments"]
    with demo.app_context():
        booked = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind.in_(("appointment_booked", "series_booked")))).all()
        assert [m.kind for m in booked] == ["series_booked"]
        (message,) = booked
        assert message.subject == "Your 6 treatments are held – please pay to confirm"
        assert "$2,850.00" in message.text and "$2,850.00" in message.html  # six IV treatments at $475.00
        for session in sessions:
            day = local(session["start"]).date()
            assert readable_date(day) in message.text and readable_date(day) in message.html
        assert DRIVER["name"] in message.text
    with demo.test_request_context():
        for session in sessions:  # each session's own private link to change or cancel it
            link = manage_url(db.session.get(Appointment, session["id"]))
            assert link in message.text and link in message.html
        (attachment,) = message.attachments
        events = Calendar.from_ical(mail.attachment_content(attachment)).walk("VEVENT")
        assert sorted(e.decoded("dtstart").astimezone(timezone.utc) for e in events) == \
            sorted(datetime.fromisoformat(s["start"]).astimezone(timezone.utc) for s in sessions)
