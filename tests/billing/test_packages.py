"""The prepaid induction package against a real localstripe: bought by card at the clinic's size and price, drawn
down by a series' sessions (rows, never a counter), a credit back for a cancellation within the policy and kept for
a late one, and who sees which packages."""
from __future__ import annotations

from sqlalchemy import select

from billing.models import PackageCredit, Payment
from clinic.extensions import db
from clinic.models import ClinicSettings
from tests.factories import (api_token, book_series, buy, card, cleared_patient, DECLINED, intents_for,
                             move_start_to, set_package)


def test_buying_charges_the_package_price_once_at_stripe(stripe_app, localstripe_url):
    set_package(stripe_app, 6, 240000)
    client, headers = cleared_patient(stripe_app)
    response = buy(client, headers, localstripe_url)
    assert response.status_code == 201, response.json
    package = response.json["package"]
    assert (package["sessions"], package["price_cents"], package["remaining"], package["used"]) == (6, 240000, 6, 0)
    assert response.json["payment"]["status"] == "succeeded" and response.json["next_action"] is None
    intents = intents_for(localstripe_url, response.json["payment"]["id"])
    assert [(i["amount"], i["status"]) for i in intents] == [(240000, "succeeded")]
    with stripe_app.app_context():
        payment = db.session.get(Payment, response.json["payment"]["id"])
        assert payment.allocations == [] and payment.idempotency_key == "pay-package-patient-1-attempt-1"
    mine = client.get("/api/v1/packages", headers=headers).json
    assert mine["credits_remaining"] == 6 and [p["id"] for p in mine["packages"]] == [package["id"]]


def test_a_declined_card_buys_no_credits(stripe_app, localstripe_url):
    client, headers = cleared_patient(stripe_app)
    response = buy(client, headers, localstripe_url, DECLINED)
    assert response.status_code == 402, response.json
    mine = client.get("/api/v1/packages", headers=headers).json
    assert mine["credits_remaining"] == 0 and mine["packages"][0]["payment"]["status"] == "failed"


def test_a_series_uses_one_credit_per_session_and_needs_no_card(stripe_app, localstripe_url):
    set_package(stripe_app, 4, 180000)
    client, headers = cleared_patient(stripe_app)
    assert buy(client, headers, localstripe_url).status_code == 201
    sessions = book_series(client, headers)
    statuses = [s["status"] for s in sessions]
    assert statuses == ["confirmed"] * 4 + ["pending_payment"] * 2  # four credits, two sessions to pay by card
    mine = client.get("/api/v1/packages", headers=headers).json
    assert mine["credits_remaining"] == 0 and mine["packages"][0]["used"] == 4
    with stripe_app.app_context():
        rows = db.session.scalars(select(PackageCredit).order_by(PackageCredit.id)).all()
        assert [(r.appointment_id, r.kind) for r in rows] == [(s["id"], "used") for s in sessions[:4]]
    series_id = sessions[0]["series_id"]
    paid = client.post(f"/api/v1/series/{series_id}/pay", headers=headers, json={"payment_method": card(localstripe_url)})
    assert paid.status_code == 200, paid.json
    assert paid.json["payment"]["amount_cents"] == sum(s["amount_due_cents"] for s in sessions[4:])


