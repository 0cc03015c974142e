"""Who is acting on this request (a browser login or an API token) and the small permission decorators."""
from __future__ import annotations

from functools import wraps

from flask import g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from clinic import sessions
from clinic.database import utcnow
from clinic.errors import Forbidden, Unauthorized
from clinic.extensions import csrf, db
from clinic.models import ApiToken, Role, User
from clinic.tokens import token_hash


def acting_user() -> User | None:
    """The user behind this request: its API token's, else its browser login's, else None."""
    user = g.get("api_user")
    if user is not None:
        return user
    return current_user if current_user and current_user.is_authenticated else None


def bearer_user() -> User | None:
    """Resolve `Authorization: Bearer` for the API; a present but bad token is a 401, never anonymous."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Sign in again: the Authorization header must be 'Bearer <token>'.")
    row = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))  # every API call asks both: one read
                            .where(ApiToken.token_hash == token_hash(token.strip())))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        raise Unauthorized("Your sign-in has expired or is not valid. Please sign in again.")
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > sessions.TOUCH_EVERY_SECONDS:
        sessions.touch_later(ApiToken, row.id, last_used_at=now)
    return row.user


def authenticate_api_request() -> None:
    """Bind g.api_user; browser logins using the API from the pages' scripts must send the CSRF token."""
    g.api_user = bearer_user()
    if g.api_user is None and current_user.is_authenticated and request.method not in {"GET", "HEAD", "OPTIONS"}:
        csrf.protect()


def require_api_user(*roles: Role) -> User:
    user = acting_user()
    if user is None:
        raise Unauthorized("Please sign in first.")
    if roles and user.role not in {r.value for r in roles}:
        raise Forbidden("Your account cannot do this.")
    return user


def roles_required(*roles: Role):
    """Page decorator: sign-in first, then 403 for a role that may never use the page."""
    allowed = {r.value for r in roles}

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path))
            if allowed and current_user.role not in allowed:
                raise Forbidden("Your account cannot open this page.")
            return view(*args, **kwargs)
        return wrapped
    return decorator
