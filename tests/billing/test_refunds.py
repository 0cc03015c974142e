"""Refunds: the cancellation policy (full a week ahead, half 21 hours ahead) through booking's cancel, the preview
before cancelling, billing staff's refunds up to what remains, and the database refusing more than was paid."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from billing.models import LedgerEntry, Payment, Refund
from booking.models import Appointment
from clinic.database import utcnow
from clinic.extensions import db
from tests.factories import api_token, card, move_start_to, paid, pay, refunds_at_stripe, stripe_get


def test_cancelling_a_week_ahead_refunds_in_full_at_stripe(held, localstripe_url):
    client, headers, appointment, payment = paid(held, localstripe_url)
    preview = client.get(f"/api/v1/appointments/{appointment['id']}/cancellation", headers=headers).json
    assert preview["refund_cents"] == payment["amount_cents"] and preview["currency"] == "usd"
    assert "48 hours" in preview["policy"]
    response = client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["refund"] == {"amount_cents": payment["amount_cents"], "status": "succeeded"}
    assert refunds_at_stripe(localstripe_url) == [payment["amount_cents"]]
    listed = client.get("/api/v1/payments", headers=headers).json["payments"][0]
    assert listed["refunded_cents"] == payment["amount_cents"]


def test_cancelling_21_hours_ahead_refunds_half(held, localstripe_url, stripe_app):
    client, headers, appointment, payment = paid(held, localstripe_url)
    move_start_to(stripe_app, appointment["id"], 21)
    preview = client.get(f"/api/v1/appointments/{appointment['id']}/cancellation", headers=headers).json
    assert preview["refund_cents"] == payment["amount_cents"] // 2
    assert "keeps 50%" in preview["policy"]
    response = client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers)
    assert response.json["refund"]["amount_cents"] == payment["amount_cents"] // 2
    assert refunds_at_stripe(localstripe_url) == [payment["amount_cents"] // 2]


def test_unpaid_cancellation_refunds_nothing(held):
    client, headers, appointment = held
    preview = client.get(f"/api/v1/appointments/{appointment['id']}/cancellation", headers=headers).json
    assert preview["refund_cents"] == 0 and "Nothing has been paid" in preview["policy"]
    response = client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers)
    assert response.status_code == 200 and response.json["refund"] is None


def test_billing_staff_refund_up_to_what_remains_and_never_more(held, localstripe_url):
    client, headers, appointment, payment = paid(held, localstripe_url)
    billing = api_token(client, "billing@clinic.test")
    url = f"/api/v1/payments/{payment['id']}/refunds"
    assert client.post(url, headers=headers, json={"amount_cents": 100, "reason": "x"}).status_code == 403
    first = client.post(url, headers=billing, json={"amount_cents": 10000, "reason": "goodwill"})
    assert first.status_code == 201, first.json
    assert first.json["refund"]["status"] == "succeeded"
    assert first.json["payment"]["refunded_cents"] == 10000
    too_much = client.post(url, headers=billing, json={"amount_cents": payment["amount_cents"] - 10000 + 1,
                                                         "reason": "too much"})
    assert too_much.status_code == 422 and too_much.json["error"]["code"] == "refund_too_large"
    assert "$" in too_much.json["error"]["message"]
    rest = client.post(url, headers=billing, json={"amount_cents": payment["amount_cents"] - 10000, "reason": "rest"})
    assert rest.status_code == 201
    assert sorted(refunds_at_stripe(localstripe_url)) == sorted([10000, payment["amount_cents"] - 10000])


def test_the_database_refuses_refunds_above_the_payment_and_changes_to_the_ledger(held, localstripe_url, stripe_app):
    paid(held, localstripe_url)
    with stripe_app.app_context():
        payment = db.session.scalar(select(Payment))
        db.session.add(Refund(payment_id=payment.id, amount_cents=payment.amount_cents + 1, currency="usd",
                              reason="too much", status="pending"))
        with pytest.raises((IntegrityError, DBAPIError)):
            db.session.flush()
        db.session.rollback()
        with pytest.raises((IntegrityError, DBAPIError)):
            db.session.execute(text("UPDATE ledger_entries SET amount_cents = 1"))
        db.session.rollback()
        with pytest.raises((IntegrityError, DBAPIError)):
            db.session.execute(text("DELETE FROM ledger_entries"))
        db.session.rollback()
        assert db.session.scalar(select(LedgerEntry.amount_cents)) == payment.amount_cents


def test_a_payment_that_succeeds_after_the_hold_was_released_is_refunded_and_the_patient_told(held, localstripe_url,
                                                                                               stripe_app):
    from booking import services as booking_services
    from clinic.models import OutboxMessage
    from tests.factories import STRIPE_SECRET_KEY as SECRET_KEY, THREE_D_SECURE
    import requests

    client, headers, appointment = held
    secret = pay(client, headers, appointment["id"], card(localstripe_url, THREE_D_SECURE)).json["next_action"]["client_secret"]
    with stripe_app.app_context():  # the hold ran out and a booking tidied it up while 3-D Secure was pending
        db.session.get(Appointment, appointment["id"]).hold_expires_at = utcnow() - timedelta(minutes=1)
        booking_services.expire_holds()
        db.session.commit()
    from tests.factories import take_the_place
    take_the_place(client, appointment["start"])  # and its place was taken (a free place is confirmed after all)
    requests.post(f"{localstripe_url}/v1/payment_intents/{secret.split('_secret_')[0]}/_authenticate",
                  params={"success": "true"}, data={"client_secret": secret}, auth=(SECRET_KEY, ""),
                  timeout=5).raise_for_status()
    result = stripe_app.test_cli_runner().invoke(args=["stripe", "sync"])
    assert result.exit_code == 0, result.output
    assert refunds_at_stripe(localstripe_url) == [appointment["amount_due_cents"]]
    with stripe_app.app_context():
        assert db.session.get(Appointment, appointment["id"]).status == "cancelled"
        kinds = db.session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id)).all()
        assert kinds == ["charge", "refund"]
        mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "payment_late_refunded"))
        assert mail is not None and "$" in mail.text and "refunded" in mail.text


def test_rescheduling_keeps_the_payment(held, localstripe_url):
    client, headers, appointment, payment = paid(held, localstripe_url)
    from datetime import datetime
    new_start = datetime.fromisoformat(appointment["start"]) + timedelta(days=7)
    moved = client.post(f"/api/v1/appointments/{appointment['id']}/reschedule", headers=headers,
                        json={"start": new_start.isoformat()})
    assert moved.status_code == 200, moved.json
    assert moved.json["appointment"]["status"] == "confirmed"
    preview = client.get(f"/api/v1/appointments/{appointment['id']}/cancellation", headers=headers).json
    assert preview["refund_cents"] == payment["amount_cents"]


def test_reconcile_prints_every_difference_between_the_ledger_and_stripe(held, localstripe_url, stripe_app):
    import requests
    from tests.factories import STRIPE_SECRET_KEY as SECRET_KEY
    client, headers, appointment, payment = paid(held, localstripe_url)
    today = utcnow().date()
    days = ["stripe", "reconcile", "--from", (today - timedelta(days=1)).isoformat(),
            "--to", (today + timedelta(days=1)).isoformat()]
    clean = stripe_app.test_cli_runner().invoke(args=days)
    assert clean.exit_code == 0 and "The ledger matches Stripe." in clean.output
    intent = stripe_get(localstripe_url, "/v1/payment_intents")["data"][0]["id"]
    requests.post(f"{localstripe_url}/v1/refunds", auth=(SECRET_KEY, ""), timeout=5,  # made outside the app
                  data={"payment_intent": intent, "amount": 500}).raise_for_status()
    differs = stripe_app.test_cli_runner().invoke(args=days)
    assert differs.exit_code == 1
    assert "Stripe refund re_" in differs.output and "$5.00 is not in the ledger" in differs.output


def test_the_refund_is_shown_in_dollars_before_the_patient_confirms_the_cancellation(held, localstripe_url, stripe_app):
    from tests.factories import sign_in
    client, headers, appointment, payment = paid(held, localstripe_url)
    page = stripe_app.test_client()
    sign_in(page, "patient@clinic.test")
    account = page.get("/account").get_data(as_text=True)
    assert "Cancelling now refunds <strong>$475.00</strong> of the\n  $475.00 you paid." in account
    move_start_to(stripe_app, appointment["id"], 21)
    manage_url = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]["manage_url"]
    manage = stripe_app.test_client().get(manage_url.replace("http://127.0.0.1:5000", "")).get_data(as_text=True)
    assert "Cancelling now refunds <strong>$237.50</strong> of the\n  $475.00 you paid." in manage
    assert "Cancelling now refunds" in page.get("/account").get_data(as_text=True)
    assert refunds_at_stripe(localstripe_url) == []  # shown, nothing done
