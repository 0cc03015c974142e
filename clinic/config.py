"""Settings from the environment (and a `.env` file), per api.md's settings table."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    """The app was asked to start with settings it must refuse."""


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() not in {"0", "false", "no", "off", ""}


def _secret_key(instance_path: Path, production: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if production:
        raise ConfigError("SECRET_KEY must be set in production.")
    # Development only: generated once so sessions survive restarts, never committed (instance/ is ignored).
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url(instance_path: Path, production: bool) -> str:
    url = os.environ.get("DATABASE_URL")
    if production and (not url or url.startswith("sqlite://") and url.rstrip("/") in {"sqlite:", "sqlite:///:memory:"}):
        raise ConfigError("DATABASE_URL must name a real database in production.")
    if url:
        # Heroku-style URLs say postgres://, which SQLAlchemy 2 no longer accepts.
        return url.replace("postgres://", "postgresql://", 1)
    instance_path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance_path / 'clinic.db'}"


def load(instance_path: Path) -> dict:
    """Build the Flask config mapping from the environment."""
    env = os.environ.get("CLINIC_ENV", "development")
    production = env == "production"
    return {
        "CLINIC_ENV": env,
        "SECRET_KEY": _secret_key(instance_path, production),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path, production),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "STAFF_IDLE_TIMEOUT": timedelta(minutes=30),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=12),
        "API_TOKEN_LIFETIME": timedelta(hours=12),
        "PASSWORD_RESET_LIFETIME": timedelta(hours=1),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the (server-side, expiring) session
        "RATELIMIT_ENABLED": _flag("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "clinic"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", "sk_test_localstripe"),
        "STRIPE_PUBLISHABLE_KEY": os.environ.get("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe"),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe"),
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE"),
        "SMTP_HOST": os.environ.get("SMTP_HOST"),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Clinic <no-reply@clinic.invalid>"),
        "WKHTMLTOPDF": os.environ.get("WKHTMLTOPDF"),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # Development only: where the local mail sink keeps what it received (`/dev/mail` reads it).
        "DEV_MAIL_DIR": os.environ.get("DEV_MAIL_DIR", str(instance_path / "dev-mail")),
    }
