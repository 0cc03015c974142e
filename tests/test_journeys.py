"""Whole journeys in real Chromium, as the clinic's users make them: the app served by gunicorn, paying through the
local Stripe emulator (webhook registered, as `make run` does) and mailing through the loopback SMTP sink with the
outbox sender loop. Every page a journey visits is checked with axe-core at 1280 and at 390 pixels wide (no serious
or critical violations) and photographed at both under test-results/journeys/<journey>/.

The journeys: a consultation booked by keyboard alone, its email, rescheduling and the .ics; registration, intake,
clearance by a clinician, an induction series paid in the card field (a plain card, then 3-D Secure), its receipt
and Good Faith Estimate; a first visit completed with discharge to the driver, the superbill billing issues and the
patient downloads; a paid treatment cancelled inside 48 hours, half refunded on the page and at the emulator;
another patient's records answering 404.

axe-core is installed, pinned, by `make test` (`make axe`); without it these tests are skipped, not passed.
The test process never keeps a database session open while the servers work (SQLite's write lock).
"""
from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import sync_playwright

from clinic import accounts, create_app
from clinic.extensions import db
from clinic.models import Role
from tests.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, fill_driver, PHONE, type_card
from tests.factories import (answers, at, card, DEMO_PASSWORD, DRIVER, free_port, GOOD, intents_for, move_start_to,
                             next_weekday, refunds_at_stripe, STRIPE_SECRET_KEY, THREE_D_SECURE)
from tests.gunicorn_server import stop_process, wait_for_port, wait_until_serving
from tests.conftest import BACKEND, PG_URL, _truncate_all
from tests.billing.factories import pdf_text

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
RESULTS = ROOT / "test-results" / "journeys"
STRONG = "lantern orchard velvet 93"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed: `make axe`"),
]


# --- the clinic as deployed: gunicorn, the Stripe emulator, the SMTP sink and the sender loop ----------------------

def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def journey_app(database_template, tmp_path_factory):
    """One demo clinic for the whole module (seeding and starting the servers once keeps it near two minutes):
    each journey uses its own people, days and emails. Emptied afterwards, as `database_url` empties its own."""
    if BACKEND == "postgresql":
        url = PG_URL
    else:
        path = tmp_path_factory.mktemp("journeys") / "clinic.db"
        shutil.copy(database_template, path)
        url = f"sqlite:///{path}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret",
                      "RATELIMIT_ENABLED": False, "SMTP_HOST": None, "PASSWORD_HASH_FAST": True})
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():  # the seeding session must let go of the database before the servers use it
        db.session.remove()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if BACKEND == "postgresql":
        _truncate_all(url)


@pytest.fixture(scope="module")
def clinic(journey_app, localstripe_url, tmp_path_factory):
    """Yields (base URL, mail folder). gunicorn with 2 workers; every process gets `make run`'s settings."""
    database_url, tmp_path = journey_app.config["SQLALCHEMY_DATABASE_URI"], tmp_path_factory.mktemp("servers")
    requests.delete(f"{localstripe_url}/_config/data", timeout=5).raise_for_status()
    port, mail_port, folder = free_port(), free_port(), tmp_path / "mail"
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": database_url, "SECRET_KEY": "journeys",
           "CLINIC_ENV": "development", "RATELIMIT_ENABLED": "0", "PUBLIC_URL": base, "PYTHONUNBUFFERED": "1",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_port), "DEV_MAIL_DIR": str(folder),
           "STRIPE_API_BASE": localstripe_url, "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY}
    processes = [_start([sys.executable, "-m", "clinic.dev_mail_sink", "--port", str(mail_port), "--folder",
                         str(folder)], env, tmp_path / "sink.log")]
    try:
        wait_for_port(mail_port, processes[0])
        processes.append(_start([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind",
                                 f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "3", "wsgi:app"], env, tmp_path / "gunicorn.log"))
        wait_until_serving(base, processes[-1], tmp_path / "gunicorn.log")
        subprocess.run([sys.executable, "-m", "billing.localstripe_server", "--port", localstripe_url.rsplit(":", 1)[1],
                        "--register-webhook", f"{base}/webhooks/stripe"], cwd=ROOT, env=env, check=True, timeout=30)
        processes.append(_start([str(Path(sys.executable).parent / "flask"), "outbox", "send", "--loop",
                                 "--interval", "0.3"], env, tmp_path / "outbox.log"))
        yield base, folder
    finally:
        for process in reversed(processes):
            stop_process(process)


