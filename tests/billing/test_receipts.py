"""Receipts of real payments and refunds: paid at localstripe, rendered by wkhtmltopdf, read back with pdftotext;
downloadable by the patient who paid and by billing staff only; listed on /account; 503 without the engine."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from billing.models import Payment
from clinic.extensions import db
from clinic.formatting import long_date
from clinic.models import AuditEvent
from tests.billing.factories import pdf_text
from tests.factories import a_patient, api_token, DEMO_PASSWORD, needs_engine, paid, patient_login


def service_day(appointment: dict) -> str:
    return long_date(date.fromisoformat(appointment["start"][:10]), weekday=False)


def refund(client, payment_id: int, cents: int) -> dict:
    response = client.post(f"/api/v1/payments/{payment_id}/refunds", headers=api_token(client, "billing@clinic.test"),
                           json={"amount_cents": cents, "reason": "goodwill"})
    assert response.status_code == 201, response.json
    return response.json["refund"]


@needs_engine
def test_the_receipt_shows_amount_patient_date_of_service_and_card(held, localstripe_url, stripe_app, tmp_path):
    client, headers, appointment, payment = paid(held, localstripe_url)
    response = client.get(f"/api/v1/payments/{payment['id']}/receipt.pdf", headers=headers)

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    number = f"P-{payment['id']:06d}"
    assert response.headers["Content-Disposition"] == f'attachment; filename="receipt-{number}.pdf"'
    text = pdf_text(response.data, tmp_path)
    for expected in ("RECEIPT", f"No. {number}", "Pat Jordan", "IV ketamine infusion", service_day(appointment),
                     "Amount paid $475.00", "Visa ending in 4242"):
        assert expected in text
    with stripe_app.app_context():
        stored = db.session.get(Payment, payment["id"])
        assert (stored.card_brand, stored.card_last4) == ("visa", "4242")
        assert stored.stripe_payment_intent_id in text
        viewed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view",
                                                             AuditEvent.record_type == "payment")).all()
        assert [(e.record_id, e.detail["number"]) for e in viewed] == [(payment["id"], number)]


@needs_engine
def test_only_the_patient_and_billing_staff_get_the_receipt(held, localstripe_url, stripe_app):
    client, headers, appointment, payment = paid(held, localstripe_url)
    url = f"/api/v1/payments/{payment['id']}/receipt.pdf"
    a_patient(stripe_app)
    other, _ = patient_login(client, "second@example.com")
    for stranger in (other, api_token(client, "frontdesk@clinic.test"), api_token(client, "dr.rivera@clinic.test")):
        refused = client.get(url, headers=stranger)
        assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
    assert client.get(url, headers=api_token(client, "billing@clinic.test")).status_code == 200
    assert client.get(url).status_code == 401


@needs_engine
def test_a_refund_has_its_own_receipt(held, localstripe_url, stripe_app, tmp_path):
    client, headers, appointment, payment = paid(held, localstripe_url)
    made = refund(client, payment["id"], 10000)
    listed = client.get("/api/v1/payments", headers=headers).json["payments"][0]["refunds"]
    assert listed == [{"id": made["id"], "amount_cents": 10000, "status": "succeeded", "created_at": listed[0]["created_at"],
                       "receipt_url": f"/api/v1/refunds/{made['id']}/receipt.pdf"}]

    response = client.get(listed[0]["receipt_url"], headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data, tmp_path)
    for expected in ("REFUND RECEIPT", "Pat Jordan", service_day(appointment), "Paid on", "$475.00",
                     "Refund to your card $100.00", "Visa ending in 4242", "re_"):
        assert expected in text
    a_patient(stripe_app)
    other, _ = patient_login(client, "second@example.com")
    assert client.get(listed[0]["receipt_url"], headers=other).status_code == 404
    assert client.get(listed[0]["receipt_url"], headers=api_token(client, "frontdesk@clinic.test")).status_code == 404
    assert client.get("/api/v1/refunds/9999/receipt.pdf", headers=headers).status_code == 404


def test_a_failed_attempt_has_no_receipt(held, localstripe_url):
    from tests.factories import DECLINED, card
    from tests.factories import pay
    client, headers, appointment = held
    assert pay(client, headers, appointment["id"], card(localstripe_url, DECLINED)).status_code == 402
    failed = client.get("/api/v1/payments", headers=headers).json["payments"][0]
    response = client.get(failed["receipt_url"], headers=headers)
    assert response.status_code == 404 and "did not go through" in response.json["error"]["message"]


def test_without_the_pdf_engine_the_receipt_is_503_and_nothing_changes(held, localstripe_url, stripe_app):
    client, headers, appointment, payment = paid(held, localstripe_url)
    stripe_app.config["WKHTMLTOPDF"] = "/nonexistent/wkhtmltopdf"
    with stripe_app.app_context():
        audited = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.get(f"/api/v1/payments/{payment['id']}/receipt.pdf", headers=headers)

    assert response.status_code == 503
    error = response.json["error"]
    assert error["code"] == "pdf_unavailable" and "try again" in error["message"] and "fields" in error
    with stripe_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audited
        assert db.session.get(Payment, payment["id"]).status == "succeeded"


@needs_engine
def test_a_payment_settled_by_webhook_learns_its_card_for_the_receipt(held, localstripe_url, stripe_app, tmp_path):
    client, headers, appointment, payment = paid(held, localstripe_url)
    with stripe_app.app_context():  # as if a webhook event (which carries no card) had settled it
        db.session.execute(Payment.__table__.update().values(card_brand=None, card_last4=None))
        db.session.commit()
    response = client.get(f"/api/v1/payments/{payment['id']}/receipt.pdf", headers=headers)
    assert response.status_code == 200 and "Visa ending in 4242" in pdf_text(response.data, tmp_path)
    assert client.get(f"/api/v1/payments/{payment['id']}/receipt.pdf", headers=headers).status_code == 200
    with stripe_app.app_context():
        assert db.session.get(Payment, payment["id"]).card_last4 == "4242"


def test_the_payment_email_gives_the_amount_and_the_account_page_not_the_pdf(held, localstripe_url, stripe_app):
    from clinic.models import OutboxMessage
    paid(held, localstripe_url)
    with stripe_app.app_context():
        mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "payment_received")).one()
        assert "$475.00" in mail.text and "/account" in mail.text and "receipt.pdf" not in mail.text


@pytest.mark.browser
@needs_engine
def test_the_account_page_lists_the_payment_and_refund_receipts(page, live_server, stripe_app,  # noqa: F811
                                                                 localstripe_url, held):
    client, headers, appointment, payment = paid(held, localstripe_url)
    made = refund(client, payment["id"], 5000)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email address").fill("patient@clinic.test")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/account")

    receipt = page.get_by_role("link", name="Receipt (PDF)", exact=True)
    refund_receipt = page.get_by_role("link", name="Refund receipt (PDF)")
    receipt.wait_for()
    assert receipt.get_attribute("href") == f"/api/v1/payments/{payment['id']}/receipt.pdf"
    assert refund_receipt.get_attribute("href") == f"/api/v1/refunds/{made['id']}/receipt.pdf"
    download = page.request.get(f"{live_server}{receipt.get_attribute('href')}")
    assert download.status == 200 and download.body().startswith(b"%PDF-")
    assert page.console.errors == []
