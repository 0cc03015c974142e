"""In real Chromium: the clinician's patient page shows every intake answer, suicidality first, at phone,
laptop and wide-desktop widths; the time picker writes dates and times the US way."""
from __future__ import annotations

import re

import pytest

from clinical import services as clinical
from clinic import formatting
from tests.browser import CHROMIUM, screenshot
from tests.factories import answers, DEMO_PASSWORD, patient_login

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(),
                                                      reason=f"no Chromium at {CHROMIUM}")]

LONG_ANSWER = ("Twelve weeks of cognitive processing therapy in 2023, then sertraline 100 mg for a year with "
               "little change; prolonged exposure was stopped after four sessions.")


@pytest.fixture
def patient_with_intake(demo):
    client = demo.test_client()
    headers, patient_id = patient_login(client)
    body = answers(suicidal_thoughts="passive", hyperthyroidism=True, treatment_details=LONG_ANSWER)
    assert client.post("/api/v1/intake", json=body, headers=headers).status_code == 201
    return patient_id


@pytest.mark.parametrize("width", [390, 1280, 1920])
def test_the_clinician_sees_every_intake_answer_suicidality_first(browser, live_server, patient_with_intake,  # noqa: F811
                                                                   width, tmp_path):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email address").fill("dr.rivera@clinic.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/clinical/patients/{patient_with_intake}")
    rows = page.locator("table:has(#answers-caption) tbody tr")
    count = rows.count()
    assert count == len(clinical.INTAKE_QUESTIONS)
    assert "suicide" in rows.first.locator("th").inner_text().lower()
    passive = dict(clinical.QUESTIONS_BY_KEY["suicidal_thoughts"].choices)["passive"]
    assert rows.first.locator("td").inner_text().strip() == passive
    viewport = page.viewport_size["width"]
    # Within the page and within the table's own scrolling region: nothing to scroll sideways to find.
    region = page.locator(".table-wrap:has(#answers-caption)").bounding_box()
    right_edge = min(viewport, region["x"] + region["width"]) + 0.5
    for i in range(count):
        for cell in (rows.nth(i).locator("th"), rows.nth(i).locator("td")):
            box = cell.bounding_box()
            assert box and box["width"] > 40, f"row {i} at {width}px: {box}"
            assert box["x"] >= 0 and box["x"] + box["width"] <= right_edge, f"row {i} at {width}px: {box}"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    page.locator("table:has(#answers-caption)").screenshot(
        path=str(screenshot(page, tmp_path, "clinical-patient").with_name(f"clinical-patient-answers-{width}.png")))
    context.close()


def test_the_time_picker_writes_dates_and_times_the_us_way(browser, live_server):  # noqa: F811
    """The scripts' dates (Intl.DateTimeFormat 'en-US') match the server's: 'Wed, Mar 17' on a day button,
    'Wednesday, March 17, 2027 at 9:00 AM' once a time is chosen, and the zone as people say it."""
    from datetime import date

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server}/book")
    page.wait_for_selector("[data-slot-times] button")
    assert "(Eastern Time)" in page.locator("[data-slot-zone]").inner_text()
    day = page.locator("[data-slot-days] button").first
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [A-Z][a-z]{2} \d{1,2}", day.inner_text().strip().split("\n")[0])
    day.click()
    first_time = page.locator("[data-slot-times] button").first
    first_time.click()
    start = date.fromisoformat(first_time.get_attribute("data-start")[:10])
    chosen = page.locator("[data-slot-chosen]").inner_text()
    assert chosen.startswith(f"You chose {formatting.long_date(start)} at ")
    assert re.search(r" at \d{1,2}:\d{2} [AP]M\.$", chosen) and not re.search(r"\d{4}-\d{2}-\d{2}", chosen)
    context.close()
