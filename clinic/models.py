"""Accounts, people, clinic settings, the audit log and the mail outbox."""
from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.database import UTCDateTime, utcnow
from clinic.extensions import db


class Role(str, enum.Enum):
    patient = "patient"
    clinician = "clinician"
    frontdesk = "frontdesk"
    billing = "billing"
    admin = "admin"


STAFF_ROLES = frozenset({Role.clinician, Role.frontdesk, Role.billing, Role.admin})
ROLE_VALUES = tuple(r.value for r in Role)


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLE_VALUES}", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient | None] = relationship(back_populates="user")
    clinician: Mapped[Clinician | None] = relationship(back_populates="user")

    # Flask-Login protocol
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_staff(self) -> bool:
        return self.role != Role.patient.value

    @property
    def patient_id(self) -> int | None:
        return self.patient.id if self.patient else None


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserSession(db.Model):
    """A login, kept server-side so that logging out or disabling a user ends it everywhere."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    second_factor_done: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class PasswordReset(db.Model):
    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class EmailChange(db.Model):
    """A requested new sign-in address, applied only when its single-use link (sent to it) is opened."""

    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    new_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class Patient(db.Model):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Not unique: a guest booking made with someone's address is a record of its own until the address's owner
    # confirms it (booking.claims), so a stranger's booking never lands on, or reveals, another patient's record.
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    date_of_birth: Mapped[date | None]
    address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User | None] = relationship(back_populates="patient")


class Clinician(db.Model):
    """Anyone who renders care: a clinician who runs consultations and treatments, or a psychotherapist."""

    __tablename__ = "clinicians"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    credentials: Mapped[str | None] = mapped_column(String(100))
    npi: Mapped[str | None] = mapped_column(String(10))
    license_number: Mapped[str | None] = mapped_column(String(50))
    license_state: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(default=True)
    calendar_feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    user: Mapped[User | None] = relationship(back_populates="clinician")


class ClinicSettings(db.Model):
    """The one row of clinic details and policies an administrator edits (id is always 1)."""

    __tablename__ = "clinic_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str] = mapped_column(String(200), default="")  # as registered with the IRS: superbills
    address: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    npi: Mapped[str] = mapped_column(String(10), default="")
    tax_id: Mapped[str] = mapped_column(String(20), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    slot_step_minutes: Mapped[int] = mapped_column(default=15)
    min_notice_minutes: Mapped[int] = mapped_column(default=120)
    horizon_days: Mapped[int] = mapped_column(default=90)
    hold_minutes: Mapped[int] = mapped_column(default=15)
    reminder_hours: Mapped[int] = mapped_column(default=24)
    fasting_hours: Mapped[int] = mapped_column(default=4)
    no_driving_hours: Mapped[int] = mapped_column(default=24)
    full_refund_hours: Mapped[int] = mapped_column(default=48)
    late_cancel_keep_percent: Mapped[int] = mapped_column(default=50)
    package_sessions: Mapped[int] = mapped_column(default=6)  # the prepaid induction package (billing)
    package_price_cents: Mapped[int] = mapped_column(default=250000)


class OpeningHours(db.Model):
    """When the clinic is open, local wall-clock time, per weekday (0 = Monday)."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int]
    opens: Mapped[time]
    closes: Mapped[time]


class AuditEvent(db.Model):
    """Append-only: who viewed or changed what, when (UTC) and from where. Never holds secrets."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(50))
    record_type: Mapped[str | None] = mapped_column(String(50))
    record_id: Mapped[int | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict | None] = mapped_column(JSON)


class OutboxMessage(db.Model):
    """An email written in the same transaction as the change it reports, sent after commit."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    # [{"filename", "content_type", "content"}], text only, or "writer" and "data" in place of "content": written
    # when sent (clinic.mail.ATTACHMENT_WRITERS)
    attachments: Mapped[list | None] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(50), default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
