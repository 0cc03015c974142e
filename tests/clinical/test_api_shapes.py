"""The clinical API's bodies are declared once (clinical.api_shapes): what they refuse, all in one answer with each
field's own sentence, and what the document says of them come from the same declarations."""
from __future__ import annotations

from sqlalchemy import func, select

from clinical import intake
from clinical.models import Clearance, Intake, OutcomeScore
from clinic.extensions import db
from tests.factories import answers, api_token, patient_login, pcl5


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def body_schema(client, path: str) -> dict:
    document = client.get("/api/v1/openapi.json").json
    ref = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_several_wrong_intake_answers_are_named_in_one_answer(demo, client):
    headers, _ = patient_login(client)
    response = client.post("/api/v1/intake", headers=headers,
                           json=answers(psychosis_history="yes", evidence_based_treatments_tried=-1))
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "psychosis_history": "Please answer yes (true) or no (false).",
        "evidence_based_treatments_tried": "Please give a whole number from 0 to 50."}
    assert response.json["error"]["message"] == "Please correct the 2 details marked."
    assert count(demo, Intake) == 0


def test_intake_answers_may_come_wrapped(demo, client):
    headers, _ = patient_login(client)
    response = client.post("/api/v1/intake", json={"answers": answers(hyperthyroidism=True)}, headers=headers)
    assert response.status_code == 201 and response.json["intake"]["answers"]["hyperthyroidism"] is True


def test_a_clearance_lacking_protocols_and_codes_names_both_but_only_to_a_clinician(demo, client):
    patient, patient_id = patient_login(client)
    url = f"/api/v1/patients/{patient_id}/clearance"
    assert client.post(url, json={}, headers=patient).status_code == 403
    response = client.post(url, json={}, headers=api_token(client, "dr.rivera@clinic.test"))
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"protocols": "The protocols must be a list of text values.",
                                                "diagnosis_codes": "The diagnosis codes must be a list of text values."}
    assert count(demo, Clearance) == 0


def test_a_refusal_may_name_no_diagnosis_and_must_give_its_reason(demo, client):
    _, patient_id = patient_login(client)
    url, clinician = f"/api/v1/patients/{patient_id}/clearance", api_token(client, "dr.rivera@clinic.test")
    missing = client.post(url, json={"cleared": False, "diagnosis_codes": []}, headers=clinician)
    assert missing.status_code == 422 and missing.json["error"]["fields"] == {"reason": "Please enter your reason."}
    refused = client.post(url, json={"cleared": False, "reason": "Psychosis history", "diagnosis_codes": []},
                          headers=clinician)
    assert refused.status_code == 201 and refused.json["clearance"]["diagnosis_codes"] == []


def test_an_outcome_with_several_problems_names_each(demo, client):
    headers, _ = patient_login(client)
    response = client.post("/api/v1/outcomes", json={"answers": pcl5(30)[:19], "appointment_id": "x"},
                           headers=headers)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"answers", "appointment_id"}
    assert response.json["error"]["fields"]["appointment_id"] == \
        "The appointment must be a whole number from 1 to 1000000000."
    assert count(demo, OutcomeScore) == 0


def test_the_document_lists_each_body_s_fields_and_required_ones(client):
    intake_body = body_schema(client, "/intake")
    assert set(intake_body["properties"]) == {q.key for q in intake.INTAKE_QUESTIONS}
    assert set(intake_body["required"]) == {q.key for q in intake.INTAKE_QUESTIONS if q.required}
    outcome = body_schema(client, "/outcomes")
    assert set(outcome["properties"]) == {"answers", "instrument", "appointment_id", "patient_id"}
    assert outcome["required"] == ["answers"]
    decision = body_schema(client, "/patients/{id}/clearance")
    assert set(decision["properties"]) == {"cleared", "protocols", "diagnosis_codes", "notes", "reason",
                                           "rems_enrollment_date"}
    assert "required" not in decision and decision["properties"]["cleared"]["default"] is True
    assert body_schema(client, "/patients/{id}/clearance/withdraw")["required"] == ["reason"]
