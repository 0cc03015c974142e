"""What the billing API takes and gives (clinic.shapes declarations; clinic.openapi documents them): payments,
refunds and packages (billing.api), superbills and Good Faith Estimates (billing.superbill_api) and the month's
superbill batches (billing.superbill_batch_api)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from billing import superbill_batches
from booking.api_shapes import Appointment  # billing answers with booking's serializer, so with its declaration
from clinic import jsonin, shapes
from clinic.errors import ValidationError

# --- readers the core lacks ------------------------------------------------------------------------------------------

_CARD_PREFIXES = ("pm_", "card_", "src_")


def read_payment_method(data: dict, field: str) -> str:
    """A card reference Stripe.js made; anything else (a card number typed in, say) is asked for again."""
    value = jsonin.text(data, field, label="card", max_len=255)
    if not value.startswith(_CARD_PREFIXES):
        message = "Please enter your card again."
        raise ValidationError(message, code="invalid", fields={field: message})
    return value


def read_patient_id_argument(data: dict, field: str) -> int | None:
    """A patient id given in the query string (text there): empty is none, anything but digits is refused."""
    value = data.get(field)
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        message = "The patient id must be a whole number."
        raise ValidationError(message, fields={field: message})
    return int(value)


def read_month(data: dict, field: str) -> str:
    """The batch's month, checked as the page and the command line check it."""
    return superbill_batches.checked_month(data.get(field))


# --- payments, refunds, packages -------------------------------------------------------------------------------------

class CardPayment(shapes.Shape):
    payment_method: Annotated[str, shapes.Reads(read_payment_method, {
        "type": "string", "maxLength": 255, "description": "pm_... made by Stripe.js confirmCardSetup"})]


class RefundRequest(shapes.Shape):
    amount_cents: Annotated[int, shapes.integer("amount (cents)", required=True, minimum=1, maximum=10**8)]
    reason: Annotated[str, shapes.text("reason", max_len=500, multiline=True)]


class SetupIntent(shapes.Answer):
    """created"""
    client_secret: str


class PaymentSummary(shapes.Answer):
    id: int
    status: Literal["pending", "unknown", "requires_action", "succeeded", "failed"]
    amount_cents: int


class RefundSummary(shapes.Answer):
    id: int
    amount_cents: int
    status: Literal["pending", "unknown", "succeeded", "failed"]
    created_at: datetime
    receipt_url: str | None = Field(description="once the refund has gone through")


class Payment(PaymentSummary):
    appointment_id: int | None = Field(description="the first appointment paid (none for a package)")
    appointment_ids: list[int]
    refunded_cents: int
    currency: str
    created_at: datetime
    receipt_url: str
    refunds: list[RefundSummary]


class NextAction(shapes.Answer):
    """What the browser must do before the payment can succeed (3-D Secure)."""
    type: Literal["use_stripe_sdk"]
    client_secret: str


class AppointmentPaid(shapes.Answer):
    """paid, or 3-D Secure needed (next_action)"""
    appointment: Appointment
    payment: PaymentSummary
    next_action: NextAction | None


class SeriesPaid(shapes.Answer):
    """paid, or 3-D Secure needed (next_action)"""
    appointments: list[Appointment]
    payment: PaymentSummary
    next_action: NextAction | None


class Payments(shapes.Answer):
    """payments"""
    payments: list[Payment]


class PaymentAnswer(shapes.Answer):
    """payment"""
    payment: Payment


class RefundOutcome(shapes.Answer):
    id: int
    amount_cents: int
    status: Literal["pending", "succeeded"]


class Refunded(shapes.Answer):
    """refunded"""
    refund: RefundOutcome
    payment: Payment


class CancellationPreview(shapes.Answer):
    """preview"""
    refund_cents: int
    currency: str
    policy: str


class Package(shapes.Answer):
    id: int
    patient_id: int
    service: str
    sessions: int = Field(description="credits bought")
    price_cents: int
    currency: str
    payment: PaymentSummary
    used: int
    returned: int
    taken_back: int = Field(description="credits a refund of the package took back")
    remaining: int = Field(description="sessions - taken_back - used + returned once paid; 0 - used + returned before")
    created_at: datetime