def wait_for_mail(folder: Path, subject: str, to: str, seconds: float = 30) -> email.message.EmailMessage:
    import time
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in sorted(folder.glob("*.eml")) if folder.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if subject in message["Subject"] and to in message["To"]:
                return message
        time.sleep(0.2)
    pytest.fail(f"no mail {subject!r} to {to} within {seconds} s")


def link_in(message, pattern: str) -> str:
    body = message.get_body(preferencelist=("plain", "html")).get_content()
    match = re.search(rf"http://127\.0\.0\.1:\d+{pattern}[^\s\"'<>]*", body)
    assert match, body
    return match.group(0)


# --- the browser, axe and the screenshots ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        # Names other than loopback's resolve to nothing: a page that reached outside would fail, not leak.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"])
        yield chromium
        chromium.close()


class Journey:
    """One user's browser context (CSP bypassed so axe can be injected); `check` audits and photographs a page."""

    def __init__(self, browser, name: str, person: str = ""):
        self.folder, self.person = RESULTS / name, f"{person}-" if person else ""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.context = browser.new_context(viewport=DESKTOP, bypass_csp=True, accept_downloads=True)
        self.outside: list[str] = []  # every request for somewhere other than this machine
        self.context.on("request", lambda r: None if on_this_machine(r.url) else self.outside.append(r.url))
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)

    def close(self) -> None:
        self.context.close()
        assert self.outside == [], f"the pages asked for outside addresses: {self.outside}"

    def check(self, label: str) -> None:
        """axe at each width (a narrow layout can hide a label or shrink a target), and a photograph of each."""
        page = self.page
        page.wait_for_load_state()
        violations = {}
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            violations[viewport["width"]] = audit(page)
            page.screenshot(path=str(self.folder / f"{self.person}{label}-{viewport['width']}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        assert not any(violations.values()), f"{label} ({page.url}): {violations}"


def audit(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture
def journeys(browser, request):
    opened: list[Journey] = []

    def open_journey(name: str, person: str = "") -> Journey:
        opened.append(Journey(browser, name, person))
        return opened[-1]
    yield open_journey
    for journey in opened:
        journey.close()


def on_this_machine(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in ("127.0.0.1", "localhost", "::1")


def tab_to(page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focused element matches `selector`, as a keyboard user moves through the page."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


def sign_in(journey: Journey, base: str, email_address: str, password: str = DEMO_PASSWORD) -> None:
    page = journey.page
    page.goto(f"{base}/login")
    journey.check("sign-in")
    page.get_by_label("Email address").fill(email_address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    journey.check("signed-in")


def download(page, link) -> bytes:
    """What a click on `link` saves, as the browser saves it."""
    with page.expect_download() as saving:
        link.click()
    return Path(saving.value.path()).read_bytes()


# --- the journeys ---------------------------------------------------------------------------------------------------

def book_by_keyboard(journey: Journey, base: str) -> None:
    """A day, a time, the details and the way to talk, then the booking itself: Tab, arrows, Enter and Space."""
    page = journey.page
    page.goto(f"{base}/book")
    page.wait_for_selector("[data-slot-times] button")
    journey.check("book")
    tab_to(page, "[data-slot-days] button")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.keyboard.press("Space")  # focus moved to the first time of that day
    assert page.locator("#start").input_value()
    for field, value in (("#patient-name", "Kai Keyboard"), ("#patient-email", "kai@example.com"),
                         ("#patient-phone", "617 555 0142")):
        tab_to(page, field)
        page.keyboard.type(value)
    tab_to(page, "input[name=mode]")
    page.keyboard.press("ArrowDown")  # Phone call -> Video call
    assert page.locator("#mode-video").is_checked()
    journey.check("book-filled")
    tab_to(page, "[data-submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/appointments/manage/"))
    assert page.get_by_role("heading", level=1).inner_text() == "You're booked"
    journey.check("booked")


def test_a_visitor_books_by_keyboard_follows_the_email_reschedules_and_downloads_the_ics(clinic, journeys):
    base, mail = clinic
    journey = journeys("consultation-by-keyboard")
    page = journey.page
    book_by_keyboard(journey, base)
    message = wait_for_mail(mail, "Your appointment is confirmed", "kai@example.com")
    assert message.get_payload()  # the .ics travels with it too; the journey downloads it from the page below
    page.goto(link_in(message, "/appointments/manage/"))
    assert page.get_by_role("heading", level=1).inner_text() == "You're booked"
    journey.check("manage-from-email")
    page.get_by_text("Choose a new time").click()
    page.locator("[data-slot-days] button").last.click()
    new_time = page.locator("[data-slot-times] button").last
    new_time.click()
    journey.check("reschedule")
    page.get_by_role("button", name="Move my appointment to this time").click()
    page.wait_for_load_state()
    assert "Your appointment has moved" in page.locator(".flashes").inner_text()
    journey.check("rescheduled")

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to calendar").click()
    ics = Path(download.value.path()).read_text()
    assert ics.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in ics
    wait_for_mail(mail, "Your appointment has moved", "kai@example.com")


# --- a paid treatment, set up through the API (the journeys below are about what follows) -------------------------

def api_headers(base: str, email_address: str, password: str = DEMO_PASSWORD) -> tuple[dict, dict]:
    response = requests.post(f"{base}/api/v1/tokens", json={"email": email_address, "password": password}, timeout=10)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}, response.json()["user"]


def paid_treatment(base: str, localstripe_url: str, day) -> tuple[dict, dict]:
    """The demo patient, cleared by the clinician, holds an IV treatment on `day` and pays with a good card."""
    headers, user = api_headers(base, "patient@clinic.test")
    clinician, _ = api_headers(base, "dr.rivera@clinic.test")
    clearance = requests.post(f"{base}/api/v1/patients/{user['patient_id']}/clearance", headers=clinician, timeout=10,
                              json={"protocols": ["iv-induction"], "diagnosis_codes": ["F43.12"], "notes": "cleared"})
    assert clearance.status_code in (201, 409), clearance.text  # 409: cleared by an earlier journey
    held = requests.post(f"{base}/api/v1/appointments", headers=headers, timeout=10, json={
        "service": "iv-ketamine", "start": at(day, 9), "driver": DRIVER})
    assert held.status_code == 201, held.text
    appointment = held.json()["appointment"]
    paid = requests.post(f"{base}/api/v1/appointments/{appointment['id']}/pay", headers=headers, timeout=30,
                         json={"payment_method": card(localstripe_url, GOOD)})
    assert paid.status_code == 200, paid.text
    return appointment, paid.json()["payment"]


def test_a_patient_cancels_a_paid_treatment_inside_48_hours_and_sees_half_refunded(clinic, journeys, journey_app,
                                                                                   localstripe_url):
    base, mail = clinic
    appointment, payment = paid_treatment(base, localstripe_url, next_weekday(1))
    move_start_to(journey_app, appointment["id"], 30)  # tomorrow: inside the 48 hours that earn a full refund
    with journey_app.app_context():
        db.engine.dispose()
    half = payment["amount_cents"] // 2
    journey = journeys("late-cancellation")
    page = journey.page
    sign_in(journey, base, "patient@clinic.test")
    page.goto(f"{base}/account")
    journey.check("account")
    page.get_by_text("Cancel this appointment").click()
    assert "we keep 50%" in page.locator("[data-cancel]").inner_text()
    journey.check("cancel-open")
    page.get_by_role("button", name="Yes, cancel it").click()
    notice = page.locator("[data-account-message]")
    notice.wait_for(state="visible")
    assert f"A refund of ${half / 100:,.2f} goes back to your card." in notice.inner_text()
    # the payments table's Refunded column, and the refund's own row with its receipt
    page.get_by_role("cell", name=f"${half / 100:,.2f}", exact=True).first.wait_for()
    journey.check("cancelled")
    assert refunds_at_stripe(localstripe_url) == [half]
    [intent] = intents_for(localstripe_url, payment["id"])
    assert intent["amount"] == payment["amount_cents"] and intent["status"] == "succeeded"
    wait_for_mail(mail, "Your appointment is cancelled", "patient@clinic.test")


def register_and_confirm(journey: Journey, base: str, mail: Path, name: str, email_address: str) -> None:
    page = journey.page
    page.goto(f"{base}/register")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email_address)
    page.locator("#password").fill(STRONG)
    page.locator("#confirm").fill(STRONG)
    journey.check("register")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()
    journey.check("check-email")
    page.goto(link_in(wait_for_mail(mail, "Confirm your email address", email_address), "/register/confirm/"))
    page.wait_for_url(re.compile(r"/login"))
    journey.check("confirmed")
    sign_in(journey, base, email_address, STRONG)


def test_a_patient_opening_another_patients_records_gets_404(clinic, journeys, localstripe_url):
    base, mail = clinic
    appointment, payment = paid_treatment(base, localstripe_url, next_weekday(3))
    journey = journeys("another-patients-records")
    register_and_confirm(journey, base, mail, "Morgan Other", "morgan@example.com")
    page = journey.page
    opened = page.goto(f"{base}/api/v1/payments/{payment['id']}/receipt.pdf")  # typed into the address bar
    assert opened.status == 404 and opened.json()["error"]["code"] == "not_found", opened.text()
    assert "Pat Jordan" not in page.content()
    for path in (f"/api/v1/payments/{payment['id']}/receipt.pdf", f"/api/v1/payments/{payment['id']}",
                 f"/api/v1/appointments/{appointment['id']}",
                 f"/api/v1/appointments/{appointment['id']}/calendar.ics",
                 f"/account/pay/appointments/{appointment['id']}"):
        response = page.request.get(f"{base}{path}")
        assert response.status == 404, (path, response.status)
        assert "Pat Jordan" not in response.text()
    response = page.goto(f"{base}/account/pay/appointments/{appointment['id']}")
    assert response.status == 404
    journey.check("not-found")


def fill_intake(page) -> None:
    """Every question answered the way a patient who can be cleared answers it."""
    for key, value in answers().items():
        if isinstance(value, bool):
            page.locator(f"input[name={key}][value={'yes' if value else 'no'}]").check()
        elif key == "suicidal_thoughts":
            page.locator(f"input[name={key}][value={value}]").check()
        else:
            page.locator(f"[name={key}]").fill(str(value))


def clear_in_the_clinic(journey: Journey, base: str, patient_name: str) -> None:
    page = journey.page
    sign_in(journey, base, "dr.rivera@clinic.test")
    page.goto(f"{base}/clinical/intakes")
    journey.check("clinician-intakes")
    page.get_by_role("link", name=patient_name).click()
    page.wait_for_url(re.compile(r"/clinical/patients/\d+$"))
    page.locator("input[name=protocols][value=iv-induction]").check()
    page.get_by_label("ICD-10 diagnosis codes").fill("F43.12")
    journey.check("clinician-patient")
    page.get_by_role("button", name="Clear", exact=True).click()
    page.wait_for_load_state()
    journey.check("clinician-cleared")


@pytest.mark.parametrize("number", [GOOD, THREE_D_SECURE], ids=["card", "3d-secure"])
def test_a_visitor_registers_is_cleared_books_an_induction_series_and_pays(clinic, journeys, browser, number, tmp_path):
    base, mail = clinic
    kind = "3ds" if number == THREE_D_SECURE else "card"
    journey = journeys(f"register-clear-series-pay-{kind}")
    page = journey.page
    name = f"Nico {kind.upper()}"
    register_and_confirm(journey, base, mail, name, f"nico-{kind}@example.com")
    page.goto(f"{base}/account/intake")
    fill_intake(page)
    journey.check("intake")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_load_state()
    journey.check("intake-sent")

    clinician = Journey(browser, journey.folder.name, "clinician")  # another browser context: its own cookies
    try:
        clear_in_the_clinic(clinician, base, name)
    finally:
        clinician.close()

    hold_and_pay_the_series(journey, base, number, next_weekday(0, 2 if kind == "3ds" else 1))
    payments = page.request.get(f"{base}/api/v1/payments").json()["payments"]
    assert len(payments) == 1 and payments[0]["status"] == "succeeded", payments
    receipt, estimate = (pdf_text(document, tmp_path) for document in documents_from_the_account(journey, base))
    assert name in receipt and f"${payments[0]['amount_cents'] / 100:,.2f}" in receipt, receipt
    assert "Good Faith Estimate" in estimate and name in estimate, estimate


def hold_and_pay_the_series(journey: Journey, base: str, number: str, first_day) -> None:
    """An IV induction held from `first_day` on, then paid in the card field (3-D Secure asks twice)."""
    page = journey.page
    page.goto(f"{base}/account/treatments")
    page.locator("#series-protocol").select_option("iv-induction")
    page.locator("#series-first-date").fill(first_day.isoformat())
    fill_driver(page, "series")
    journey.check("treatments")
    page.get_by_role("button", name="Hold the whole series").click()
    result = page.locator("[data-series-result]")
    result.wait_for(state="visible")
    assert result.locator("[data-series-list] li").count() == 6
    journey.check("series-held")
    result.locator("[data-series-pay]").click()
    page.wait_for_url(re.compile(r"/account/pay/series/\d+$"))
    page.locator("[data-card-element] input").first.wait_for()
    journey.check("pay")
    type_card(page, number)
    page.get_by_role("button", name=re.compile("^Pay")).click()
    if number == THREE_D_SECURE:
        for _step in ("saving the card", "paying"):  # the stand-in asks for the SetupIntent, then the payment
            page.get_by_role("button", name="Complete authentication").click()
            page.get_by_role("button", name="Complete authentication").wait_for(state="detached")
    page.get_by_text(re.compile("confirmed")).first.wait_for()
    journey.check("paid")


def documents_from_the_account(journey: Journey, base: str) -> tuple[bytes, bytes]:
    """The receipt and the Good Faith Estimate, saved from the links on the patient's account page."""
    page = journey.page
    page.goto(f"{base}/account")
    receipt = page.get_by_role("link", name="Receipt (PDF)")
    receipt.wait_for()  # the payments table is filled in by the page's script
    journey.check("account")
    return download(page, receipt), download(page, page.locator("[data-estimates] a").first)


# --- a first visit completed, then its superbill -------------------------------------------------------------------

def a_treatment_under_way(journey_app, base: str, localstripe_url: str, name: str, email_address: str) -> dict:
    """A patient with an account, a birth date and an address (a superbill needs them), cleared, whose paid IV
    treatment began two hours ago: the visit the clinician is about to complete."""
    with journey_app.app_context():
        accounts.create_user(email_address, name, Role.patient, DEMO_PASSWORD)
        db.session.commit()
        db.session.remove()
    headers, user = api_headers(base, email_address)
    details = requests.patch(f"{base}/api/v1/patients/{user['patient_id']}", headers=headers, timeout=10, json={
        "date_of_birth": "1986-04-12", "address": "8 Wharf Lane\nBoston, MA 02110"})
    assert details.status_code == 200, details.text
    clinician, _ = api_headers(base, "dr.chen@clinic.test")
    clearance = requests.post(f"{base}/api/v1/patients/{user['patient_id']}/clearance", headers=clinician, timeout=10,
                              json={"protocols": ["iv-induction"], "diagnosis_codes": ["F43.12"], "notes": "cleared"})
    assert clearance.status_code == 201, clearance.text
    held = requests.post(f"{base}/api/v1/appointments", headers=headers, timeout=10, json={
        "service": "iv-ketamine", "start": at(next_weekday(4, 4), 14), "driver": DRIVER})
    assert held.status_code == 201, held.text
    appointment = held.json()["appointment"]
    paid = requests.post(f"{base}/api/v1/appointments/{appointment['id']}/pay", headers=headers, timeout=30,
                         json={"payment_method": card(localstripe_url, GOOD)})
    assert paid.status_code == 200 and paid.json()["payment"]["status"] == "succeeded", paid.text
    move_start_to(journey_app, appointment["id"], -2)
    with journey_app.app_context():
        db.engine.dispose()
        return requests.get(f"{base}/api/v1/appointments/{appointment['id']}", headers=headers,
                            timeout=10).json()["appointment"]


def complete_and_discharge(journey: Journey, base: str, appointment: dict, name: str) -> None:
    page = journey.page
    sign_in(journey, base, "dr.rivera@clinic.test")
    page.goto(f"{base}/clinical/today?day={appointment['start'][:10]}")
    visit = page.locator("section", has=page.get_by_role("heading", name=re.compile(name)))
    journey.check("treatments-of-the-day")
    visit.get_by_label("Dose (mg)").fill("35")
    visit.get_by_role("button", name="Complete and discharge").click()  # not yet released to the driver
    page.wait_for_load_state()
    assert "designated driver before completing" in page.locator(".flashes").inner_text()
    journey.check("discharge-refused")
    visit.get_by_label("Dose (mg)").fill("35")
    visit.get_by_label("Released to designated driver").check()
    visit.get_by_role("button", name="Complete and discharge").click()
    page.wait_for_load_state()
    assert f"{name}'s treatment is completed and the discharge recorded." in page.locator(".flashes").inner_text()
    assert "Released to designated driver." in visit.inner_text()
    journey.check("completed")


def issue_the_superbill(journey: Journey, base: str, patient_id: int, day: str, name: str) -> str:
    page = journey.page
    sign_in(journey, base, "billing@clinic.test")
    page.goto(f"{base}/billing/superbills")
    assert page.locator("[data-billing-details-complete]").is_visible()
    assert f"{name} (id {patient_id})" in page.get_by_role("region", name="Requests from patients").inner_text()
    journey.check("superbill-desk")
    page.get_by_label("Patient id").fill(str(patient_id))
    page.get_by_label("From", exact=True).fill(day)
    page.get_by_label("To", exact=True).fill(day)
    page.get_by_role("button", name="Issue superbill").click()
    page.wait_for_load_state()
    issued = re.search(rf"Superbill (\S+) issued for {re.escape(name)}\.", page.locator(".flashes").inner_text())
    assert issued, page.locator(".flashes").inner_text()
    assert "No open requests." in page.get_by_role("region", name="Requests from patients").inner_text()
    journey.check("superbill-issued")
    return issued.group(1)


def test_a_first_visit_completed_with_discharge_to_the_driver_ends_in_a_superbill_the_patient_downloads(
        clinic, journeys, journey_app, localstripe_url, tmp_path):
    base, _mail = clinic
    name, email_address = "Dana Discharge", "dana@example.com"
    appointment = a_treatment_under_way(journey_app, base, localstripe_url, name, email_address)
    day = appointment["start"][:10]
    patient = journeys("first-visit-superbill")
    sign_in(patient, base, email_address)
    patient.page.goto(f"{base}/account")
    patient.page.locator("#superbill-from").fill(day)
    patient.page.locator("#superbill-to").fill(day)
    patient.page.get_by_role("button", name="Ask for a superbill").click()
    patient.page.wait_for_load_state()
    assert "our billing team will prepare your superbill" in patient.page.locator(".flashes").inner_text()
    patient.check("superbill-asked")

    complete_and_discharge(journeys("first-visit-superbill", "clinician"), base, appointment, name)
    number = issue_the_superbill(journeys("first-visit-superbill", "billing"), base, appointment["patient_id"], day,
                                 name)

    patient.page.goto(f"{base}/account")
    link = patient.page.get_by_role("link", name=number)
    patient.check("superbill-listed")
    text = pdf_text(download(patient.page, link), tmp_path)
    assert number in text and name in text and "F43.12" in text, text


def test_billing_staff_change_a_fee_check_identifiers_and_read_the_estimates(clinic, journeys):
    """The fee schedule, billing identifiers and estimates pages, each checked with axe, and a new version of the IV
    fees saved through the form (a wrong NDC first, named on its field)."""
    base, _mail = clinic
    journey = journeys("billing-fee-schedule")
    page = journey.page
    sign_in(journey, base, "billing@clinic.test")
    page.goto(f"{base}/billing")
    journey.check("billing")
    page.get_by_role("link", name="Open the fee schedule").click()
    journey.check("fee-schedule")
    page.get_by_role("link", name="Change the fees for IV ketamine infusion").click()
    journey.check("fee-schedule-iv")
    start = next_weekday(2, weeks_ahead=6).isoformat()
    page.get_by_label("Effective from").fill(start)
    page.locator("#lines-0-charge").fill("450.00")
    page.locator("#lines-1-ndc").fill("409-2053")
    page.get_by_role("button", name="Save the new version").click()
    page.locator("#lines-1-ndc-error").wait_for()
    journey.check("fee-schedule-error")
    page.locator("#lines-1-ndc").fill("0409-2053-10")
    page.get_by_role("button", name="Save the new version").click()
    page.locator(f'[data-version="{start}"]').wait_for()
    assert "$450.00" in page.locator(f'[data-version="{start}"]').inner_text()
    page.goto(f"{base}/billing/identifiers")
    journey.check("billing-identifiers")
    page.goto(f"{base}/billing/estimates")
    journey.check("billing-estimates")
