"""Billing identifiers: billing staff and administrators edit the practice's and clinicians' identifiers on
/billing/identifiers (NPI by its Luhn check digit, EIN by format and never an SSN's shape, license state a US code);
/billing lists what is missing before anyone issues; issuing names every missing field at once."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import AuditEvent, ClinicSettings, Clinician
from tests.factories import complete, csrf_from, issue_superbill, sign_in, signed_in as sign_in_role

PRACTICE = {"legal_name": "Harbor Light Ketamine Clinic, PLLC", "address": "12 Elm Street\nSpringfield, MA 01103",
            "phone": "(413) 555-0142", "npi": "1245319599", "tax_id": "98-7654321"}


def billing_client(app):
    client = app.test_client()
    sign_in(client, "billing@clinic.test")
    return client


def rivera_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Clinician.id).where(Clinician.name == "Dr. Maya Rivera"))


@pytest.mark.parametrize("role", ["billing", "admin"])
def test_billing_staff_and_administrators_open_the_identifiers(demo, role):
    client, _ = sign_in_role(demo, role)
    billing = client.get("/billing").get_data(as_text=True)
    assert "/billing/identifiers" in billing and "data-billing-details-complete" in billing
    page = client.get("/billing/identifiers")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in ("1234567893", "12-3456789", "Dr. Maya Rivera", "1679576722", "MD-48213", "Dr. Samuel Chen"):
        assert expected in text, expected


@pytest.mark.parametrize("email", ["patient@clinic.test", "frontdesk@clinic.test", "dr.rivera@clinic.test"])
def test_other_roles_are_refused(demo, email):
    client = demo.test_client()
    sign_in(client, email)
    assert client.get("/billing/identifiers").status_code == 403
    page = client.get("/account" if email.startswith("patient") else "/staff").get_data(as_text=True)
    assert client.post("/billing/identifiers", data={**PRACTICE, "csrf_token": csrf_from(page)}).status_code == 403
    with demo.app_context():
        assert db.session.get(ClinicSettings, 1).npi == "1234567893"


def test_the_practice_identifiers_are_checked_then_saved_and_audited(demo):
    client = billing_client(demo)
    token = csrf_from(client.get("/billing/identifiers").get_data(as_text=True))
    bad = client.post("/billing/identifiers", data={**PRACTICE, "npi": "1245319598", "tax_id": "123-45-6789",
                                                   "phone": "555-01", "csrf_token": token})
    text = html.unescape(bad.get_data(as_text=True))
    assert bad.status_code == 422
    assert "check digit does not match" in text and "never a social security number" in text and "area code" in text
    with demo.app_context():
        assert db.session.get(ClinicSettings, 1).tax_id == "12-3456789"
    saved = client.post("/billing/identifiers", data={**PRACTICE, "csrf_token": token}, follow_redirects=True)
    assert saved.status_code == 200 and "billing identifiers are saved" in saved.get_data(as_text=True)
    with demo.app_context():
        settings = db.session.get(ClinicSettings, 1)
        assert (settings.npi, settings.tax_id, settings.phone) == ("1245319599", "98-7654321", "(413) 555-0142")
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.record_type == "clinic_settings",
                                                                 AuditEvent.action == "change")) == "change"


def test_a_clinicians_identifiers_are_checked_then_saved(demo):
    client, rivera = billing_client(demo), rivera_id(demo)
    page = client.get("/billing/identifiers").get_data(as_text=True)
    fields = {f"c{rivera}-credentials": "MD, MPH", f"c{rivera}-npi": "1679576722",
              f"c{rivera}-license_number": "MD-99999", f"c{rivera}-csrf_token": csrf_from(page)}
    bad = client.post(f"/billing/identifiers/clinicians/{rivera}",
                      data={**fields, f"c{rivera}-npi": "1679576723", f"c{rivera}-license_state": "ZZ"})
    text = html.unescape(bad.get_data(as_text=True))
    assert bad.status_code == 422 and "check digit" in text and "state that issued the license" in text
    assert client.post("/billing/identifiers/clinicians/999999", data=fields).status_code == 404
    with demo.app_context():
        db.session.get(Clinician, rivera).active = False  # left the clinic: her past visits still bill under her
        db.session.commit()
    assert "no longer active" in client.get("/billing/identifiers").get_data(as_text=True)
    client.post(f"/billing/identifiers/clinicians/{rivera}", data={**fields, f"c{rivera}-license_state": "NY"})
    with demo.app_context():
        clinician = db.session.get(Clinician, rivera)
        assert (clinician.credentials, clinician.license_number, clinician.license_state) == ("MD, MPH", "MD-99999", "NY")


def test_billing_lists_every_missing_detail_with_who_can_fix_it(demo):
    with demo.app_context():
        db.session.get(ClinicSettings, 1).npi = ""
        rivera = db.session.scalar(select(Clinician).where(Clinician.name == "Dr. Maya Rivera"))
        rivera.license_number, rivera.npi = None, "1234567893"  # the practice's NPI is not a clinician's
        db.session.get(ClinicSettings, 1).npi = "1234567893"
        db.session.scalar(select(Clinician).where(Clinician.name == "Dr. Samuel Chen")).license_state = "XX"
        db.session.commit()
    text = html.unescape(billing_client(demo).get("/billing").get_data(as_text=True))
    assert "data-missing-billing-details" in text
    assert "Dr. Maya Rivera's license number is missing: billing staff can add it at /billing/identifiers" in text
    assert "Dr. Maya Rivera's NPI is the practice's (type 2)" in text
    assert "Dr. Samuel Chen's license state is missing" in text


def test_issuing_names_every_missing_field_at_once(paid_visit, stripe_app):
    client, _, patient_id, appointment_id, _, start = paid_visit
    complete(client, appointment_id)
    with stripe_app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        settings.npi, settings.tax_id = "", "123456789"
        for clinician in db.session.scalars(select(Clinician)):
            clinician.npi = None
        db.session.commit()
    refused = issue_superbill(client, patient_id, start)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "missing_billing_details"
    fields = refused.json["error"]["fields"]
    assert {"practice.npi", "practice.tax_id"} <= set(fields)
    assert any(f.startswith("clinician.") and f.endswith(".npi") for f in fields)
    assert all("/billing/identifiers" in message or "/account" in message for message in fields.values())
