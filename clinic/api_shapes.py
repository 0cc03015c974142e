"""What the core API takes and gives (clinic.shapes declarations; clinic.openapi documents them)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from clinic import shapes


class TokenRequest(shapes.Shape):
    email: Annotated[str, shapes.text("email address", max_len=254)]
    password: Annotated[str, shapes.text(max_len=200)]


class User(shapes.Answer):
    id: int
    email: str
    role: Literal["patient", "clinician", "frontdesk", "billing", "admin"]
    patient_id: int | None


class Token(shapes.Answer):
    """token"""
    token: str
    expires_at: datetime
    user: User


class Patient(shapes.Answer):
    id: int
    name: str
    email: str
    phone: str | None
    date_of_birth: date | None
    address: str | None


class PatientAnswer(shapes.Answer):
    """patient"""
    patient: Patient


class EmailChange(shapes.Answer):
    """Present when a new email address awaits confirmation"""
    status: Literal["confirmation_sent"]
    email: str
    message: str


class PatientChanged(shapes.Answer):
    """patient (a new email address of a patient who signs in changes only once confirmed from the link sent to it)"""
    patient: Patient
    email_change: EmailChange | None = None


class PatientChanges(shapes.Shape):
    """Only the fields sent change; the name and email may not be emptied."""
    name: Annotated[str | None, shapes.person_name()] = None
    email: Annotated[str | None, shapes.email()] = None
    phone: Annotated[str | None, shapes.phone(required=False)] = None
    date_of_birth: Annotated[date | None, shapes.birth_date()] = None
    address: Annotated[str | None, shapes.text(required=False, max_len=500, multiline=True)] = None
