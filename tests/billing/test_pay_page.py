"""The pay step in real Chromium: book a treatment, land on the pay page, type a card into the Stripe.js stand-in
that localstripe serves, pay (and pass 3-D Secure in its dialog); the page says so and the appointment is confirmed.
The page's Content-Security-Policy allows exactly the emulator's origin besides the app's own."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from booking.models import Appointment
from clinic.extensions import db
from tests.browser import fill_driver, sign_in_cleared_patient, type_card
from tests.factories import GOOD, THREE_D_SECURE

pytestmark = [pytest.mark.browser]


def hold_a_treatment(page, live_server, stripe_app) -> None:
    sign_in_cleared_patient(page, live_server, stripe_app)
    page.goto(f"{live_server}/account/treatments")
    form = page.locator("#treatment-form")
    form.locator("[data-slot-days] button").first.wait_for()
    form.locator("[data-slot-days] button").nth(3).click()
    form.locator("[data-slot-times] button").first.click()
    fill_driver(page, "one")
    form.get_by_role("button", name="Hold this treatment").click()
    page.wait_for_url(re.compile(r"/account/pay/appointments/\d+$"))


def only_appointment(app) -> Appointment:
    with app.app_context():
        appointment = db.session.scalars(select(Appointment)).one()
        db.session.remove()
        return appointment


def test_a_patient_books_a_treatment_and_pays_through_the_card_field(page, live_server, stripe_app, localstripe_url):
    hold_a_treatment(page, live_server, stripe_app)
    policy = page.request.get(page.url).headers["content-security-policy"]
    assert f"script-src 'self' {localstripe_url};" in policy and f"connect-src 'self' {localstripe_url};" in policy
    assert "$" in page.get_by_role("button", name=re.compile("^Pay")).inner_text()
    type_card(page, GOOD)
    page.get_by_role("button", name=re.compile("^Pay")).click()
    page.get_by_text("your treatment is confirmed").wait_for()
    assert only_appointment(stripe_app).status == "confirmed"
    assert page.console.errors == []


def test_three_d_secure_is_passed_in_the_dialog_and_the_treatment_confirmed(page, live_server, stripe_app):
    hold_a_treatment(page, live_server, stripe_app)
    type_card(page, THREE_D_SECURE)
    page.get_by_role("button", name=re.compile("^Pay")).click()
    for step in ("saving the card", "paying"):  # the stand-in asks once for the SetupIntent, once for the payment
        page.get_by_role("button", name="Complete authentication").click()
        page.get_by_role("button", name="Complete authentication").wait_for(state="detached")
    page.get_by_text("your treatment is confirmed").wait_for()
    assert only_appointment(stripe_app).status == "confirmed"
    assert page.console.errors == []


def test_a_cleared_patient_buys_the_induction_package_through_the_same_card_field(page, live_server, stripe_app,
                                                                                  localstripe_url):
    sign_in_cleared_patient(page, live_server, stripe_app)
    page.get_by_role("link", name="Prepaid induction package").click()
    page.wait_for_url(f"{live_server}/account/package")
    policy = page.request.get(page.url).headers["content-security-policy"]
    assert f"script-src 'self' {localstripe_url};" in policy
    type_card(page, GOOD)
    page.get_by_role("button", name="Pay $2,500.00").click()
    page.get_by_text("your package is paid").wait_for()
    assert page.console.errors == []
    page.goto(f"{live_server}/account")
    assert "6</strong> prepaid IV infusions" in page.locator("#package-credits").inner_html()
