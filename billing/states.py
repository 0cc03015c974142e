"""Billing's state machines: payments, refunds and superbills, each one table of allowed moves and one guard (like
booking.states). Nothing else writes a status; the questions "which statuses count as paid / unsettled / counting"
are answered here once."""
from __future__ import annotations

from billing.models import (
    Payment, PaymentStatus as P, Refund, RefundStatus as R, Superbill, SuperbillStatus as SB,
)

PAYMENT_MOVES: dict[P, frozenset[P]] = {
    P.pending: frozenset({P.unknown, P.requires_action, P.succeeded, P.failed}),
    P.unknown: frozenset({P.requires_action, P.succeeded, P.failed}),
    P.requires_action: frozenset({P.unknown, P.succeeded, P.failed}),
    # Money that Stripe says moved always wins, even over an earlier failure (events arrive in any order).
    P.failed: frozenset({P.succeeded}),
    P.succeeded: frozenset(),
}
ALLOWED = PAYMENT_MOVES  # the payment table's older name
REFUND_MOVES: dict[R, frozenset[R]] = {
    R.pending: frozenset({R.unknown, R.succeeded, R.failed}),
    R.unknown: frozenset({R.succeeded, R.failed}),  # settled by `flask stripe sync`, never sent again
    R.succeeded: frozenset(),
    R.failed: frozenset(),
}
SUPERBILL_MOVES: dict[SB, frozenset[SB]] = {SB.issued: frozenset({SB.void}), SB.void: frozenset()}

OPEN = frozenset({P.pending, P.unknown})  # the outcome at Stripe is not known yet
_UNSETTLED = OPEN | {P.requires_action}
_PAID = frozenset({P.succeeded})
_UNSETTLED_REFUNDS = frozenset({R.pending, R.unknown})
_COUNTING_REFUNDS = frozenset({R.pending, R.unknown, R.succeeded})

#: Stripe's PaymentIntent status -> ours; statuses left out (processing, requires_confirmation) change nothing.
FROM_STRIPE = {
    "succeeded": P.succeeded,
    "requires_action": P.requires_action,
    "requires_payment_method": P.failed,
    "canceled": P.failed,
}


# --- which statuses count ---------------------------------------------------------------------------------------

def paid_statuses() -> list[str]:
    """A payment that took the money (what confirms, what a receipt, a refund and a package credit need)."""
    return sorted(s.value for s in _PAID)


def is_paid(payment: Payment) -> bool:
    return payment.status in paid_statuses()


def unsettled_statuses() -> list[str]:
    """A payment whose outcome we still have to learn from Stripe (pending, unknown, or 3-D Secure under way)."""
    return sorted(s.value for s in _UNSETTLED)


def is_unsettled(payment: Payment) -> bool:
    return payment.status in unsettled_statuses()


def unsettled_refund_statuses() -> list[str]:
    return sorted(s.value for s in _UNSETTLED_REFUNDS)


def counting_refund_statuses() -> list[str]:
    """Refunds that count against what remains: made, or whose outcome is not known yet (never refund twice)."""
    return sorted(s.value for s in _COUNTING_REFUNDS)


def refund_counts(refund: Refund) -> bool:
    return refund.status in counting_refund_statuses()


# --- the guards -----------------------------------------------------------------------------------------------------

def may_move(payment: Payment, target: P) -> bool:
    return target in PAYMENT_MOVES[P(payment.status)]


def move(payment: Payment, target: P) -> bool:
    """Apply the move if the table allows it; a move it does not allow (a late or repeated event) is a no-op."""
    if not may_move(payment, target):
        return False
    payment.status = target.value
    return True


def move_refund(refund: Refund, target: R) -> bool:
    """The same for a refund: an answer that arrives after the refund was settled changes nothing."""
    if target not in REFUND_MOVES[R(refund.status)]:
        return False
    refund.status = target.value
    return True


def void_superbill(superbill: Superbill) -> bool:
    """An issued superbill becomes void (its snapshot stays); voiding a void one is a no-op."""
    if SB.void not in SUPERBILL_MOVES[SB(superbill.status)]:
        return False
    superbill.status = SB.void.value
    return True
