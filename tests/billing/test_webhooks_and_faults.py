"""Stripe's webhook (signature, once however often and however concurrently it arrives, live from localstripe)
and Stripe failing on purpose (a tiny server answering 500 or hanging): 503 with a sentence, nothing changed."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from billing.models import LedgerEntry, Payment, Refund, StripeEvent
from clinic.database import utcnow
from clinic.extensions import db
from tests.factories import (card, free_port, intents_for, pay, signed, stripe_get, STRIPE_SECRET_KEY as SECRET_KEY,
                             THREE_D_SECURE)


def authenticated_intent(held, base: str) -> tuple[dict, dict]:
    """A 3-D Secure payment whose authentication succeeded at Stripe but that the app has not heard of yet."""
    client, headers, appointment = held
    response = pay(client, headers, appointment["id"], card(base, THREE_D_SECURE))
    secret = response.json["next_action"]["client_secret"]
    intent_id = secret.split("_secret_")[0]
    requests.post(f"{base}/v1/payment_intents/{intent_id}/_authenticate", params={"success": "true"},
                  data={"client_secret": secret}, auth=(SECRET_KEY, ""), timeout=5).raise_for_status()
    return appointment, stripe_get(base, f"/v1/payment_intents/{intent_id}")


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(LedgerEntry)),
                db.session.scalar(select(func.count()).select_from(StripeEvent)))


def test_a_bad_signature_gets_400_and_changes_nothing(held, localstripe_url, stripe_app):
    appointment, intent = authenticated_intent(held, localstripe_url)
    event = {"id": "evt_forged", "object": "event", "type": "payment_intent.succeeded", "data": {"object": intent}}
    payload, headers = signed(stripe_app, event, secret="whsec_wrong")
    response = stripe_app.test_client().post("/webhooks/stripe", data=payload, headers=headers)
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_signature"
    unsigned = stripe_app.test_client().post("/webhooks/stripe", data=payload, content_type="application/json")
    assert unsigned.status_code == 400
    assert counts(stripe_app) == (0, 0)


def test_a_signed_event_sent_ten_times_at_once_and_replayed_is_handled_once(held, localstripe_url, stripe_app):
    appointment, intent = authenticated_intent(held, localstripe_url)
    event = {"id": "evt_once", "object": "event", "type": "payment_intent.succeeded", "data": {"object": intent}}
    payload, headers = signed(stripe_app, event)

    def send(_):
        return stripe_app.test_client().post("/webhooks/stripe", data=payload, headers=headers).status_code

    with ThreadPoolExecutor(10) as pool:
        assert set(pool.map(send, range(10))) == {200}
    assert send(None) == 200
    assert counts(stripe_app) == (1, 1)
    client, headers_, _ = held
    status = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers_).json["appointment"]["status"]
    assert status == "confirmed"


def test_a_late_failure_event_does_not_undo_a_success(held, localstripe_url, stripe_app):
    appointment, intent = authenticated_intent(held, localstripe_url)
    success = {"id": "evt_ok", "object": "event", "type": "payment_intent.succeeded", "data": {"object": intent}}
    failure = {"id": "evt_old_fail", "object": "event", "type": "payment_intent.payment_failed",
               "data": {"object": {**intent, "status": "requires_payment_method"}}}
    client = stripe_app.test_client()
    for event in (success, failure):
        assert client.post("/webhooks/stripe", data=signed(stripe_app, event)[0],
                           headers=signed(stripe_app, event)[1]).status_code == 200
    with stripe_app.app_context():
        assert db.session.scalar(select(Payment.status)) == "succeeded"


@pytest.fixture
def live_app(stripe_app, localstripe_url):
    """The app served on a free port, registered with localstripe so that it really posts webhooks."""
    port = free_port()
    server = make_server("127.0.0.1", port, stripe_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    requests.post(f"{localstripe_url}/_config/webhooks/clinic-tests", timeout=5, data={
        "url": f"http://127.0.0.1:{port}/webhooks/stripe",
        "secret": stripe_app.config["STRIPE_WEBHOOK_SECRET"]}).raise_for_status()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


def test_localstripe_posts_the_success_and_the_appointment_settles(held, localstripe_url, stripe_app, live_app):
    appointment, _intent = authenticated_intent(held, localstripe_url)
    client, headers, _ = held
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]["status"]
        if status == "confirmed":
            break
        time.sleep(0.2)
    assert status == "confirmed"
    assert counts(stripe_app)[0] == 1


# --- Stripe failing on purpose ------------------------------------------------------------------------------------

class Broken(BaseHTTPRequestHandler):
    mode = "500"

    def do_POST(self):  # noqa: N802  (http.server's name)
        if self.server.mode == "hang":
            time.sleep(3)
        body = b'{"error": {"type": "api_error", "message": "boom"}}'
        try:
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture(params=["500", "hang"])
def broken_stripe(request, stripe_app):
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Broken)
    server.mode = request.param
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    good = stripe_app.config["STRIPE_API_BASE"]
    stripe_app.config.update(STRIPE_API_BASE=f"http://127.0.0.1:{server.server_address[1]}", STRIPE_TIMEOUT=1)
    yield good
    server.shutdown()
    server.server_close()


def test_stripe_down_or_hanging_answers_503_keeps_the_hold_and_never_charges_twice(held, broken_stripe, stripe_app):
    client, headers, appointment = held
    method = card(broken_stripe)
    first = pay(client, headers, appointment["id"], method)
    assert first.status_code == 503 and first.json["error"]["code"] == "payments_unavailable"
    assert "try again" in first.json["error"]["message"]
    again = pay(client, headers, appointment["id"], method)
    assert again.status_code == 503
    now = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers).json["appointment"]
    assert now["status"] == "pending_payment" and now["hold_expires_at"] == appointment["hold_expires_at"]
    with stripe_app.app_context():
        assert db.session.scalars(select(Payment.status)).all() == ["unknown"]
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0

    stripe_app.config.update(STRIPE_API_BASE=broken_stripe)  # Stripe is back; it never saw the attempt
    waiting = pay(client, headers, appointment["id"], method)
    assert waiting.status_code == 409 and waiting.json["error"]["code"] == "payment_in_progress"
    with stripe_app.app_context():
        db.session.execute(update(Payment).values(created_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    paid = pay(client, headers, appointment["id"], method)
    assert paid.status_code == 200 and paid.json["appointment"]["status"] == "confirmed"
    assert [pi["status"] for pi in intents_for(broken_stripe, paid.json["payment"]["id"])] == ["succeeded"]
    with stripe_app.app_context():
        assert sorted(db.session.scalars(select(Payment.status))) == ["failed", "succeeded"]


@pytest.fixture
def paid_then_broken(held, localstripe_url, stripe_app):
    client, headers, appointment = held
    payment = pay(client, headers, appointment["id"], card(localstripe_url)).json["payment"]
    return client, payment


@pytest.mark.parametrize("broken_stripe", ["500"], indirect=True)
def test_a_refund_while_stripe_is_down_is_kept_pending_never_sent_twice_and_settled_by_sync(
        paid_then_broken, broken_stripe, stripe_app):
    from tests.factories import api_token
    client, payment = paid_then_broken
    billing = api_token(client, "billing@clinic.test")
    url = f"/api/v1/payments/{payment['id']}/refunds"
    down = client.post(url, headers=billing, json={"amount_cents": payment["amount_cents"], "reason": "goodwill"})
    assert down.status_code == 503 and "do not refund it again" in down.json["error"]["message"]
    again = client.post(url, headers=billing, json={"amount_cents": 100, "reason": "goodwill"})
    assert again.status_code == 422 and again.json["error"]["code"] == "refund_too_large"

    stripe_app.config.update(STRIPE_API_BASE=broken_stripe)
    with stripe_app.app_context():
        db.session.execute(update(Refund).values(created_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    result = stripe_app.test_cli_runner().invoke(args=["stripe", "sync"])
    assert result.exit_code == 0 and "refund 1: unknown -> failed" in result.output
    assert stripe_get(broken_stripe, "/v1/refunds")["data"] == []
    retry = client.post(url, headers=billing, json={"amount_cents": payment["amount_cents"], "reason": "goodwill"})
    assert retry.status_code == 201 and retry.json["refund"]["status"] == "succeeded"


def test_an_event_whose_handling_failed_is_not_marked_done_so_the_retry_settles_it(held, localstripe_url, stripe_app,
                                                                                    monkeypatch):
    from sqlalchemy.exc import OperationalError
    from billing import services
    appointment, intent = authenticated_intent(held, localstripe_url)
    event = {"id": "evt_retried", "object": "event", "type": "payment_intent.succeeded", "data": {"object": intent}}
    payload, headers = signed(stripe_app, event)
    settle = services.apply_intent

    def locked_once(*args, **kwargs):  # the database refuses the first time (a lock held elsewhere)
        monkeypatch.setattr(services, "apply_intent", settle)
        raise OperationalError("UPDATE payments", {}, Exception("database is locked"))
    monkeypatch.setattr(services, "apply_intent", locked_once)
    first = stripe_app.test_client().post("/webhooks/stripe", data=payload, headers=headers)
    assert first.status_code == 409  # not 2xx: Stripe sends it again
    assert counts(stripe_app) == (0, 0)
    again = stripe_app.test_client().post("/webhooks/stripe", data=payload, headers=headers)
    assert again.status_code == 200 and again.json["duplicate"] is False
    assert counts(stripe_app) == (1, 1)
    client, headers_, _ = held
    status = client.get(f"/api/v1/appointments/{appointment['id']}", headers=headers_).json["appointment"]["status"]
    assert status == "confirmed"
