"""The append-only audit log of logins and of every view, change or export of clinical and billing records."""
from __future__ import annotations

from flask import has_request_context, request

from clinic.auth_context import acting_user
from clinic.extensions import db
from clinic.models import AuditEvent, User


def record(action: str, record_type: str | None = None, record_id: int | None = None, *,
           user: User | None = None, detail: dict | None = None) -> None:
    """Add an audit event to the current transaction. `detail` must never hold secrets."""
    actor = user if user is not None else acting_user()
    db.session.add(AuditEvent(
        user_id=actor.id if actor is not None else None, action=action, record_type=record_type,
        record_id=record_id, ip=request.remote_addr if has_request_context() else None, detail=detail,
    ))

