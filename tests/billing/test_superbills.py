"""Superbills end to end: a visit paid at a real localstripe and completed, issued by billing staff, read back as
PDF text through real wkhtmltopdf and pdftotext; refusals, permissions, void and reissue after a refund."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select

from billing import documents, superbills
from billing.models import Superbill
from clinic.extensions import db
from clinic.models import AuditEvent, ClinicSettings, Clinician
from tests.factories import api_token, complete, issue_superbill, NAME, NEW_YORK, patient_login
from tests.billing.factories import pdf_text


def test_nothing_to_bill_before_the_visit_is_completed(paid_visit):
    client, _, patient_id, *_, start = paid_visit
    refused = issue_superbill(client, patient_id, start)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "nothing_to_bill"


def test_a_completed_paid_visit_gets_a_superbill_with_every_claim_field(paid_visit, stripe_app, tmp_path):
    client, headers, patient_id, appointment_id, payment, start = paid_visit
    complete(client, appointment_id)
    response = issue_superbill(client, patient_id, start)
    assert response.status_code == 201, response.json
    superbill = response.json["superbill"]
    assert superbill["number"] == f"SB-{datetime.now(NEW_YORK).year}-000001"
    assert superbill["status"] == "issued" and superbill["replaces"] is None and superbill["patient_id"] == patient_id
    assert superbill["total_charged_cents"] == superbill["total_paid_cents"] == payment["amount_cents"] == 47500

    download = client.get(superbill["pdf_url"], headers=headers)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    text = pdf_text(download.data, tmp_path)
    for expected in (NAME, "07/04/1988", "45 Oak Avenue, Apt 2", "Springfield, MA 01103", start.strftime("%m/%d/%Y"),
                     "96365", "J3490", "0409-2053-10", "35 mg", "F43.12", "1234567893", "1679576722", "12-3456789",
                     "Harbor Light Ketamine Clinic, PLLC", "Dr. Maya Rivera", superbill["number"], "$475.00"):
        assert expected in text, expected
    assert " 11 " in text and "A F43.12" in text and "paid in full" in text.lower()
    assert hashlib.sha256(download.data).hexdigest() == superbill_row_hash(stripe_app, superbill["id"])  # as issued
    with stripe_app.app_context():
        row = db.session.get(Superbill, superbill["id"])
        rendered_again = documents.superbill_pdf(superbills.superbill_from_snapshot(row.snapshot))
        assert pdf_text(rendered_again, tmp_path) == text  # the snapshot holds all it showed
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.record_type == "superbill")))
        assert {"issue", "download"} <= actions


def superbill_row_hash(app, superbill_id: int) -> str:
    with app.app_context():
        return db.session.get(Superbill, superbill_id).pdf_sha256


def test_later_edits_never_change_an_issued_superbill(paid_visit, stripe_app, tmp_path):
    client, headers, patient_id, appointment_id, _, start = paid_visit
    complete(client, appointment_id)
    superbill = issue_superbill(client, patient_id, start).json["superbill"]
    client.patch(f"/api/v1/patients/{patient_id}", headers=headers, json={"name": "Someone Else"})
    with stripe_app.app_context():
        db.session.get(ClinicSettings, 1).legal_name = "Renamed Clinic LLC"
        db.session.commit()
    text = pdf_text(client.get(superbill["pdf_url"], headers=headers).data, tmp_path)
    assert NAME in text and "Harbor Light Ketamine Clinic, PLLC" in text
    assert "Someone Else" not in text and "Renamed" not in text


def test_a_missing_npi_is_named_with_who_can_fix_it(paid_visit, stripe_app):
    client, _, patient_id, appointment_id, _, start = paid_visit
    complete(client, appointment_id)
    with stripe_app.app_context():
        db.session.scalar(select(Clinician).where(Clinician.name == "Dr. Maya Rivera")).npi = None
        db.session.commit()
    refused = issue_superbill(client, patient_id, start)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "missing_billing_details"
    (field, message), = refused.json["error"]["fields"].items()
    assert field.endswith(".npi") and "Dr. Maya Rivera's NPI" in message and "/admin/" in message
    with stripe_app.app_context():
        db.session.get(ClinicSettings, 1).tax_id = "123-45-6789"  # a social security number's shape
        db.session.commit()
    fields = issue_superbill(client, patient_id, start).json["error"]["fields"]
    assert "practice.tax_id" in fields


def test_patients_cannot_issue_and_see_only_their_own(paid_visit):
    client, headers, patient_id, appointment_id, _, start = paid_visit
    complete(client, appointment_id)
    assert issue_superbill(client, patient_id, start, headers=headers).status_code == 403
    assert issue_superbill(client, patient_id, start, headers=api_token(client, "frontdesk@clinic.test")).status_code == 403
    superbill = issue_superbill(client, patient_id, start).json["superbill"]
    mine = client.get(f"/api/v1/superbills?patient_id={patient_id}", headers=headers)
    assert [s["id"] for s in mine.json["superbills"]] == [superbill["id"]]
    other, other_id = _another_patient(client)
    assert client.get(superbill["pdf_url"], headers=other).status_code == 404
    assert client.get(f"/api/v1/superbills?patient_id={patient_id}", headers=other).status_code == 404
    assert client.get("/api/v1/superbills", headers=other).json["superbills"] == []
    assert client.get(superbill["pdf_url"], headers=api_token(client, "dr.chen@clinic.test")).status_code == 404


def _another_patient(client):
    from tests.factories import DEMO_PASSWORD
    made = client.post("/api/v1/users", json={})  # not an endpoint: patients come from booking a consultation
    assert made.status_code in (404, 405)
    from clinic import accounts
    from clinic.models import Role
    with client.application.app_context():
        accounts.create_user("other@example.com", "Other Patient", Role.patient, DEMO_PASSWORD)
        db.session.commit()
    return patient_login(client, "other@example.com")


def test_a_refund_after_issuing_voids_it_and_issues_a_new_number(paid_visit, localstripe_url, tmp_path):
    client, headers, patient_id, appointment_id, payment, start = paid_visit
    complete(client, appointment_id)
    first = issue_superbill(client, patient_id, start).json["superbill"]
    billing = api_token(client, "billing@clinic.test")
    refunded = client.post(f"/api/v1/payments/{payment['id']}/refunds", headers=billing,
                           json={"amount_cents": 10000, "reason": "goodwill"})
    assert refunded.status_code == 201, refunded.json
    listed = client.get(f"/api/v1/superbills?patient_id={patient_id}", headers=billing).json["superbills"]
    new, old = listed
    assert old["id"] == first["id"] and old["status"] == "void" and old["void_reason"]
    assert new["replaces"] == first["id"] and new["number"] != first["number"] and new["status"] == "issued"
    assert new["total_charged_cents"] == 47500 and new["total_paid_cents"] == 37500
    void_text = pdf_text(client.get(old["pdf_url"], headers=headers).data, tmp_path)
    assert "VOID" in void_text and first["number"] in void_text
    new_text = pdf_text(client.get(new["pdf_url"], headers=headers).data, tmp_path)
    assert f"Replaces {first['number']}" in new_text and "$100.00" in new_text

    voided = client.post(f"/api/v1/superbills/{new['id']}/void", headers=billing,
                         json={"reason": "Diagnosis corrected", "reissue": True})
    assert voided.status_code == 200, voided.json
    third = voided.json["replacement"]
    assert third["replaces"] == new["id"] and third["number"] not in (first["number"], new["number"])
    again = client.post(f"/api/v1/superbills/{new['id']}/void", headers=billing, json={"reason": "again"})
    assert again.status_code == 422 and again.json["error"]["code"] == "already_void"


def test_pages_show_missing_details_issue_and_list_and_take_requests(paid_visit, stripe_app):
    from tests.factories import sign_in
    from tests.factories import csrf_from
    client, _, patient_id, appointment_id, _, start = paid_visit
    complete(client, appointment_id)
    with stripe_app.app_context():
        db.session.get(ClinicSettings, 1).npi = ""
        db.session.commit()
    sign_in(client, "billing@clinic.test")
    assert "/billing/superbills" in client.get("/billing").get_data(as_text=True)
    desk = client.get("/billing/superbills").get_data(as_text=True)
    assert "practice.npi" in desk and "The practice&#39;s NPI (type 2) is missing" in desk
    with stripe_app.app_context():
        db.session.get(ClinicSettings, 1).npi = "1234567893"
        db.session.commit()
    desk = client.get("/billing/superbills").get_data(as_text=True)
    assert "data-billing-details-complete" in desk
    issued = client.post("/billing/superbills", follow_redirects=True, data={
        "patient_id": patient_id, "first_day": start.date().isoformat(), "last_day": start.date().isoformat(),
        "csrf_token": csrf_from(desk)}).get_data(as_text=True)
    assert "SB-" in issued and "issued for" in issued

    client = stripe_app.test_client()
    sign_in(client, "patient@clinic.test")
    account = client.get("/account").get_data(as_text=True)
    assert "SB-" in account and "/api/v1/superbills/" in account and ".pdf" in account
    asked = client.post("/account/superbill-requests", follow_redirects=True, data={
        "first_day": "2027-01-01", "last_day": "2027-01-31", "csrf_token": csrf_from(account)})
    assert "billing team" in asked.get_data(as_text=True)
    with stripe_app.app_context():
        from billing.models import SuperbillRequest
        assert db.session.scalar(select(SuperbillRequest.patient_id)) == patient_id


def test_the_month_batch_issues_once_and_running_it_again_issues_no_duplicates(paid_visit, stripe_app):
    client, _, patient_id, appointment_id, _, start = paid_visit
    complete(client, appointment_id)
    runner = stripe_app.test_cli_runner()
    first = runner.invoke(args=["superbills", "issue", "--month", start.strftime("%Y-%m")])
    assert first.exit_code == 0, first.output
    assert "1 issued, 0 not issued." in first.output and "SB-" in first.output
    again = runner.invoke(args=["superbills", "issue", "--month", start.strftime("%Y-%m")])
    assert "0 issued, 0 not issued." in again.output
    with stripe_app.app_context():
        (superbill,) = db.session.scalars(select(Superbill)).all()
        assert superbill.patient_id == patient_id and superbill.first_day.day == 1
    bad = runner.invoke(args=["superbills", "issue", "--month", "2027-13"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
