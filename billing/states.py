"""The payment state machine: one table of allowed moves and one guard (like booking.states)."""
from __future__ import annotations

from billing.models import Payment, PaymentStatus as P

ALLOWED: dict[P, frozenset[P]] = {
    P.pending: frozenset({P.unknown, P.requires_action, P.succeeded, P.failed}),
    P.unknown: frozenset({P.requires_action, P.succeeded, P.failed}),
    P.requires_action: frozenset({P.unknown, P.succeeded, P.failed}),
    # Money that Stripe says moved always wins, even over an earlier failure (events arrive in any order).
    P.failed: frozenset({P.succeeded}),
    P.succeeded: frozenset(),
}
OPEN = frozenset({P.pending, P.unknown})  # the outcome at Stripe is not known yet

#: Stripe's PaymentIntent status -> ours; statuses left out (processing, requires_confirmation) change nothing.
FROM_STRIPE = {
    "succeeded": P.succeeded,
    "requires_action": P.requires_action,
    "requires_payment_method": P.failed,
    "canceled": P.failed,
}


def may_move(payment: Payment, target: P) -> bool:
    return target in ALLOWED[P(payment.status)]


def move(payment: Payment, target: P) -> bool:
    """Apply the move if the table allows it; a move it does not allow (a late or repeated event) is a no-op."""
    if not may_move(payment, target):
        return False
    payment.status = target.value
    return True
