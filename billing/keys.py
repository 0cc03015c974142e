"""Our own idempotency keys for Stripe (the library's default key is random, and it retries)."""
from __future__ import annotations

from sqlalchemy import func, select

from billing.models import Payment
from clinic.extensions import db


def next_key(prefix: str) -> str:
    """`pay-appointment-7-attempt-3`: deterministic, so a retried call reaches Stripe with the same key."""
    attempts = db.session.scalar(select(func.count()).select_from(Payment).where(
        Payment.idempotency_key.startswith(prefix, autoescape=True)))
    return f"{prefix}{attempts + 1}"
