"""Test fixtures: a real database per test (SQLite file, or PostgreSQL when CLINIC_TEST_DB=postgresql), a real
local Stripe emulator, the browser fixtures of tests/browser.py, and a guard that fails any test reaching a server
off this machine. Test data and signing in: tests/factories.py."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time as time_module
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, delete, text

from clinic import create_app
from clinic.extensions import db

from tests.browser import browser, live_server, page  # noqa: F401  (fixtures for every page test)
from tests.factories import free_port, STRIPE_SECRET_KEY

BACKEND = "postgresql" if os.environ.get("CLINIC_TEST_DB") == "postgresql" else "sqlite"
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


# --- no outside servers -------------------------------------------------------------------------------------------

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and not (host in ("localhost", "::1") or host.startswith("127.")):
        raise AssertionError(f"test tried to reach an outside server: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_outside_servers(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


# --- databases ----------------------------------------------------------------------------------------------------

def _upgrade(url: str) -> None:
    from flask_migrate import upgrade
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> str:
    """Migrate once per session: a template file on SQLite, the schema itself on PostgreSQL."""
    if BACKEND == "postgresql":
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("db") / "template.db"
    _upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(database_template, tmp_path) -> str:
    if BACKEND == "postgresql":
        yield PG_URL
        _truncate_all(PG_URL)
        return
    path = tmp_path / "clinic.db"
    shutil.copy(database_template, path)
    yield f"sqlite:///{path}"


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app(database_url, request):
    """The app on this test's database. Rate limits are off unless the test is marked `ratelimit`."""
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
        "RATELIMIT_ENABLED": request.node.get_closest_marker("ratelimit") is not None,
        "PUBLIC_URL": "http://127.0.0.1:5000", "SMTP_HOST": None, "PASSWORD_HASH_FAST": True,
    })
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def demo(app, request):
    """The demo clinic of `flask seed-demo`, open on federal holidays unless the test is marked `holidays`: a test
    books weeks ahead from a day near today, and must pass the same in December as in June. Closures themselves
    are tested where they are made (tests/booking/test_closures.py)."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    if request.node.get_closest_marker("holidays") is None:
        _open_on_federal_holidays(app)
    return app


def _open_on_federal_holidays(app) -> None:
    from booking.holidays import federal_holidays_between
    from booking.models import Closure
    with app.app_context():
        today = date.today()
        holidays = {day for day, _name in federal_holidays_between(today - timedelta(days=7), today + timedelta(days=600))}
        db.session.execute(delete(Closure).where(Closure.clinician_id.is_(None), Closure.starts_on == Closure.ends_on,
                                                 Closure.starts_on.in_(holidays)))
        db.session.commit()
        db.session.remove()


# --- helpers ------------------------------------------------------------------------------------------------------


# --- Stripe: a real localstripe ----------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]



@pytest.fixture(scope="session")
def localstripe_url():
    """localstripe on a free loopback port, started once: `python -m billing.localstripe_server`."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "billing.localstripe_server", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def _wait_for(base: str, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time_module.monotonic() + seconds
    while time_module.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"localstripe exited with {process.returncode}")
        try:
            if requests.get(f"{base}/js.stripe.com/v3/", timeout=1).ok:
                return
        except requests.ConnectionError:
            time_module.sleep(0.1)
    pytest.fail("localstripe did not start")


@pytest.fixture
def stripe_app(demo, localstripe_url):
    """The demo clinic talking to localstripe, emptied first (each test's database numbers payments from 1)."""
    requests.delete(f"{localstripe_url}/_config/data", timeout=5).raise_for_status()
    demo.config.update(STRIPE_API_BASE=localstripe_url, STRIPE_SECRET_KEY=STRIPE_SECRET_KEY)
    return demo
