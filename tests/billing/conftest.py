"""Billing fixtures: a real localstripe server for the session, cards made at it, a cleared patient's hold."""
from __future__ import annotations

import pytest
import requests

from tests.booking.test_treatments_api import book, patient_login
from tests.conftest import STRIPE_SECRET_KEY as SECRET_KEY, clear_patient, next_weekday

GOOD, DECLINED, THREE_D_SECURE = "4242424242424242", "4000000000000341", "4000002500003155"


def stripe_get(base: str, path: str, **params) -> dict:
    response = requests.get(f"{base}{path}", params=params, auth=(SECRET_KEY, ""), timeout=5)
    assert response.ok, response.text
    return response.json()


def card(base: str, number: str = GOOD) -> str:
    """A PaymentMethod made at localstripe, as Stripe.js would make it in the browser."""
    response = requests.post(f"{base}/v1/payment_methods", auth=(SECRET_KEY, ""), timeout=5, data={
        "type": "card", "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034",
        "card[cvc]": "123"})
    assert response.ok, response.text
    return response.json()["id"]


def intents_for(base: str, payment_id: int) -> list[dict]:
    found = stripe_get(base, "/v1/payment_intents", limit=100)["data"]
    return [pi for pi in found if pi["metadata"].get("payment_id") == str(payment_id)]


@pytest.fixture
def held(stripe_app):
    """A cleared patient's IV treatment held for payment a week or more ahead: (client, headers, appointment)."""
    client = stripe_app.test_client()
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    response = book(client, headers, next_weekday(1))
    assert response.status_code == 201, response.json
    return client, headers, response.json["appointment"]
