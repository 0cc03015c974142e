"""The month's superbill batch as stored work: one row per batch, one per patient to bill.

Kept apart from billing/models.py so the batch machinery can change without touching the superbill records.
Workers claim items like the outbox's sender claims mail (billing/superbill_batches.py)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.database import UTCDateTime, utcnow
from clinic.extensions import db


class BatchStatus(str, enum.Enum):
    running = "running"
    finished = "finished"


class ItemStatus(str, enum.Enum):
    pending = "pending"
    running = "running"
    issued = "issued"
    failed = "failed"
    skipped = "skipped"


DONE = (ItemStatus.issued.value, ItemStatus.failed.value, ItemStatus.skipped.value)


class SuperbillBatch(db.Model):
    """`Issue the month's superbills`, as started by billing staff (or the command line, who is then None).
    The counts move as items finish; at most one batch per month runs at a time (a partial unique index)."""

    __tablename__ = "superbill_batches"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'finished')", name="status_known"),
        CheckConstraint("issued + failed + skipped <= total", name="counts_add_up"),
        Index("ix_superbill_batches_one_running_per_month", "month", unique=True,
              sqlite_where=text("status = 'running'"), postgresql_where=text("status = 'running'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, in the clinic's zone
    first_day: Mapped[date]
    last_day: Mapped[date]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10), default=BatchStatus.running.value)
    total: Mapped[int] = mapped_column(default=0)
    issued: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list[SuperbillBatchItem]] = relationship(back_populates="batch",
                                                           order_by="SuperbillBatchItem.id")


class SuperbillBatchItem(db.Model):
    """One patient of a batch. A worker claims it for a lease (`claimed_until`); a worker that dies leaves it to be
    claimed again once the lease is over."""

    __tablename__ = "superbill_batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "patient_id", name="one_item_per_patient"),
        CheckConstraint("status IN ('pending', 'running', 'issued', 'failed', 'skipped')", name="status_known"),
        CheckConstraint("status <> 'issued' OR superbill_id IS NOT NULL", name="issued_has_superbill"),
        Index("ix_superbill_batch_items_claimable", "status", "claimed_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("superbill_batches.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    status: Mapped[str] = mapped_column(String(10), default=ItemStatus.pending.value)
    reason: Mapped[str | None] = mapped_column(Text)
    superbill_id: Mapped[int | None] = mapped_column(ForeignKey("superbills.id"))
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    batch: Mapped[SuperbillBatch] = relationship(back_populates="items")
