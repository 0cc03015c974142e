"""The clearance decision's state machine: one table of allowed moves and one guard (like booking.states). A
decision is in force (current) until a clinician withdraws it or a later decision supersedes it; then it stays."""
from __future__ import annotations

from clinic.errors import Conflict
from clinical.models import Clearance, ClearanceStatus as C

ALLOWED: dict[C, frozenset[C]] = {
    C.current: frozenset({C.withdrawn, C.superseded}),
    C.withdrawn: frozenset(),
    C.superseded: frozenset(),
}


def move(clearance: Clearance, target: C) -> None:
    """Change status if the table allows it, else refuse (a decision no longer in force cannot end again)."""
    if target not in ALLOWED[C(clearance.status)]:
        raise Conflict("This clearance decision is no longer in force.", code="not_allowed_now")
    clearance.status = target.value
