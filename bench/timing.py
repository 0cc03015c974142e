"""Median request times over HTTP, rounds interleaved so drift hits every measure alike."""
from __future__ import annotations

import http.client
import json
import statistics
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit


class Client:
    """A plain HTTP client on one base URL (a new connection per request, as gunicorn's sync workers close it)."""

    def __init__(self, base: str, token: str | None = None):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
        return json.loads(self.fetch(method, path, body, expect))

    def fetch(self, method: str, path: str, body: dict | None = None, expect: int = 200) -> bytes:
        """The whole answer, unparsed: the timed measures are the server's work, not this client's JSON parsing
        (a month of slots is 80 kB, about a millisecond of json.loads)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            headers = {**self.headers, **({"Content-Type": "application/json"} if body is not None else {})}
            connection.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        if response.status != expect:
            raise RuntimeError(f"{method} {path} answered {response.status}: {data[:300]!r}")
        return data

    def get(self, path: str) -> bytes:
        return self.fetch("GET", path)


def medians(measures: Mapping[str, Callable[[], object]], repeat: int, warmup: int = 3,
            after: Callable[[], object] | None = None) -> dict[str, float]:
    """Seconds per call, median over `repeat` interleaved rounds; `after` runs untimed after each round."""
    samples: dict[str, list[float]] = {name: [] for name in measures}
    for round_number in range(warmup + repeat):
        for name, measure in measures.items():
            started = time.perf_counter()
            measure()
            elapsed = time.perf_counter() - started
            if round_number >= warmup:
                samples[name].append(elapsed)
        if after is not None:
            after()
    return {name: statistics.median(values) for name, values in samples.items()}
