"""Receipts: one PDF per payment and per refund, from plain data (never ORM objects).

The caller (`billing/receipt_records.py`) turns instants into the clinic's local dates and the service into a
description the patient recognises; this module only lays them out, in US conventions.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from billing import pdf

TEMPLATE = "receipt.html"
# Stripe's card brand codes, as the card itself names them.
CARD_BRANDS = {"amex": "American Express", "diners": "Diners Club", "discover": "Discover", "jcb": "JCB",
               "mastercard": "Mastercard", "unionpay": "UnionPay", "visa": "Visa"}


@dataclass(frozen=True)
class ReceiptData:
    """What a receipt shows. Set `refund_cents` (and `refunded_on`) for a refund receipt."""

    number: str
    clinic_name: str
    clinic_address: str
    clinic_phone: str
    patient_name: str
    service_description: str
    service_dates: tuple[date, ...]  # one per visit the payment covers (a series covers several)
    paid_on: date
    amount_cents: int
    card_brand: str
    card_last4: str
    stripe_reference: str
    currency: str = "usd"
    refund_cents: int | None = None
    refunded_on: date | None = None

    def __post_init__(self):
        if self.amount_cents < 0 or (self.refund_cents is not None and not 0 < self.refund_cents <= self.amount_cents):
            raise ValueError("a receipt's amounts must be positive, a refund at most the payment")
        if (self.refund_cents is None) != (self.refunded_on is None):
            raise ValueError("a refund receipt needs both refund_cents and refunded_on")

    @property
    def is_refund(self) -> bool:
        return self.refund_cents is not None

    @property
    def card(self) -> str:
        """`Visa ending in 4242`."""
        brand = CARD_BRANDS.get(self.card_brand.lower(), self.card_brand.title() or "Card")
        return f"{brand} ending in {self.card_last4}" if self.card_last4 else brand


def receipt_html(receipt: ReceiptData) -> str:
    return pdf.html_for(TEMPLATE, receipt=receipt)


def receipt_pdf(receipt: ReceiptData) -> bytes:
    """The receipt as PDF bytes. Raises pdf.PdfUnavailable."""
    return pdf.html_to_pdf(receipt_html(receipt))
