"""The clinic app: factory, configuration and the pieces every domain package stands on."""
from __future__ import annotations

from datetime import datetime
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
    from clinic import inbound
    inbound.register(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_filters(app)
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
        elif db.engine.dialect.name == "postgresql":
            _postgresql_keeps_prepared_statements(app)


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


def _postgresql_keeps_prepared_statements(app: Flask) -> None:
    """PostgreSQL: a request whose transaction wrote nothing ends it with COMMIT instead of ROLLBACK.

    For a transaction without writes the two are the same, but psycopg forgets every statement it prepared on the
    connection whenever it rolls back, and every read-only request (availability, any page) ended with a rollback:
    no statement ever stayed prepared, so each was parsed and planned afresh on every request. Whether anything was
    written is the database's own answer (no transaction id was assigned), not a guess. A request that failed, left
    ORM changes unflushed, or is inside a savepoint keeps the rollback. Registered after Flask-SQLAlchemy's
    teardown, so it runs before the session is removed (Flask runs teardowns in reverse order)."""
    from psycopg.pq import TransactionStatus
    from sqlalchemy.exc import SQLAlchemyError

    @app.teardown_appcontext
    def _commit_if_nothing_was_written(error):
        if error is not None or not db.session.registry.has():
            return
        session = db.session()
        transaction = session.get_transaction()
        if transaction is None or not transaction.is_active or session.in_nested_transaction() or \
                session.new or session.dirty or session.deleted:
            return  # none, one a failed flush ended, a savepoint, or ORM changes never flushed: roll back
        try:
            connection = session.connection()
            driver = connection.connection.driver_connection
            if driver.info.transaction_status != TransactionStatus.INTRANS:
                return  # a failed statement (INERROR) or no transaction at all: the rollback is the right ending
            if connection.exec_driver_sql("SELECT pg_current_xact_id_if_assigned() IS NULL").scalar():
                driver.commit()  # SQLAlchemy's rollback that follows finds the connection idle and sends nothing
        except SQLAlchemyError:
            return  # never fail a request here: the session's removal rolls back


def _register_filters(app: Flask) -> None:
    """The US forms of dates, times, zones and money for every template; instants read in the clinic's zone."""
    from clinic import formatting
    from clinic.settings import clinic_settings

    app.jinja_env.filters.update(
        long_date=_in_clinic_zone(formatting.long_date), short_date=_in_clinic_zone(formatting.short_date),
        clock=_in_clinic_zone(formatting.clock), date_time=_in_clinic_zone(formatting.date_time),
        zone_name=lambda zone=None: formatting.zone_name(zone or clinic_settings().timezone),
        money=formatting.money, duration=formatting.duration,
    )


def _in_clinic_zone(format_):
    """A filter that reads an aware instant in the clinic's zone (a plain date or time needs no zone)."""
    from clinic.settings import clinic_zone

    def _filter(value, *args, **kwargs):
        aware = isinstance(value, datetime) and value.tzinfo is not None
        return format_(value, clinic_zone() if aware else None, *args, **kwargs)
    return _filter


def _register_blueprints(app: Flask) -> None:
    """Every package's pages and API, in one list: core first, then clinical, booking and billing (each depends
    only on those before it). Each blueprint brings what goes with it when registered: its navigation links,
    its `flask` commands and its part of `flask seed-demo`."""
    from clinic import admin, api, auth, layout, patient_details
    from clinical import api as clinical_api, views as clinical_views
    from booking import (admin_views as closures, api as booking_api, care_views, front_desk_views, treatment_views,
                         views as booking_views)
    from billing import (api as billing_api, estimate_views, fee_schedule_views, identifier_views, superbill_api,
                         superbill_batch_api, superbill_batch_views, superbill_views, views as billing_views)

    for blueprint in (
        auth.bp, patient_details.bp, admin.bp, api.bp,
        clinical_views.bp, clinical_api.bp,
        booking_views.bp, booking_api.bp, treatment_views.bp, care_views.bp, front_desk_views.bp, closures.bp,
        billing_views.bp, billing_api.bp, fee_schedule_views.bp, identifier_views.bp, estimate_views.bp,
        superbill_views.bp, superbill_api.bp, superbill_batch_views.bp, superbill_batch_api.bp,
    ):
        app.register_blueprint(blueprint)
    layout.register(app)
    if app.config["CLINIC_ENV"] != "production":
        from clinic.dev_mail import bp as dev_mail_bp
        app.register_blueprint(dev_mail_bp)
