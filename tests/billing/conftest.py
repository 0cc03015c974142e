"""Billing fixtures: a cleared patient's hold, and the served app talking to the local Stripe emulator."""
from __future__ import annotations

import pytest

from tests.browser import serving
from tests.factories import book, clear_patient, next_weekday, patient_login


@pytest.fixture
def held(stripe_app):
    """A cleared patient's IV treatment held for payment a week or more ahead: (client, headers, appointment)."""
    client = stripe_app.test_client()
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    response = book(client, headers, next_weekday(1))
    assert response.status_code == 201, response.json
    return client, headers, response.json["appointment"]


@pytest.fixture
def live_server(stripe_app):
    """For billing's page tests, the app that talks to the local Stripe emulator."""
    with serving(stripe_app) as base:
        yield base
