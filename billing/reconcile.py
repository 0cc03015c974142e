"""Comparing the ledger with Stripe's own lists, pure: every difference as a sentence.

Each side's rows in the date range are looked up among all of the other side's, so an entry written a
moment after midnight for a charge made a moment before is not a difference."""
from __future__ import annotations

from dataclasses import dataclass

from billing.notifications import dollars


@dataclass(frozen=True)
class Row:
    kind: str  # charge or refund
    stripe_id: str
    amount_cents: int
    in_range: bool


def differences(ledger: list[Row], stripe: list[Row]) -> list[str]:
    ours = {(r.kind, r.stripe_id): r for r in ledger}
    theirs = {(r.kind, r.stripe_id): r for r in stripe}
    found = []
    for key, row in sorted(theirs.items()):
        mine = ours.get(key)
        if row.in_range and mine is None:
            found.append(f"Stripe {row.kind} {row.stripe_id} of {dollars(row.amount_cents)} is not in the ledger.")
        elif row.in_range and mine.amount_cents != row.amount_cents:
            found.append(f"{row.kind.capitalize()} {row.stripe_id}: {dollars(row.amount_cents)} at Stripe, "
                         f"{dollars(mine.amount_cents)} in the ledger.")
    for key, row in sorted(ours.items()):
        if row.in_range and key not in theirs:
            found.append(f"Ledger {row.kind} {row.stripe_id} of {dollars(row.amount_cents)} is not at Stripe.")
    return found
