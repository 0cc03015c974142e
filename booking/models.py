"""Services, resources (clinicians' hours, chairs, closures), appointments and their reservations,
and treatment protocols. The clinical records (intake, clearance, scores, flags) live in clinical.models."""
from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    JSON, BigInteger, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.database import UTCDateTime, utcnow
from clinic.extensions import db
from clinic.models import Clinician, Patient


class ServiceKind(str, enum.Enum):
    consultation = "consultation"
    treatment = "treatment"
    psychotherapy = "psychotherapy"


class Route(str, enum.Enum):
    iv = "iv"
    im = "im"
    intranasal = "intranasal"
    sublingual = "sublingual"


service_clinicians = Table(
    "service_clinicians",
    db.metadata,
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    Column("clinician_id", ForeignKey("clinicians.id", ondelete="CASCADE"), primary_key=True),
)


class Service(db.Model):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("kind IN ('consultation', 'treatment', 'psychotherapy')", name="kind_known"),
        CheckConstraint("duration_minutes > 0 AND monitoring_minutes >= 0", name="lengths_positive"),
        CheckConstraint("clinician_minutes > 0", name="clinician_minutes_positive"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        # Spravato REMS: at least two hours of monitoring after every intranasal dose, never less.
        CheckConstraint("route IS NULL OR route <> 'intranasal' OR monitoring_minutes >= 120", name="rems_monitoring"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    route: Mapped[str | None] = mapped_column(String(20))
    duration_minutes: Mapped[int]
    monitoring_minutes: Mapped[int] = mapped_column(default=0)
    clinician_minutes: Mapped[int]
    clinician_on_duty_whole_window: Mapped[bool] = mapped_column(default=False)
    needs_chair: Mapped[bool] = mapped_column(default=False)
    price_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    requires_driver: Mapped[bool] = mapped_column(default=False)
    requires_clearance: Mapped[bool] = mapped_column(default=False)
    modes: Mapped[list | None] = mapped_column(JSON)  # consultation: ["phone", "video", "in_person"]
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    clinicians: Mapped[list[Clinician]] = relationship(secondary=service_clinicians, order_by="Clinician.id")

    @property
    def window_minutes(self) -> int:
        return self.duration_minutes + self.monitoring_minutes


class ClinicianHours(db.Model):
    """A clinician's own working hours; a clinician without any works the clinic's hours."""

    __tablename__ = "clinician_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("starts < ends", name="starts_before_ends"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    starts: Mapped[time]
    ends: Mapped[time]


class Chair(db.Model):
    __tablename__ = "chairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


class Closure(db.Model):
    """Days off: the whole clinic (no clinician) or one clinician's day off; both dates inclusive."""

    __tablename__ = "closures"
    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinicians.id", ondelete="CASCADE"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(200), default="")
    clinician: Mapped[Clinician | None] = relationship()


class AppointmentStatus(str, enum.Enum):
    pending_payment = "pending_payment"
    confirmed = "confirmed"
    completed = "completed"
    cancelled = "cancelled"
    no_show = "no_show"


STATUS_VALUES = tuple(s.value for s in AppointmentStatus)
#: The partial index of holds covers the appointments where this holds, and expire_holds asks with it: the value
#: written in (not bound), so either database's planner sees the index's own condition, prepared statement or not.
HOLDS = text(f"status = '{AppointmentStatus.pending_payment.value}'")


class Series(db.Model):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    protocol_code: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUS_VALUES}", name="status_known"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        CheckConstraint("amount_due_cents >= 0", name="amount_not_negative"),
        CheckConstraint("status <> 'pending_payment' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"),
        Index("ix_appointments_starts_at", "starts_at"),
        Index("ix_appointments_patient_starts", "patient_id", "starts_at"),
        # Every booking tidies the holds that ran out: only holds are in this index, however long the history.
        Index("ix_appointments_holds", "hold_expires_at", postgresql_where=HOLDS, sqlite_where=HOLDS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("clinicians.id"))
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    protocol_code: Mapped[str | None] = mapped_column(String(50))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mode: Mapped[str | None] = mapped_column(String(20))  # consultation: phone, video, in_person
    notes: Mapped[str | None] = mapped_column(Text)
    amount_due_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    manage_nonce: Mapped[str] = mapped_column(String(32))
    sequence: Mapped[int] = mapped_column(default=0)  # iCalendar SEQUENCE: bumped on every change
    driver_name: Mapped[str | None] = mapped_column(String(200))
    driver_phone: Mapped[str | None] = mapped_column(String(40))
    driver_relationship: Mapped[str | None] = mapped_column(String(100))
    spacing_override_reason: Mapped[str | None] = mapped_column(Text)
    spacing_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dose_mg: Mapped[int | None]
    completion_notes: Mapped[str | None] = mapped_column(Text)
    released_to_driver: Mapped[bool | None]
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    service: Mapped[Service] = relationship()
    patient: Mapped[Patient] = relationship()
    clinician: Mapped[Clinician] = relationship()
    chair: Mapped[Chair | None] = relationship()
    reservations: Mapped[list[Reservation]] = relationship(back_populates="appointment", cascade="all, delete-orphan")


class Reservation(db.Model):
    """One resource (a clinician or a chair) held by one appointment for a half-open time range.

    The database refuses two active reservations of the same resource that overlap: an exclusion
    constraint on PostgreSQL (btree_gist), a trigger on SQLite (added by the migration). A
    cancelled appointment's reservations are simply set inactive.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("(clinician_id IS NULL) <> (chair_id IS NULL)", name="one_resource"),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        Index("ix_reservations_clinician_time", "clinician_id", "starts_at"),
        Index("ix_reservations_chair_time", "chair_id", "starts_at"),
        ExcludeConstraint(
            ("clinician_id", "="), (text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
            where=text("active AND clinician_id IS NOT NULL"), using="gist", name="no_clinician_overlap",
        ).ddl_if(dialect="postgresql"),
        ExcludeConstraint(
            ("chair_id", "="), (text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
            where=text("active AND chair_id IS NOT NULL"), using="gist", name="no_chair_overlap",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("clinicians.id"))
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(default=True)

    appointment: Mapped[Appointment] = relationship(back_populates="reservations")


class CalendarVersion(db.Model):
    """One row whose number grows with every committed change to what availability is computed from
    (booking.calendar_version): gunicorn's worker processes each cache free time keyed by it."""

    __tablename__ = "calendar_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class Protocol(db.Model):
    """A treatment protocol; its spacing rules are data an administrator edits (see booking.protocols)."""

    __tablename__ = "protocols"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    rules: Mapped[dict] = mapped_column(JSON)
    needs_rems: Mapped[bool] = mapped_column(default=False)  # Spravato REMS: an enrollment date on file first
    active: Mapped[bool] = mapped_column(default=True)

    service: Mapped[Service] = relationship()
