"""The patient's treatment booking page (/account/treatments): crisis resources, 'needs clearance', the two forms,
and the JSON calls its script makes with the browser session and the X-CSRFToken header."""
from __future__ import annotations

import re

from tests.factories import answers, at, clear_patient, DRIVER, next_weekday, patient_id, sign_in_for_scripts

PATIENT = "patient@clinic.test"


def test_signed_out_visitors_are_sent_to_sign_in(demo, client):
    response = client.get("/account/treatments")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_asks_for_clearance_first_then_shows_both_forms(demo, client):
    sign_in_for_scripts(client)
    html = client.get("/account/treatments").get_data(as_text=True)
    assert "data-needs-clearance" in html and "A clinician needs to clear you first" in html
    assert 'href="/account/intake"' in html and 'href="/book"' in html
    assert "data-treatment-form" not in html and "data-series-form" not in html and "treatments.js" not in html

    clear_patient(client.application.test_client(), patient_id(client), protocols=("iv-induction", "iv-maintenance", "im-induction"))
    html = client.get("/account/treatments").get_data(as_text=True)
    assert "data-needs-clearance" not in html
    assert "data-treatment-form" in html and "data-series-form" in html and "treatments.js" in html
    services = re.findall(r'<option value="([^"]+)"', html.split('id="treatment-service"')[1].split("</select>")[0])
    protocols = re.findall(r'<option value="([^"]+)"', html.split('id="series-protocol"')[1].split("</select>")[0])
    assert services == ["iv-ketamine", "im-ketamine"]  # one entry per service, though two IV protocols cover it
    assert protocols == ["iv-induction", "im-induction"]  # maintenance has no series
    assert 'value="09:00"' in html
    for control in re.findall(r'<(?:input|select)\b[^>]*>', html):
        if 'type="hidden"' in control or 'name="csrf_token"' in control:
            continue
        control_id = re.search(r'id="([^"]+)"', control).group(1)
        assert f'for="{control_id}"' in html, f"no label for {control_id}"
    assert "<script>" not in html and " style=" not in html and " onclick=" not in html
    assert html.count('role="alert"') >= 2


def test_the_nav_links_the_treatment_pages(demo, client):
    sign_in_for_scripts(client)
    html = client.get("/account").get_data(as_text=True)
    for href in ("/account/treatments", "/account/intake", "/account/progress"):
        assert f'href="{href}"' in html


def test_patients_in_crisis_see_crisis_resources_and_no_forms(demo, client):
    csrf = sign_in_for_scripts(client)
    clear_patient(client.application.test_client(), patient_id(client))
    response = client.post("/api/v1/intake", json=answers(suicidal_thoughts="active"),
                           headers={"X-CSRFToken": csrf})
    assert response.status_code == 201, response.json
    assert response.json["intake"]["crisis"] is True
    html = client.get("/account/treatments").get_data(as_text=True)
    assert "Help is available right now" in html and 'href="tel:988"' in html and 'href="sms:988"' in html
    assert 'href="tel:911"' in html
    assert "<form" not in html.split('id="main"')[1].split("</main>")[0]
    assert "treatments.js" not in html


def test_the_scripts_json_calls_work_with_the_browser_session_and_csrf_header(demo, client):
    csrf = sign_in_for_scripts(client)
    clear_patient(client.application.test_client(), patient_id(client))
    monday = next_weekday(0)
    slots = client.get(f"/api/v1/availability?service=iv-ketamine&from={monday}&to={monday}")
    assert slots.status_code == 200 and slots.json["slots"]
    start = next(s["start"] for s in slots.json["slots"] if s["available"] > 0)
    body = {"service": "iv-ketamine", "start": start, "driver": DRIVER}

    refused = client.post("/api/v1/appointments", json=body)
    assert refused.status_code == 400

    booked = client.post("/api/v1/appointments", json=body, headers={"X-CSRFToken": csrf})
    assert booked.status_code == 201, booked.json
    assert booked.json["appointment"]["status"] == "pending_payment" and booked.json["appointment"]["manage_url"]

    # A driver error arrives under the driver's field names, as the page's script expects.
    no_phone = client.post("/api/v1/appointments", headers={"X-CSRFToken": csrf}, json={
        "service": "iv-ketamine", "start": at(next_weekday(0, 2), 9), "driver": {**DRIVER, "phone": ""}})
    assert no_phone.status_code == 422
    assert set(no_phone.json["error"]["fields"]) & {"phone", "driver"}

    html = client.get("/account").get_data(as_text=True)
    appointment_id = booked.json["appointment"]["id"]
    assert f'href="/account/integration/{appointment_id}"' in html and "Book integration therapy" in html
    assert f'href="/account/pcl5?appointment={appointment_id}"' in html


def test_the_series_form_posts_what_the_api_takes(demo, client):
    csrf = sign_in_for_scripts(client)
    clear_patient(client.application.test_client(), patient_id(client), protocols=("iv-induction",))
    response = client.post("/api/v1/series", headers={"X-CSRFToken": csrf}, json={
        "protocol": "iv-induction", "first_date": next_weekday(0).isoformat(), "preferred_time": "09:00",
        "weekdays": ["mon", "wed", "fri"], "driver": DRIVER})
    assert response.status_code == 201, response.json
    sessions = response.json["appointments"]
    assert len(sessions) == 6 and all(s["start"][11:16] == "09:00" and s["manage_url"] for s in sessions)
