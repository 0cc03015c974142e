"""Billing pages: the patient's pay step, and payments, refunds and superbills for billing staff."""
from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, make_response, redirect, render_template, request, \
    url_for
from flask_login import current_user
from sqlalchemy import select

from billing import cli, demo, packages, queries, services
from billing.forms import RefundForm
from billing.models import Payment
from booking.models import Appointment, AppointmentStatus as S, Series
from clinic import CSP, audit, navigation
from clinic.formatting import money
from clinic.auth_context import acting_user, roles_required
from clinic.cli import demo_seeding
from clinic.errors import ValidationError
from clinic.extensions import db, talisman
from clinic.models import Role
from clinic.settings import clinic_settings, clinic_zone

bp = Blueprint("billing", __name__, static_folder="static", static_url_path="/static/billing")
bp.record_once(lambda state: state.app.cli.add_command(cli.stripe_cli))  # `flask stripe sync|reconcile`
bp.record_once(lambda _state: demo_seeding.connect(demo.seed))  # `flask seed-demo` seeds the fee schedule

BILLING_STAFF = (Role.billing, Role.admin)
navigation.add(bp, navigation.Link("billing.index", "Billing", 60, navigation.roles(*BILLING_STAFF),
                                   landing_for=navigation.roles(Role.billing)))


@bp.app_context_processor
def package_credits_helper() -> dict:
    """`package_credits(patient_id)`, the payments list's address and `cancellation_terms(appointment)` for the
    account and manage pages, which booking renders without importing billing."""
    return {"package_credits": packages.credits, "cancellation_terms": services.cancellation_terms,
            "account_payments_url": lambda: url_for("billing_api.list_payments")}


@bp.get("/billing")
@roles_required(*BILLING_STAFF)
def index():
    filters, errors = queries.parse_filters(request.args)
    return _billing_page(filters, errors)


def _billing_page(filters: queries.Filters, errors: dict, failed: tuple[int, RefundForm] | None = None):
    listing = queries.payments(db.session, filters)
    audit.record("list", "payment", None, detail={"page": "billing", "count": len(listing.rows)})
    db.session.commit()
    return render_template("billing/index.html", filters=filters, errors=errors, listing=listing,
                           patients=queries.patients_by_id(db.session, listing), statuses=queries.PAYMENT_STATUS_VALUES,
                           packages=queries.packages(db.session, filters),
                           failed=failed, blank_form=RefundForm(formdata=None))


@bp.post("/billing/payments/<int:payment_id>/refunds")
@roles_required(*BILLING_STAFF)
def refund(payment_id: int):
    """The page's refund form: the same service, checks and audit row as `POST /api/v1/payments/ID/refunds`."""
    payment = db.session.get(Payment, payment_id) or abort(404)
    filters, _ = queries.parse_filters(request.args)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            refund = services.refund_payment(acting_user(), payment, form.amount.cents, form.reason.data.strip())
        except ValidationError as error:
            db.session.rollback()
            form.amount.errors = [error.fields.get("amount_cents", error.message)]
        else:
            _record_refund(payment, refund)
            return redirect(url_for(".index", **filters.as_args()))
    return _billing_page(filters, {}, failed=(payment_id, form)), 422


def _record_refund(payment: Payment, refund) -> None:
    audit.record("refund", "payment", payment.id, detail={"refund_id": refund.id, "amount_cents": refund.amount_cents})
    db.session.commit()
    flash({"succeeded": f"Refunded {money(refund.amount_cents)} on payment {payment.id}.",
           "failed": "The card processor refused this refund. Nothing was refunded.",
           }.get(refund.status, "We could not reach the card processor. The refund is kept as pending and will be "
                                "settled by `flask stripe sync`; do not refund it again."))


CSV_COLUMNS = ("payment_id", "date", "patient", "email", "status", "amount", "charged", "refunded", "net",
               "appointments")


