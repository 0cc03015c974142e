"""Every billing document rendered through the real engine, its text read back with pdftotext."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from billing.documents import Diagnosis, SuperbillLine, estimate_pdf, superbill_pdf, superbill_pdfs
from billing.receipts import receipt_pdf
from tests.billing.factories import (KETAMINE, a_receipt, a_refund_receipt, a_superbill, an_estimate, pdf_rows,
                                     pdf_text)
from tests.factories import needs_engine


@needs_engine
def test_a_receipt_shows_who_paid_what_for_which_visit_and_how(tmp_path):
    text = pdf_text(receipt_pdf(a_receipt(patient_name="Zoë Ñúñez-O'Brien")), tmp_path)

    for expected in ("Springfield Ketamine Clinic", "12 Elm Street, Suite 300 Springfield, MA 01103",
                     "(413) 555-0142", "RECEIPT", "No. R-2027-000045", "Zoë Ñúñez-O'Brien", "IV ketamine treatment",
                     "March 17, 2027", "Paid on March 10, 2027 $475.00", "Amount paid $475.00",
                     "Visa ending in 4242", "pi_3PqXyZ2eZvKYlo2C0abc1234"):
        assert expected in text
    assert "Refund" not in text


@needs_engine
def test_a_refund_receipt_shows_the_payment_and_the_refund(tmp_path):
    text = pdf_text(receipt_pdf(a_refund_receipt()), tmp_path)

    for expected in ("REFUND RECEIPT", "Paid on March 10, 2027 $475.00", "Refunded on March 16, 2027 -$237.50",
                     "Refund to your card $237.50", "re_3PqXyZ2eZvKYlo2C0abc9876", "5 to 10 business days"):
        assert expected in text


@needs_engine
def test_a_receipt_for_a_series_lists_every_date_of_service(tmp_path):
    days = (date(2027, 3, 1), date(2027, 3, 3), date(2027, 3, 5))
    text = pdf_text(receipt_pdf(a_receipt(service_dates=days, amount_cents=285000)), tmp_path)
    assert "March 1, 2027 March 3, 2027 March 5, 2027" in text
    assert "$2,850.00" in text


@needs_engine
def test_a_superbill_carries_every_field_a_claim_needs(tmp_path):
    document = superbill_pdf(a_superbill())
    text, rows = pdf_text(document, tmp_path), pdf_rows(document, tmp_path)

    for expected in ("Springfield Ketamine Clinic, PLLC", "(413) 555-0142", "SUPERBILL", "No. SB-2027-000123",
                     "Issued 03/31/2027", "45 Oak Avenue Springfield, MA 01103", "Paid in full.",
                     "Signature of rendering provider: Ana Rivera, MD"):
        assert expected in text
    for row in ("Name Jordan Lee Name Ana Rivera, MD", "Date of birth 07/04/1988 NPI 1003000126",
                "License MD-284761 (MA)", "Practice NPI 1245319599", "Tax id (EIN) 12-3456789",
                "A F43.12 Post-traumatic stress disorder, chronic",
                "B F33.1 Major depressive disorder, recurrent, moderate",
                "03/01/2027 11 96365 IV infusion, first hour 1 AB $600.00",
                "03/01/2027 11 J3490 JZ Unclassified drug 1 A $50.00",
                "03/01/2027 11 J3490 JZ Unclassified drug 1 A $50.00\nKetamine HCl 50 mg/mL\nNDC 0409-2053-10, dose 35 mg",
                "03/03/2027 11 96365 IV infusion, first hour 1 A $600.00",
                "Total charges $1,300.00", "Amount paid $1,300.00", "Balance due $0.00"):
        assert row in rows, row
    assert "VOID" not in text and "Replaces" not in text


@needs_engine
def test_a_superbill_with_a_balance_says_what_remains_and_not_paid_in_full(tmp_path):
    text = pdf_text(superbill_pdf(a_superbill(paid_cents=100000)), tmp_path)
    assert "Balance due $300.00" in text
    assert "has paid $1,000.00 of $1,300.00" in text
    assert "Paid in full" not in text


@needs_engine
def test_a_void_superbill_is_marked_and_its_replacement_names_it(tmp_path):
    void = replace(a_superbill(), void_reason="A refund changed the amount paid.")
    replacement = a_superbill(number="SB-2027-000124", replaces="SB-2027-000123", paid_cents=100000)

    assert "VOID A refund changed the amount paid. Do not submit" in pdf_text(superbill_pdf(void), tmp_path)
    assert "No. SB-2027-000124 Issued 03/31/2027 Replaces SB-2027-000123" in pdf_text(superbill_pdf(replacement), tmp_path)


@needs_engine
def test_a_superbill_shows_up_to_four_modifiers_and_twelve_diagnoses(tmp_path):
    diagnoses = tuple(Diagnosis(f"F43.{n}", f"Diagnosis {n}") for n in range(10, 22))
    line = SuperbillLine(date_of_service=date(2027, 3, 9), place_of_service="10", code="90837", charge_cents=25000,
                         diagnosis_pointers=("L", "A", "B", "C"), modifiers=("95", "GT", "59", "XU"))

    rows = pdf_rows(superbill_pdf(a_superbill(diagnoses=diagnoses, lines=(line,), paid_cents=25000)), tmp_path)

    assert "L F43.21 Diagnosis 21" in rows
    assert "03/09/2027 10 90837 95 GT 59 XU 1 LABC $250.00" in rows


@needs_engine
def test_a_batch_of_superbills_comes_back_in_order(tmp_path):
    superbills = [a_superbill(number=f"SB-2027-{n:06d}") for n in range(1, 4)]
    texts = [pdf_text(document, tmp_path) for document in superbill_pdfs(superbills)]
    assert [f"SB-2027-{n:06d}" in text for n, text in enumerate(texts, 1)] == [True] * 3


@needs_engine
def test_a_good_faith_estimate_carries_what_the_rule_requires(tmp_path):
    document = estimate_pdf(an_estimate(patient_name="Zoë Ñúñez-O'Brien"))
    text, rows = pdf_text(document, tmp_path), pdf_rows(document, tmp_path)

    for expected in ("GOOD FAITH ESTIMATE", "No. GFE-2027-000045", "Issued February 20, 2027",
                     "12 Elm Street, Suite 300 Springfield, MA 01103",
                     "A series of IV ketamine infusions for PTSD, starting March 1, 2027.", "March 5, 2027",
                     "IV ketamine infusion with two hours of monitoring", "Ketamine, the medicine given in each infusion",
                     "only an estimate", "not a contract", "$400 more", "within 120 calendar days",
                     "Department of Health and Human Services", "patient-provider dispute resolution",
                     "www.cms.gov/nosurprises", "1-800-985-3059", "Keep a copy"):
        assert expected in text
    for row in ("Name Zoë Ñúñez-O'Brien Clinician Ana Rivera, MD", "Date of birth July 4, 1988 Clinician NPI 1003000126",
                "Practice NPI 1245319599", "Tax id (EIN) 12-3456789", "Location 12 Elm Street, Suite 300",
                "96365 F43.12 1 $600.00",
                "J3490 F43.12 3 $150.00", "Total estimated cost $1,950.00"):
        assert row in rows, row


@needs_engine
def test_a_good_faith_estimate_lists_care_to_be_estimated_separately(tmp_path):
    estimate = an_estimate(separately_scheduled=("Integration psychotherapy after each infusion",))
    text = pdf_text(estimate_pdf(estimate), tmp_path)
    assert "Care to be estimated separately".upper() in text
    assert "Integration psychotherapy after each infusion" in text


@pytest.mark.parametrize("change", [
    dict(diagnosis_pointers=("C",)),  # only A and B exist
    dict(diagnosis_pointers=("A", "B", "A", "B", "A")),
    dict(diagnosis_pointers=()),
    dict(modifiers=("25", "59", "GT", "95", "XU")),
    dict(units=0),
    dict(charge_cents=-1),
])
def test_a_superbill_line_that_a_claim_would_reject_is_refused(change):
    line = replace(a_superbill().lines[0], **change)
    with pytest.raises(ValueError):
        a_superbill(lines=(line,), paid_cents=0)


def test_a_superbill_cannot_show_more_paid_than_charged_nor_thirteen_diagnoses():
    with pytest.raises(ValueError):
        a_superbill(paid_cents=130001)
    with pytest.raises(ValueError):
        a_superbill(diagnoses=tuple(Diagnosis(f"F43.{n}", "x") for n in range(13)))


def test_a_refund_receipt_cannot_refund_more_than_was_paid():
    with pytest.raises(ValueError):
        a_receipt(refund_cents=47501, refunded_on=date(2027, 3, 16))
    with pytest.raises(ValueError):
        a_receipt(refund_cents=100)


def test_the_drug_line_keeps_its_ndc():
    assert a_superbill().lines[1].drug == KETAMINE
