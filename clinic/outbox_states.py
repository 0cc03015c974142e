"""The outbox message's state machine: one table of allowed moves and one guard (like booking.states). A message
waits (pending) until it is sent or, after its last attempt, given up (failed); then it stays."""
from __future__ import annotations

from clinic.models import OutboxMessage

PENDING, SENT, FAILED = "pending", "sent", "failed"
ALLOWED: dict[str, frozenset[str]] = {PENDING: frozenset({SENT, FAILED}), SENT: frozenset(), FAILED: frozenset()}


def move(message: OutboxMessage, target: str) -> bool:
    """Apply the move if the table allows it; a message already sent or given up is left as it is."""
    if target not in ALLOWED[message.status or PENDING]:
        return False
    message.status = target
    return True
