"""The billing page (/billing): who may open it, filters in clinic-local days, totals, the CSV export and its audit
row, and refunds through the page's form against a real localstripe."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from billing.forms import parse_dollars
from billing.models import Refund
from billing.notifications import dollars
from clinic.extensions import db
from clinic.formatting import long_date
from clinic.models import AuditEvent, User
from clinic.settings import clinic_zone
from tests.factories import api_token, csrf_from, paid, sign_in, signed_in, stripe_get

BILLING = "billing@clinic.test"


def staff(app, email: str = BILLING):
    client = app.test_client()
    sign_in(client, email)
    return client


def local_today(app):
    with app.app_context():
        return datetime.now(clinic_zone()).date()


@pytest.fixture
def one_paid(held, localstripe_url, stripe_app):
    """A paid IV treatment: (billing staff's page client, the payment as the API gave it)."""
    _, _, _, payment = paid(held, localstripe_url)
    return staff(stripe_app), payment


def test_billing_staff_see_the_payment_its_appointment_and_totals(one_paid):
    client, payment = one_paid
    html = client.get("/billing").get_data(as_text=True)
    amount = dollars(payment["amount_cents"])
    assert f'id="payment-{payment["id"]}"' in html and "Paid" in html and "IV" in html
    assert f'<dd id="total-charged">{amount}</dd>' in html
    assert '<dd id="total-refunded">$0.00</dd>' in html and f'<dd id="total-net">{amount}</dd>' in html
    assert "Refund<span" in html
    assert long_date(local_today(client.application), weekday=False) in html  # "March 17, 2027", the clinic's day


def test_an_administrator_sees_the_page_too(one_paid, stripe_app):
    client, _ = signed_in(stripe_app, "admin")
    response = client.get("/billing")
    assert response.status_code == 200 and 'id="payment-1"' in response.get_data(as_text=True)


@pytest.mark.parametrize("email", ["patient@clinic.test", "frontdesk@clinic.test", "dr.rivera@clinic.test"])
def test_other_roles_are_refused_every_billing_page(one_paid, stripe_app, email):
    client = staff(stripe_app, email)
    assert client.get("/billing").status_code == 403
    assert client.get("/billing/payments.csv").status_code == 403
    page = client.get("/account").get_data(as_text=True) if email == "patient@clinic.test" else \
        client.get("/staff").get_data(as_text=True)
    refused = client.post("/billing/payments/1/refunds", data={"amount": "1.00", "reason": "x",
                                                                "csrf_token": csrf_from(page)})
    assert refused.status_code == 403
    with stripe_app.app_context():
        assert db.session.scalars(select(Refund)).all() == []


def test_signed_out_visitors_are_sent_to_sign_in(stripe_app):
    response = stripe_app.test_client().get("/billing")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_filters_by_clinic_day_status_and_patient(one_paid, stripe_app):
    client, payment = one_paid
    today = local_today(stripe_app)
    row = f'id="payment-{payment["id"]}"'

    def shown(**args) -> bool:
        response = client.get("/billing", query_string=args)
        assert response.status_code == 200
        return row in response.get_data(as_text=True)

    assert shown(start=today.isoformat(), end=today.isoformat())
    assert not shown(start=(today + timedelta(days=1)).isoformat())
    assert not shown(end=(today - timedelta(days=1)).isoformat())
    assert shown(status="succeeded") and not shown(status="failed")
    assert shown(patient="PATIENT@clinic") and not shown(patient="nobody%")
    bad = client.get("/billing", query_string={"start": "17/03/2027", "status": "lost"}).get_data(as_text=True)
    assert "Please enter a date like 2027-03-17." in bad and "Please choose a status from the list." in bad
    assert row in bad  # the filters that did not parse are left out


def test_csv_export_lists_the_filtered_payments_and_is_audited(one_paid, stripe_app):
    client, payment = one_paid
    today = local_today(stripe_app).isoformat()
    response = client.get("/billing/payments.csv", query_string={"start": today, "end": today, "status": "succeeded"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["payment_id"] == str(payment["id"]) and rows[0]["date"] == today
    assert rows[0]["email"] == "patient@clinic.test" and rows[0]["status"] == "succeeded"
    assert rows[0]["charged"] == dollars(payment["amount_cents"]) and rows[0]["refunded"] == "$0.00"
    with stripe_app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        assert db.session.get(User, event.user_id).email == BILLING and event.record_type == "payment"
        assert event.detail == {"start": today, "end": today, "status": "succeeded", "count": 1, "format": "csv"}


def test_refund_through_the_form_reaches_stripe_and_updates_totals(one_paid, stripe_app, localstripe_url):
    client, payment = one_paid
    html = client.get("/billing").get_data(as_text=True)
    response = client.post(f"/billing/payments/{payment['id']}/refunds?status=succeeded", data={
        "amount": "$100.00", "reason": "Goodwill after a long wait", "csrf_token": csrf_from(html)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/billing?status=succeeded")
    assert [r["amount"] for r in stripe_get(localstripe_url, "/v1/refunds", limit=100)["data"]] == [10000]
    page = client.get("/billing").get_data(as_text=True)
    assert "Refunded $100.00 on payment" in page
    assert '<dd id="total-refunded">$100.00</dd>' in page
    assert f'<dd id="total-net">{dollars(payment["amount_cents"] - 10000)}</dd>' in page
    with stripe_app.app_context():
        refund = db.session.scalars(select(Refund)).one()
        assert (refund.amount_cents, refund.reason, refund.status) == (10000, "Goodwill after a long wait", "succeeded")
        assert db.session.get(User, refund.created_by_id).email == BILLING


def test_a_refund_above_what_remains_is_refused_next_to_the_amount(one_paid, stripe_app, localstripe_url):
    client, payment = one_paid
    html = client.get("/billing").get_data(as_text=True)
    response = client.post(f"/billing/payments/{payment['id']}/refunds", data={
        "amount": "99,999.00", "reason": "Too much", "csrf_token": csrf_from(html)})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = f'id="amount-{payment["id"]}-error"'
    assert error in page
    assert f"You can refund at most {dollars(payment['amount_cents'])} on this payment." in page
    assert stripe_get(localstripe_url, "/v1/refunds", limit=100)["data"] == []


@pytest.mark.parametrize("amount, reason, message", [
    ("12.345", "x", "Please enter an amount in dollars, like 125.00."),
    ("0", "x", "Please enter an amount in dollars, like 125.00."),
    ("10.00", "", "Please give a reason for the refund."),
])
def test_the_form_refuses_amounts_it_cannot_read_and_a_missing_reason(one_paid, amount, reason, message):
    client, payment = one_paid
    html = client.get("/billing").get_data(as_text=True)
    response = client.post(f"/billing/payments/{payment['id']}/refunds", data={
        "amount": amount, "reason": reason, "csrf_token": csrf_from(html)})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_dollars_are_read_into_cents_without_floats():
    assert parse_dollars("$1,234.5") == 123450 and parse_dollars("0.07") == 7 and parse_dollars("475") == 47500
    assert parse_dollars("$ 0.29") == 29  # float("0.29") * 100 == 28.999999999999996
    for text in ("12,34", "1.234", "abc", "", "$", "-5", "1e3"):
        assert parse_dollars(text) is None, text


def test_billing_api_token_holders_and_the_page_share_one_refund_service(one_paid, stripe_app):
    """A refund through the API counts on the page (one remaining amount for both)."""
    client, payment = one_paid
    token = api_token(stripe_app.test_client(), BILLING)
    api = stripe_app.test_client().post(f"/api/v1/payments/{payment['id']}/refunds", headers=token,
                                        json={"amount_cents": payment["amount_cents"], "reason": "all of it"})
    assert api.status_code == 201
    html = client.get("/billing").get_data(as_text=True)
    assert "Refund<span" not in html and '<dd id="total-net">$0.00</dd>' in html


def test_csv_cells_a_spreadsheet_would_run_stay_text():
    from billing.views import _cell
    assert _cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")" and _cell("@SUM(A1)") == "'@SUM(A1)"
    assert _cell("Jamie Doe") == "Jamie Doe" and _cell(12) == "12"
