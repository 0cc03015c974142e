"""What the clinical path needs from scheduling, plugged in by booking when its blueprint is registered.

The dependency runs clinic <- clinical <- booking: clinical never imports booking. Where a clinical rule needs a
scheduling answer (which protocols exist, which treatments are booked, who is on duty), booking provides the
function here; until it does, the clinical path works on its own (no protocols, no treatments, nobody on duty).
"""
from __future__ import annotations

from typing import Callable

_provided: dict[str, Callable] = {}


def provide(**functions: Callable) -> None:
    _provided.update(functions)


def protocols() -> list[tuple[str, str]]:
    """The active protocols a clearance may name, as (code, name)."""
    return _provided.get("protocols", list)()


def protocol_codes() -> list[str]:
    return [code for code, _name in protocols()]


def upcoming_treatments(patient, now=None) -> list:
    """The patient's treatments still to come (staff review them when a clearance is withdrawn)."""
    found = _provided.get("upcoming_treatments")
    return found(patient, now) if found else []


def clinicians_on_duty(now) -> list:
    """Active clinicians working at `now`."""
    found = _provided.get("clinicians_on_duty")
    return found(now) if found else []


def patients_appointment(patient, appointment_id: int):
    """The patient's own appointment with this id (a score is tied to the treatment it came before), else None."""
    found = _provided.get("patients_appointment")
    return found(patient, appointment_id) if found else None