def test_cancelling_within_policy_returns_the_credit_and_a_late_one_keeps_it(stripe_app, localstripe_url):
    client, headers = cleared_patient(stripe_app)
    assert buy(client, headers, localstripe_url).status_code == 201
    first, second = book_series(client, headers)[:2]
    preview = client.get(f"/api/v1/appointments/{first['id']}/cancellation", headers=headers).json
    assert preview["refund_cents"] == 0 and "package credit" in preview["policy"] and "48 hours" in preview["policy"]
    from tests.factories import sign_in
    page = stripe_app.test_client()
    sign_in(page, "patient@clinic.test")
    assert "Cancelling now gives the package credit back" in page.get("/account").get_data(as_text=True)
    cancelled = client.post(f"/api/v1/appointments/{first['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["refund"] is None  # no money moves: the credit does
    assert client.get("/api/v1/packages", headers=headers).json["credits_remaining"] == 1
    move_start_to(stripe_app, second["id"], 20)
    assert "Cancelling now uses the package credit" in page.get("/account").get_data(as_text=True)
    assert client.post(f"/api/v1/appointments/{second['id']}/cancel", headers=headers).status_code == 200
    package = client.get("/api/v1/packages", headers=headers).json["packages"][0]
    assert (package["used"], package["returned"], package["remaining"]) == (6, 1, 1)


def test_billing_staff_see_every_package_and_others_only_their_own(stripe_app, localstripe_url):
    client, headers = cleared_patient(stripe_app)
    assert buy(client, headers, localstripe_url).status_code == 201
    billing = client.get("/api/v1/packages", headers=api_token(client, "billing@clinic.test")).json
    assert len(billing["packages"]) == 1 and "credits_remaining" not in billing
    frontdesk = client.get("/api/v1/packages", headers=api_token(client, "frontdesk@clinic.test")).json
    assert frontdesk["packages"] == []
    refused = client.post("/api/v1/packages", headers=api_token(client, "billing@clinic.test"),
                          json={"payment_method": card(localstripe_url)})
    assert refused.status_code == 403
    assert client.post("/api/v1/packages", json={"payment_method": "pm_x"}).status_code == 401


def test_what_is_left_shows_on_the_account_page_and_the_billing_page(stripe_app, localstripe_url):
    from tests.factories import sign_in
    client, headers = cleared_patient(stripe_app)
    page = stripe_app.test_client()
    sign_in(page, "patient@clinic.test")
    assert 'id="package-credits"' not in page.get("/account").get_data(as_text=True)  # none bought: nothing shown
    assert buy(client, headers, localstripe_url).status_code == 201
    book_series(client, headers)
    account = page.get("/account").get_data(as_text=True)
    assert 'id="package-credits"' in account and "<strong>0</strong> prepaid IV infusions" in account
    assert "left of 6" in account
    staff = stripe_app.test_client()
    sign_in(staff, "billing@clinic.test")
    html = staff.get("/billing").get_data(as_text=True)
    assert 'id="package-1"' in html and "<td class=\"num\" data-remaining>0</td>" in html
    assert "Induction package" in html and "$2,500.00" in html
    assert 'id="package-1"' not in staff.get("/billing?patient=nobody").get_data(as_text=True)


def test_an_administrator_sets_the_package_size_and_price_at_admin(stripe_app, localstripe_url):
    from tests.factories import signed_in
    from tests.factories import csrf_from
    admin, _ = signed_in(stripe_app, "admin")
    html = admin.get("/admin/").get_data(as_text=True)
    assert 'name="package_price_cents"' in html and 'value="250000"' in html
    with stripe_app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        fields = {k: getattr(settings, k) for k in (
            "name", "address", "phone", "email", "npi", "tax_id", "timezone", "min_notice_minutes", "horizon_days",
            "hold_minutes", "reminder_hours", "fasting_hours", "full_refund_hours", "late_cancel_keep_percent")}
    saved = admin.post("/admin/", data={**fields, "package_sessions": "5", "package_price_cents": "199900",
                                        "csrf_token": csrf_from(html)})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    client, headers = cleared_patient(stripe_app)
    package = buy(client, headers, localstripe_url).json["package"]
    assert (package["sessions"], package["price_cents"], package["remaining"]) == (5, 199900, 5)


def refund(client, payment_id: int, amount_cents: int):
    return client.post(f"/api/v1/payments/{payment_id}/refunds", headers=api_token(client, "billing@clinic.test"),
                       json={"amount_cents": amount_cents, "reason": "package refund"})


def test_refunding_an_unused_package_takes_back_every_credit(stripe_app, localstripe_url):
    from tests.factories import refunds_at_stripe
    client, headers = cleared_patient(stripe_app)
    bought = buy(client, headers, localstripe_url).json
    refunded = refund(client, bought["payment"]["id"], bought["package"]["price_cents"])
    assert refunded.status_code == 201, refunded.json
    assert refunds_at_stripe(localstripe_url) == [250000]
    package = client.get("/api/v1/packages", headers=headers).json["packages"][0]
    assert (package["taken_back"], package["remaining"]) == (6, 0)
    assert [s["status"] for s in book_series(client, headers)] == ["pending_payment"] * 6  # no credit left to draw


def test_a_package_refund_covering_used_credits_is_refused_and_the_unused_ones_come_back(stripe_app, localstripe_url):
    from tests.factories import refunds_at_stripe
    client, headers = cleared_patient(stripe_app)
    bought = buy(client, headers, localstripe_url).json  # 6 credits for $2,500.00: a credit is worth $416.66
    sessions = book_series(client, headers)
    assert client.post(f"/api/v1/appointments/{sessions[0]['id']}/cancel", headers=headers).status_code == 200
    payment_id = bought["payment"]["id"]
    too_much = refund(client, payment_id, 41671)  # five credits used: the one unused is worth $2,500 - 5 x $416.66
    assert too_much.status_code == 422 and too_much.json["error"]["code"] == "refund_covers_used_credits"
    assert "5 of this package's 6 credits are already used" in too_much.json["error"]["message"]
    assert "$416.70" in too_much.json["error"]["message"]
    assert refunds_at_stripe(localstripe_url) == []
    assert refund(client, payment_id, 41670).status_code == 201
    package = client.get("/api/v1/packages", headers=headers).json["packages"][0]
    assert (package["used"], package["returned"], package["taken_back"], package["remaining"]) == (6, 1, 1, 0)
    assert refunds_at_stripe(localstripe_url) == [41670]
    assert refund(client, payment_id, 1).json["error"]["code"] == "refund_covers_used_credits"


def test_the_package_page_sells_with_the_pay_steps_card_form_only_to_a_cleared_patient(stripe_app, localstripe_url):
    from tests.factories import sign_in
    page = stripe_app.test_client()
    assert page.get("/account/package").status_code in (302, 401)  # signed out: to the sign-in page
    sign_in(page, "patient@clinic.test")
    account = page.get("/account").get_data(as_text=True)
    assert 'id="package-offer"' in account and 'href="/account/package"' in account
    before = page.get("/account/package")
    html = before.get_data(as_text=True)
    assert before.status_code == 200 and 'id="package-needs-clearance"' in html and "data-pay-form" not in html
    cleared_patient(stripe_app)
    after = page.get("/account/package")
    html = after.get_data(as_text=True)
    assert 'data-pay-form data-pay-url="/api/v1/packages"' in html and "Pay $2,500.00" in html
    assert "6 IV ketamine infusions for $2,500.00" in html and "You have no\n      package yet." in html
    assert f"script-src 'self' {localstripe_url}" in after.headers["Content-Security-Policy"]
    staff = stripe_app.test_client()
    sign_in(staff, "billing@clinic.test")
    assert staff.get("/account/package").status_code in (403, 404)
