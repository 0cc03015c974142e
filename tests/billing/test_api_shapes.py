"""The billing API's bodies and query strings, declared once in billing/api_shapes.py: one 422 names every field
that is wrong with the sentence a person reads, and the document describes the same fields."""
from __future__ import annotations

import pytest

from tests.factories import api_token

BILLING = "billing@clinic.test"


@pytest.fixture
def billing(demo):
    client = demo.test_client()
    return client, api_token(client, BILLING)


def test_a_superbill_request_with_three_bad_fields_names_each_in_one_answer(billing):
    client, headers = billing
    response = client.post("/api/v1/superbills", headers=headers, json={"patient_id": 0, "from": "2027-13-01"})
    assert response.status_code == 422
    assert response.json["error"]["message"] == "Please correct the 3 details marked."
    assert response.json["error"]["fields"] == {
        "patient_id": "The patient must be a whole number from 1 to 1000000000.",
        "from": "The first date must be a real date written YYYY-MM-DD.",
        "to": "Please give the last date as YYYY-MM-DD."}


def test_a_refund_with_no_amount_and_no_reason_names_both(billing):
    client, headers = billing
    response = client.post("/api/v1/payments/1/refunds", headers=headers, json={"amount_cents": True})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "amount_cents": "The amount (cents) must be a whole number from 1 to 100000000.",
        "reason": "Please enter your reason."}


def test_one_bad_field_answers_its_own_sentence(billing):
    client, headers = billing
    void = client.post("/api/v1/superbills/1/void", headers=headers, json={"reason": "typo", "reissue": "yes"})
    assert void.status_code == 422
    assert void.json["error"] == {"code": "invalid", "message": "The reissue must be true or false.",
                                  "fields": {"reissue": "The reissue must be true or false."}}
    batch = client.post("/api/v1/superbill-batches", headers=headers, json={})
    assert batch.json["error"]["fields"] == {"month": "Give the month as YYYY-MM, for example 2027-03."}
    later = client.post("/api/v1/superbill-batches", headers=headers, json={"month": "2999-01"})
    assert later.json["error"]["fields"] == {
        "month": "That month has not started yet: choose this month or an earlier one."}


def test_a_card_number_typed_in_is_asked_for_again(demo):
    client = demo.test_client()
    headers = api_token(client, "patient@clinic.test")
    response = client.post("/api/v1/packages", headers=headers, json={"payment_method": "4242424242424242"})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"payment_method": "Please enter your card again."}


@pytest.mark.parametrize("path", ["/api/v1/superbills", "/api/v1/estimates"])
def test_a_patient_id_in_the_query_must_be_a_whole_number(billing, path):
    client, headers = billing
    response = client.get(f"{path}?patient_id=12a", headers=headers)
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"patient_id": "The patient id must be a whole number."}
    assert client.get(f"{path}?patient_id=", headers=headers).status_code == 200


def test_the_document_describes_the_bodies_the_shapes_declare(client):
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    issue = schemas["SuperbillRequest"]
    assert set(issue["properties"]) == {"patient_id", "from", "to"} and set(issue["required"]) == {
        "patient_id", "from", "to"}
    assert issue["properties"]["from"] == {"type": "string", "format": "date"}
    void = schemas["VoidRequest"]
    assert void["required"] == ["reason"] and void["properties"]["reissue"] == {"type": "boolean", "default": True}
    assert schemas["RefundRequest"]["properties"]["amount_cents"] == {"type": "integer", "minimum": 1,
                                                                      "maximum": 10**8}
    listed = document["paths"]["/superbills"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in listed] == [("patient_id", "query", False)]
    pay = document["paths"]["/appointments/{id}/pay"]["post"]["requestBody"]["content"]["application/json"]
    assert schemas[pay["schema"]["$ref"].rsplit("/", 1)[1]]["required"] == ["payment_method"]


def test_answers_name_their_fields_nullable_where_the_app_sends_null(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert schemas["Superbill"]["properties"]["replaces"] == {"type": "integer", "nullable": True}
    assert schemas["SuperbillVoided"]["properties"]["replacement"]["nullable"] is True
    assert schemas["Payment"]["properties"]["appointment_id"]["nullable"] is True
    assert "credits_remaining" not in schemas["Packages"]["required"]
