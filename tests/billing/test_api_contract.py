"""The billing API's real answers validate against /api/v1/openapi.json (openapi-core), as the core's contract test
checks booking's: a paid visit is looked at, refunded in part, completed and billed, its superbill voided and
reissued, and the month's batch started; every answer must be one billing/api_shapes.py declares."""
from __future__ import annotations

from datetime import datetime

import pytest
from openapi_core import OpenAPI

from tests.clinic.test_api_contract import ContractClient
from tests.factories import api_token, complete, issue_superbill, NEW_YORK


@pytest.fixture
def contract(stripe_app):
    """Every test client made from here on checks its /api/v1 answers against the document."""
    ContractClient.document = OpenAPI.from_dict(stripe_app.test_client().get("/api/v1/openapi.json").json)
    ContractClient.seen = set()
    stripe_app.test_client_class = ContractClient


@pytest.fixture
def held(contract, held):
    """billing's `held`, made with a checking client (`contract` first, so its client is one)."""
    return held


def test_a_paid_visit_billed_end_to_end_answers_only_what_the_document_promises(paid_visit):
    client, patient, patient_id, appointment_id, payment, start = paid_visit
    assert isinstance(client, ContractClient)
    billing = api_token(client, "billing@clinic.test")
    assert client.post("/api/v1/setup-intents", headers=patient).status_code == 201
    assert client.get(f"/api/v1/payments/{payment['id']}", headers=patient).status_code == 200
    refund = client.post(f"/api/v1/payments/{payment['id']}/refunds", headers=billing,
                         json={"amount_cents": 500, "reason": "A goodwill discount"})
    assert refund.status_code == 201, refund.json
    assert client.get("/api/v1/payments", headers=patient).json["payments"][0]["refunds"][0]["receipt_url"]
    assert client.get("/api/v1/packages", headers=patient).status_code == 200

    complete(client, appointment_id)
    assert client.post("/api/v1/superbills", headers=billing, json={}).status_code == 422
    superbill = issue_superbill(client, patient_id, start, billing).json["superbill"]
    assert client.get(f"/api/v1/superbills/{superbill['id']}", headers=patient).status_code == 200
    assert client.get(f"/api/v1/superbills?patient_id={patient_id}", headers=billing).status_code == 200
    voided = client.post(f"/api/v1/superbills/{superbill['id']}/void", headers=billing, json={"reason": "Typo"})
    assert voided.status_code == 200 and voided.json["replacement"]["replaces"] == superbill["id"]
    assert client.get("/api/v1/estimates", headers=patient).status_code == 200
    assert client.get("/api/v1/estimates/overruns", headers=billing).status_code == 200

    month = datetime.now(NEW_YORK).strftime("%Y-%m")
    batch = client.post("/api/v1/superbill-batches", headers=billing, json={"month": month})
    assert batch.status_code in (200, 201)
    assert client.get("/api/v1/superbill-batches", headers=billing).status_code == 200
    assert client.get(f"/api/v1/superbill-batches/{batch.json['batch']['id']}", headers=billing).status_code == 200
    assert {("POST", 201), ("POST", 200), ("GET", 200), ("POST", 422)} <= ContractClient.seen
