"""Real Chromium for the page tests, in one place: the binary and its flags, the app served on a loopback port in a
background thread (`live_server`), one browser per module, a page per test with its console errors collected,
screenshots at phone and desktop widths, and signing in through the form. The fixtures are in every test's reach
through tests/conftest.py.

SQLite takes its write lock for every transaction (BEGIN IMMEDIATE), so a test thread never keeps a session open
while the browser talks to the server: wrap database reads in an app context that removes its session."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.factories import DEMO_PASSWORD, DRIVER, clear_patient

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]


@contextmanager
def serving(app):
    """The app on a free loopback port in a background thread; its emails' links point at it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def live_server(demo):
    with serving(demo) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Console:
    """Collects the page's console errors and uncaught exceptions. The browser's own request for
    /favicon.ico (the site has none) is not the page's error."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _message(self, message) -> None:
        url = (message.location or {}).get("url", "")
        if message.type == "error" and not url.endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({url})")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console = Console(page)
    yield page
    context.close()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """Full-page screenshots at phone and desktop widths, kept in SCREENSHOT_DIR when it is set."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{page.viewport_size['width']}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


def browser_sign_in(page, base: str, email: str, password: str = DEMO_PASSWORD, *, lands_on: str | None = None) -> None:
    """Sign in through the form as a person does; wait until the app has moved on from /login."""
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if lands_on:
        page.wait_for_url(f"{base}{lands_on}")
    else:
        page.wait_for_url(lambda url: "/login" not in url)


def sign_in_cleared_patient(page, live_server, demo) -> None:
    client = demo.test_client()
    token = client.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": DEMO_PASSWORD}).json
    clear_patient(client, token["user"]["patient_id"])
    page.goto(f"{live_server}/login")
    page.get_by_label("Email address").fill("patient@clinic.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/account")

def fill_driver(page, prefix: str) -> None:
    page.locator(f"#{prefix}-driver-name").fill(DRIVER["name"])
    page.locator(f"#{prefix}-driver-phone").fill(DRIVER["phone"])
    page.locator(f"#{prefix}-driver-relationship").fill(DRIVER["relationship"])


def type_card(page, number: str) -> None:
    field = page.locator("[data-card-element]")
    for placeholder, value in (("number", number), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123"),
                               ("postal_code", "10001")):
        field.get_by_placeholder(placeholder, exact=True).fill(value)
