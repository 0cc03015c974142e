"""Superbills and Good Faith Estimates as PDFs, from plain data (never ORM objects).

The issuing services (a later step) gather the snapshot, which is stored as issued; these dataclasses are
that snapshot's shape and check only what makes a document self-consistent (pointers into the diagnosis
list, at most four modifiers, paid no more than charged). Codes are data, never in code.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from billing import pdf

POINTER_LETTERS = "ABCDEFGHIJKL"  # CMS-1500 box 21: at most twelve diagnoses, A to L
MAX_MODIFIERS = 4
MAX_POINTERS = 4


@dataclass(frozen=True)
class Practice:
    legal_name: str
    address: str  # several lines
    phone: str
    npi: str  # type 2 (organization)
    ein: str  # the tax id; never a social security number


@dataclass(frozen=True)
class Provider:
    """The rendering clinician."""

    name: str
    credentials: str
    npi: str  # type 1 (individual)
    license_number: str = ""
    license_state: str = ""

    @property
    def signed_name(self) -> str:
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


@dataclass(frozen=True)
class Diagnosis:
    code: str  # ICD-10, e.g. F43.12
    description: str


@dataclass(frozen=True)
class Drug:
    """What a J3490 (unclassified drug) line needs: the insurer cannot price it without the NDC."""

    name: str
    ndc: str
    dose: str  # e.g. "35 mg"


@dataclass(frozen=True)
class SuperbillLine:
    date_of_service: date
    place_of_service: str  # 11 office, 02 telehealth not at home, 10 telehealth at home
    code: str  # CPT or HCPCS
    charge_cents: int  # for all the line's units
    diagnosis_pointers: tuple[str, ...]  # letters into SuperbillData.diagnoses, primary first
    units: int = 1
    modifiers: tuple[str, ...] = ()
    description: str = ""
    drug: Drug | None = None


@dataclass(frozen=True)
class SuperbillData:
    number: str  # SB-2027-000123
    issued_on: date
    practice: Practice
    provider: Provider
    patient_name: str
    patient_date_of_birth: date
    patient_address: str
    diagnoses: tuple[Diagnosis, ...]
    lines: tuple[SuperbillLine, ...]
    paid_cents: int
    currency: str = "usd"
    replaces: str | None = None  # the number of the superbill this one replaces
    void_reason: str | None = None  # set once voided: the document then says VOID and why
    adjustment_cents: int = 0  # taken off the charges: refunds and package discounts (the patient owes none of it)

    def __post_init__(self):
        _check_diagnoses(self.diagnoses)
        for line in self.lines:
            _check_line(line, POINTER_LETTERS[:len(self.diagnoses)])
        if not (0 <= self.paid_cents and 0 <= self.adjustment_cents
                and self.paid_cents + self.adjustment_cents <= self.total_charged_cents):
            raise ValueError("paid and adjusted cents must lie between zero and the total charged")

    @property
    def lettered_diagnoses(self) -> list[tuple[str, Diagnosis]]:
        return list(zip(POINTER_LETTERS, self.diagnoses))

    @property
    def total_charged_cents(self) -> int:
        return sum(line.charge_cents for line in self.lines)

    @property
    def net_charged_cents(self) -> int:
        """What the visits cost the patient once refunds and discounts are taken off: what the superbill bills."""
        return self.total_charged_cents - self.adjustment_cents

    @property
    def balance_cents(self) -> int:
        return self.net_charged_cents - self.paid_cents

    @property
    def paid_in_full(self) -> bool:
        return self.balance_cents == 0

    @property
    def is_void(self) -> bool:
        return bool(self.void_reason)


def _check_diagnoses(diagnoses: Sequence[Diagnosis]) -> None:
    if not 1 <= len(diagnoses) <= len(POINTER_LETTERS):
        raise ValueError(f"a superbill carries 1 to {len(POINTER_LETTERS)} diagnoses")


def _check_line(line: SuperbillLine, letters: str) -> None:
    if not 1 <= len(line.diagnosis_pointers) <= MAX_POINTERS or set(line.diagnosis_pointers) - set(letters):
        raise ValueError(f"{line.code}: 1 to {MAX_POINTERS} pointers among {letters}")
    if len(line.modifiers) > MAX_MODIFIERS or line.units < 1 or line.charge_cents < 0:
        raise ValueError(f"{line.code}: at most {MAX_MODIFIERS} modifiers, at least one unit, no negative charge")


@dataclass(frozen=True)
class EstimateLine:
    description: str  # plain language: "IV ketamine infusion, about 50 minutes, with 2 hours of monitoring"
    code: str
    diagnosis_codes: tuple[str, ...]
    charge_cents: int  # expected, for all units
    expected_on: date | None = None
    quantity: int = 1


@dataclass(frozen=True)
class EstimateData:
    """A Good Faith Estimate (45 CFR 149.610) for a self-pay patient."""

    number: str
    issued_on: date
    patient_name: str
    patient_date_of_birth: date
    summary: str  # the primary service, in plain language
    practice: Practice
    provider: Provider
    location: str  # where the services are expected to be furnished, with its state
    lines: tuple[EstimateLine, ...]
    currency: str = "usd"
    separately_scheduled: tuple[str, ...] = ()  # expected care to be estimated separately (149.610(c)(6))

    def __post_init__(self):
        if not self.lines or any(line.quantity < 1 or line.charge_cents < 0 for line in self.lines):
            raise ValueError("an estimate needs lines with a quantity and no negative charge")

    @property
    def total_cents(self) -> int:
        return sum(line.charge_cents for line in self.lines)

    @property
    def first_date(self) -> date | None:
        return min((line.expected_on for line in self.lines if line.expected_on), default=None)


SUPERBILL_TEMPLATE = "superbill.html"
ESTIMATE_TEMPLATE = "estimate.html"


def superbill_html(superbill: SuperbillData) -> str:
    return pdf.html_for(SUPERBILL_TEMPLATE, superbill=superbill)


def superbill_pdf(superbill: SuperbillData) -> bytes:
    """The superbill as PDF bytes. Raises pdf.PdfUnavailable."""
    return pdf.html_to_pdf(superbill_html(superbill))


def superbill_pdfs(superbills: Sequence[SuperbillData]) -> list[bytes | pdf.PdfUnavailable]:
    """A batch (the month's superbills), spread over the cores; each PDF or the error it met, in order."""
    return pdf.html_to_pdfs([superbill_html(superbill) for superbill in superbills])


def estimate_html(estimate: EstimateData) -> str:
    return pdf.html_for(ESTIMATE_TEMPLATE, estimate=estimate)


def estimate_pdf(estimate: EstimateData) -> bytes:
    """The Good Faith Estimate as PDF bytes. Raises pdf.PdfUnavailable."""
    return pdf.html_to_pdf(estimate_html(estimate))
