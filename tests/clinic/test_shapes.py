"""Request and answer shapes declared once (clinic.shapes): the same declaration checks a request, with a sentence
per field, and writes the document's schema, so the two cannot say different things."""
from __future__ import annotations

from typing import Annotated

import pytest

from booking.api_shapes import Appointment, AppointmentRequest, AvailabilityQuery, SeriesRequest
from clinic import openapi, shapes
from clinic.errors import ValidationError
from tests.factories import next_weekday, patient_id, patient_login, staff


class Visit(shapes.Shape):
    name: Annotated[str, shapes.person_name()]
    dose: Annotated[int | None, shapes.integer("dose (mg)", maximum=1000)] = None


def test_one_problem_answers_with_its_own_sentence_and_field():
    with pytest.raises(ValidationError) as refused:
        shapes.read(Visit, {"name": "Ana", "dose": 5000})
    assert refused.value.message == "The dose (mg) must be a whole number from 0 to 1000."
    assert refused.value.fields == {"dose": refused.value.message}


def test_several_problems_answer_together_each_under_its_field():
    with pytest.raises(ValidationError) as refused:
        shapes.read(Visit, {"dose": "lots"})
    assert refused.value.message == "Please correct the 2 details marked."
    assert refused.value.fields == {"name": "Please enter your name.",
                                    "dose": "The dose (mg) must be a whole number from 0 to 1000."}


def test_a_nested_object_that_is_not_one_answers_with_the_declared_refusal():
    with pytest.raises(ValidationError) as refused:
        shapes.read(SeriesRequest, {"protocol": "iv-induction", "first_date": "2027-03-17", "driver": "my mom"})
    assert refused.value.code == "driver_required"
    assert refused.value.fields == {"driver": "Please give the designated driver's name, phone and relationship."}


def test_unknown_keys_are_ignored_and_only_given_fields_count_as_given():
    read = shapes.read(Visit, {"name": "Ana", "favourite_colour": "blue"})
    assert read.name == "Ana" and read.dose is None and read.given() == {"name"}


def test_the_document_says_what_the_declaration_checks(client):
    document = client.get("/api/v1/openapi.json").json
    booking = document["components"]["schemas"]["AppointmentRequest"]
    assert sorted(booking["required"]) == sorted(
        name for name, field in AppointmentRequest.model_fields.items() if field.is_required())
    assert set(booking["properties"]) == set(AppointmentRequest.model_fields)
    assert booking["properties"]["notes"] == {"type": "string", "maxLength": 2000, "nullable": True}
    series = document["paths"]["/series"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert series == {"$ref": "#/components/schemas/SeriesRequest"}


def test_a_nullable_object_is_written_out_so_null_validates(client):
    """OpenAPI 3.0 ignores `nullable` beside a $ref: the driver of an appointment is the Driver schema in place."""
    appointment = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Appointment"]
    assert appointment["properties"]["driver"]["nullable"] is True
    assert appointment["properties"]["driver"]["required"] == ["name", "phone", "relationship"]
    assert set(appointment["properties"]) == set(Appointment.model_fields)


def test_openapi_30_spelling_of_null_and_constants():
    schemas = {"Route": {"type": "string", "enum": ["iv", "im"]}}
    written = openapi._openapi_30({"anyOf": [{"$ref": "#/components/schemas/Route"}, {"type": "null"}],
                                   "default": None}, schemas)
    assert written == {"type": "string", "enum": ["iv", "im", None], "nullable": True}
    assert openapi._openapi_30({"const": "POST", "type": "string"}, {}) == {"type": "string", "enum": ["POST"]}


def test_every_api_route_is_declared_with_shapes(app):
    undeclared = sorted(rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
                        and not hasattr(app.view_functions[rule.endpoint], "openapi_operation"))
    assert undeclared == []


def test_a_patch_changes_only_what_it_sends_and_refuses_emptying_the_name(demo, client):
    headers, patient = staff(client), patient_id(client)
    before = client.get(f"/api/v1/patients/{patient}", headers=headers).json["patient"]
    emptied = client.patch(f"/api/v1/patients/{patient}", headers=headers, json={"name": None, "phone": "617 555 0199"})
    assert emptied.status_code == 422
    assert emptied.json["error"]["fields"] == {"name": "Please enter your name."}
    changed = client.patch(f"/api/v1/patients/{patient}", headers=headers, json={"address": "1 Main St, Boston"})
    assert changed.status_code == 200
    assert changed.json["patient"] == {**before, "address": "1 Main St, Boston"}


def test_a_series_without_a_driver_names_the_driver(demo, client):
    response = client.post("/api/v1/series", headers=staff(client), json={
        "protocol": "iv-induction", "first_date": str(next_weekday(0)), "patient_id": patient_id(client)})
    assert response.status_code == 422 and response.json["error"]["code"] == "driver_required"
    assert set(response.json["error"]["fields"]) == {"driver"}


def test_who_may_ask_is_settled_before_what_they_sent(demo, client):
    """A stranger's bad body is a 401 and a patient's on a clinician's operation a 403, not a 422 about fields."""
    stranger = client.post("/api/v1/appointments/1/reschedule", json={"start": "whenever"})
    assert stranger.status_code == 401
    patient, _ = patient_login(client)
    refused = client.post("/api/v1/appointments/1/complete", headers=patient, json={"dose_mg": "lots"})
    assert refused.status_code == 403
    guest = client.post("/api/v1/appointments", json={"service": "consultation", "start": "whenever"})
    assert guest.status_code == 422 and "start" in guest.json["error"]["fields"]


def test_a_field_is_read_under_its_contract_name_only():
    """`from` is a Python keyword, so the field has another name inside; a request must still say `from`."""
    with pytest.raises(ValidationError) as refused:
        shapes.read(AvailabilityQuery, {"service": "consultation", "first": "2027-03-17"})
    assert refused.value.fields == {"from": "Please give the first date as YYYY-MM-DD."}
    read = shapes.read(AvailabilityQuery, {"service": "consultation", "from": "2027-03-17"})
    assert str(read.first) == "2027-03-17" and read.last is None
