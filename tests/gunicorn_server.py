"""Processes the tests start as `make run` does: the app served by gunicorn on a test's database (for tests that need
several worker processes racing), and helpers to wait for a port and to stop a process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time as time_module
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from clinic.extensions import db
from tests.factories import free_port

ROOT = Path(__file__).resolve().parents[1]
ACCESS_FORMAT = "%(p)s %(m)s %(U)s %(s)s"  # worker pid, method, path, status


def access_lines(folder: Path) -> list[tuple[str, str, str, int]]:
    """The access log so far: (worker pid, method, path, status) per request answered."""
    found = []
    for line in (folder / "access.log").read_text().splitlines():
        pid, method, path, status = line.split()
        found.append((pid.strip("<>"), method, path, int(status)))
    return found


def answers_by_worker(folder: Path, method: str, path: str) -> dict[str, list[int]]:
    """Each worker's pid and the statuses it answered to `method path`, in order."""
    found: dict[str, list[int]] = {}
    for pid, logged_method, logged_path, status in access_lines(folder):
        if (logged_method, logged_path) == (method, path):
            found.setdefault(pid, []).append(status)
    return found


@contextmanager
def gunicorn(app, database_url: str, folder: Path, workers: int = 4, threads: int = 4, **env_overrides):
    """The clinic served by gunicorn (`workers` processes with `threads` threads each) on `database_url`; yields
    the base URL. Rate limits are off unless `RATELIMIT_ENABLED="1"` is passed; everything the server logged is
    shown if it fails to start. `folder`/access.log names the worker (its pid) that answered each request."""
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
         "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5",
         "--access-logfile", str(folder / "access.log"), "--access-logformat", ACCESS_FORMAT, "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, log_path)
        _wait_for_every_worker(base, folder, workers)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def _wait_for_every_worker(base: str, folder: Path, workers: int, seconds: float = 120) -> None:
    """gunicorn answers once one worker has loaded the app, and until the others have, that one takes every
    connection: bursts of simultaneous requests until the access log shows each worker answering, so that what the
    test sends next is spread over all of them."""
    deadline, sent = time_module.monotonic() + seconds, 0
    while len({pid for pid, _method, path, _status in access_lines(folder)
               if path.startswith("/api/v1/probe-")}) < workers:
        if time_module.monotonic() > deadline:
            pytest.fail(f"not every one of the {workers} gunicorn workers answered within {seconds} s")
        with ThreadPoolExecutor(2 * workers) as pool:
            list(pool.map(lambda n: requests.get(f"{base}/api/v1/probe-{n}", timeout=30),
                          range(sent, sent + 2 * workers)))
        sent += 2 * workers


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
    return output or ""
