"""Booking a free consultation in real Chromium: the time picker, the form, the errors and the manage page.

The app runs on a loopback port in a background thread. SQLite takes its write lock for every
transaction (BEGIN IMMEDIATE), so the test thread never keeps a session open while the browser talks
to the server: every database read here is wrapped in an app context that removes its session.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from booking.models import Appointment
from clinic.extensions import db
from tests.browser import BROWSER_MARKS, browser_sign_in, DESKTOP, fill_driver, screenshot, sign_in_cleared_patient
from tests.factories import at, clear_patient, DEMO_PASSWORD, DRIVER, guest_booking, next_weekday
from clinic.settings import clinic_settings

pytestmark = BROWSER_MARKS


def open_booking(page, live_server):
    page.goto(f"{live_server}/book")
    page.wait_for_selector("[data-slot-days] button[aria-pressed='true']")
    page.wait_for_selector("[data-slot-times] button")


def choose_first_time(page) -> tuple[str, str]:
    """Pick the first day and its first time; returns (ISO start, time as shown)."""
    first_day = page.locator("[data-slot-days] button").first
    first_day.click()
    assert first_day.get_attribute("aria-pressed") == "true"
    first_time = page.locator("[data-slot-times] button").first
    first_time.click()
    assert first_time.get_attribute("aria-pressed") == "true"
    return first_time.get_attribute("data-start"), first_time.inner_text().replace("✓", "").strip()


def fill_details(page, email: str = "casey@example.com") -> None:
    page.get_by_label("Your name").fill("Casey Guest")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Phone number").fill("617 555 0199")
    page.get_by_label("Video call").check()


def test_a_guest_books_a_consultation_and_lands_on_the_manage_page(page, live_server, demo, tmp_path):
    open_booking(page, live_server)
    screenshot(page, tmp_path, "book")
    start, shown = choose_first_time(page)
    assert re.fullmatch(r"\d{1,2}:\d{2} (AM|PM)", shown)
    hour, minute = int(start[11:13]), start[14:16]
    assert shown == f"{hour % 12 or 12}:{minute} {'AM' if hour < 12 else 'PM'}"  # the clinic's wall clock
    assert "You chose" in page.locator("[data-slot-chosen]").inner_text()
    fill_details(page)
    page.get_by_role("button", name="Book my consultation").click()

    page.wait_for_url(re.compile(r"/appointments/manage/"))
    assert page.get_by_role("heading", level=1).inner_text() == "You're booked"
    assert f"at {shown}" in page.locator("main").inner_text()
    assert "We will email you a video link." in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Add to calendar").is_visible()
    screenshot(page, tmp_path, "manage")
    page.set_viewport_size(DESKTOP)
    screenshot(page, tmp_path, "manage")
    assert page.console.errors == []

    with demo.app_context():
        booked = db.session.scalars(select(Appointment)).one()
        assert (booked.status, booked.mode, booked.patient.email) == ("confirmed", "video", "casey@example.com")
        db.session.remove()


def test_the_booking_page_at_desktop_width(page, live_server, tmp_path):
    page.set_viewport_size(DESKTOP)
    open_booking(page, live_server)
    choose_first_time(page)
    screenshot(page, tmp_path, "book")
    assert page.console.errors == []


def test_the_picker_works_from_the_keyboard(page, live_server):
    open_booking(page, live_server)
    page.locator("[data-slot-days] button").first.focus()
    page.keyboard.press("ArrowRight")
    second_day = page.locator("[data-slot-days] button").nth(1)
    assert second_day.evaluate("button => button === document.activeElement")
    page.keyboard.press("Enter")
    assert second_day.get_attribute("aria-pressed") == "true"
    first_time = page.locator("[data-slot-times] button").first
    assert first_time.evaluate("button => button === document.activeElement")  # focus moved to the times
    page.keyboard.press("Space")
    assert first_time.get_attribute("aria-pressed") == "true"
    assert page.locator("#start").input_value() == first_time.get_attribute("data-start")


def test_errors_are_shown_by_their_fields(page, live_server, tmp_path):
    open_booking(page, live_server)
    page.get_by_role("button", name="Book my consultation").click()
    summary = page.locator("#booking-errors")
    summary.wait_for(state="visible")
    assert "Please choose a day and time." in summary.inner_text()

    choose_first_time(page)
    page.get_by_label("Your name").fill("Casey Guest")
    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_label("Phone number").fill("617 555 0199")
    page.get_by_role("button", name="Book my consultation").click()
    error = page.locator("#email-error")
    error.wait_for(state="visible")
    assert "valid email address" in error.inner_text()
    assert page.get_by_label("Email address").get_attribute("aria-invalid") == "true"
    assert "email-error" in page.get_by_label("Email address").get_attribute("aria-describedby")
    assert "valid email address" in summary.inner_text()
    assert page.get_by_label("Your name").get_attribute("aria-invalid") is None
    screenshot(page, tmp_path, "book-errors")
    # The refused POST is logged by Chromium as a failed resource; nothing else may be.
    assert all("422" in e and "/api/v1/appointments" in e for e in page.console.errors), page.console.errors


def test_every_field_problem_is_shown_at_once_by_its_field(page, live_server):
    open_booking(page, live_server)
    page.get_by_label("Email address").fill("casey@nowhere")
    page.get_by_label("Phone number").fill("12")
    page.get_by_role("button", name="Book my consultation").click()
    summary = page.locator("#booking-errors")
    summary.wait_for(state="visible")
    assert summary.locator("li").all_inner_texts() == [
        "Please choose a day and time.", "Please enter your name.",
        "Please enter a valid email address, like name@example.com.",
        "Please enter a valid phone number, with at least 7 digits."]
    for field, label in (("name", "Your name"), ("email", "Email address"), ("phone", "Phone number")):
        assert page.locator(f"#{field}-error").is_visible()
        assert page.get_by_label(label).get_attribute("aria-invalid") == "true"
    assert "Please choose a day and time." in page.locator("#start-error").inner_text()
    assert summary.evaluate("node => node === document.activeElement")
    summary.get_by_role("link", name="Please enter your name.").click()
    assert page.get_by_label("Your name").evaluate("node => node === document.activeElement")
    assert page.console.errors == []


def test_the_apis_field_errors_are_shown_by_their_fields(page, live_server):
    open_booking(page, live_server)
    choose_first_time(page)
    fill_details(page)
    page.get_by_label("Phone number").fill("++1 617 555 0199")  # the browser lets it through; the API does not
    page.get_by_role("button", name="Book my consultation").click()
    error = page.locator("#phone-error")
    error.wait_for(state="visible")
    assert "valid phone number" in error.inner_text()
    assert page.get_by_label("Your name").input_value() == "Casey Guest"
    assert page.locator("#start").input_value() != ""


def take_every_place(demo, start: str) -> None:
    """Everyone who could take this consultation gets booked at that time by someone else."""
    client = demo.test_client()
    for n in range(5):
        response = client.post("/api/v1/appointments", json={
            "service": "consultation", "start": start,
            "patient": {"name": f"Other {n}", "email": f"other{n}@example.com", "phone": "617 555 0100"}})
        if response.status_code == 409:
            return
        assert response.status_code == 201, response.json


def test_a_chosen_time_that_disappears_on_refresh_is_explained_not_cleared_silently(page, live_server, demo):
    open_booking(page, live_server)
    start, _shown = choose_first_time(page)
    fill_details(page, "late@example.com")
    take_every_place(demo, start)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # back to the tab: times refresh
    status = page.locator("[data-slot-status]")
    expect(status).to_contain_text("That time was just taken. Please choose another.")
    expect(page.locator("#start-error")).to_contain_text("That time was just taken. Please choose another.")
    assert page.locator("#booking-errors").is_visible()
    assert page.get_by_label("Email address").input_value() == "late@example.com"
    assert page.get_by_label("Video call").is_checked()


def test_a_chosen_time_still_free_on_refresh_stays_chosen(page, live_server):
    open_booking(page, live_server)
    start, _shown = choose_first_time(page)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(f"[data-slot-times] button[data-start='{start}']")).to_have_attribute("aria-pressed", "true")
    assert page.locator("#start").input_value() == start


def test_day_buttons_accessible_names_start_with_their_visible_text(page, live_server):
    open_booking(page, live_server)
    buttons = page.locator("[data-slot-days] button")
    assert buttons.count() > 3
    for button in buttons.all():
        shown = button.inner_text().strip()
        assert button.get_attribute("aria-label").startswith(shown + ", "), (shown, button.get_attribute("aria-label"))
    expect(page.get_by_role("button", name=buttons.first.inner_text().strip())).to_have_count(1)


def test_a_time_taken_meanwhile_is_explained_and_the_times_refresh(page, live_server, demo):
    open_booking(page, live_server)
    start, _shown = choose_first_time(page)
    take_every_place(demo, start)
    fill_details(page, "late@example.com")
    page.get_by_role("button", name="Book my consultation").click()
    summary = page.locator("#booking-errors")
    summary.wait_for(state="visible")
    assert "That time was just taken. Please choose another." in summary.inner_text()
    assert "just taken" in page.locator("#start-error").inner_text()
    assert page.get_by_label("Email address").input_value() == "late@example.com"  # the rest of the form stays
    # The list is re-fetched after the refusal: wait for it rather than read the old one.
    expect(page.locator(f"[data-slot-times] button[data-start='{start}']")).to_have_count(0)
    page.wait_for_selector("[data-slot-times] button")
    assert page.locator("#start").input_value() == ""
    with demo.app_context():
        assert db.session.scalars(select(Appointment).join(Appointment.patient)).all()
        assert all(a.patient.email != "late@example.com" for a in db.session.scalars(select(Appointment)))
        db.session.remove()


def test_the_manage_page_moves_and_then_cancels_the_booking(page, live_server, demo, tmp_path):
    day = next_weekday(2)
    response = demo.test_client().post("/api/v1/appointments", json=guest_booking(day, 9))
    assert response.status_code == 201, response.json
    page.goto(response.json["appointment"]["manage_url"])
    page.get_by_text("Choose a new time").click()
    page.locator(f"[data-slot-days] button[data-day='{day.isoformat()}']").click()
    new_time = page.locator(f"[data-slot-times] button[data-start='{at(day, 14)}']")
    new_time.click()
    assert new_time.get_attribute("aria-pressed") == "true"
    screenshot(page, tmp_path, "manage-reschedule")
    page.get_by_role("button", name="Move my appointment to this time").click()
    page.wait_for_load_state()
    assert "Your appointment has moved" in page.locator(".flashes").inner_text()
    assert "at 2:00 PM" in page.locator("h1 + .lede").inner_text()

    page.get_by_text("Cancel this appointment").click()
    page.get_by_role("button", name="Yes, cancel my appointment").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "This appointment is cancelled"
    assert page.console.errors == []
    with demo.app_context():
        assert db.session.get(Appointment, response.json["appointment"]["id"]).status == "cancelled"
        db.session.remove()


def test_a_cleared_patient_holds_a_treatment_with_a_driver(page, live_server, demo, tmp_path):
    sign_in_cleared_patient(page, live_server, demo)
    page.goto(f"{live_server}/account/treatments")
    form = page.locator("#treatment-form")
    form.locator("[data-slot-days] button").first.wait_for()
    form.locator("[data-slot-days] button").first.click()
    first_time = form.locator("[data-slot-times] button").first
    start = first_time.get_attribute("data-start")
    first_time.click()
    assert page.locator("#treatment-start").input_value() == start
    fill_driver(page, "one")
    screenshot(page, tmp_path, "treatment")
    # The pay step follows (tests/billing/test_pay_page.py pays there); here Stripe.js is stubbed out.
    page.route(re.compile(r"js\.stripe\.com/v3/"), lambda route: route.fulfill(body="", content_type="text/javascript"))
    form.get_by_role("button", name="Hold this treatment").click()
    page.wait_for_url(re.compile(r"/account/pay/appointments/\d+$"))
    with demo.app_context():
        held = db.session.scalars(select(Appointment)).one()
        assert held.status == "pending_payment" and held.driver_name == DRIVER["name"]
        assert held.starts_at.isoformat() == datetime.fromisoformat(start).astimezone(timezone.utc).isoformat()
        db.session.remove()
    assert page.console.errors == []


def test_a_cleared_patient_holds_a_whole_induction_series(page, live_server, demo):
    sign_in_cleared_patient(page, live_server, demo)
    page.goto(f"{live_server}/account/treatments")
    page.locator("#series-protocol").select_option("iv-induction")
    page.locator("#series-first-date").fill(next_weekday(0).isoformat())
    fill_driver(page, "series")
    page.get_by_role("button", name="Hold the whole series").click()
    result = page.locator("[data-series-result]")
    result.wait_for(state="visible")
    assert result.locator("[data-series-list] li").count() == 6
    assert "9:00 AM" in result.inner_text()
    assert page.console.errors == []


def test_a_patient_completes_a_series_around_a_treatment_already_booked(page, live_server, demo):
    sign_in_cleared_patient(page, live_server, demo)
    client = demo.test_client()
    headers = {"Authorization": "Bearer " + client.post("/api/v1/tokens", json={
        "email": "patient@clinic.test", "password": DEMO_PASSWORD}).json["token"]}
    monday = next_weekday(0)
    held = client.post("/api/v1/appointments", headers=headers,
                       json={"service": "iv-ketamine", "start": at(monday, 9), "driver": DRIVER})
    assert held.status_code == 201, held.json
    page.goto(f"{live_server}/account/treatments")
    assert "1 of 6 treatments booked or done" in page.locator("[data-series-progress=iv-induction]").inner_text()
    page.locator("#series-protocol").select_option("iv-induction")
    page.locator("#series-first-date").fill(monday.isoformat())
    fill_driver(page, "series")
    page.get_by_role("button", name="Hold the whole series").click()
    result = page.locator("[data-series-result]")
    result.wait_for(state="visible")
    assert result.locator("[data-series-list] li").count() == 5
    assert page.console.errors == []


def test_a_signed_in_patient_moves_then_cancels_from_the_account_page(page, live_server, demo, tmp_path):
    client = demo.test_client()
    token = client.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": DEMO_PASSWORD}).json
    day = next_weekday(2)
    booked = client.post("/api/v1/appointments", json={"service": "consultation", "start": at(day, 9)},
                         headers={"Authorization": f"Bearer {token['token']}"})
    assert booked.status_code == 201, booked.json
    browser_sign_in(page, live_server, "patient@clinic.test")
    page.wait_for_url(f"{live_server}/account")
    card = page.locator(f"article[aria-labelledby='appointment-{booked.json['appointment']['id']}-title']")
    card.locator("summary", has_text="Change the time").click()
    card.locator(f"[data-slot-days] button[data-day='{day.isoformat()}']").click()
    card.locator(f"[data-slot-times] button[data-start='{at(day, 14)}']").click()
    screenshot(page, tmp_path, "account-reschedule")
    card.get_by_role("button", name="Move it to this time").click()
    page.wait_for_load_state()
    assert "Your appointment has moved to" in page.locator(".flashes").inner_text()
    assert "2:00 PM" in card.inner_text()

    card.locator("summary", has_text="Cancel this appointment").click()
    assert "Cancelling gives up your place" in card.inner_text()
    card.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator("[data-account-message]")).to_contain_text("is cancelled")
    assert page.console.errors == []
    with demo.app_context():
        assert db.session.get(Appointment, booked.json["appointment"]["id"]).status == "cancelled"
        db.session.remove()


def test_the_front_desk_books_a_treatment_for_a_cleared_caller(page, live_server, demo, tmp_path):
    with demo.app_context():
        from clinic.models import Patient
        patient_id = db.session.scalar(select(Patient.id).where(Patient.email == "patient@clinic.test"))
        db.session.remove()
    clear_patient(demo.test_client(), patient_id)
    browser_sign_in(page, live_server, "frontdesk@clinic.test")
    page.goto(f"{live_server}/staff")
    page.get_by_role("link", name="Book for a caller").click()
    page.get_by_label("Name, email, phone or date of birth").fill("patient@clinic")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name=re.compile(r"^Book for ")).first.click()
    page.get_by_label("IV ketamine infusion").check()
    page.get_by_role("button", name="Show free times").click()
    page.locator("[data-slot-days] button").first.click()
    page.locator("[data-slot-times] button").first.click()
    page.get_by_role("button", name=re.compile(r"^Book for ")).click()
    summary = page.locator("#booking-errors")
    summary.wait_for(state="visible")
    assert "Please give the driver's name." in summary.inner_text()  # every missing driver detail at once
    assert "Please give the driver's phone number." in summary.inner_text()
    fill_driver(page, "staff")
    screenshot(page, tmp_path, "staff-book")
    page.get_by_role("button", name=re.compile(r"^Book for ")).click()
    page.wait_for_url(re.compile(r"/staff\?day="))
    assert page.get_by_role("heading", level=1).inner_text().count(",") == 2  # Wednesday, March 17, 2027
    with demo.app_context():
        held = db.session.scalars(select(Appointment)).one()
        assert (held.patient_id, held.service.code, held.driver_name) == (patient_id, "iv-ketamine", DRIVER["name"])
        assert held.created_by_id is not None
        db.session.remove()
    assert page.console.errors == []


def test_the_price_table_fits_a_phone(page, live_server, tmp_path):
    page.goto(f"{live_server}/")
    path = screenshot(page, tmp_path, "home")
    widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth, view: window.innerWidth,
        table: document.querySelector('#services-title ~ .table-wrap').scrollWidth,
        wrap: document.querySelector('#services-title ~ .table-wrap').clientWidth})""")
    assert widths["page"] <= widths["view"] == 390, widths
    assert widths["table"] <= widths["wrap"], widths  # no sideways scrolling inside the table either
    prices = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path) / "home-prices-390.png"
    page.locator("#services-title ~ .table-wrap").screenshot(path=str(prices))
    assert path.stat().st_size > 0 and prices.stat().st_size > 0


