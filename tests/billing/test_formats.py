"""Billing documents' formats, now `clinic.formatting`'s; `billing.formats` keeps the old names working."""
from datetime import date

import pytest

from billing import formats
from billing.notifications import dollars
from clinic.formatting import long_date, money, numeric_date


@pytest.mark.parametrize("cents, text", [(47500, "$475.00"), (123400, "$1,234.00"), (5, "$0.05"), (0, "$0.00"),
                                         (123456789, "$1,234,567.89"), (-1250, "-$12.50")])
def test_amounts_read_in_dollars_with_cents(cents, text):
    assert money(cents) == text
    assert formats.us_money(cents) == text
    assert dollars(cents) == text


def test_an_amount_in_another_currency_names_it():
    assert money(123400, "eur") == "1,234.00 EUR"
    assert money(47500, "USD") == "$475.00"
    assert formats.us_money(123400, "eur") == "1,234.00 EUR"


def test_dates_read_month_day_year():
    assert long_date(date(2027, 3, 17), weekday=False) == "March 17, 2027"
    assert long_date(date(2027, 12, 1), weekday=False) == "December 1, 2027"
    assert formats.us_date(date(2027, 3, 17)) == "March 17, 2027"


def test_claim_dates_are_zero_padded():
    assert numeric_date(date(2027, 3, 7)) == "03/07/2027"
    assert numeric_date(date(1988, 11, 24)) == "11/24/1988"
    assert formats.mmddyyyy(date(2027, 3, 7)) == "03/07/2027"
