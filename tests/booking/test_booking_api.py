"""Issue 3 through the JSON API on the demo clinic: availability, guest bookings, refusals, the .ics,
cancelling and moving, DST and a zone without DST, and holds that expire by themselves."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from booking.models import Appointment, Reservation, Service
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import ClinicSettings, OpeningHours, Patient
from tests.factories import appointment_row, at, booked, guest_booking, MONDAY, NEW_YORK, next_weekday, staff

PHOENIX = ZoneInfo("America/Phoenix")
SPRING_FORWARD = date(2027, 3, 14)  # New York's next change to daylight time after this suite was written


def availability(client, day_from: date, day_to: date | None = None, service: str = "consultation"):
    query = {"service": service, "from": day_from.isoformat(), "to": (day_to or day_from).isoformat()}
    return client.get("/api/v1/availability", query_string=query)


def slots_on(client, day: date) -> dict[str, int]:
    response = availability(client, day)
    assert response.status_code == 200, response.json
    return {slot["start"]: slot["available"] for slot in response.json["slots"]}


def book(client, body: dict, headers: dict | None = None):
    return client.post("/api/v1/appointments", json=body, headers=headers or {})


def event_of(ics: bytes):
    (event,) = Calendar.from_ical(ics).walk("VEVENT")
    return event


# --- availability and booking -------------------------------------------------------------------------------------

def test_weekday_offers_forty_consultation_starts_with_both_clinicians(demo, client):
    day = next_weekday(MONDAY)
    response = availability(client, day)

    assert response.status_code == 200
    assert response.json["service"] == "consultation"
    assert response.json["timezone"] == "America/New_York"
    slots = response.json["slots"]
    assert [s["start"] for s in slots] == [at(day, 8 + q // 4, 15 * (q % 4)) for q in range(40)]
    assert slots[0]["start"] == at(day, 8) and slots[-1]["start"] == at(day, 17, 45)
    assert slots[-1]["end"] == at(day, 18)
    assert {s["available"] for s in slots} == {2}


def test_guest_booking_takes_one_place_at_that_start(demo, client):
    day = next_weekday(MONDAY)
    appointment = booked(client, day, 10, 30)

    assert appointment["status"] == "confirmed"
    assert appointment["start"] == at(day, 10, 30) and appointment["end"] == at(day, 10, 45)
    assert appointment["patient_id"] is None  # a guest learns nothing about patient records
    offered = slots_on(client, day)
    assert offered[at(day, 10, 30)] == 1
    assert offered[at(day, 10, 15)] == offered[at(day, 10, 45)] == 2


def test_last_place_taken_gets_409_slot_taken(demo, client):
    day = next_weekday(MONDAY)
    booked(client, day, 9, email="first@example.com")
    booked(client, day, 9, email="second@example.com")

    third = book(client, guest_booking(day, 9, email="third@example.com"))
    assert third.status_code == 409
    assert third.json["error"]["code"] == "slot_taken" and third.json["error"]["message"]
    assert at(day, 9) not in slots_on(client, day)


@pytest.mark.parametrize("start, code", [
    (lambda: at(date.today() - timedelta(days=3), 10), "in_the_past"),
    (lambda: at(next_weekday(MONDAY), 18), "outside_hours"),
    (lambda: at(next_weekday(MONDAY), 7, 45), "outside_hours"),
    (lambda: at(next_weekday(MONDAY), 17, 50), "outside_hours"),
    (lambda: at(next_weekday(6), 10), "outside_hours"),  # Sunday
    (lambda: at(next_weekday(MONDAY), 10, 5), "off_grid"),
    (lambda: at(next_weekday(MONDAY), 10, 7), "off_grid"),
], ids=["past", "at-closing", "before-opening", "runs-past-closing", "sunday", "off-quarter-hour", "odd-minute"])
def test_bad_starts_are_refused_with_a_reason(demo, client, start, code):
    response = book(client, guest_booking(next_weekday(MONDAY), 9) | {"start": start()})

    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == code
    assert error["message"].endswith(".") and len(error["message"]) > 20
    assert "start" in error["fields"]


def test_start_without_an_offset_is_refused(demo, client):
    naive = datetime.combine(next_weekday(MONDAY), time(10)).isoformat()
    response = book(client, guest_booking(next_weekday(MONDAY), 9) | {"start": naive})

    assert response.status_code == 422
    assert "offset" in response.json["error"]["message"]
    assert "start" in response.json["error"]["fields"]


def test_unknown_service_is_refused(demo, client):
    day = next_weekday(MONDAY)
    listing = availability(client, day, service="reiki")
    booking = book(client, guest_booking(day, 9) | {"service": "reiki"})

    assert listing.status_code == booking.status_code == 422
    assert listing.json["error"]["code"] == booking.json["error"]["code"] == "unknown_service"


def test_more_than_62_days_of_availability_is_refused(demo, client):
    first = next_weekday(MONDAY)
    assert availability(client, first, first + timedelta(days=61)).status_code == 200
    too_long = availability(client, first, first + timedelta(days=62))
    backwards = availability(client, first, first - timedelta(days=1))

    assert too_long.status_code == backwards.status_code == 422
    assert "to" in too_long.json["error"]["fields"]


def test_guest_with_an_existing_patients_email_gets_the_same_answer(demo, client, app):
    day = next_weekday(MONDAY)
    with app.app_context():
        patient = Patient(name="Pat Existing", email="pat@example.com", phone="617 555 0100",
                          date_of_birth=date(1980, 5, 17), address="1 Main Street\nBoston, MA 02110")
        db.session.add(patient)
        db.session.commit()
        known = (patient.id, patient.name, patient.email, patient.phone, patient.date_of_birth, patient.address)

    stranger = book(client, guest_booking(day, 9, email="stranger@example.com"))
    impostor = book(client, {"service": "consultation", "start": at(day, 10), "patient": {
        "name": "Someone Else", "email": "Pat@Example.com", "phone": "212 555 0000", "date_of_birth": "1970-01-01"}})

    assert stranger.status_code == impostor.status_code == 201
    assert impostor.json.keys() == stranger.json.keys()
    assert impostor.json["appointment"].keys() == stranger.json["appointment"].keys()
    assert impostor.json["appointment"]["patient_id"] is None
    with app.app_context():
        after = db.session.get(Patient, known[0])
        assert (after.id, after.name, after.email, after.phone, after.date_of_birth, after.address) == known
        assert db.session.get(Appointment, impostor.json["appointment"]["id"]).patient_id != known[0]
        assert db.session.scalar(select(db.func.count(Appointment.id)).where(Appointment.patient_id == known[0])) == 0


# --- the calendar file -------------------------------------------------------------------------------------------

def test_ics_has_the_local_start_and_tzid_for_staff_and_by_manage_link(demo, client):
    day = next_weekday(MONDAY)
    appointment = booked(client, day, 9, 15)

    by_staff = client.get(f"/api/v1/appointments/{appointment['id']}/calendar.ics", headers=staff(client))
    by_link = client.get(appointment["manage_url"].removeprefix("http://127.0.0.1:5000") + "/calendar.ics")

    for response in (by_staff, by_link):
        assert response.status_code == 200
        assert response.mimetype == "text/calendar"
        event = event_of(response.data)
        assert event["DTSTART"].params["TZID"] == "America/New_York"
        assert event["DTSTART"].dt.replace(tzinfo=None) == datetime.combine(day, time(9, 15))
        assert event["DTSTART"].dt.utcoffset() == datetime.combine(day, time(9, 15), NEW_YORK).utcoffset()
        assert b"BEGIN:VTIMEZONE" in response.data
    assert event_of(by_staff.data)["UID"] == event_of(by_link.data)["UID"]


def test_ics_without_a_token_or_valid_link_is_not_served(demo, client):
    appointment = booked(client, next_weekday(MONDAY), 9)

    assert client.get(f"/api/v1/appointments/{appointment['id']}/calendar.ics").status_code == 401
    assert client.get("/appointments/manage/not-a-token/calendar.ics").status_code == 404


# --- cancelling and moving --------------------------------------------------------------------------------------

def test_cancelling_frees_the_place(demo, client):
    day = next_weekday(MONDAY)
    first = booked(client, day, 11, email="first@example.com")
    booked(client, day, 11, email="second@example.com")
    assert at(day, 11) not in slots_on(client, day)

    response = client.post(f"/api/v1/appointments/{first['id']}/cancel", headers=staff(client))

    assert response.status_code == 200, response.json
    assert response.json["appointment"]["status"] == "cancelled"
    assert slots_on(client, day)[at(day, 11)] == 1
    assert booked(client, day, 11, email="third@example.com")["start"] == at(day, 11)


def test_cancelled_appointment_ics_says_cancelled_with_a_higher_sequence(demo, client):
    appointment = booked(client, next_weekday(MONDAY), 11)
    headers = staff(client)
    before = event_of(client.get(f"/api/v1/appointments/{appointment['id']}/calendar.ics", headers=headers).data)
    client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers)
    after = event_of(client.get(f"/api/v1/appointments/{appointment['id']}/calendar.ics", headers=headers).data)

    assert after["STATUS"] == "CANCELLED"
    assert after["UID"] == before["UID"] and after["SEQUENCE"] > before["SEQUENCE"]


def test_reschedule_moves_the_booking_and_frees_the_old_start(demo, client):
    day = next_weekday(MONDAY)
    appointment = booked(client, day, 14)

    response = client.post(f"/api/v1/appointments/{appointment['id']}/reschedule",
                           json={"start": at(day + timedelta(days=1), 15, 30)}, headers=staff(client))

    assert response.status_code == 200, response.json
    moved = response.json["appointment"]
    assert moved["id"] == appointment["id"] and moved["start"] == at(day + timedelta(days=1), 15, 30)
    assert slots_on(client, day)[at(day, 14)] == 2
    assert slots_on(client, day + timedelta(days=1))[at(day + timedelta(days=1), 15, 30)] == 1


def test_reschedule_follows_the_booking_rules(demo, client):
    day = next_weekday(MONDAY)
    appointment = booked(client, day, 14)
    headers = staff(client)

    sunday = client.post(f"/api/v1/appointments/{appointment['id']}/reschedule",
                         json={"start": at(next_weekday(6), 10)}, headers=headers)
    assert sunday.status_code == 422 and sunday.json["error"]["code"] == "outside_hours"
    booked(client, day, 16, email="a@example.com")
    booked(client, day, 16, email="b@example.com")
    full = client.post(f"/api/v1/appointments/{appointment['id']}/reschedule",
                       json={"start": at(day, 16)}, headers=headers)
    assert full.status_code == 409 and full.json["error"]["code"] == "slot_taken"
    assert slots_on(client, day)[at(day, 14)] == 1  # still where it was


# --- time zones ----------------------------------------------------------------------------------------------------

def open_sundays_and_look_far_ahead(app) -> None:
    """The demo clinic closes on Sundays, when New York changes its clocks; open it that day too."""
    with app.app_context():
        db.session.add(OpeningHours(weekday=6, opens=time(8), closes=time(18)))
        db.session.get(ClinicSettings, 1).horizon_days = 400
        db.session.commit()


def seed(app, zone: str) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo", "--timezone", zone])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("zone", ["America/New_York", "America/Phoenix"])
def test_dst_change_weekend_keeps_forty_starts_with_the_right_offsets(app, client, zone):
    seed(app, zone)
    open_sundays_and_look_far_ahead(app)
    friday, monday = SPRING_FORWARD - timedelta(days=2), SPRING_FORWARD + timedelta(days=1)

    response = availability(client, friday, monday)

    assert response.status_code == 200 and response.json["timezone"] == zone
    by_day: dict[str, list[str]] = {}
    for slot in response.json["slots"]:
        by_day.setdefault(slot["start"][:10], []).append(slot["start"])
    local = ZoneInfo(zone)
    for day in (friday, SPRING_FORWARD, monday):
        expected = [datetime.combine(day, time(8), local) + timedelta(minutes=15 * q) for q in range(40)]
        assert by_day[day.isoformat()] == [start.isoformat() for start in expected]
    offsets = {day: by_day[day.isoformat()][0][-6:] for day in (friday, SPRING_FORWARD, monday)}
    if zone == "America/Phoenix":
        assert set(offsets.values()) == {"-07:00"}
    else:
        assert offsets == {friday: "-05:00", SPRING_FORWARD: "-04:00", monday: "-04:00"}
    instants = [datetime.fromisoformat(s["start"]) for s in response.json["slots"]]
    assert len(set(instants)) == len(instants) == 40 * 3  # Saturday stays closed; no two starts share an instant


def test_booking_in_a_zone_without_dst_uses_its_offset(app, client):
    seed(app, "America/Phoenix")
    day = next_weekday(MONDAY)

    new_york_nine = book(client, guest_booking(day, 9))  # 07:00 in Phoenix: before opening
    start = datetime.combine(day, time(9), PHOENIX).isoformat()
    phoenix_nine = book(client, guest_booking(day, 9) | {"start": start})

    assert new_york_nine.status_code == 422 and new_york_nine.json["error"]["code"] == "outside_hours"
    assert phoenix_nine.status_code == 201, phoenix_nine.json
    assert phoenix_nine.json["appointment"]["start"] == start and start.endswith("-07:00")


# --- holds that run out ---------------------------------------------------------------------------------------------

def test_expired_hold_frees_its_place_with_nothing_run(demo, client, app):
    day = next_weekday(MONDAY)
    start = datetime.combine(day, time(13), NEW_YORK).astimezone(timezone.utc)
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.code == "consultation"))
        patient = Patient(name="Held Patient", email="held@example.com", phone="617 555 0111")
        for clinician in service.clinicians:
            db.session.add(appointment_row(service, start, patient=patient, clinician_id=clinician.id,
                                           status="pending_payment", hold_expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
        assert db.session.scalar(select(db.func.count(Reservation.id)).where(Reservation.active)) == 2

    assert slots_on(client, day)[at(day, 13)] == 2
    booked(client, day, 13, email="one@example.com")
    booked(client, day, 13, email="two@example.com")
    assert at(day, 13) not in slots_on(client, day)


def test_hold_still_running_keeps_its_place(demo, client, app):
    day = next_weekday(MONDAY)
    start = datetime.combine(day, time(13), NEW_YORK).astimezone(timezone.utc)
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.code == "consultation"))
        db.session.add(appointment_row(service, start, status="pending_payment",
                                       hold_expires_at=utcnow() + timedelta(minutes=10)))
        db.session.commit()

    assert slots_on(client, day)[at(day, 13)] == 1


def test_a_guest_booking_names_every_field_to_fix_in_one_answer(demo, client):
    body = {"service": "consultation", "start": "tomorrow at nine", "mode": "carrier pigeon",
            "patient": {"name": "", "email": "not-an-address", "phone": "12", "date_of_birth": "1990-02-30"}}
    response = client.post("/api/v1/appointments", json=body)
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert set(fields) == {"start", "mode", "name", "email", "phone", "date_of_birth"}
    assert fields["email"] == "Please enter a valid email address, like name@example.com."
    assert "6 details" in response.json["error"]["message"]
    one = client.post("/api/v1/appointments", json=guest_booking(next_weekday(1), 10, email="nope"))
    assert one.status_code == 422 and set(one.json["error"]["fields"]) == {"email"}
    assert one.json["error"]["message"] == one.json["error"]["fields"]["email"]
