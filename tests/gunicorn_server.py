"""Processes the tests start as `make run` does: the app served by gunicorn on a test's database (for tests that need
several worker processes racing), and helpers to wait for a port and to stop a process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time as time_module
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from clinic.extensions import db
from tests.factories import free_port

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def gunicorn(app, database_url: str, folder: Path, workers: int = 4, threads: int = 4, **env_overrides):
    """The clinic served by gunicorn (`workers` processes with `threads` threads each) on `database_url`; yields
    the base URL. Rate limits are off unless `RATELIMIT_ENABLED="1"` is passed; everything the server logged is
    shown if it fails to start."""
    with app.app_context():  # the seeding session and its pool must let go of the database first
        db.session.remove()
        db.engine.dispose()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "gunicorn-test", "RATELIMIT_ENABLED": "0",
           "FLASK_APP": "wsgi", "CLINIC_ENV": "development", "PUBLIC_URL": f"http://127.0.0.1:{port}",
           **env_overrides}
    for name in ("SMTP_HOST", "SMTP_PORT"):
        env.pop(name, None)
    log_path = folder / "gunicorn.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, log_path)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def wait_until_serving(base: str, process: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time_module.monotonic() + seconds
    while time_module.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/api/v1/services", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or the workers still importing the app
            pass
        time_module.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within {seconds} s:\n{log.read_text()}")


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time_module.monotonic() + seconds
    while time_module.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time_module.sleep(0.1)
    pytest.fail(f"nothing listened on {port}")

def stop_process(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        output, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate(timeout=5)
    return output
