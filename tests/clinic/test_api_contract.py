"""Real responses validate against /api/v1/openapi.json (openapi-core): a booking journey through the API, with
its refusals, where every answer the app gives must be one the document promises, status and body."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

from tests.factories import answers, api_token, at, DEMO_PASSWORD, DRIVER, guest_booking, next_weekday


class AnsweredRequest(WerkzeugOpenAPIRequest):
    """The request as openapi-core finds its operation by; its body was read by the app already."""

    @property
    def body(self) -> bytes:
        return b""


class ContractClient(FlaskClient):
    """A test client that validates each /api/v1 response against the app's own OpenAPI document."""

    document: OpenAPI
    seen: set

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        request = response.request
        if request.path.startswith("/api/v1/"):
            self.document.validate_response(AnsweredRequest(request), WerkzeugOpenAPIResponse(response))
            self.seen.add((request.method, response.status_code))
        return response


@pytest.fixture
def api(demo):
    client = demo.test_client()
    ContractClient.document = OpenAPI.from_dict(client.get("/api/v1/openapi.json").json)
    ContractClient.seen = set()
    demo.test_client_class = ContractClient
    return demo.test_client()


def first_free(api, service: str, day, headers=None) -> str:
    response = api.get(f"/api/v1/availability?service={service}&from={day}&to={day + timedelta(days=6)}",
                       headers=headers or {})
    return next(s["start"] for s in response.json["slots"] if s["available"])


def test_a_booking_journey_answers_only_what_the_document_promises(api):
    monday = next_weekday(0)
    assert api.get("/api/v1/services").status_code == 200
    assert api.get("/api/v1/intake/questions").status_code == 200

    # A guest books a consultation: a driver of null, a patient id of null, both documented.
    guest = api.post("/api/v1/appointments", json=guest_booking(monday, 10))
    assert guest.status_code == 201 and guest.json["appointment"]["driver"] is None

    # The patient signs in, answers the intake; a clinician reads it and clears them.
    assert api.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": "wrong"}).status_code == 401
    login = api.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": DEMO_PASSWORD})
    patient, patient_id = {"Authorization": f"Bearer {login.json['token']}"}, login.json["user"]["patient_id"]
    clinician, frontdesk = api_token(api, "dr.rivera@clinic.test"), api_token(api, "frontdesk@clinic.test")
    assert api.post("/api/v1/intake", json=answers(), headers=patient).status_code == 201
    assert api.get(f"/api/v1/patients/{patient_id}/intakes", headers=clinician).status_code == 200
    clearance = api.post(f"/api/v1/patients/{patient_id}/clearance", headers=clinician, json={
        "protocols": ["iv-induction", "iv-maintenance"], "diagnosis_codes": ["F43.12"], "notes": "cleared"})
    assert clearance.status_code == 201
    assert api.get(f"/api/v1/patients/{patient_id}/clearances", headers=patient).status_code == 200

    # The cleared patient books a treatment (a payment hold), changes the driver, moves it and looks at it.
    start = first_free(api, "iv-ketamine", monday, patient)
    treatment = api.post("/api/v1/appointments", headers=patient,
                         json={"service": "iv-ketamine", "start": start, "driver": DRIVER}).json["appointment"]
    assert treatment["status"] == "pending_payment"
    path = f"/api/v1/appointments/{treatment['id']}"
    assert api.post(f"{path}/driver", headers=patient, json={"driver": {**DRIVER, "name": "Alex Other"}}).status_code == 200
    moved = api.post(f"{path}/reschedule", headers=patient, json={"start": at(monday + timedelta(days=2), 9)})
    assert moved.status_code == 200, moved.json
    assert api.get(path, headers=patient).status_code == 200
    assert api.get(f"{path}/calendar.ics", headers=patient).status_code == 200
    assert api.get(f"{path}/integration-slots", headers=patient).status_code in (200, 409, 422)
    assert api.get("/api/v1/appointments", headers=patient).status_code == 200
    assert api.get(f"/api/v1/appointments?from={monday}&to={monday + timedelta(days=30)}", headers=frontdesk).status_code == 200

    # A consultation for the patient, booked by the front desk; the same time again is a conflict.
    consult = {"service": "consultation", "start": at(monday, 14), "patient_id": patient_id, "mode": "video"}
    assert api.post("/api/v1/appointments", headers=frontdesk, json=consult).status_code == 201
    assert api.post("/api/v1/appointments", headers=frontdesk, json=consult).status_code == 409
    assert api.post(f"{path}/complete", headers=clinician, json={"dose_mg": 35}).status_code in (409, 422)
    assert api.post(f"{path}/cancel", headers=patient).status_code == 200
    assert api.post(f"{path}/cancel", headers=patient).status_code == 409

    # A whole series, outcomes, flags; the patient's own details.
    series = api.post("/api/v1/series", headers=clinician, json={
        "protocol": "iv-induction", "first_date": (monday + timedelta(days=7)).isoformat(), "patient_id": patient_id,
        "driver": DRIVER})
    assert series.status_code == 201, series.json
    assert api.post("/api/v1/outcomes", headers=patient, json={"answers": [1] * 20}).status_code == 201
    assert api.get(f"/api/v1/patients/{patient_id}/outcomes", headers=patient).status_code == 200
    assert api.get("/api/v1/flags", headers=clinician).status_code == 200
    assert api.get(f"/api/v1/patients/{patient_id}", headers=patient).status_code == 200
    assert api.patch(f"/api/v1/patients/{patient_id}", headers=patient,
                     json={"phone": "617 555 0142", "date_of_birth": "1984-05-06"}).status_code == 200

    # Refusals, each in the documented shape.
    assert api.get("/api/v1/appointments").status_code == 401
    assert api.get("/api/v1/services", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.get("/api/v1/flags", headers=patient).status_code == 403
    assert api.post(f"/api/v1/patients/{patient_id}/clearance", headers=patient, json={}).status_code == 403
    assert api.get(f"/api/v1/patients/{patient_id + 1000}", headers=patient).status_code == 404
    assert api.get(f"/api/v1/appointments/{2**63}", headers=patient).status_code == 404
    assert api.patch(f"/api/v1/patients/{patient_id}", headers=patient, json={"date_of_birth": "9999-12-31"}).status_code == 422
    assert api.get("/api/v1/availability?service=nothing&from=2027-01-01").status_code == 422
    assert api.post("/api/v1/appointments", data="{", content_type="application/json").status_code == 400
    assert api.post("/api/v1/appointments", data="[" * 10_000, content_type="application/json").status_code == 400
    assert api.post("/api/v1/appointments", data=" " * (2 << 20), content_type="application/json").status_code == 413
    assert {status for _, status in api.seen} >= {200, 201, 400, 401, 403, 404, 409, 413, 422}


@pytest.mark.ratelimit
def test_too_many_sign_in_attempts_answer_the_documented_429(api):
    statuses = [api.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": "wrong"}).status_code
                for _ in range(11)]
    assert statuses[0] == 401 and statuses[-1] == 429


@pytest.mark.ratelimit
def test_guest_bookings_over_the_limit_answer_the_documented_429(api):
    monday = next_weekday(0)
    statuses = [api.post("/api/v1/appointments", json=guest_booking(monday, 9 + n % 8, 15 * (n // 8))).status_code
                for n in range(6)]
    assert statuses[-1] == 429