# --- Stale availability answers -----------------------------------------------------------------------------------

COUNT_AVAILABILITY_ANSWERS = """
  window.availabilityAnswers = 0;
  const json = Response.prototype.json;
  Response.prototype.json = function () {
    const counted = this.url.includes("/api/v1/availability");
    return json.call(this).then((body) => { if (counted) window.availabilityAnswers += 1; return body; });
  };
"""


class HeldAvailability:
    """Answers GET /api/v1/availability from the real server, but holds the answer to request number `hold`
    until release(); later requests get only their last day's slots, so the page shows which answer it used."""

    def __init__(self, page, hold: int):
        self.hold, self.count, self.held, self.newest_day = hold, 0, None, None
        page.route(re.compile(r"/api/v1/availability\?"), self._answer)

    def _answer(self, route) -> None:
        self.count += 1
        if self.count == self.hold:
            self.held = route
            return
        response = route.fetch()
        body = response.json()
        if self.count > self.hold:
            self.newest_day = max(s["start"][:10] for s in body["slots"] if s["available"] > 0)
            body["slots"] = [s for s in body["slots"] if s["start"].startswith(self.newest_day)]
        route.fulfill(response=response, json=body)

    def release(self) -> None:
        """The held (older) request's full answer arrives now, after the newer one."""
        assert self.held is not None, "the request to hold was never made"
        self.held.fulfill(response=self.held.fetch())


