"""A patient's own details on /account/details: what a superbill needs (date of birth, address) can be given on a
page, read by the same rules as the API, each refusal under its field; only the patient reaches it."""
from __future__ import annotations

import pytest

from clinic.extensions import db
from clinic.models import AuditEvent, Patient
from tests.factories import csrf_from, PATIENT, sign_in, signed_in


def post_details(client, **fields):
    page = client.get("/account/details").get_data(as_text=True)
    data = {"name": "Pat Patient", "phone": "617 555 0100", "date_of_birth": "", "address": "", **fields}
    return client.post("/account/details", data={**data, "csrf_token": csrf_from(page)})


def test_a_patient_gives_the_date_of_birth_and_address_a_superbill_needs(demo, client):
    sign_in(client, PATIENT)
    assert 'href="/account/details"' in client.get("/account").get_data(as_text=True)
    saved = post_details(client, name="Zoë Ñúñez-O'Brien", date_of_birth="1988-07-04",
                         address="45 Oak Avenue, Apt 2\nSpringfield, MA 01103")
    assert saved.status_code == 302 and saved.headers["Location"] == "/account/details"
    page = client.get("/account/details").get_data(as_text=True)
    assert "Your details are saved." in page and "1988-07-04" in page and "Zoë Ñúñez-O&#39;Brien" in page
    with demo.app_context():
        patient = db.session.scalar(db.select(Patient).where(Patient.email == PATIENT))
        assert (patient.date_of_birth.isoformat(), patient.address) == ("1988-07-04",
                                                                        "45 Oak Avenue, Apt 2\nSpringfield, MA 01103")
        assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.record_type == "patient",
                                                             AuditEvent.action == "change")) is not None


@pytest.mark.parametrize("fields, field, words", [
    ({"date_of_birth": "2999-01-01"}, "date_of_birth", "real date of birth"),
    ({"date_of_birth": "04/07/1988"}, "date_of_birth", "date of birth"),
    ({"name": ""}, "name", "name"),
    ({"phone": "call me"}, "phone", "phone"),
])
def test_each_refusal_is_422_under_its_field_and_nothing_changes(demo, client, fields, field, words):
    sign_in(client, PATIENT)
    refused = post_details(client, **fields)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'href="#' + field + '"' in html and words in html.lower()
    with demo.app_context():
        patient = db.session.scalar(db.select(Patient).where(Patient.email == PATIENT))
        assert patient.date_of_birth is None and patient.phone != "call me"


@pytest.mark.parametrize("role", ["clinician", "frontdesk", "billing"])
def test_only_a_patient_reaches_the_page(demo, role):
    client, _ = signed_in(demo, role)
    assert client.get("/account/details").status_code in (403, 404)
