"""The cancellation refund policy, pure: what cancelling a paid appointment now gives back."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CancellationRefund:
    refund_cents: int
    policy: str


def cancellation_refund(paid_cents: int, starts_at: datetime, now: datetime, *, full_refund_hours: int,
                        late_keep_percent: int) -> CancellationRefund:
    """Full refund at least `full_refund_hours` ahead; later, the clinic keeps `late_keep_percent`
    (rounded in the patient's favour); once the time has come, nothing."""
    hours = (starts_at - now).total_seconds() / 3600
    full = (f"Cancelling at least {full_refund_hours} hours before your appointment refunds what you paid in full.")
    if paid_cents <= 0:
        return CancellationRefund(0, "Nothing has been paid for this appointment, so there is nothing to refund.")
    if hours >= full_refund_hours:
        return CancellationRefund(paid_cents, full)
    if hours <= 0:
        return CancellationRefund(0, "Your appointment time has passed, so nothing is refunded.")
    kept = paid_cents * late_keep_percent // 100
    return CancellationRefund(
        paid_cents - kept, f"{full} You are cancelling less than {full_refund_hours} hours before, so the clinic "
        f"keeps {late_keep_percent}% of the fee and refunds the rest.")
