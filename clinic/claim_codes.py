"""Shape checks for the identifiers and codes a claim carries (pure: no Flask, no database).

Only shapes: whether a code exists in this year's CPT or ICD-10 book is billing staff's knowledge, kept as data
in the fee schedule, never here."""
from __future__ import annotations

import re

CPT = re.compile(r"^(\d{5}|\d{4}[A-Z])$")  # 96365; Category II/III end in a letter (0001F, 0591T)
HCPCS = re.compile(r"^[A-Z]\d{4}$")  # J3490, G2082
ICD10 = re.compile(r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$")  # F43.12 (U is reserved for emergency use)
MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
EIN = re.compile(r"^\d{2}-\d{7}$")
SSN = re.compile(r"^\d{3}-?\d{2}-?\d{4}$")
NDC = re.compile(r"^(\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d{1,2})$")  # 4-4-2, 5-3-2, 5-4-1; 5-4-2 (HIPAA 11)
PLACES_OF_SERVICE = {"11": "Office", "02": "Telehealth other than in the patient's home",
                     "10": "Telehealth in the patient's home"}
US_STATES = frozenset(  # USPS codes of the states, DC and the territories that license clinicians
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI".split())
NPI_PREFIX = "80840"  # the card issuer prefix the Luhn check runs over (CMS NPI check digit rule)


def is_procedure_code(code: str) -> bool:
    return bool(CPT.match(code) or HCPCS.match(code))


def is_diagnosis_code(code: str) -> bool:
    return bool(ICD10.match(code))


def is_ndc(value: str) -> bool:
    """A National Drug Code with its hyphens: 10 digits as 4-4-2, 5-3-2 or 5-4-1, or the 11-digit 5-4-2 form."""
    return bool(NDC.match(value or ""))


def is_modifier(code: str) -> bool:
    return bool(MODIFIER.match(code))


def is_us_state(value: str) -> bool:
    return (value or "") in US_STATES


def is_ein(value: str) -> bool:
    """NN-NNNNNNN with its hyphen where an EIN has it; a social security number's shape never passes."""
    return bool(EIN.match(value)) and not SSN.match(value)


def is_npi(value: str) -> bool:
    """Ten digits whose last is the Luhn check digit over 80840 and the first nine."""
    if not re.fullmatch(r"[12]\d{9}", value or ""):
        return False
    return _luhn_sum(NPI_PREFIX + value) % 10 == 0


def npi_check_digit(first_nine: str) -> str:
    return str((10 - _luhn_sum(NPI_PREFIX + first_nine + "0") % 10) % 10)


def _luhn_sum(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total
