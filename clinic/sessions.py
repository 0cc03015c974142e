"""Server-side login sessions: the cookie only names a row, so ending the row ends the login everywhere."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, request, session
from sqlalchemy import select, update

from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import User, UserSession
from clinic.tokens import new_token, token_hash

_TOUCH_EVERY_SECONDS = 60


def start(user: User, *, second_factor_done: bool) -> UserSession:
    """Open a login for `user` and bind it to this browser's (new) cookie."""
    token = new_token()
    row = UserSession(token_hash=token_hash(token), user_id=user.id, second_factor_done=second_factor_done,
                      ip=request.remote_addr)
    db.session.add(row)
    session.clear()  # a fresh session on login: no fixation
    session["sid"] = token
    session.permanent = True
    user.last_login_at = utcnow()
    return row


def current() -> UserSession | None:
    """The live login this request's cookie names, or None (and the cookie is cleared) if it has ended."""
    token = session.get("sid")
    if not token:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    now = utcnow()
    if row is None or not _alive(row, now):
        session.clear()
        return None
    if (now - row.last_seen_at).total_seconds() > _TOUCH_EVERY_SECONDS:
        row.last_seen_at = now
    return row


def _alive(row: UserSession, now: datetime) -> bool:
    config = current_app.config
    if row.ended_at is not None or not row.user.active:
        return False
    if now - row.created_at > config["SESSION_ABSOLUTE_TIMEOUT"]:
        return False
    return not (row.user.is_staff and now - row.last_seen_at > config["STAFF_IDLE_TIMEOUT"])


def end_current() -> None:
    row = current()
    if row is not None:
        row.ended_at = utcnow()
    session.clear()


def end_all(user: User) -> None:
    """End every login of `user` (password changed, account disabled)."""
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))
