"""JSON API v1 for payments and refunds (routes on clinic.api's blueprint) and Stripe's webhook."""
from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy import select

from billing import packages, receipt_records, receipts, services, settlement, states, stripe_gateway as gateway
from billing.api_shapes import (AppointmentPaid, CancellationPreview, CardPayment, PackageBought, Packages,
                                PaymentAnswer, Payments, Refunded, RefundRequest, SeriesPaid, SetupIntent)
from billing.models import Payment, PaymentStatus, Refund, RefundStatus
from billing.views import bp as billing_bp
from booking import queries
from booking.models import Appointment, AppointmentStatus as S, Series
from booking.serialize import appointment_json, local_iso
from booking.services import appointment_cancelled, series_booked
from clinic import audit, openapi
from clinic.api import api_blueprint
from clinic.auth_context import require_api_user
from clinic.errors import Conflict, Forbidden, NotFound
from clinic.extensions import csrf, db, limiter
from clinic.models import Role, User

bp = api_blueprint("billing_api", __name__)

BILLING_ROLES = (Role.billing, Role.admin)
_PAY_ERRORS = (400, 401, 402, 403, 404, 409, 422, 503)
_RECEIPT_ERRORS = (401, 404, 503)  # 404 for anyone but the patient and billing staff


@bp.post("/setup-intents")
@openapi.operation("A SetupIntent client secret for the card field (patient)", answers={201: SetupIntent},
                   errors=(401, 403, 503), roles=(Role.patient,))
def create_setup_intent():
    require_api_user(Role.patient)
    return jsonify(client_secret=gateway.create_setup_intent()), 201


@bp.post("/appointments/<int:appointment_id>/pay")
@openapi.operation("Pay for a held appointment by card (owner)", body=CardPayment, answers={200: AppointmentPaid},
                   errors=_PAY_ERRORS)
def pay_appointment(appointment_id: int, body: CardPayment):
    actor = require_api_user()
    appointment = queries.visible_appointment(actor, appointment_id)
    paid = _pay(actor, [appointment], f"appointment-{appointment.id}", body.payment_method)
    return jsonify(appointment=appointment_json(appointment), **paid)


@bp.post("/series/<int:series_id>/pay")
@openapi.operation("Pay for every held session of a series in one payment (owner)", body=CardPayment,
                   answers={200: SeriesPaid}, errors=_PAY_ERRORS)
def pay_series(series_id: int, body: CardPayment):
    actor = require_api_user()
    series = db.session.get(Series, series_id)
    if series is None or actor.patient_id != series.patient_id:
        raise NotFound("We could not find that series.")
    sessions = list(db.session.scalars(select(Appointment).where(Appointment.series_id == series.id)
                                       .order_by(Appointment.starts_at)))
    held = [a for a in sessions if a.status == S.pending_payment.value] or sessions
    paid = _pay(actor, held, f"series-{series.id}", body.payment_method)
    return jsonify(appointments=[appointment_json(a) for a in sessions], **paid)


def _pay(actor: User, appointments: list[Appointment], scope: str, payment_method: str) -> dict:
    """Settle earlier open attempts, write the attempt, call Stripe outside any transaction, apply the answer."""
    if not appointments or any(a.patient_id != actor.patient_id for a in appointments):
        raise Forbidden("Only the patient can pay for their appointments.")
    for attempt in services.open_attempts(appointments):
        settlement.sync_payment(attempt)
    return _charge(actor, services.start_payment(actor, appointments, scope), payment_method)


def _charge(actor: User, payment: Payment, payment_method: str) -> dict:
    charge = services.charge_request(payment, payment_method)
    audit.record("pay", "payment", payment.id)
    db.session.commit()
    try:
        intent = gateway.charge(**charge)
    except (gateway.PaymentDeclined, gateway.StripeRefused, gateway.StripeUnavailable) as error:
        services.record_failure(charge["payment_id"], error)
        db.session.commit()
        raise
    payment = services.apply_intent(charge["payment_id"], intent, actor)
    db.session.commit()
    next_action = {"type": "use_stripe_sdk", "client_secret": intent.client_secret} \
        if payment.status == PaymentStatus.requires_action.value else None
    return {"payment": payment_summary(payment), "next_action": next_action}


def payment_summary(payment: Payment) -> dict:
    return {"id": payment.id, "status": payment.status, "amount_cents": payment.amount_cents}


