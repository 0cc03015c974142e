"""The clinic app: factory, configuration and the pieces every domain package stands on."""
from __future__ import annotations

from pathlib import Path

from dotenv import load_dotenv
from flask import Flask
from sqlalchemy import event

from clinic import config
from clinic.extensions import csrf, db, limiter, login_manager, migrate, talisman

ROOT = Path(__file__).resolve().parent.parent

CSP = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "script-src": "'self'",
    "style-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def create_app(test_config: dict | None = None) -> Flask:
    """Configure and wire the app. It runs no migrations and makes no network calls."""
    load_dotenv(ROOT / ".env")
    app = Flask(__name__, instance_path=str(ROOT / "instance"), template_folder=str(ROOT / "templates"))
    app.config.from_mapping(config.load(Path(app.instance_path)))
    if test_config:
        app.config.update(test_config)
    _init_extensions(app)
    _register_blueprints(app)
    from clinic import cli, errors_http
    errors_http.register(app)
    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    production = app.config["CLINIC_ENV"] == "production"
    talisman.init_app(
        app, content_security_policy=CSP, force_https=production, session_cookie_secure=production,
        strict_transport_security=production, frame_options="DENY", referrer_policy="same-origin",
    )
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_write_transactions(db.engine)


def _sqlite_write_transactions(engine) -> None:
    """SQLite: every transaction takes the write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads, then writes, fails with SQLITE_BUSY when another writer got
    in between; taking the lock first makes racing bookings queue (busy_timeout) and re-check.
    pysqlite's own transaction handling is switched off so that this BEGIN is the one that runs.
    """
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _register_blueprints(app: Flask) -> None:
    from booking import api as booking_api, clinical_api, demo as booking_demo  # noqa: F401  (API routes; seed-demo)
    from booking.clinical_views import bp as clinical_bp
    from booking.views import bp as booking_bp
    from billing.views import bp as billing_bp
    from clinic.admin import bp as admin_bp
    from clinic.api import bp as api_bp
    from clinic.auth import bp as auth_bp

    for blueprint in (auth_bp, admin_bp, api_bp, booking_bp, clinical_bp, billing_bp):
        app.register_blueprint(blueprint)
    from booking.treatment_views import bp as treatments_bp
    app.register_blueprint(treatments_bp)
