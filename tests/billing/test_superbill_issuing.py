"""Issuing across clinicians and diagnoses, through real localstripe, wkhtmltopdf and pdftotext: visits rendered by two
clinicians make two superbills with their own numbers; the diagnosis table prints each ICD-10 code with its
description, lettered primary first, and lines point at most four letters; a partly refunded visit bills what was
paid and says paid in full."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking.models import Appointment
from clinic.extensions import db
from clinic.models import Clinician
from tests.billing.factories import pdf_rows, pdf_text
from tests.factories import api_token, book, clear_patient, complete, move_to_the_past, next_weekday, paid_by_card

DIAGNOSES = ["F43.12", "F33.1", "F41.1", "F43.10", "F32.A"]


def clinician_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Clinician.id).where(Clinician.name == name))


def rendered_by(app, appointment_id: int, name: str) -> None:
    with app.app_context():
        db.session.get(Appointment, appointment_id).clinician_id = clinician_id(app, name)
        db.session.commit()


def second_visit(client, headers, app, localstripe_url) -> tuple[int, dict]:
    """Another paid IV treatment, three days after the first in the past, completed."""
    booked = book(client, headers, next_weekday(3))
    assert booked.status_code == 201, booked.json
    appointment_id = booked.json["appointment"]["id"]
    payment = paid_by_card(client, headers, appointment_id, localstripe_url)
    move_to_the_past(app, appointment_id, days_ago=7)
    complete(client, appointment_id)
    return appointment_id, payment


def test_two_rendering_clinicians_get_one_superbill_each_and_a_refund_reissues_only_theirs(
        paid_visit, stripe_app, localstripe_url, tmp_path):
    client, headers, patient_id, first_id, _, start = paid_visit
    complete(client, first_id)
    second_id, second_payment = second_visit(client, headers, stripe_app, localstripe_url)
    rendered_by(stripe_app, first_id, "Dr. Maya Rivera")
    rendered_by(stripe_app, second_id, "Dr. Samuel Chen")
    billing = api_token(client, "billing@clinic.test")
    response = client.post("/api/v1/superbills", headers=billing, json={
        "patient_id": patient_id, "from": start.date().isoformat(), "to": (start.date() + timedelta(days=3)).isoformat()})
    assert response.status_code == 201, response.json
    rivera, chen = response.json["superbills"]
    assert response.json["superbill"] == rivera and rivera["number"] != chen["number"]
    assert (rivera["rendering_clinician"], chen["rendering_clinician"]) == ("Dr. Maya Rivera", "Dr. Samuel Chen")
    assert rivera["total_charged_cents"] == chen["total_charged_cents"] == 47500
    first_text = pdf_text(client.get(rivera["pdf_url"], headers=headers).data, tmp_path)
    second_text = pdf_text(client.get(chen["pdf_url"], headers=headers).data, tmp_path)
    assert "1679576722" in first_text and "1437263159" not in first_text and "Dr. Samuel Chen" not in first_text
    assert "1437263159" in second_text and "Dr. Maya Rivera" not in second_text
    assert start.strftime("%m/%d/%Y") in first_text and start.strftime("%m/%d/%Y") not in second_text

    refunded = client.post(f"/api/v1/payments/{second_payment['id']}/refunds", headers=billing,
                           json={"amount_cents": 5000, "reason": "goodwill"})
    assert refunded.status_code == 201, refunded.json
    listed = {s["number"]: s for s in client.get(f"/api/v1/superbills?patient_id={patient_id}",
                                                 headers=billing).json["superbills"]}
    assert listed[rivera["number"]]["status"] == "issued" and listed[chen["number"]]["status"] == "void"
    (replacement,) = [s for s in listed.values() if s["replaces"] == chen["id"]]
    assert replacement["rendering_clinician"] == "Dr. Samuel Chen" and len(listed) == 3


def test_diagnoses_print_with_descriptions_primary_first_and_at_most_four_pointers(
        paid_visit, stripe_app, tmp_path):
    client, headers, patient_id, appointment_id, _, start = paid_visit
    complete(client, appointment_id)
    clear_patient(client, patient_id, diagnosis_codes=DIAGNOSES)
    billing = api_token(client, "billing@clinic.test")
    superbill = client.post("/api/v1/superbills", headers=billing, json={
        "patient_id": patient_id, "from": start.date().isoformat(), "to": start.date().isoformat()}).json["superbill"]
    data = client.get(superbill["pdf_url"], headers=headers).data
    text = pdf_text(data, tmp_path)
    for letter, expected in zip("ABCDE", ("F43.12 Post-traumatic stress disorder, chronic",
                                          "F33.1 Major depressive disorder, recurrent, moderate",
                                          "F41.1 Generalized anxiety disorder",
                                          "F43.10 Post-traumatic stress disorder, unspecified",
                                          "F32.A Depression, unspecified")):
        assert f"{letter} {expected}" in text, expected
    rows = pdf_rows(data, tmp_path)
    service_rows = [row for row in rows.splitlines() if " 96365 " in f" {row} " or " J3490 " in f" {row} "]
    assert service_rows and all(" ABCD " in f" {row} " and "ABCDE" not in row for row in service_rows)


def test_a_partly_refunded_visit_bills_what_was_paid_and_says_paid_in_full(paid_visit, stripe_app, tmp_path):
    client, headers, patient_id, appointment_id, payment, start = paid_visit
    complete(client, appointment_id)
    billing = api_token(client, "billing@clinic.test")
    client.post(f"/api/v1/payments/{payment['id']}/refunds", headers=billing,
                json={"amount_cents": 12500, "reason": "late start"})
    superbill = client.post("/api/v1/superbills", headers=billing, json={
        "patient_id": patient_id, "from": start.date().isoformat(), "to": start.date().isoformat()}).json["superbill"]
    assert (superbill["total_paid_cents"], superbill["total_adjustment_cents"]) == (35000, 12500)
    text = pdf_text(client.get(superbill["pdf_url"], headers=headers).data, tmp_path)
    assert "Less refunds and discounts -$125.00" in text and "Net charges $350.00" in text
    assert "Amount paid $350.00" in text and "Balance due $0.00" in text and "Paid in full." in text


def test_a_visit_paid_with_a_package_credit_bills_its_share_of_the_package(stripe_app, localstripe_url, tmp_path):
    from tests.factories import book_series as book_package_series, buy, cleared_patient
    from tests.factories import set_package
    set_package(stripe_app, 6, 240000)
    client, headers = cleared_patient(stripe_app)
    bought = buy(client, headers, localstripe_url)
    assert bought.status_code == 201, bought.json
    sessions = book_package_series(client, headers)
    patient_id = sessions[0]["patient_id"]
    client.patch(f"/api/v1/patients/{patient_id}", headers=headers,
                 json={"date_of_birth": "1990-02-03", "address": "1 Main Street\nSalem, MA 01970"})
    start = move_to_the_past(stripe_app, sessions[0]["id"], days_ago=10)
    complete(client, sessions[0]["id"])
    billing = api_token(client, "billing@clinic.test")
    issued = client.post("/api/v1/superbills", headers=billing, json={
        "patient_id": patient_id, "from": start.date().isoformat(), "to": start.date().isoformat()})
    assert issued.status_code == 201, issued.json
    superbill = issued.json["superbill"]
    assert (superbill["total_charged_cents"], superbill["total_paid_cents"], superbill["total_adjustment_cents"]) == \
        (47500, 40000, 7500)
    text = pdf_text(client.get(superbill["pdf_url"], headers=headers).data, tmp_path)
    assert "Amount paid $400.00" in text and "Balance due $0.00" in text and "Paid in full." in text

    refund = client.post(f"/api/v1/payments/{bought.json['payment']['id']}/refunds", headers=billing,
                         json={"amount_cents": 40000, "reason": "one session fewer"})
    assert refund.status_code == 422  # every credit is used by the series: a package refund never reaches them
    (still,) = client.get(f"/api/v1/superbills?patient_id={patient_id}", headers=billing).json["superbills"]
    assert still["status"] == "issued" and still["total_paid_cents"] == 40000