def assert_the_newest_answer_stays(page, scope, held: HeldAvailability) -> None:
    days = scope.locator("[data-slot-days] button")
    expect(days).to_have_count(1)
    assert days.first.get_attribute("data-day") == held.newest_day
    answered = page.evaluate("window.availabilityAnswers")
    held.release()
    page.wait_for_function("n => window.availabilityAnswers > n", arg=answered)  # the old answer was read
    expect(days).to_have_count(1)
    assert days.first.get_attribute("data-day") == held.newest_day
    assert all(b.get_attribute("data-start").startswith(held.newest_day)
               for b in scope.locator("[data-slot-times] button").all())
    assert "Free times on 1 day." in scope.locator("[data-slot-status]").inner_text()


def test_an_older_availability_answer_arriving_last_is_ignored_on_the_booking_page(page, live_server):
    page.add_init_script(COUNT_AVAILABILITY_ANSWERS)
    held = HeldAvailability(page, hold=2)
    open_booking(page, live_server)  # the first answer passes
    assert page.locator("[data-slot-days] button").count() > 1
    with page.expect_request(re.compile(r"/api/v1/availability\?")):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the second: held
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the third: answered at once
    assert_the_newest_answer_stays(page, page.locator("#booking-form"), held)
    assert page.console.errors == []


