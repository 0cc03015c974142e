"""The appointment state machine: one table of allowed moves and one guard."""
from __future__ import annotations

from booking.errors import TransitionRefused
from booking.models import Appointment, AppointmentStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.pending_payment: frozenset({S.confirmed, S.cancelled}),
    S.confirmed: frozenset({S.completed, S.cancelled, S.no_show}),
    S.completed: frozenset(),
    # Only a hold whose time ran out comes back ("revive"): its payment went through late and its place was free.
    S.cancelled: frozenset({S.confirmed}),
    S.no_show: frozenset(),
}
MOVABLE = frozenset({S.pending_payment, S.confirmed})  # may be rescheduled
ACTIVE = MOVABLE | {S.completed}  # counts against protocol spacing and holds a place

_WHY = {
    S.cancelled: "This appointment was cancelled.",
    S.completed: "This appointment has already taken place.",
    S.no_show: "This appointment was marked as missed.",
    S.pending_payment: "This appointment is waiting for payment.",
    S.confirmed: "This appointment is already confirmed.",
}


def live(*, completed: bool = False) -> list[str]:
    """The one answer to "which statuses are live": those holding a place (pending payment, confirmed), and with
    completed=True also the visits that took place (what counts against protocol spacing)."""
    return sorted(s.value for s in (ACTIVE if completed else MOVABLE))


def hold_ran_out(appointment: Appointment) -> bool:
    """A treatment hold cancelled because its time ran out (expire_holds records the hold's end as cancelled_at),
    not cancelled by anyone: the only cancelled appointment a late payment may bring back."""
    return (appointment.status == S.cancelled.value and appointment.hold_expires_at is not None
            and appointment.cancelled_at == appointment.hold_expires_at)


#: Moves the table allows only when a condition holds, with the condition.
_CONDITIONS = {(S.cancelled, S.confirmed): hold_ran_out}


def may_move(appointment: Appointment, target: S) -> bool:
    current = S(appointment.status)
    condition = _CONDITIONS.get((current, target))
    return target in ALLOWED[current] and (condition is None or condition(appointment))


def move(appointment: Appointment, target: S) -> None:
    """Change status if the table (and the move's condition) allows it, else refuse with a sentence that says why."""
    if not may_move(appointment, target):
        current = S(appointment.status)
        raise TransitionRefused(_WHY[current] + f" It cannot be marked {target.value.replace('_', ' ')}.")
    appointment.status = target.value


def require_movable(appointment: Appointment) -> None:
    current = S(appointment.status)
    if current not in MOVABLE:
        raise TransitionRefused(_WHY[current] + " It cannot be moved.")
