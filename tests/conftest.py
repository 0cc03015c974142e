"""Test fixtures: a real database per test (SQLite file, or PostgreSQL when CLINIC_TEST_DB=postgresql),
factories with defaults, and a guard that fails any test reaching a server off this machine."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time as time_module
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import create_engine, text

from booking.holidays import federal_holidays_between
from clinic import create_app
from clinic.extensions import db

BACKEND = "postgresql" if os.environ.get("CLINIC_TEST_DB") == "postgresql" else "sqlite"
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
DEMO_PASSWORD = "demo-clinic-2026"
NEW_YORK = ZoneInfo("America/New_York")


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
def demo(app):
    """The demo clinic of `flask seed-demo`."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return app


# --- helpers ------------------------------------------------------------------------------------------------------

def next_weekday(weekday: int, weeks_ahead: int = 1) -> date:
    """A date at least a few days ahead, on the given weekday (0 = Monday), never a federal holiday (the demo
    clinic is closed on those)."""
    today = date.today()
    day = today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)
    while any(day == holiday for holiday, _name in federal_holidays_between(day, day)):
        day += timedelta(days=7)
    return day


def at(day: date, hour: int, minute: int = 0, zone: ZoneInfo = NEW_YORK) -> str:
    return datetime.combine(day, time(hour, minute), zone).isoformat()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def api_token(client, email: str, password: str = DEMO_PASSWORD) -> dict:
    response = client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def guest_booking(day: date, hour: int, minute: int = 0, email: str = "guest@example.com", **extra) -> dict:
    body = {"service": "consultation", "start": at(day, hour, minute),
            "patient": {"name": "Casey Guest", "email": email, "phone": "617 555 0199"}}
    body.update(extra)
    return body


DRIVER = {"name": "Robin Driver", "phone": "617 555 0123", "relationship": "partner"}


def clear_patient(client, patient_id: int, protocols=("iv-induction", "iv-maintenance"), **extra) -> None:
    headers = api_token(client, "dr.rivera@clinic.test")
    body = {"protocols": list(protocols), "diagnosis_codes": ["F43.12"], "notes": "cleared after evaluation", **extra}
    response = client.post(f"/api/v1/patients/{patient_id}/clearance", json=body, headers=headers)
    assert response.status_code == 201, response.json


# --- Stripe: a real localstripe ----------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
STRIPE_SECRET_KEY = "sk_test_localstripe"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