def test_an_older_availability_answer_arriving_last_is_ignored_on_the_treatment_page(page, live_server, demo):
    client = demo.test_client()
    token = client.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": DEMO_PASSWORD}).json
    clear_patient(client, token["user"]["patient_id"], protocols=("iv-induction", "im-induction"))
    browser_sign_in(page, live_server, "patient@clinic.test")
    page.add_init_script(COUNT_AVAILABILITY_ANSWERS)
    held = HeldAvailability(page, hold=1)
    with page.expect_request(re.compile(r"/api/v1/availability\?service=iv-ketamine")):
        page.goto(f"{live_server}/account/treatments")  # IV's times: held
    form = page.locator("#treatment-form")
    form.locator("#treatment-service").select_option("im-ketamine")  # IM's times: answered at once
    assert_the_newest_answer_stays(page, form, held)
    assert "service=iv-ketamine" in held.held.request.url
    assert page.console.errors == []


def test_no_free_times_says_for_how_many_days_and_how_else_to_book(page, live_server, demo):
    page.route(re.compile(r"/api/v1/availability\?"), lambda route: route.fulfill(json={"slots": []}))
    page.goto(f"{live_server}/book")
    status = page.locator("[data-slot-status]")
    expect(status).to_contain_text("There are no free times in the next 14 days.")
    with demo.app_context():
        phone = clinic_settings().phone
        db.session.remove()
    assert phone and f"Please call us at {phone}" in status.inner_text()
    assert page.locator("[data-slot-days] button").count() == 0


