"""Median request times with the Flask test client, rounds interleaved so drift hits every endpoint alike."""
from __future__ import annotations

import statistics
import time
from collections.abc import Mapping

from flask.testing import FlaskClient


def medians(client: FlaskClient, urls: Mapping[str, str], repeat: int, warmup: int = 3) -> dict[str, float]:
    """Seconds per request, median over `repeat` rounds; every response must be 200."""
    samples: dict[str, list[float]] = {name: [] for name in urls}
    for round_number in range(warmup + repeat):
        for name, url in urls.items():
            elapsed = _timed_get(client, url)
            if round_number >= warmup:
                samples[name].append(elapsed)
    return {name: statistics.median(values) for name, values in samples.items()}


def _timed_get(client: FlaskClient, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return elapsed
