"""A payment that goes through after its hold ran out, against a real localstripe: settled by the webhook or by
`flask stripe sync`, it confirms the appointment when its place is still free (through booking's one rule check)
and otherwise is refunded in full at Stripe, with the ledger and the patient told. A series is all or none."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from billing.models import LedgerEntry, Payment
from booking import services as booking_services
from booking.models import Appointment, Reservation
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import OutboxMessage
from tests.factories import (card, DRIVER, guest_booking, next_weekday, pay, signed, stripe_get,
                             STRIPE_SECRET_KEY as SECRET_KEY, take_the_place, THREE_D_SECURE)


def authenticate(base: str, secret: str) -> dict:
    """3-D Secure passed at Stripe (the patient finished it in the browser): the intent has succeeded there."""
    intent_id = secret.split("_secret_")[0]
    requests.post(f"{base}/v1/payment_intents/{intent_id}/_authenticate", params={"success": "true"},
                  data={"client_secret": secret}, auth=(SECRET_KEY, ""), timeout=5).raise_for_status()
    return stripe_get(base, f"/v1/payment_intents/{intent_id}")


def lapse(app, appointment_ids: list[int], tidy: bool = True) -> None:
    """The clock moves past the hold: its end is set a minute ago, and (as the next booking would) it is tidied."""
    with app.app_context():
        for appointment_id in appointment_ids:
            db.session.get(Appointment, appointment_id).hold_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        if tidy:
            assert booking_services.expire_holds() == len(appointment_ids)
            db.session.commit()


def settle(app, intent: dict, how: str) -> None:
    if how == "webhook":
        event = {"id": f"evt_late_{intent['id']}", "object": "event", "type": "payment_intent.succeeded",
                 "data": {"object": intent}}
        payload, headers = signed(app, event)
        response = app.test_client().post("/webhooks/stripe", data=payload, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
    else:
        result = app.test_cli_runner().invoke(args=["stripe", "sync"])
        assert result.exit_code == 0, result.output
        assert "requires_action -> succeeded" in result.output


def refunds_at_stripe(base: str) -> list[int]:
    return [r["amount"] for r in stripe_get(base, "/v1/refunds", limit=100)["data"]]


def late_payment(held, base, app) -> tuple[dict, dict]:
    client, headers, appointment = held
    response = pay(client, headers, appointment["id"], card(base, THREE_D_SECURE))
    assert response.json["payment"]["status"] == "requires_action"
    lapse(app, [appointment["id"]])
    return appointment, authenticate(base, response.json["next_action"]["client_secret"])


def outbox(app, kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


@pytest.mark.parametrize("how", ["webhook", "sync"])
def test_a_late_payment_confirms_the_appointment_when_its_place_is_still_free(held, localstripe_url, stripe_app, how):
    appointment, intent = late_payment(held, localstripe_url, stripe_app)
    with stripe_app.app_context():
        row = db.session.get(Appointment, appointment["id"])
        assert row.status == "cancelled" and row.cancelled_at == row.hold_expires_at  # the hold's end, not the tidy
    settle(stripe_app, intent, how)
    client, headers, _ = held
    now = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]
    assert now["status"] == "confirmed" and now["hold_expires_at"] is None
    assert now["chair_id"] == appointment["chair_id"] and now["provider_id"] == appointment["provider_id"]
    assert refunds_at_stripe(localstripe_url) == []
    with stripe_app.app_context():
        assert db.session.get(Appointment, appointment["id"]).cancelled_at is None
        active = db.session.scalars(select(Reservation).where(Reservation.appointment_id == appointment["id"],
                                                              Reservation.active)).all()
        assert len(active) == 2  # its clinician and its chair, held again
        assert db.session.scalars(select(LedgerEntry.kind)).all() == ["charge"]
        [mail] = outbox(stripe_app, "payment_late_confirmed")
        assert "$475.00" in mail.text and "confirmed" in mail.text and "/account" in mail.text
        assert outbox(stripe_app, "payment_late_refunded") == []


@pytest.mark.parametrize("how", ["webhook", "sync"])
def test_a_late_payment_whose_place_was_taken_is_refunded_in_full_and_the_patient_told(
        held, localstripe_url, stripe_app, how):
    client, headers, appointment = held
    response = pay(client, headers, appointment["id"], card(localstripe_url, THREE_D_SECURE))
    lapse(stripe_app, [appointment["id"]], tidy=False)
    take_the_place(client, appointment["start"])  # the next booking tidies the hold away and takes the clinicians
    intent = authenticate(localstripe_url, response.json["next_action"]["client_secret"])
    settle(stripe_app, intent, how)
    assert refunds_at_stripe(localstripe_url) == [appointment["amount_due_cents"]]
    status = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]["status"]
    assert status == "cancelled"
    with stripe_app.app_context():
        ledger = db.session.execute(select(LedgerEntry.kind, LedgerEntry.amount_cents).order_by(LedgerEntry.id)).all()
        assert ledger == [("charge", 47500), ("refund", 47500)]
        assert db.session.scalar(select(Payment.status)) == "succeeded"
        [mail] = outbox(stripe_app, "payment_late_refunded")
        assert "$475.00" in mail.text and "refunded" in mail.text
        assert outbox(stripe_app, "payment_late_confirmed") == []


def test_a_hold_the_patient_cancelled_is_refunded_not_brought_back(held, localstripe_url, stripe_app):
    client, headers, appointment = held
    response = pay(client, headers, appointment["id"], card(localstripe_url, THREE_D_SECURE))
    assert client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers).status_code == 200
    settle(stripe_app, authenticate(localstripe_url, response.json["next_action"]["client_secret"]), "webhook")
    assert refunds_at_stripe(localstripe_url) == [appointment["amount_due_cents"]]
    status = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]["status"]
    assert status == "cancelled"


def held_series(app) -> tuple:
    from tests.factories import cleared_patient
    client, headers = cleared_patient(app)
    response = client.post("/api/v1/series", headers=headers, json={
        "protocol": "iv-induction", "first_date": next_weekday(0).isoformat(), "driver": DRIVER})
    assert response.status_code == 201, response.json
    return client, headers, response.json["appointments"]


def pay_series_late(app, base) -> tuple:
    client, headers, sessions = held_series(app)
    response = client.post(f"/api/v1/series/{sessions[0]['series_id']}/pay", headers=headers,
                           json={"payment_method": card(base, THREE_D_SECURE)})
    assert response.json["payment"]["status"] == "requires_action", response.json
    lapse(app, [s["id"] for s in sessions], tidy=False)
    return client, headers, sessions, response.json["next_action"]["client_secret"]


def statuses(client, headers, sessions) -> list[str]:
    return [client.get(f"/api/v1/appointments/{s['id']}", headers=headers).json["appointment"]["status"]
            for s in sessions]


def test_a_series_paid_late_is_confirmed_whole_when_every_place_is_free(stripe_app, localstripe_url):
    client, headers, sessions, secret = pay_series_late(stripe_app, localstripe_url)
    with stripe_app.app_context():
        booking_services.expire_holds()
        db.session.commit()
    settle(stripe_app, authenticate(localstripe_url, secret), "webhook")
    assert statuses(client, headers, sessions) == ["confirmed"] * 6
    assert refunds_at_stripe(localstripe_url) == []
    with stripe_app.app_context():
        [mail] = outbox(stripe_app, "payment_late_confirmed")
        assert "treatments are confirmed" in mail.text and mail.text.count("9:00 AM") == 6


def test_a_series_paid_late_with_one_place_taken_is_refunded_whole(stripe_app, localstripe_url):
    client, headers, sessions, secret = pay_series_late(stripe_app, localstripe_url)
    take_the_place(client, sessions[2]["start"])
    settle(stripe_app, authenticate(localstripe_url, secret), "sync")
    assert statuses(client, headers, sessions) == ["cancelled"] * 6  # none confirmed: all or none
    total = sum(s["amount_due_cents"] for s in sessions)
    assert sum(refunds_at_stripe(localstripe_url)) == total
    with stripe_app.app_context():
        refunded = db.session.scalars(select(LedgerEntry.amount_cents).where(LedgerEntry.kind == "refund")).all()
        assert sum(refunded) == total
        assert len(outbox(stripe_app, "payment_late_refunded")) == 1


@pytest.mark.parametrize("round_", range(3))
def test_a_late_payment_racing_bookings_for_its_place_ends_either_kept_or_refunded_never_both(
        held, localstripe_url, stripe_app, round_):
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime
    client, headers, appointment = held
    response = pay(client, headers, appointment["id"], card(localstripe_url, THREE_D_SECURE))
    lapse(stripe_app, [appointment["id"]], tidy=False)
    intent = authenticate(localstripe_url, response.json["next_action"]["client_secret"])
    start = datetime.fromisoformat(appointment["start"])

    def guest(n):
        body = {**guest_booking(start.date(), start.hour, email=f"racer{n}@example.com"), "start": start.isoformat()}
        return stripe_app.test_client().post("/api/v1/appointments", json=body).status_code

    with ThreadPoolExecutor(3) as pool:
        webhook = pool.submit(settle, stripe_app, intent, "webhook")
        guests = list(pool.map(guest, range(2)))
        webhook.result()
    status = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]["status"]
    with stripe_app.app_context():
        active = db.session.scalars(select(Reservation).where(Reservation.appointment_id == appointment["id"],
                                                              Reservation.active)).all()
    if status == "confirmed":  # kept: its place is really held, and at most one guest got a clinician beside it
        assert len(active) == 2 and refunds_at_stripe(localstripe_url) == [] and guests.count(201) <= 1
    else:  # both guests took the clinicians first: refunded in full, nothing held
        assert status == "cancelled" and active == [] and guests == [201, 201]
        assert refunds_at_stripe(localstripe_url) == [appointment["amount_due_cents"]]
