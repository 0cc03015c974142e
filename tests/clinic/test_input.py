"""Nothing anyone sends yields a 500: ids no row can have, dates outside any sane range, JSON nested without end,
and guest details that PATCH /patients/ID would refuse. The app runs with TESTING on, so a server error
surfaces here as the exception itself."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from werkzeug.routing import IntegerConverter

from clinic import create_app
from clinic.extensions import db
from clinic.models import ClinicSettings, User
from tests import factories
from tests.factories import (api_token, at, clear_patient, csrf_from, DEMO_PASSWORD, DRIVER, guest_booking,
                             next_weekday)

IMPOSSIBLE_IDS = (0, 2**31, 2**63, 2**64 + 1, 10**40)
ABSURD_DAYS = ("9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01")
ROLES = (None, "patient@clinic.test", "dr.rivera@clinic.test", "frontdesk@clinic.test")


def sign_in(client, email: str | None) -> dict:
    """A browser session for the pages and a bearer token for the API, as that user (nothing when anonymous)."""
    if email is None:
        return {}
    headers = api_token(client, email)  # first: once signed in, the API wants the pages' CSRF token
    factories.sign_in(client, email)
    return headers


def id_routes(app) -> list[tuple[str, str]]:
    """(method, rule) for every route with an integer argument, found in the URL map (API and pages)."""
    found = []
    for rule in app.url_map.iter_rules():
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            found += [(method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def with_id(rule: str, value: int) -> str:
    path = re.sub(r"<int:\w+>", str(value), rule)
    return re.sub(r"<(?:\w+:)?\w+>", "cancel", path)  # other arguments (an action) get a plausible word


def demo_patient_id(client) -> int:
    response = client.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": DEMO_PASSWORD})
    return response.json["user"]["patient_id"]


def _routes_of_a_fresh_app() -> list[tuple[str, str]]:
    return id_routes(create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "collect"}))


ID_ROUTES = _routes_of_a_fresh_app()


def test_every_integer_route_is_found(app):
    assert id_routes(app) == ID_ROUTES
    rules = {rule for _, rule in ID_ROUTES}
    assert "/api/v1/appointments/<int:appointment_id>" in rules and "/clinical/patients/<int:patient_id>" in rules
    assert len(rules) >= 15


@pytest.mark.parametrize("method,rule", ID_ROUTES, ids=[f"{m} {r}" for m, r in ID_ROUTES])
def test_ids_no_row_can_have_are_404_on_every_route(demo, method, rule):
    for email in ROLES:
        client = demo.test_client()
        headers = sign_in(client, email)
        for value in IMPOSSIBLE_IDS:
            response = client.open(with_id(rule, value), method=method, headers=headers, json={})
            assert response.status_code == 404, (email, value, response.status_code)
            if rule.startswith("/api/"):
                assert response.json["error"]["code"] == "not_found"


def test_the_largest_id_a_row_can_have_is_looked_up(demo, client):
    headers = api_token(client, "frontdesk@clinic.test")
    assert client.get(f"/api/v1/appointments/{2**31 - 1}", headers=headers).status_code == 404
    assert client.get(f"/clinical/patients/{2**31 - 1}").status_code in (302, 404)


# --- dates ----------------------------------------------------------------------------------------------------------

def refused(response, field: str) -> None:
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True)[:300])
    assert field in response.json["error"]["fields"], response.json


@pytest.mark.parametrize("day", ABSURD_DAYS)
def test_absurd_dates_in_query_arguments_are_422_naming_the_argument(demo, client, day):
    staff = api_token(client, "frontdesk@clinic.test")
    refused(client.get(f"/api/v1/availability?service=consultation&from={day}"), "from")
    refused(client.get(f"/api/v1/availability?service=consultation&from=2027-01-01&to={day}"), "to")
    refused(client.get(f"/api/v1/appointments?from={day}", headers=staff), "from")
    refused(client.get(f"/api/v1/appointments?to={day}", headers=staff), "to")


@pytest.mark.parametrize("day", ABSURD_DAYS)
def test_absurd_dates_in_bodies_are_422_naming_the_field(demo, client, day):
    clinician, patient_id = api_token(client, "dr.rivera@clinic.test"), demo_patient_id(client)
    booked = client.post("/api/v1/appointments", json=guest_booking(next_weekday(1), 10)).json["appointment"]
    start = f"{day}T10:00:00-05:00"
    refused(client.post("/api/v1/appointments", json=guest_booking(next_weekday(1), 11) | {"start": start}), "start")
    refused(client.post(f"/api/v1/appointments/{booked['id']}/reschedule", json={"start": start}, headers=clinician),
            "start")
    refused(client.post("/api/v1/series", headers=clinician, json={
        "protocol": "iv-induction", "first_date": day, "patient_id": patient_id, "driver": DRIVER}), "first_date")
    refused(client.post(f"/api/v1/patients/{patient_id}/clearance", headers=clinician, json={
        "protocols": ["iv-induction"], "diagnosis_codes": ["F43.12"], "rems_enrollment_date": day}),
        "rems_enrollment_date")
    refused(client.patch(f"/api/v1/patients/{patient_id}", json={"date_of_birth": day}, headers=clinician),
            "date_of_birth")


@pytest.mark.parametrize("start", ["9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z"])
def test_instants_at_the_ends_of_the_calendar_are_422(demo, client, start):
    refused(client.post("/api/v1/appointments", json=guest_booking(next_weekday(1), 11) | {"start": start}), "start")


@pytest.mark.parametrize("day", ABSURD_DAYS + ("2027-02-30", "yesterday"))
def test_pages_refuse_absurd_days_with_422(demo, client, day):
    sign_in(client, "dr.rivera@clinic.test")
    for path in ("/staff", "/clinical/today"):
        response = client.get(f"{path}?day={day}")
        assert response.status_code == 422 and "must be" in response.get_data(as_text=True), path


def test_pages_keep_days_inside_the_range(demo, client):
    sign_in(client, "dr.rivera@clinic.test")
    for day in ("1900-01-01", "2100-12-31"):
        assert client.get(f"/staff?day={day}").status_code == 200
        assert client.get(f"/clinical/today?day={day}").status_code == 200


def test_api_keeps_days_at_the_ends_of_the_range(demo, client):
    staff = api_token(client, "frontdesk@clinic.test")
    for first, last in (("1900-01-01", "1900-01-31"), ("2100-12-01", "2100-12-31")):
        response = client.get(f"/api/v1/availability?service=iv-ketamine&from={first}&to={last}")
        assert response.status_code == 200 and response.json["slots"] == []
        assert client.get(f"/api/v1/appointments?from={first}&to={last}", headers=staff).json["appointments"] == []


@pytest.mark.parametrize("raw", ["99999999999999999999999", str(2**63), str(2**31), "\u00b2", "-1", "0x10"])
def test_an_appointment_id_typed_into_a_query_is_ignored_when_no_row_can_have_it(demo, client, raw):
    sign_in(client, "patient@clinic.test")
    page = client.get("/account/pcl5", query_string={"appointment": raw})
    assert page.status_code == 200
    answers = {f"item_{n}": "1" for n in range(1, 21)}
    sent = client.post("/account/pcl5", data={**answers, "appointment_id": raw, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/account/progress")


def test_manage_link_reschedule_form_with_an_absurd_start_says_why(demo, client):
    booked = client.post("/api/v1/appointments", json=guest_booking(next_weekday(1), 10)).json["appointment"]
    token = booked["manage_url"].rstrip("/").rsplit("/", 1)[-1]
    page = client.get(f"/appointments/manage/{token}").get_data(as_text=True)
    response = client.post(f"/appointments/manage/{token}/reschedule", follow_redirects=True,
                           data={"start": "9999-12-31T10:00:00-05:00", "csrf_token": csrf_from(page)})
    assert response.status_code == 200 and "December 31, 2100" in response.get_data(as_text=True)


def test_clearance_form_refuses_an_absurd_rems_date(demo, client):
    patient_id = demo_patient_id(client)
    sign_in(client, "dr.rivera@clinic.test")
    page = client.get(f"/clinical/patients/{patient_id}").get_data(as_text=True)
    response = client.post(f"/clinical/patients/{patient_id}/clear", follow_redirects=True, data={
        "csrf_token": csrf_from(page), "protocols": "iv-induction", "diagnosis_codes": "F43.12",
        "rems_enrollment_date": "9999-12-31"})
    assert response.status_code == 200, response.status_code
    assert "REMS enrollment date must be between" in response.get_data(as_text=True), response.get_data(as_text=True)
    api = client.application.test_client()  # without the browser session, whose API calls need a CSRF token
    headers = api_token(api, "dr.rivera@clinic.test")
    assert api.get(f"/api/v1/patients/{patient_id}/clearances", headers=headers).json["current"] is None


# --- JSON that cannot be read -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000, "[" * 40 + "]" * 40])
@pytest.mark.parametrize("path", ["/api/v1/appointments", "/api/v1/tokens", "/api/v1/series", "/api/v1/intake"])
def test_json_nested_too_deeply_is_400_in_the_standard_shape(demo, client, path, body):
    headers = api_token(client, "patient@clinic.test")
    response = client.post(path, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json" and response.json["error"]["message"]


def test_json_nested_a_little_is_read(demo, client):
    response = client.post("/api/v1/appointments", json=guest_booking(next_weekday(1), 10) | {"extra": [[[[1]]]]})
    assert response.status_code == 201


# --- guest details: the same validator as PATCH /patients/ID ------------------------------------------------------------

BAD_DETAILS = [
    ("name", "\u202eevil\u202c"), ("name", "Ann\u2066a"), ("name", "\u200b"), ("name", "12345"), ("name", "An\x85n"),
    ("name", "A\x00"), ("name", "----"), ("email", "not-an-email"), ("phone", "call me"),
    ("date_of_birth", "1850-01-01"), ("date_of_birth", "9999-12-31"), ("date_of_birth", "2019-02-30"),
    ("date_of_birth", "tomorrow"), ("date_of_birth", (date.today() + timedelta(days=1)).isoformat()),
]


@pytest.mark.parametrize("field,value", BAD_DETAILS)
def test_guest_details_are_validated_like_a_patient_update(demo, client, field, value):
    body = guest_booking(next_weekday(1), 10)
    body["patient"][field] = value
    guest = client.post("/api/v1/appointments", json=body)
    refused(guest, field)
    update = client.patch(f"/api/v1/patients/{demo_patient_id(client)}", json={field: value},
                          headers=api_token(client, "frontdesk@clinic.test"))
    refused(update, field)
    assert update.json["error"]["message"] == guest.json["error"]["message"]


def test_guest_with_a_real_date_of_birth_and_accented_name_books(demo, client):
    body = guest_booking(next_weekday(1), 10)
    body["patient"] |= {"name": "Zoë O'Brien-Núñez", "date_of_birth": "1980-02-29"}
    response = client.post("/api/v1/appointments", json=body)
    assert response.status_code == 201
    staff = api_token(client, "frontdesk@clinic.test")
    patients = {a["patient_id"] for a in client.get("/api/v1/appointments", headers=staff).json["appointments"]}
    details = [client.get(f"/api/v1/patients/{p}", headers=staff).json["patient"] for p in patients]
    assert any(d["name"] == "Zoë O'Brien-Núñez" and d["date_of_birth"] == "1980-02-29" for d in details)


def test_guest_must_give_a_phone_number(demo, client):
    body = guest_booking(next_weekday(1), 10)
    del body["patient"]["phone"]
    refused(client.post("/api/v1/appointments", json=body), "phone")
    assert client.post("/api/v1/appointments", json=guest_booking(next_weekday(1), 10)).status_code == 201


def test_a_designated_drivers_name_is_read_like_a_patients(demo, client):
    patient = api_token(client, "patient@clinic.test")
    clear_patient(client, demo_patient_id(client))
    body = {"service": "iv-ketamine", "start": at(next_weekday(0), 9), "driver": {**DRIVER, "name": "Rob\u202ein"}}
    refused(client.post("/api/v1/appointments", json=body, headers=patient), "name")
    body["driver"]["name"] = "Robin Driver"
    assert client.post("/api/v1/appointments", json=body, headers=patient).status_code == 201


@pytest.mark.parametrize("page, fields", [
    ("/register", {"name": "Nora\x00New", "email": "nora@example.com", "password": "a calmer harbour at dawn 42",
                   "confirm": "a calmer harbour at dawn 42"}),
    ("/admin/", {"name": "Clinic", "legal_name": "Harbor\x00Light"}),
])
def test_a_nul_byte_in_any_form_field_is_422_naming_the_field_and_nothing_is_stored(demo, page, fields):
    client = demo.test_client()
    if page == "/admin/":
        client, _ = factories.signed_in(demo, "admin")
    form = client.get(page).get_data(as_text=True)
    answer = client.post(page, data={**fields, "csrf_token": csrf_from(form)})
    assert answer.status_code == 422, answer.status_code
    assert "NUL byte" in answer.get_data(as_text=True)
    with demo.app_context():
        assert db.session.scalar(db.select(User).where(User.email == "nora@example.com")) is None
        assert "\x00" not in (db.session.get(ClinicSettings, 1).legal_name or "")


def test_a_nul_byte_in_a_query_string_is_422(demo, client):
    answer = client.get("/api/v1/availability", query_string={"service": "consul\x00tation", "from": "2027-03-01"})
    assert answer.status_code == 422 and answer.json["error"]["code"] == "bad_character"
    assert "service" in answer.json["error"]["fields"]
