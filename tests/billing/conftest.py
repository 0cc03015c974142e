"""Billing fixtures: a cleared patient's hold, a paid visit in the past, and the served app talking to the local Stripe
emulator."""
from __future__ import annotations

import pytest

from tests.browser import serving
from tests.factories import (ADDRESS, book, clear_patient, move_to_the_past, NAME, next_weekday, paid_by_card,
                             patient_login)


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


@pytest.fixture
def paid_visit(held, localstripe_url, stripe_app):
    """A paid IV treatment, moved into the past, not yet completed: (client, patient headers, patient id, ...)."""
    client, headers, appointment = held
    patient_id = appointment["patient_id"]
    changed = client.patch(f"/api/v1/patients/{patient_id}", headers=headers,
                           json={"name": NAME, "date_of_birth": "1988-07-04", "address": ADDRESS})
    assert changed.status_code == 200, changed.json
    payment = paid_by_card(client, headers, appointment["id"], localstripe_url)
    start = move_to_the_past(stripe_app, appointment["id"])
    return client, headers, patient_id, appointment["id"], payment, start
