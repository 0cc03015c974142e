"""Rate limits that hold with several server processes: the counters live in Redis (RATELIMIT_STORAGE_URI), so
thirty wrong passwords spread over four gunicorn workers are counted together.

With `memory://` each worker counts on its own: the 10-per-account limit would only bite once one worker alone
had seen ten failures, so the strict "first ten 401, then 429" below does not hold there (thirty attempts over
four workers give each about eight). Each run uses its own key prefix so parallel runs sharing one Redis do not
collide. Skipped only when Redis cannot be reached.
"""
from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from tests.factories import csrf_from
from tests.gunicorn_server import access_lines, answers_by_worker, gunicorn

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_storage():
    """The Redis URL and a key prefix of this run only; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({error}): start it with `redis-server --daemonize yes`")
    prefix = f"clinic-test-{uuid.uuid4().hex}"
    yield REDIS_URL, prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def limited_server(demo, database_url, tmp_path, redis_storage):
    url, prefix = redis_storage
    with gunicorn(demo, database_url, tmp_path, workers=4, threads=2, RATELIMIT_ENABLED="1",
                  RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=prefix,
                  GUNICORN_CMD_ARGS="--keep-alive 120") as base:  # a browser's connection stays with its worker
        yield base


@pytest.fixture
def browsers(limited_server, tmp_path):
    """Browsers (keep-alive sessions) whose connections different gunicorn workers hold, one per worker: bursts of
    eight connect at once until the access log shows all four workers taking some, and one browser per worker is
    kept. Fresh connections one after another may all go to one worker (a run sent all thirty attempts to the first
    worker that had loaded the app)."""
    kept: dict[str, requests.Session] = {}
    made: list[requests.Session] = []
    deadline = time.monotonic() + 90
    while len(kept) < 4 and time.monotonic() < deadline:
        burst, first = [requests.Session() for _ in range(8)], len(made)
        made += burst
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: burst[k].get(f"{limited_server}/api/v1/browser-{first + k}", timeout=30),
                          range(8)))
        for n, pid in sorted(logged_probes(tmp_path, len(made)).items()):
            kept.setdefault(pid, made[n])
        for session in set(burst) - set(kept.values()):
            session.close()
    assert len(kept) >= 2, f"only one worker ever answered: {kept}"
    yield list(kept.values())
    for session in kept.values():
        session.close()


def logged_probes(folder, count: int) -> dict[int, str]:
    """Which worker answered each probe, once all `count` are in the access log."""
    deadline = time.monotonic() + 10
    while len(taken := probes_by_worker(folder)) < count:
        assert time.monotonic() < deadline, taken
        time.sleep(0.05)
    return taken


def probes_by_worker(folder) -> dict[int, str]:
    return {int(path.rsplit("-", 1)[1]): pid for pid, method, path, _status in access_lines(folder)
            if path.startswith("/api/v1/browser-")}


def spread_over_workers(tmp_path, method: str, path: str) -> dict[str, list[int]]:
    """The answers by worker, once the access log holds all thirty (a worker logs just after it answers); at
    least two workers must have answered, or the test would prove nothing one worker counting alone would not."""
    deadline = time.monotonic() + 10
    while sum(map(len, (by_worker := answers_by_worker(tmp_path, method, path)).values())) < 30:
        assert time.monotonic() < deadline, by_worker
        time.sleep(0.05)
    assert len(by_worker) >= 2, by_worker
    return by_worker


def refused_before_its_own_tenth_failure(answered: list[int]) -> bool:
    """A worker that said 429 before it had itself seen ten wrong passwords counted the others' too."""
    return 429 in answered and answered.index(429) < 10


def test_wrong_api_passwords_over_four_workers_end_in_429(limited_server, browsers, tmp_path):
    # Taking turns, the browsers spread the attempts over the workers that hold their connections.
    statuses = [browsers[n % len(browsers)].post(f"{limited_server}/api/v1/tokens", timeout=30, json={
        "email": "patient@clinic.test", "password": f"wrong-{n}"}).status_code for n in range(30)]
    assert statuses == [401] * 10 + [429] * 20, statuses
    by_worker = spread_over_workers(tmp_path, "POST", "/api/v1/tokens")
    assert any(map(refused_before_its_own_tenth_failure, by_worker.values())), by_worker


def test_wrong_login_form_passwords_over_four_workers_end_in_429(limited_server, browsers, tmp_path):
    statuses = []
    for n in range(30):
        browser = browsers[n % len(browsers)]
        page = browser.get(f"{limited_server}/login", timeout=30)
        statuses.append(browser.post(f"{limited_server}/login", timeout=30, data={
            "email": "admin@clinic.test", "password": f"wrong-{n}", "csrf_token": csrf_from(page.text)}).status_code)
    assert statuses == [200] * 10 + [429] * 20, statuses
    by_worker = spread_over_workers(tmp_path, "POST", "/login")
    assert any(map(refused_before_its_own_tenth_failure, by_worker.values())), by_worker
