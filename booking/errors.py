"""Booking's refusals, each with the contract's code."""
from clinic.errors import Conflict, DomainError, Forbidden, ValidationError


class SlotTaken(Conflict):
    code = "slot_taken"

    def __init__(self, message: str = "Sorry, that time was just taken. Please choose another time.", **kwargs):
        super().__init__(message, fields={"start": "no longer available"}, **kwargs)


class StartRefused(ValidationError):
    """in_the_past, too_soon, too_far, outside_hours, off_grid."""


class ClearanceRequired(Forbidden):
    code = "clearance_required"


class TransitionRefused(DomainError):
    status, code = 409, "not_allowed_now"
