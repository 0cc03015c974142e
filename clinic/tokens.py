"""Random secrets handed to people (session, API, reset, feed tokens); only their hashes are stored."""
import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
