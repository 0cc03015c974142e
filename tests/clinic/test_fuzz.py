"""Fuzzing from the OpenAPI document (schemathesis, through WSGI): every operation gets generated valid and
invalid requests as an anonymous visitor, a patient and staff (clinician, billing, front desk). No answer may be a
5xx (with TESTING on, a server error raises here), and every answer must be documented: its status, content type
and body.

Bounded for the suite: FUZZ_EXAMPLES examples per operation and mode (default 3, the same ones each run); a longer
run raises it, FUZZ_RANDOM=1 draws new examples each time, and FUZZ_ROLES lists who signs in (anonymous and emails).
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.factories import api_token, guest_booking, next_weekday

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
SAME_EXAMPLES = os.environ.get("FUZZ_RANDOM") != "1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = tuple(os.environ.get("FUZZ_ROLES", "anonymous patient@clinic.test dr.rivera@clinic.test "
                                           "billing@clinic.test frontdesk@clinic.test").split())


def strategies(operation):
    """Valid and invalid requests; an operation with nothing to get wrong has only valid ones."""
    found = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    if operation.body or any(True for _ in operation.iter_parameters()):
        found.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    return found


@pytest.mark.parametrize("email", ROLES)
def test_generated_requests_get_documented_answers_and_never_a_5xx(stripe_app, email):
    demo = stripe_app  # payments talk to a real localstripe, as they do under make run
    client = demo.test_client()
    headers = api_token(client, email) if email != "anonymous" else {}
    # Rows for generated ids to find: a guest's consultation, and the patient's own when signed in as one.
    assert client.post("/api/v1/appointments", json=guest_booking(next_weekday(1), 10)).status_code == 201
    if email == "patient@clinic.test":
        own = {"service": "consultation", "start": guest_booking(next_weekday(1), 11)["start"]}
        assert client.post("/api/v1/appointments", json=own, headers=headers).status_code == 201
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", demo)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        for strategy in strategies(operation):
            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=SAME_EXAMPLES, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def call(case):
                case.call_and_validate(headers=headers, checks=CHECKS)
            call()
