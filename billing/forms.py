"""The billing staff's refund form: an amount typed in dollars, read into integer cents without floats."""
from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

_DOLLARS = re.compile(r"\$?\s*(?P<whole>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<cents>\d{1,2}))?")


def parse_dollars(text: str) -> int | None:
    """`$1,234.5` -> 123450 cents; None for anything that is not a plain amount (no floats: 0.1 + 0.2 != 0.3)."""
    match = _DOLLARS.fullmatch((text or "").strip())
    if match is None or not (match["whole"] or match["cents"]):
        return None
    whole = int((match["whole"] or "0").replace(",", ""))
    return whole * 100 + int((match["cents"] or "0").ljust(2, "0"))


class DollarAmount:
    def __call__(self, form, field):
        cents = parse_dollars(field.data)
        if cents is None or cents <= 0:
            raise ValidationError("Please enter an amount in dollars, like 125.00.")
        field.cents = cents


class RefundForm(FlaskForm):
    amount = StringField("Amount to refund (dollars)", validators=[
        DataRequired("Please enter the amount to refund."), Length(max=20), DollarAmount()])
    reason = TextAreaField("Reason (kept at the clinic, never sent to the card processor)", validators=[
        DataRequired("Please give a reason for the refund."), Length(max=500)])
