"""The app served by gunicorn on a free port, as in production, for the duration of a `with` block."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int = 1, threads: int = 1) -> Iterator[str]:
    """Yields the base URL. One sync worker by default: the bench asks one request at a time; the load measures ask
    for more (`threads` above 1 makes them gthread workers)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": "0",
           "CLINIC_ENV": "development", "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    for name in ("SMTP_HOST", "SMTP_PORT"):
        env.pop(name, None)
    with tempfile.TemporaryFile("w+") as log, tempfile.TemporaryDirectory(prefix="clinic-bench-log-") as folder:
        access = Path(folder) / "access.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
             "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "5",
             "--access-logfile", str(access), "--access-logformat", "%(p)s %(U)s", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(base, process, log)
            _every_worker(base, access, workers)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _every_worker(base: str, access: Path, workers: int, seconds: float = 120) -> None:
    """Until every worker has loaded the app, the first one takes every connection: bursts of simultaneous requests
    until the access log shows each worker answering, so a load measure starts on all of them."""
    deadline, sent = time.monotonic() + seconds, 0
    while len({line.split()[0] for line in access.read_text().splitlines() if "/api/v1/probe-" in line}) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every one of the {workers} gunicorn workers answered in time")
        with ThreadPoolExecutor(2 * workers) as pool:
            list(pool.map(_probe, [f"{base}/api/v1/probe-{n}" for n in range(sent, sent + 2 * workers)]))
        sent += 2 * workers


def _probe(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=30).close()
    except urllib.error.HTTPError:  # 404: what a probe is meant to get
        pass


def _wait(base: str, process: subprocess.Popen, log, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(f"{base}/api/v1/services", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")
