"""The fee schedule as versioned data and the shape checks of claim codes, NPIs and EINs."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from billing import fee_schedule
from billing.fee_schedule import LineSpec
from booking.models import Service
from clinic import claim_codes
from clinic.errors import ValidationError
from clinic.extensions import db


@pytest.mark.parametrize("npi,valid", [("1234567893", True), ("1679576722", True), ("1234567890", False),
                                       ("123456789", False), ("3234567893", False), ("12345678a3", False)])
def test_npi_check_digit_is_luhn_over_80840(npi, valid):
    assert claim_codes.is_npi(npi) is valid
    if valid:
        assert claim_codes.npi_check_digit(npi[:9]) == npi[9]


@pytest.mark.parametrize("value,valid", [("12-3456789", True), ("123-45-6789", False), ("123456789", False),
                                         ("12-345678", False)])
def test_ein_format_never_a_social_security_number(value, valid):
    assert claim_codes.is_ein(value) is valid


def test_code_shapes():
    assert all(map(claim_codes.is_procedure_code, ["96365", "0591T", "J3490", "G2082"]))
    assert not any(map(claim_codes.is_procedure_code, ["9636", "963655", "JJ349", "j3490", "96365 "]))
    assert all(map(claim_codes.is_diagnosis_code, ["F43.12", "F43.1", "F43", "F32.A"]))
    assert not any(map(claim_codes.is_diagnosis_code, ["43.12", "F431", "F43.12345", "F43.", "f43.12"]))
    assert claim_codes.is_modifier("JZ") and not claim_codes.is_modifier("JZZ")


def test_demo_schedule_and_versions_by_date(demo):
    with demo.app_context():
        iv = db.session.scalar(select(Service).where(Service.code == "iv-ketamine"))
        consultation = db.session.scalar(select(Service).where(Service.code == "consultation"))
        esketamine = db.session.scalar(select(Service).where(Service.code == "esketamine-nasal"))
        assert [line.code for line in fee_schedule.lines_in_force(iv, date(2027, 3, 1))] == ["96365", "J3490"]
        assert fee_schedule.lines_in_force(consultation, date(2027, 3, 1)) == []
        lines = fee_schedule.lines_in_force(esketamine, date(2027, 3, 1))
        assert [line.code for line in fee_schedule.lines_for_dose(lines, 56)] == ["G2082"]
        assert [line.code for line in fee_schedule.lines_for_dose(lines, 84)] == ["G2083"]

        fee_schedule.add_version(None, iv, date(2027, 4, 1), [LineSpec("96365", 50000), LineSpec(
            "J3490", 6000, drug_name="Ketamine", ndc="0409-2053-10", dose_unit="mg", modifiers=("JZ",))])
        assert sum(x.charge_cents for x in fee_schedule.lines_in_force(iv, date(2027, 3, 31))) == 47500
        assert sum(x.charge_cents for x in fee_schedule.lines_in_force(iv, date(2027, 4, 1))) == 56000
        with pytest.raises(ValidationError) as older:
            fee_schedule.add_version(None, iv, date(2027, 2, 1), [LineSpec("96365", 1)])
        assert older.value.code == "version_exists"
        with pytest.raises(ValidationError) as bad:
            fee_schedule.add_version(None, iv, date(2027, 6, 1), [LineSpec("9636", 1, modifiers=("J", "A", "B", "C", "D")),
                                                                LineSpec("J3490", 1, place_of_service="99")])
        assert set(bad.value.fields) == {"lines[0].code", "lines[0].modifiers", "lines[1].place_of_service",
                                         "lines[1].ndc"}


def test_admin_edits_identifiers_and_a_bad_npi_is_refused(demo, client):
    import re

    import pyotp

    from clinic.accounts import enable_totp, find_user
    from clinic.models import ClinicSettings, Clinician
    from tests.factories import sign_in
    from tests.factories import csrf_from
    with demo.app_context():
        secret = pyotp.random_base32()
        enable_totp(find_user("admin@clinic.test"), secret, pyotp.TOTP(secret).now())
        rivera = db.session.scalar(select(Clinician).where(Clinician.name == "Dr. Maya Rivera")).id
        db.session.commit()
    sign_in(client, "admin@clinic.test", expect=None)
    page = client.get("/login/verify").get_data(as_text=True)
    client.post("/login/verify", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)})
    response = client.get("/admin/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Clinicians' billing identifiers" in page and "Legal name" in page
    token = re.search(rf'name="c{rivera}-csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(rf'value="([^"]+)"[^>]*name="c{rivera}-csrf_token"', page)
    fields = {f"c{rivera}-credentials": "MD, PhD", f"c{rivera}-license_number": "MD-48213",
              f"c{rivera}-license_state": "MA", f"c{rivera}-csrf_token": token.group(1)}
    bad = client.post(f"/admin/clinicians/{rivera}", data={**fields, f"c{rivera}-npi": "1679576723"},
                      follow_redirects=True)
    assert "check digit" in bad.get_data(as_text=True)
    client.post(f"/admin/clinicians/{rivera}", data={**fields, f"c{rivera}-npi": "1679576722"})
    with demo.app_context():
        clinician = db.session.get(Clinician, rivera)
        assert (clinician.credentials, clinician.npi) == ("MD, PhD", "1679576722")
        assert db.session.get(ClinicSettings, 1).legal_name == "Harbor Light Ketamine Clinic, PLLC"
