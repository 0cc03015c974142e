"""Password hashing (Argon2id) and strength (zxcvbn)."""
from __future__ import annotations

from argon2 import PasswordHasher
from flask import current_app, has_app_context
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Tests only (config PASSWORD_HASH_FAST): Argon2id with tiny costs, so seeding demo users is not the
# slowest part of every test. Verification reads the costs from each hash, so both kinds check alike.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# A real hash of a random password, checked when the email is unknown so that both answers take as long.
_DUMMY_HASH = _hasher.hash("not-a-real-password-6c1f0e")

MIN_LENGTH = 10


def hash_password(password: str) -> str:
    fast = has_app_context() and current_app.config.get("PASSWORD_HASH_FAST")
    return (_fast_hasher if fast else _hasher).hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def weakness(password: str, user_inputs: list[str] = ()) -> str | None:
    """Why a password is too weak, in plain words, or None if it is strong enough."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > 200:
        return "Use at most 200 characters."
    result = zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u])
    if result["score"] < 3:
        hint = result["feedback"].get("warning") or "It would be easy to guess."
        return f"This password is too easy to guess. {hint}".strip()
    return None
