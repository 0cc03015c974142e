"""The superbill worker as `make run` starts it: `flask superbills work --loop` in a process of its own, batch after
batch over many rounds, while this test starts batches through the API as billing staff would."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time as time_module
from datetime import date
from pathlib import Path

import pytest

from bench.billable import billable_patients
from clinic.extensions import db
from tests.factories import api_token

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def worker_loop(demo, database_url):
    with demo.app_context():  # the seeding session must let go of the database first
        db.session.remove()
        db.engine.dispose()
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
           "CLINIC_ENV": "development", "PUBLIC_URL": "http://127.0.0.1:5000", "PYTHONUNBUFFERED": "1"}
    env.pop("SMTP_HOST", None)
    process = subprocess.Popen([str(BIN / "flask"), "superbills", "work", "--loop", "--interval", "0.2"], cwd=ROOT,
                               env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield process
    if process.poll() is None:
        stop(process)


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        return process.communicate(timeout=15)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate(timeout=5)[0]


def wait_until_finished(client, headers, url: str, process: subprocess.Popen, seconds: float = 60) -> dict:
    deadline = time_module.monotonic() + seconds
    while time_module.monotonic() < deadline:
        assert process.poll() is None, f"the worker loop died:\n{process.communicate()[0]}"
        batch = client.get(url, headers=headers).json["batch"]
        if batch["status"] == "finished":
            return batch
        time_module.sleep(0.1)  # polling the stored status, as the page does
    pytest.fail(f"the batch at {url} did not finish within {seconds} s")


class Lines:
    """The process's output, read line by line in a thread so the test can wait for a round's report."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(process.stdout.readline, "")), daemon=True)
        self.thread.start()

    def wait_for(self, count: int, text: str, process: subprocess.Popen, seconds: float = 30) -> None:
        deadline = time_module.monotonic() + seconds
        while sum(text in line for line in self.lines) < count:
            assert process.poll() is None or self.thread.is_alive(), "".join(self.lines)
            assert time_module.monotonic() < deadline, f"no {count} x {text!r} in:\n{''.join(self.lines)}"
            time_module.sleep(0.05)  # polling the output for the round's report


def test_the_worker_loop_issues_batch_after_batch_round_after_round(demo, worker_loop):
    client = demo.test_client()
    headers = api_token(client, "billing@clinic.test")
    output = Lines(worker_loop)
    for round_number, month in enumerate(("2026-08", "2026-09", "2026-10")):
        with demo.app_context():
            billable_patients(2, date.fromisoformat(f"{month}-01"), start=10 * round_number + 1)
            db.session.remove()
        started = client.post("/api/v1/superbill-batches", json={"month": month}, headers=headers)
        assert started.status_code == 201, started.json
        batch = wait_until_finished(client, headers, started.json["batch"]["url"], worker_loop)
        assert (batch["issued"], batch["failed"], batch["skipped"]) == (2, 0, 0)
        assert all((item["superbill_number"] or "").startswith("SB-") for item in batch["items"]), batch
        output.wait_for(round_number + 1, "issued 2, failed 0, skipped 0", worker_loop)  # that round is over
    assert worker_loop.poll() is None
    worker_loop.terminate()
    worker_loop.wait(15)
    output.thread.join(5)
    text = "".join(output.lines)
    assert worker_loop.returncode == 0 and "Traceback" not in text and "Error" not in text, text
    assert text.count("issued 2, failed 0, skipped 0") == 3, text


def test_two_worker_processes_share_one_batch_without_duplicates(demo, database_url):
    with demo.app_context():
        billable_patients(16, date(2026, 10, 1))
        db.session.remove()
    client = demo.test_client()
    headers = api_token(client, "billing@clinic.test")
    started = client.post("/api/v1/superbill-batches", json={"month": "2026-10"}, headers=headers)
    with demo.app_context():
        db.session.remove()
        db.engine.dispose()
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
           "CLINIC_ENV": "development", "PYTHONUNBUFFERED": "1"}
    workers = [subprocess.Popen([str(BIN / "flask"), "superbills", "work"], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    batch = client.get(started.json["batch"]["url"], headers=headers).json["batch"]
    assert (batch["status"], batch["issued"]) == ("finished", 16)
    numbers = [item["superbill_number"] for item in batch["items"]]
    assert len(set(numbers)) == 16 and all(number.startswith("SB-") for number in numbers)
    issued = sum(int(output.split("issued ")[1].split(",")[0]) for output in outputs)
    assert issued == 16, outputs
