"""What the app sends to Stripe, read off the wire: a recording proxy in front of localstripe sees every request of
paying for a treatment, a series and the induction package, a cancellation refund and billing staff's refund. Only
amounts, the card and opaque ids go out: no service, route, protocol, diagnosis, note, reason, name or email."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests

from tests.factories import (api_token, book, book_series, buy, card, cleared_patient, DRIVER, free_port,
                             next_weekday, pay)

#: Every parameter name the app may send, whatever the call.
ALLOWED = {"amount", "currency", "payment_method", "confirm", "payment_method_types[0]", "metadata[payment_id]",
           "metadata[refund_id]", "payment_intent", "expand[0]", "expand[1]"}
#: What must never reach Stripe (each lower-case, looked for inside every value and path).
HEALTH = ("ketamine", "infusion", "induction", "iv-", "ptsd", "f43", "clearance", "driver", DRIVER["name"].lower(),
          DRIVER["phone"], "patient@clinic.test", "goodwill after a hard session", "cancellation policy")


class Recorder(BaseHTTPRequestHandler):
    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path, body.decode()))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = requests.request(self.command, self.server.target + self.path, data=body, headers=headers,
                                  timeout=10)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_DELETE = _forward

    def log_message(self, *args):
        pass


@pytest.fixture
def recorded(stripe_app, localstripe_url):
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    server.seen, server.target, server.daemon_threads = [], localstripe_url, True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stripe_app.config.update(STRIPE_API_BASE=f"http://127.0.0.1:{server.server_address[1]}")
    yield server.seen
    server.shutdown()
    server.server_close()


def test_paying_refunding_and_packages_send_stripe_only_amounts_the_card_and_opaque_ids(
        stripe_app, localstripe_url, recorded):
    client, headers = cleared_patient(stripe_app)
    appointment = book(client, headers, next_weekday(1, weeks_ahead=6)).json["appointment"]
    assert pay(client, headers, appointment["id"], card(localstripe_url)).status_code == 200
    assert client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=headers).status_code == 200
    package = buy(client, headers, localstripe_url).json
    billing = api_token(client, "billing@clinic.test")
    assert client.post(f"/api/v1/payments/{package['payment']['id']}/refunds", headers=billing, json={
        "amount_cents": 100, "reason": "goodwill after a hard session"}).status_code == 201
    sessions = book_series(client, headers)  # all six use the package's credits: nothing to pay
    assert {s["status"] for s in sessions} == {"confirmed"}

    posts = [(path, dict(parse_qsl(body, keep_blank_values=True))) for method, path, body in recorded
             if method == "POST"]
    assert {path.split("?")[0] for path, _ in posts} == {"/v1/payment_intents", "/v1/refunds"}
    assert sum(path.startswith("/v1/refunds") for path, _ in posts) == 2
    for path, params in posts:
        assert set(params) <= ALLOWED, (path, params)
        assert "description" not in params and "statement_descriptor" not in params
    everything = " ".join(f"{path} {body}" for _, path, body in recorded).lower()
    for word in HEALTH:
        assert word.lower() not in everything, word
