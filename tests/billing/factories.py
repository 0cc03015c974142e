"""Plain data for billing documents, with defaults: override only what a test is about."""
from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

from billing.documents import (Diagnosis, Drug, EstimateData, EstimateLine, Practice, Provider, SuperbillData,
                               SuperbillLine)
from billing.receipts import ReceiptData

ADDRESS = "12 Elm Street, Suite 300\nSpringfield, MA 01103"
PRACTICE = Practice(legal_name="Springfield Ketamine Clinic, PLLC", address=ADDRESS, phone="(413) 555-0142",
                    npi="1245319599", ein="12-3456789")
PROVIDER = Provider(name="Ana Rivera", credentials="MD", npi="1003000126", license_number="MD-284761",
                    license_state="MA")
KETAMINE = Drug(name="Ketamine HCl 50 mg/mL", ndc="0409-2053-10", dose="35 mg")


def a_receipt(**overrides) -> ReceiptData:
    defaults = dict(number="R-2027-000045", clinic_name="Springfield Ketamine Clinic", clinic_address=ADDRESS,
                    clinic_phone="(413) 555-0142", patient_name="Jordan Lee", service_description="IV ketamine treatment",
                    service_dates=(date(2027, 3, 17),), paid_on=date(2027, 3, 10), amount_cents=47500,
                    card_brand="visa", card_last4="4242", stripe_reference="pi_3PqXyZ2eZvKYlo2C0abc1234")
    return ReceiptData(**{**defaults, **overrides})


def a_refund_receipt(**overrides) -> ReceiptData:
    return replace(a_receipt(), refund_cents=23750, refunded_on=date(2027, 3, 16),
                   stripe_reference="re_3PqXyZ2eZvKYlo2C0abc9876", **overrides)


def iv_visit(day: date, pointers=("A",)) -> tuple[SuperbillLine, SuperbillLine]:
    """An IV infusion at the office: the infusion line and the drug line (J3490 with its NDC)."""
    return (SuperbillLine(date_of_service=day, place_of_service="11", code="96365", charge_cents=60000,
                          diagnosis_pointers=pointers, description="IV infusion, first hour"),
            SuperbillLine(date_of_service=day, place_of_service="11", code="J3490", charge_cents=5000,
                          diagnosis_pointers=("A",), modifiers=("JZ",), description="Unclassified drug", drug=KETAMINE))


def a_superbill(**overrides) -> SuperbillData:
    defaults = dict(number="SB-2027-000123", issued_on=date(2027, 3, 31), practice=PRACTICE, provider=PROVIDER,
                    patient_name="Jordan Lee", patient_date_of_birth=date(1988, 7, 4),
                    patient_address="45 Oak Avenue\nSpringfield, MA 01103",
                    diagnoses=(Diagnosis("F43.12", "Post-traumatic stress disorder, chronic"),
                               Diagnosis("F33.1", "Major depressive disorder, recurrent, moderate")),
                    lines=iv_visit(date(2027, 3, 1), ("A", "B")) + iv_visit(date(2027, 3, 3)), paid_cents=130000)
    return SuperbillData(**{**defaults, **overrides})


def an_estimate(**overrides) -> EstimateData:
    days = (date(2027, 3, 1), date(2027, 3, 3), date(2027, 3, 5))
    lines = tuple(EstimateLine(description="IV ketamine infusion with two hours of monitoring", code="96365",
                               diagnosis_codes=("F43.12",), charge_cents=60000, expected_on=day) for day in days)
    drug = EstimateLine(description="Ketamine, the medicine given in each infusion", code="J3490",
                        diagnosis_codes=("F43.12",), charge_cents=15000, quantity=3, expected_on=days[0])
    defaults = dict(number="GFE-2027-000045", issued_on=date(2027, 2, 20), patient_name="Jordan Lee",
                    patient_date_of_birth=date(1988, 7, 4), summary="A series of IV ketamine infusions for PTSD",
                    practice=PRACTICE, provider=PROVIDER, location=ADDRESS, lines=lines + (drug,))
    return EstimateData(**{**defaults, **overrides})


def pdf_text(data: bytes, folder: Path) -> str:
    """The PDF's text as poppler's pdftotext reads it (reading order, one space between words)."""
    return " ".join(_pdftotext(data, folder).split())


def pdf_rows(data: bytes, folder: Path) -> str:
    """The PDF's text line by line as printed (columns side by side), one space between words."""
    return "\n".join(" ".join(line.split()) for line in _pdftotext(data, folder, "-layout").splitlines())


def _pdftotext(data: bytes, folder: Path, *options: str) -> str:
    path = folder / "document.pdf"
    path.write_bytes(data)
    command = ["pdftotext", "-enc", "UTF-8", *options, str(path), "-"]
    return subprocess.run(command, capture_output=True, check=True).stdout.decode()


def pdf_info(data: bytes, folder: Path, tool: str = "pdfinfo") -> str:
    path = folder / "info.pdf"
    path.write_bytes(data)
    return subprocess.run([tool, str(path)], capture_output=True, check=True, text=True).stdout
