"""Paying for held treatments against a real localstripe: good, declined and 3-D Secure cards, a whole series,
paying twice, and what the app sends to Stripe (opaque ids, never health information)."""
from __future__ import annotations

import requests
from sqlalchemy import select

from billing.models import LedgerEntry, Payment
from clinic.extensions import db
from clinic.models import OutboxMessage
from tests.factories import (card, clear_patient, DECLINED, DRIVER, GOOD, intents_for, next_weekday, patient_login,
                             pay, STRIPE_SECRET_KEY as SECRET_KEY, THREE_D_SECURE)


def test_good_card_pays_the_full_price_confirms_and_cannot_pay_again(held, localstripe_url, stripe_app):
    client, headers, appointment = held
    response = pay(client, headers, appointment["id"], card(localstripe_url))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["appointment"]["status"] == "confirmed"
    assert body["payment"]["status"] == "succeeded"
    assert body["payment"]["amount_cents"] == appointment["amount_due_cents"] > 0
    assert body["next_action"] is None

    again = pay(client, headers, appointment["id"], card(localstripe_url))
    assert again.status_code == 409 and again.json["error"]["code"] == "already_paid"
    intents = intents_for(localstripe_url, body["payment"]["id"])
    assert [pi["status"] for pi in intents] == ["succeeded"]
    assert intents[0]["amount"] == appointment["amount_due_cents"]
    with stripe_app.app_context():
        ledger = db.session.scalars(select(LedgerEntry)).all()
        assert [(e.kind, e.amount_cents, e.stripe_object_id) for e in ledger] == \
            [("charge", appointment["amount_due_cents"], intents[0]["id"])]
        mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "payment_received")).one()
        assert "$475.00" in mail.text and "/account" in mail.text and "confirmed" in mail.text


def test_only_opaque_ids_reach_stripe(held, localstripe_url):
    client, headers, appointment = held
    payment = pay(client, headers, appointment["id"], card(localstripe_url)).json["payment"]
    intent = intents_for(localstripe_url, payment["id"])[0]
    assert intent["metadata"] == {"payment_id": str(payment["id"])}
    assert not intent.get("description") and not intent.get("statement_descriptor")
    sent = str(intent).lower()
    for health_word in ("ketamine", "iv", "infusion", "ptsd", "f43", "induction", "robin"):
        assert f"'{health_word}" not in sent and f"{health_word} " not in sent


def test_declined_card_gets_a_sentence_and_keeps_the_hold_then_another_card_pays(held, localstripe_url, stripe_app):
    client, headers, appointment = held
    declined = pay(client, headers, appointment["id"], card(localstripe_url, DECLINED))
    assert declined.status_code == 402
    assert declined.json["error"]["code"] == "card_declined"
    assert "declined" in declined.json["error"]["message"] and "another card" in declined.json["error"]["message"]
    still = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]
    assert still["status"] == "pending_payment" and still["hold_expires_at"] == appointment["hold_expires_at"]

    paid = pay(client, headers, appointment["id"], card(localstripe_url, GOOD))
    assert paid.status_code == 200 and paid.json["appointment"]["status"] == "confirmed"
    payments = client.get("/api/v1/payments", headers=headers).json["payments"]
    assert sorted(p["status"] for p in payments) == ["failed", "succeeded"]
    with stripe_app.app_context():  # deterministic keys: a retried call reaches Stripe with the same key
        keys = db.session.scalars(select(Payment.idempotency_key).order_by(Payment.id)).all()
        assert keys == [f"pay-appointment-{appointment['id']}-attempt-1", f"pay-appointment-{appointment['id']}-attempt-2"]


def test_three_d_secure_answers_next_action_and_ends_confirmed_after_authentication(held, localstripe_url, stripe_app):
    client, headers, appointment = held
    response = pay(client, headers, appointment["id"], card(localstripe_url, THREE_D_SECURE))
    assert response.status_code == 200, response.json
    assert response.json["payment"]["status"] == "requires_action"
    secret = response.json["next_action"]["client_secret"]
    assert response.json["appointment"]["status"] == "pending_payment"

    intent_id = secret.split("_secret_")[0]
    done = requests.post(f"{localstripe_url}/v1/payment_intents/{intent_id}/_authenticate",
                         params={"success": "true"}, data={"client_secret": secret}, auth=(SECRET_KEY, ""), timeout=5)
    assert done.ok, done.text
    result = stripe_app.test_cli_runner().invoke(args=["stripe", "sync"])
    assert result.exit_code == 0, result.output
    assert "requires_action -> succeeded" in result.output
    now = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]
    assert now["status"] == "confirmed"


def test_a_whole_series_is_paid_in_one_payment(stripe_app, localstripe_url):
    client = stripe_app.test_client()
    headers, patient_id = patient_login(client)
    clear_patient(client, patient_id)
    booked = client.post("/api/v1/series", headers=headers, json={
        "protocol": "iv-induction", "first_date": next_weekday(0).isoformat(), "driver": DRIVER})
    assert booked.status_code == 201, booked.json
    sessions = booked.json["appointments"]
    series_id = sessions[0]["series_id"]
    response = client.post(f"/api/v1/series/{series_id}/pay", headers=headers,
                           json={"payment_method": card(localstripe_url)})
    assert response.status_code == 200, response.json
    assert {a["status"] for a in response.json["appointments"]} == {"confirmed"}
    total = sum(a["amount_due_cents"] for a in sessions)
    assert response.json["payment"]["amount_cents"] == total
    listed = client.get("/api/v1/payments", headers=headers).json["payments"]
    assert len(listed) == 1 and sorted(listed[0]["appointment_ids"]) == sorted(a["id"] for a in sessions)
    assert listed[0]["appointment_id"] == listed[0]["appointment_ids"][0]
    assert listed[0]["receipt_url"] == f"/api/v1/payments/{listed[0]['id']}/receipt.pdf"
    assert len(intents_for(localstripe_url, listed[0]["id"])) == 1


def test_another_patient_cannot_pay_or_see_payments(held, localstripe_url, stripe_app):
    client, headers, appointment = held
    pay(client, headers, appointment["id"], card(localstripe_url))
    staff = patient_login(client, "frontdesk@clinic.test")[0]
    assert pay(client, staff, appointment["id"], card(localstripe_url)).status_code == 403
    with stripe_app.app_context():
        assert db.session.scalar(select(Payment.id)) is not None