class PackageBought(shapes.Answer):
    """bought, or 3-D Secure needed (next_action)"""
    package: Package
    payment: PaymentSummary
    next_action: NextAction | None


class Packages(shapes.Answer):
    """packages"""
    packages: list[Package]
    credits_remaining: int = Field(None, description="a patient's credits left over all their packages (absent for "
                                                     "billing staff)")



# --- superbills and Good Faith Estimates -----------------------------------------------------------------------------

class PatientFilter(shapes.Shape):
    patient_id: Annotated[int | None, shapes.Reads(read_patient_id_argument, {
        "type": "integer", "minimum": 0, "maximum": 999_999_999,
        "description": "required for billing staff to narrow the list; a patient sees only their own"})] = None


class SuperbillRequest(shapes.Shape):
    patient_id: Annotated[int, shapes.integer("patient", required=True, minimum=1)]
    first: Annotated[date, shapes.day("first date")] = Field(alias="from")
    last: Annotated[date, shapes.day("last date")] = Field(alias="to")


class VoidRequest(shapes.Shape):
    reason: Annotated[str, shapes.text("reason", max_len=500, multiline=True)]
    reissue: Annotated[bool, shapes.boolean(default=True)] = True


class Superbill(shapes.Answer):
    id: int
    number: str = Field(json_schema_extra={"example": "SB-2027-000123"})
    patient_id: int
    status: Literal["issued", "void"]
    replaces: int | None
    first: date = Field(alias="from")
    last: date = Field(alias="to")
    total_charged_cents: int
    total_paid_cents: int
    currency: str
    total_adjustment_cents: int = Field(description="taken off the charges: refunds and package discounts")
    rendering_clinician: str = Field(description="the one rendering provider a superbill names")
    void_reason: str | None
    pdf_url: str


class SuperbillAnswer(shapes.Answer):
    """the superbill"""
    superbill: Superbill


class SuperbillsIssued(shapes.Answer):
    """issued: one superbill per rendering clinician (`superbill` is the first, `superbills` each)"""
    superbill: Superbill
    superbills: list[Superbill]


class Superbills(shapes.Answer):
    """superbills"""
    superbills: list[Superbill]


class SuperbillVoided(shapes.Answer):
    """voided"""
    superbill: Superbill
    replacement: Superbill | None


class Estimate(shapes.Answer):
    id: int
    number: str = Field(json_schema_extra={"example": "GFE-2027-000045"})
    patient_id: int
    created_at: datetime
    total_cents: int
    currency: str
    pdf_url: str


class Estimates(shapes.Answer):
    """estimates"""
    estimates: list[Estimate]


class EstimateOverrun(shapes.Answer):
    patient_id: int
    estimate_id: int = Field(description="the patient's latest estimate")
    estimate_cents: int
    billed_cents: int
    over_cents: int


class EstimateOverruns(shapes.Answer):
    """overruns"""
    overruns: list[EstimateOverrun]


# --- the month's superbill batches -----------------------------------------------------------------------------------

class BatchRequest(shapes.Shape):
    month: Annotated[str, shapes.Reads(read_month, {
        "type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "example": "2027-03"})]


class SuperbillBatch(shapes.Answer):
    id: int
    month: str = Field(json_schema_extra={"example": "2027-03"})
    status: Literal["running", "finished"]
    started_by: int | None = Field(description="the user who started it (none: the command line)")
    total: int
    issued: int
    failed: int
    skipped: int
    done: int
    percent: int
    started_at: datetime
    finished_at: datetime | None
    url: str
    page_url: str


class SuperbillBatchItem(shapes.Answer):
    patient_id: int
    patient_name: str
    status: Literal["pending", "running", "issued", "failed", "skipped"]
    reason: str | None = Field(description="why it failed or was skipped")
    superbill_id: int | None
    superbill_number: str | None


class SuperbillBatchProgress(SuperbillBatch):
    items: list[SuperbillBatchItem]


class SuperbillBatchAnswer(shapes.Answer):
    """the month's batch: started (201), or the one already running (200)"""
    batch: SuperbillBatch


class SuperbillBatches(shapes.Answer):
    """batches"""
    batches: list[SuperbillBatch]


class SuperbillBatchDetail(shapes.Answer):
    """the batch"""
    batch: SuperbillBatchProgress