@bp.get("/billing/payments.csv")
@roles_required(*BILLING_STAFF)
def export_csv():
    """The filtered list as CSV; the audit log says who exported which range."""
    filters, _ = queries.parse_filters(request.args)
    listing = queries.payments(db.session, filters)
    patients = queries.patients_by_id(db.session, listing)
    audit.record("export", "payment", None, detail={**filters.as_args(), "count": len(listing.rows), "format": "csv"})
    db.session.commit()
    response = make_response(_csv(listing, patients))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = "attachment; filename=payments.csv"
    return response


def _csv(listing: queries.Listing, patients: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in listing.rows:
        p, patient = row.payment, patients[row.payment.patient_id]
        writer.writerow([_cell(v) for v in (
            p.id, p.created_at.astimezone(clinic_zone()).date().isoformat(), patient.name, patient.email, p.status,
            money(p.amount_cents), money(row.charged_cents), money(row.refunded_cents),
            money(row.refundable_cents), " ".join(str(a.appointment_id) for a in p.allocations))])
    return out.getvalue()


def _cell(value) -> str:
    """A name typed as `=HYPERLINK(...)` stays text in a spreadsheet (CSV injection)."""
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def stripe_js_url() -> str:
    """Stripe.js, or the stand-in localstripe serves at `<STRIPE_API_BASE>/js.stripe.com/v3/` in development."""
    base = current_app.config.get("STRIPE_API_BASE")
    return f"{base.rstrip('/')}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"


def pay_page_policy() -> str:
    """The app's Content-Security-Policy plus exactly Stripe's origins (the emulator's, in development)."""
    base = current_app.config.get("STRIPE_API_BASE")
    if base:
        parts = urlsplit(base)
        script = connect = frame = [f"{parts.scheme}://{parts.netloc}"]
    else:
        script, connect, frame = ["https://js.stripe.com"], ["https://api.stripe.com"], \
            ["https://js.stripe.com", "https://hooks.stripe.com"]
    policy = {**CSP, "script-src": ["'self'", *script], "connect-src": ["'self'", *connect], "frame-src": frame}
    return "; ".join(f"{key} {' '.join(value) if isinstance(value, list) else value}" for key, value in policy.items())


def _card_page(template: str, **context) -> Response:
    """A page with the card form: Stripe.js, the publishable key, and the app's policy plus Stripe's origins."""
    response = make_response(render_template(template, stripe_js=stripe_js_url(),
                                             publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"], **context))
    response.headers["Content-Security-Policy"] = pay_page_policy()
    return response


def _pay_page(appointments: list[Appointment], pay_url: str) -> Response:
    held = [a for a in appointments if a.status == S.pending_payment.value]
    return _card_page(
        "billing/pay.html", appointments=appointments, held=held, pay_url=pay_url,
        total_cents=sum(a.amount_due_cents for a in held), currency=appointments[0].currency,
        hold_until=min((a.hold_expires_at for a in held if a.hold_expires_at), default=None))


@bp.get("/account/package")
@talisman(content_security_policy=None)  # the page sets its own policy: the app's plus Stripe's origin
@roles_required(Role.patient)
def package():
    """The prepaid induction package: its size and price, the credits left, and the card form that buys it."""
    return _card_page("billing/package.html", settings=clinic_settings(),
                      credits=packages.credits(current_user.patient_id), cleared=packages.may_buy(current_user.patient),
                      pay_url=url_for("billing_api.buy_package"))


@bp.get("/account/pay/appointments/<int:appointment_id>")
@talisman(content_security_policy=None)  # the page sets its own policy: the app's plus Stripe's origin
@roles_required(Role.patient)
def pay_appointment(appointment_id: int):
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.patient_id != current_user.patient_id:
        abort(404)
    return _pay_page([appointment], f"/api/v1/appointments/{appointment.id}/pay")


@bp.get("/account/pay/series/<int:series_id>")
@talisman(content_security_policy=None)
@roles_required(Role.patient)
def pay_series(series_id: int):
    series = db.session.get(Series, series_id)
    if series is None or series.patient_id != current_user.patient_id:
        abort(404)
    sessions = list(db.session.scalars(select(Appointment).where(Appointment.series_id == series.id)
                                       .order_by(Appointment.starts_at)))
    return _pay_page(sessions, f"/api/v1/series/{series.id}/pay")