def test_the_treatment_pages_two_forms_show_their_errors_each_by_its_own_fields(page, live_server, demo):
    sign_in_cleared_patient(page, live_server, demo)
    page.goto(f"{live_server}/account/treatments")
    page.locator("#treatment-form [data-slot-days] button").first.wait_for()
    page.get_by_role("button", name="Hold this treatment").click()
    summary = page.locator("#treatment-errors")
    summary.wait_for(state="visible")
    assert summary.locator("li").all_inner_texts() == [
        "Please complete the form.", "Please give your driver's name.", "Please give your driver's phone number.",
        "Please say how your driver is related to you.", "Please choose a day and time."]
    assert page.locator("#one-driver-name").get_attribute("aria-invalid") == "true"
    assert "treatment-form-name-error" in page.locator("#one-driver-name").get_attribute("aria-describedby")
    assert "Please choose a day and time." in page.locator("#treatment-form-start-error").inner_text()

    page.get_by_role("button", name="Hold the whole series").click()
    series_summary = page.locator("#series-errors")
    series_summary.wait_for(state="visible")
    assert "Please give your driver's name." in page.locator("#series-form-name-error").inner_text()
    assert page.locator("#series-driver-name").get_attribute("aria-invalid") == "true"
    assert page.locator("#one-driver-name").get_attribute("aria-invalid") == "true"  # the other form's stay
    summary.get_by_role("link", name="Please give your driver's name.").click()
    assert page.locator("#one-driver-name").evaluate("node => node === document.activeElement")
    assert page.console.errors == []
