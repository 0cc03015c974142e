"""The one module that talks to Stripe (localstripe in development and tests).

Everything leaves here as plain data (`Intent`, `RefundResult`, `WebhookEvent`) or as a domain error
with a sentence a patient understands. Rules kept here:

- the library never retries on its own (`max_network_retries=0`): its retries carry random idempotency
  keys; callers retry with their own deterministic keys instead;
- every call has a time limit, so a hanging Stripe answers 503 rather than holding a worker;
- only opaque ids go to Stripe: no service names, routes, diagnoses or notes (no health information);
- refunds carry no `reason` (localstripe refuses it): the clinic keeps the reason in its own ledger.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import stripe
from flask import current_app

from clinic.errors import DomainError

TIMEOUT_SECONDS = 10
# The card's brand and last four, for the receipt, come with the intent rather than by another call.
EXPAND = ["payment_method"]


class PaymentDeclined(DomainError):
    status, code = 402, "card_declined"

    def __init__(self, message: str = "Your card was declined. Please try another card.", **kwargs):
        super().__init__(message, **kwargs)


class StripeUnavailable(DomainError):
    """Stripe did not answer, answered 5xx, or timed out: the outcome of the call is unknown."""

    status, code = 503, "payments_unavailable"

    def __init__(self, message: str = ("We could not reach our card processor just now. You have not been "
                                       "charged twice; please try again in a few minutes."), **kwargs):
        super().__init__(message, **kwargs)


class StripeRefused(DomainError):
    """Stripe refused the request itself (a bad or unknown payment method, say): nothing was charged."""

    status, code = 422, "payment_refused"


class BadSignature(DomainError):
    status, code = 400, "bad_signature"

    def __init__(self, message: str = "This webhook's signature is not valid.", **kwargs):
        super().__init__(message, **kwargs)


@dataclass(frozen=True)
class Card:
    brand: str  # Stripe's code: visa, mastercard, amex...
    last4: str


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # Stripe's: succeeded, requires_action, requires_payment_method, processing, canceled...
    amount: int
    currency: str
    client_secret: str | None
    metadata: dict = field(default_factory=dict)
    charge_id: str | None = None
    error_message: str | None = None
    created: int = 0  # Unix time at Stripe
    card: Card | None = None  # known when the payment method or the charge came expanded (not in webhooks)


@dataclass(frozen=True)
class RefundResult:
    id: str
    amount: int
    currency: str
    status: str
    payment_intent: str | None = None
    metadata: dict = field(default_factory=dict)
    created: int = 0


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object: dict


def _client() -> stripe.StripeClient:
    config = current_app.config
    base = config.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"], base_addresses={"api": base.rstrip("/")} if base else None,
        max_network_retries=0, http_client=stripe.RequestsClient(timeout=config.get("STRIPE_TIMEOUT", TIMEOUT_SECONDS)))


def _call(function, *args, **kwargs):
    """Run one Stripe call, turning its failures into domain errors."""
    try:
        return function(*args, **kwargs)
    except stripe.CardError as error:
        raise PaymentDeclined(_card_sentence(error)) from error
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeUnavailable() from error
    except stripe.StripeError as error:
        if (error.http_status or 500) >= 500:
            raise StripeUnavailable() from error
        raise StripeRefused("Your card could not be used. Please check the details or try another card.") from error


def _card_sentence(error: stripe.CardError) -> str:
    code = getattr(error, "code", None)
    if code == "expired_card":
        return "Your card has expired. Please try another card."
    if code == "insufficient_funds":
        return "Your card was declined for insufficient funds. Please try another card."
    return "Your card was declined. Please try another card."


def _plain(obj) -> dict:
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj


def _intent(pi) -> Intent:
    pi = _plain(pi)
    charge = pi.get("latest_charge")
    charge_id = charge if isinstance(charge, str) else (charge.get("id") if charge else None)
    error = pi.get("last_payment_error")
    return Intent(id=pi["id"], status=pi["status"], amount=int(pi["amount"]), currency=pi["currency"],
                  client_secret=pi.get("client_secret"), metadata=dict(pi.get("metadata") or {}), charge_id=charge_id,
                  error_message=error.get("message") if error else None, created=int(pi.get("created") or 0),
                  card=_card(pi))


def _card(pi: dict) -> Card | None:
    """The card from the expanded payment method (localstripe and Stripe), else from the expanded charge's
    payment_method_details (Stripe; localstripe's charges carry none)."""
    method, charge = pi.get("payment_method"), pi.get("latest_charge")
    card = method.get("card") if isinstance(method, dict) else None
    if not card and isinstance(charge, dict):
        card = (charge.get("payment_method_details") or {}).get("card")
    if not card or not card.get("last4"):
        return None
    return Card(brand=str(card.get("brand") or ""), last4=str(card["last4"]))


def create_setup_intent() -> str:
    """A SetupIntent for the page's card field; returns its client secret."""
    intent = _call(_client().v1.setup_intents.create, params={"payment_method_types": ["card"], "usage": "on_session"})
    return intent["client_secret"]


def charge(*, amount_cents: int, currency: str, payment_method: str, payment_id: int, idempotency_key: str) -> Intent:
    """Create and confirm a PaymentIntent for `payment_id` (the clinic's opaque id, the only metadata)."""
    params = {"amount": amount_cents, "currency": currency, "payment_method": payment_method, "confirm": True,
              "payment_method_types": ["card"], "metadata": {"payment_id": str(payment_id)}, "expand": EXPAND}
    return _intent(_call(_client().v1.payment_intents.create, params=params,
                         options={"idempotency_key": idempotency_key}))


def retrieve_intent(intent_id: str) -> Intent:
    return _intent(_call(_client().v1.payment_intents.retrieve, intent_id, params={"expand": EXPAND}))


def find_intent(payment_id: int) -> Intent | None:
    """The PaymentIntent made for `payment_id`, when its id never reached us (the answer was lost)."""
    for pi in list_intents():
        if pi.metadata.get("payment_id") == str(payment_id):
            return pi
    return None


def list_intents() -> list[Intent]:
    """Every PaymentIntent, paged through (localstripe filters poorly, so callers filter locally)."""
    return [_intent(pi) for pi in _every(_client().v1.payment_intents.list)]


def list_refunds() -> list[RefundResult]:
    return [_refund(r) for r in _every(_client().v1.refunds.list)]


def _every(list_function, limit: int = 100) -> list:
    page = _call(list_function, params={"limit": limit})
    found = list(page.data)
    while page.has_more and page.data:
        page = _call(list_function, params={"limit": limit, "starting_after": page.data[-1]["id"]})
        found += page.data
    return found


def _refund(result) -> RefundResult:
    result = _plain(result)
    return RefundResult(id=result["id"], amount=int(result["amount"]), currency=result["currency"],
                        status=result["status"], payment_intent=result.get("payment_intent"),
                        metadata=dict(result.get("metadata") or {}), created=int(result.get("created") or 0))


def refund(*, intent_id: str, amount_cents: int, refund_id: int, idempotency_key: str) -> RefundResult:
    """Refund part or all of a PaymentIntent. No `reason`: localstripe refuses it; the clinic keeps it."""
    params = {"payment_intent": intent_id, "amount": amount_cents, "metadata": {"refund_id": str(refund_id)}}
    return _refund(_call(_client().v1.refunds.create, params=params, options={"idempotency_key": idempotency_key}))


def verify_event(payload: bytes, signature: str | None) -> WebhookEvent:
    """Check the `Stripe-Signature` of a webhook's raw body and return the event, or raise BadSignature."""
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", current_app.config["STRIPE_WEBHOOK_SECRET"])
    except (ValueError, stripe.SignatureVerificationError) as error:
        raise BadSignature() from error
    event = _plain(event)
    return WebhookEvent(id=event["id"], type=event["type"], object=(event.get("data") or {}).get("object") or {})


def intent_from_event(event: WebhookEvent) -> Intent:
    return _intent(event.object)