def payment_json(payment: Payment) -> dict:
    ids = [a.appointment_id for a in payment.allocations]
    return {**payment_summary(payment), "appointment_id": ids[0] if ids else None, "appointment_ids": ids,
            "refunded_cents": services.refunded_cents(payment), "currency": payment.currency,
            "created_at": local_iso(payment.created_at), "receipt_url": f"/api/v1/payments/{payment.id}/receipt.pdf",
            "refunds": [refund_json(r) for r in payment.refunds]}


def refund_json(refund: Refund) -> dict:
    done = refund.status == RefundStatus.succeeded.value
    return {"id": refund.id, "amount_cents": refund.amount_cents, "status": refund.status,
            "created_at": local_iso(refund.created_at),
            "receipt_url": f"/api/v1/refunds/{refund.id}/receipt.pdf" if done else None}


@bp.get("/payments")
@openapi.operation("Payments (a patient's own; all for billing staff)", answers={200: Payments}, errors=(401,))
def list_payments():
    actor = require_api_user()
    query = select(Payment).order_by(Payment.created_at.desc(), Payment.id.desc())
    if actor.role not in {r.value for r in BILLING_ROLES}:
        query = query.where(Payment.patient_id == (actor.patient_id or -1))
    rows = list(db.session.scalars(query))
    audit.record("list", "payment", None, detail={"count": len(rows)})
    db.session.commit()
    return jsonify(payments=[payment_json(p) for p in rows])


@bp.get("/payments/<int:payment_id>")
@openapi.operation("One payment (owner, billing); an unsettled one is brought up to date from Stripe first",
                   answers={200: PaymentAnswer}, errors=(401, 404))
def get_payment(payment_id: int):
    """One payment; one still unsettled is first brought up to date from Stripe (the page asks after 3-D Secure)."""
    payment = _visible_payment(require_api_user(), payment_id)
    if states.is_unsettled(payment):
        try:
            settlement.sync_payment(payment)
            db.session.commit()
        except gateway.StripeUnavailable:
            db.session.rollback()
    audit.record("view", "payment", payment.id)
    db.session.commit()
    return jsonify(payment=payment_json(db.session.get(Payment, payment_id)))


def _visible_payment(actor: User, payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or not _may_see(actor, payment):
        raise NotFound("We could not find that payment.")
    return payment


def _may_see(actor: User, payment: Payment) -> bool:
    """The patient who paid, and billing staff; anyone else is told it does not exist (404)."""
    return actor.role in {r.value for r in BILLING_ROLES} or payment.patient_id == actor.patient_id


@bp.get("/payments/<int:payment_id>/receipt.pdf")
@openapi.operation("The receipt of a succeeded payment, as PDF (owner, billing staff); 503 when the PDF engine is "
                   "unavailable", answers={200: openapi.Media("application/pdf", "the receipt")},
                   errors=_RECEIPT_ERRORS)
def payment_receipt_pdf(payment_id: int):
    payment = _visible_payment(require_api_user(), payment_id)
    return _receipt_pdf(receipt_records.payment_receipt(payment), "payment", payment.id)


@bp.get("/refunds/<int:refund_id>/receipt.pdf")
@openapi.operation("The receipt of a refund that has gone through, as PDF (owner, billing staff); 503 when the PDF "
                   "engine is unavailable", answers={200: openapi.Media("application/pdf", "the refund receipt")},
                   errors=_RECEIPT_ERRORS)
def refund_receipt_pdf(refund_id: int):
    actor = require_api_user()
    refund = db.session.get(Refund, refund_id)
    if refund is None or not _may_see(actor, refund.payment):
        raise NotFound("We could not find that refund.")
    return _receipt_pdf(receipt_records.refund_receipt(refund), "refund", refund.id)


def _receipt_pdf(receipt: receipts.ReceiptData, record_type: str, record_id: int) -> Response:
    """Render first: a missing engine answers 503 before anything is recorded (the request rolls back)."""
    body = receipts.receipt_pdf(receipt)
    audit.record("view", record_type, record_id, detail={"document": "receipt", "number": receipt.number})
    db.session.commit()
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="receipt-{receipt.number}.pdf"',
        "Cache-Control": "private, no-store"})


@bp.post("/payments/<int:payment_id>/refunds")
@openapi.operation("Refund part or all of what remains (billing staff)", body=RefundRequest,
                   answers={201: Refunded}, errors=(400, 401, 403, 404, 409, 422, 503), roles=BILLING_ROLES)
