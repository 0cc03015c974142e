"""Server-side login sessions: the cookie only names a row, so ending the row ends the login everywhere."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, g, request, session
from sqlalchemy import select, update

from clinic.database import utcnow
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.models import ApiToken, EmailChange, User, UserSession
from clinic.tokens import new_token, token_hash

TOUCH_EVERY_SECONDS = 60


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
    if (now - row.last_seen_at).total_seconds() > TOUCH_EVERY_SECONDS:
        touch_later(UserSession, row.id, last_seen_at=now)
    return row


def touch_later(model, row_id: int, **values) -> None:
    """Note that a login or token was used; saved after the response (`save_touches`), even on a read-only page."""
    g.setdefault("_touches", {})[model, row_id] = values


def save_touches(response):
    """After a request: a view commits what it means to keep, so anything left uncommitted is dropped first."""
    touches = g.pop("_touches", None)
    if touches and response.status_code < 500:
        db.session.rollback()
        for (model, row_id), values in touches.items():
            db.session.execute(update(model).where(model.id == row_id).values(**values))
        db.session.commit()
    return response


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
    """End every login and revoke every API token of `user` (password changed or reset, account disabled), and
    void the email changes still waiting for confirmation (one asked from a stolen login would take the account).

    For good: re-enabling the account or finding the old password again does not revive them."""
    now = utcnow()
    db.session.execute(update(EmailChange).where(EmailChange.user_id == user.id, EmailChange.used_at.is_(None))
                       .values(used_at=now))
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                       .values(ended_at=now))
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))


def active_logins(user: User) -> list[UserSession]:
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
                              .order_by(UserSession.created_at.desc()))
    now = utcnow()
    return [row for row in rows if _alive(row, now)]


def active_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
        .order_by(ApiToken.created_at.desc())))


def end_login(user: User, session_id: int) -> None:
    """End one of `user`'s own logins (another person's is not found)."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound("We could not find that sign-in.")
    row.ended_at = row.ended_at or utcnow()


def revoke_token(user: User, token_id: int) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("We could not find that token.")
    row.revoked_at = row.revoked_at or utcnow()
