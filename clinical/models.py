"""The clinical records around treatments: intake answers, clinicians' clearance decisions, outcome scores and
flags staff must see. Table names are unchanged from when these lived in booking.models."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.database import UTCDateTime, utcnow
from clinic.extensions import db
from clinic.models import Patient
from clinical.pcl5 import PCL5_MAX


class ClearanceStatus(str, enum.Enum):
    current = "current"  # the decision in force (a clearance or a refusal)
    withdrawn = "withdrawn"  # a clinician withdrew it
    superseded = "superseded"  # a later decision replaced it


class Intake(db.Model):
    __tablename__ = "intakes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answers: Mapped[dict] = mapped_column(JSON)
    crisis_flag: Mapped[bool] = mapped_column(default=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[Patient] = relationship()


class Clearance(db.Model):
    """A clinician's decision; the history is kept, a clearance is withdrawn rather than deleted."""

    __tablename__ = "clearances"
    __table_args__ = (
        CheckConstraint("cleared OR reason IS NOT NULL", name="refusal_has_reason"),
        CheckConstraint("status IN ('current', 'withdrawn', 'superseded')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinicians.id"))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cleared: Mapped[bool]
    protocols: Mapped[list] = mapped_column(JSON, default=list)
    diagnosis_codes: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    rems_enrollment_date: Mapped[date | None]
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ClearanceStatus.current.value)

    patient: Mapped[Patient] = relationship()


class OutcomeScore(db.Model):
    """A PCL-5 (its items and scale in clinical.pcl5) filled in before a treatment."""

    __tablename__ = "outcome_scores"
    __table_args__ = (CheckConstraint(f"score BETWEEN 0 AND {PCL5_MAX}", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    instrument: Mapped[str] = mapped_column(String(20), default="pcl5")
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answers: Mapped[list] = mapped_column(JSON)
    score: Mapped[int]


class PatientFlag(db.Model):
    """Something staff must see today (an intake answer signalling suicidal thoughts)."""

    __tablename__ = "patient_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