def refund_payment(payment_id: int, body: RefundRequest):
    actor = require_api_user(*BILLING_ROLES)
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("We could not find that payment.")
    refund = services.refund_payment(actor, payment, body.amount_cents, body.reason)
    audit.record("refund", "payment", payment.id, detail={"refund_id": refund.id, "amount_cents": body.amount_cents})
    db.session.commit()
    if refund.status == RefundStatus.failed.value:
        raise Conflict("The card processor refused this refund. Nothing was refunded.", code="refund_refused")
    if refund.status == RefundStatus.unknown.value:
        raise gateway.StripeUnavailable("We could not reach the card processor. The refund is kept as pending and "
                                        "`flask stripe sync` will settle it; do not refund it again.")
    return jsonify(refund={"id": refund.id, "amount_cents": refund.amount_cents, "status": refund.status},
                   payment=payment_json(payment)), 201


@bp.get("/appointments/<int:appointment_id>/cancellation")
@openapi.operation("What cancelling now would refund, and the policy as a sentence",
                   answers={200: CancellationPreview}, errors=(401, 404))
def cancellation_preview(appointment_id: int):
    appointment = queries.visible_appointment(require_api_user(), appointment_id)
    terms = services.cancellation_terms(appointment)
    return jsonify(refund_cents=terms.refund_cents, currency=appointment.currency, policy=terms.policy)


@billing_bp.post("/webhooks/stripe")
@csrf.exempt
@limiter.exempt
def stripe_webhook():
    event = gateway.verify_event(request.get_data(), request.headers.get("Stripe-Signature"))
    handled = settlement.handle_event(event)
    db.session.commit()
    return jsonify(received=True, duplicate=not handled)


@appointment_cancelled.connect
def _refund_by_policy(appointment: Appointment, *, actor: User | None = None, now=None, **_):
    """Booking's `appointment_cancelled`: refund by the cancellation policy (booking never imports billing);
    a session paid with a package credit gets the credit back instead, by the same notice."""
    packages.return_if_within_policy(appointment, now)
    return services.refund_cancelled(appointment, actor, now)


@series_booked.connect
def _use_package_credits(appointments: list[Appointment], **_):
    """Booking's `series_booked`: the sessions are confirmed with package credits, in order, while any are left."""
    packages.draw_for_series(appointments)


# --- prepaid induction packages -------------------------------------------------------------------------------------

@bp.post("/packages")
@openapi.operation("Buy the prepaid induction package by card (patient): its size and price are the clinic's "
                   "settings; a series booked while credits are left is confirmed without a card payment",
                   body=CardPayment, answers={201: PackageBought}, errors=_PAY_ERRORS, roles=(Role.patient,))
def buy_package(body: CardPayment):
    actor = require_api_user(Role.patient)
    for attempt in packages.open_purchase_payments(actor.patient_id):
        settlement.sync_payment(attempt)
    if packages.open_purchase_payments(actor.patient_id):
        raise Conflict("We are still confirming your last payment attempt with the card processor. "
                       "Please wait a minute and check again before paying.", code="payment_in_progress")
    purchase = packages.start_purchase(actor)
    purchase_id = purchase.id
    audit.record("buy", "package", purchase_id)
    paid = _charge(actor, purchase.payment, body.payment_method)
    balance = next(b for b in packages.balances(actor.patient_id) if b.purchase.id == purchase_id)
    return jsonify(package=package_json(balance), **paid), 201


@bp.get("/packages")
@openapi.operation("Packages (a patient's own with credits_remaining; all for billing staff)",
                   answers={200: Packages}, errors=(401,))
def list_packages():
    actor = require_api_user()
    billing = actor.role in {r.value for r in BILLING_ROLES}
    rows = packages.balances(None if billing else (actor.patient_id or -1))
    audit.record("list", "package", None, detail={"count": len(rows)})
    db.session.commit()
    answer = {"packages": [package_json(b) for b in reversed(rows)]}
    if not billing:
        answer["credits_remaining"] = sum(b.remaining for b in rows)
    return jsonify(answer)


def package_json(balance: packages.Balance) -> dict:
    purchase = balance.purchase
    return {"id": purchase.id, "patient_id": purchase.patient_id, "service": purchase.service_code,
            "sessions": purchase.sessions, "price_cents": purchase.price_cents, "currency": purchase.currency,
            "payment": payment_summary(purchase.payment), "used": balance.used, "returned": balance.returned,
            "taken_back": balance.taken_back, "remaining": balance.remaining, "created_at": local_iso(purchase.created_at)}
