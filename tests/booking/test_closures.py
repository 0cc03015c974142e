"""Closures: US federal holidays computed by rule, seeded by the demo, set by an administrator at /admin/closures,
and respected by availability and booking."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from booking.holidays import federal_holidays, federal_holidays_between
from booking.models import Appointment, Closure
from clinic.extensions import db
from clinic.models import Clinician
from tests.factories import csrf_from, DEMO_PASSWORD, guest_booking, NEW_YORK, next_weekday


def test_federal_holidays_of_2027_on_their_observed_dates():
    assert federal_holidays(2027) == [
        (date(2027, 1, 1), "New Year's Day"), (date(2027, 1, 18), "Birthday of Martin Luther King, Jr."),
        (date(2027, 2, 15), "Washington's Birthday"), (date(2027, 5, 31), "Memorial Day"),
        (date(2027, 6, 18), "Juneteenth National Independence Day"),  # Saturday, observed Friday
        (date(2027, 7, 5), "Independence Day"),  # Sunday, observed Monday
        (date(2027, 9, 6), "Labor Day"), (date(2027, 10, 11), "Columbus Day"), (date(2027, 11, 11), "Veterans Day"),
        (date(2027, 11, 25), "Thanksgiving Day"), (date(2027, 12, 24), "Christmas Day"),  # Saturday, observed Friday
    ]


def test_a_new_years_day_on_saturday_is_observed_the_last_friday_of_the_year_before():
    assert (date(2027, 12, 31), "New Year's Day") in federal_holidays_between(date(2027, 12, 1), date(2027, 12, 31))
    assert [d for d, _ in federal_holidays_between(date(2026, 7, 1), date(2026, 7, 31))] == [date(2026, 7, 3)]
    assert all(d.weekday() < 5 for y in range(2025, 2040) for d, _ in federal_holidays(y))


@pytest.mark.holidays
def test_seed_demo_closes_the_clinic_on_the_next_eighteen_months_of_holidays_and_can_run_again(demo, ctx):
    rows = db.session.scalars(select(Closure).order_by(Closure.starts_on)).all()
    today = datetime.now(NEW_YORK).date()  # the clinic's date, as seeding reads it: today or, past midnight, yesterday
    expected = [federal_holidays_between(day, day + timedelta(days=549)) for day in (today, today - timedelta(days=1))]
    assert [(r.starts_on, r.reason) for r in rows] in expected
    assert len(rows) >= 16 and all(r.clinician_id is None and r.starts_on == r.ends_on for r in rows)
    db.session.remove()
    result = demo.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Closure.id))) == len(rows)


def _close(app, day: date, clinician_id: int | None = None) -> None:
    with app.app_context():
        db.session.add(Closure(starts_on=day, ends_on=day, clinician_id=clinician_id, reason="Staff training"))
        db.session.commit()


def test_a_closed_day_offers_no_times_and_refuses_a_booking(demo, client):
    day = next_weekday(2)
    assert client.get(f"/api/v1/availability?service=consultation&from={day}&to={day}").json["slots"]
    _close(demo, day)
    assert client.get(f"/api/v1/availability?service=consultation&from={day}&to={day}").json["slots"] == []
    assert client.get(f"/api/v1/availability?service=iv-ketamine&from={day}&to={day}").json["slots"] == []
    refused = client.post("/api/v1/appointments", json=guest_booking(day, 10))
    assert refused.status_code == 422 and refused.json["error"]["code"] == "outside_hours"
    assert "start" in refused.json["error"]["fields"]
    next_day = day + timedelta(days=1)
    assert client.post("/api/v1/appointments", json=guest_booking(next_day, 10)).status_code == 201


def test_one_clinicians_day_off_leaves_the_other_clinician_bookable(demo, client):
    day = next_weekday(3)
    with demo.app_context():
        rivera, chen = (c.id for c in db.session.scalars(select(Clinician).order_by(Clinician.id)).all()[:2])
    _close(demo, day, rivera)
    first = client.post("/api/v1/appointments", json=guest_booking(day, 10, email="one@example.com"))
    assert first.status_code == 201, first.json
    assert first.json["appointment"]["provider_id"] == chen
    second = client.post("/api/v1/appointments", json=guest_booking(day, 10, email="two@example.com"))
    assert second.status_code == 409 and second.json["error"]["code"] == "slot_taken"


@pytest.fixture
def admin(demo):
    """A client signed in as the demo administrator, second factor included."""
    client = demo.test_client()
    with demo.app_context():
        from clinic.accounts import enable_totp, find_user
        secret = pyotp.random_base32()
        enable_totp(find_user("admin@clinic.test"), secret, pyotp.TOTP(secret).now())
        db.session.commit()
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": "admin@clinic.test", "password": DEMO_PASSWORD, "csrf_token": csrf_from(page)})
    page = client.get("/login/verify").get_data(as_text=True)
    verified = client.post("/login/verify", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)})
    assert verified.status_code == 302
    return client


@pytest.mark.holidays  # the page lists the seeded holidays
def test_an_administrator_adds_and_removes_a_closure_from_the_admin_pages(demo, admin, client):
    assert 'href="/admin/closures/"' in admin.get("/admin/").get_data(as_text=True)
    page = admin.get("/admin/closures/")
    assert page.status_code == 200 and "Thanksgiving Day" in page.get_data(as_text=True)
    day = next_weekday(1)
    client.post("/api/v1/appointments", json=guest_booking(day, 11))
    saved = admin.post("/admin/closures/", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "scope": "clinic", "starts_on": day.isoformat(),
        "ends_on": (day + timedelta(days=1)).isoformat(), "reason": "Water leak repairs"}, follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "1 appointment is already booked then" in html
    assert f"{day:%A, %B} {day.day}, {day.year} to" in html and "Water leak repairs" in html
    assert client.get(f"/api/v1/availability?service=consultation&from={day}&to={day}").json["slots"] == []
    with demo.app_context():
        closure_id = db.session.scalar(select(Closure.id).where(Closure.reason == "Water leak repairs"))
        assert db.session.scalar(select(func.count(Appointment.id))) == 1  # not cancelled
    removed = admin.post(f"/admin/closures/{closure_id}/delete", data={"csrf_token": csrf_from(html)},
                         follow_redirects=True)
    assert "can be booked again" in removed.get_data(as_text=True)
    assert client.get(f"/api/v1/availability?service=consultation&from={day}&to={day}").json["slots"]


def test_a_closure_form_with_mistakes_says_what_to_fix(demo, admin):
    token = csrf_from(admin.get("/admin/closures/").get_data(as_text=True))
    backwards = admin.post("/admin/closures/", data={"csrf_token": token, "scope": "clinic", "starts_on": "2027-03-17",
                                                     "ends_on": "2027-03-16", "reason": "Training"})
    assert backwards.status_code == 422 and "on or after the first day" in backwards.get_data(as_text=True)
    odd = admin.post("/admin/closures/", data={"csrf_token": token, "scope": "999999", "starts_on": "9999-12-31",
                                               "ends_on": "", "reason": ""})
    html = odd.get_data(as_text=True)
    assert odd.status_code == 422 and "Choose the last day." in html and "Say why" in html
    assert 'aria-invalid="true"' in html
    summary = html.split("data-error-summary", 1)[1].split("</div>", 1)[0]  # the one error summary macro
    assert "There is a problem" in summary and "Please correct the fields marked below." in summary


@pytest.mark.parametrize("email", ["frontdesk@clinic.test", "patient@clinic.test"])
def test_only_administrators_set_closures(demo, client, email):
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_from(page)})
    assert client.get("/admin/closures/").status_code in (302, 403)
    assert client.post("/admin/closures/1/delete", data={}).status_code in (302, 400, 403)
