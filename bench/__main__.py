"""`python -m bench`: a month of availability as a ratio to GET /api/v1/services (issue 3 aims for at most 5x)."""
from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench import clinic, timing

TARGET = 5.0
BASELINE = "services"


def main() -> None:
    options = _options()
    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as directory:
        app = clinic.build(Path(directory))
        first = date.today() + timedelta(days=1)
        counts = clinic.fill(app, first, 30, options.consultations, options.treatments)
        print(f"calendar: {counts['consultation']} consultations and {counts['iv-ketamine']} IV treatments "
              f"booked from {first} over 30 days")
        urls = _urls(first, first + timedelta(days=30))
        results = timing.medians(app.test_client(), urls, options.repeat)
        _report(results, options.repeat)
        if options.profile:
            _profile(app, urls[options.profile])
        clinic.close(app)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=60, help="timed rounds per endpoint (median taken)")
    parser.add_argument("--consultations", type=int, default=300)
    parser.add_argument("--treatments", type=int, default=60)
    parser.add_argument("--profile", choices=["consultation", "iv-ketamine"],
                        help="also print where one availability request spends its time (cProfile)")
    return parser.parse_args()


def _urls(first: date, last: date) -> dict[str, str]:
    month = f"from={first.isoformat()}&to={last.isoformat()}"
    return {BASELINE: "/api/v1/services",
            "consultation": f"/api/v1/availability?service=consultation&{month}",
            "iv-ketamine": f"/api/v1/availability?service=iv-ketamine&{month}"}


def _report(results: dict[str, float], repeat: int) -> None:
    base = results[BASELINE]
    print(f"{BASELINE}: {base * 1000:.2f} ms median of {repeat}")
    for name, seconds in results.items():
        if name == BASELINE:
            continue
        ratio = seconds / base
        verdict = "ok" if ratio <= TARGET else f"over the {TARGET:g}x target"
        print(f"availability month {name}: {ratio:.1f}x {BASELINE} ({seconds * 1000:.2f} ms; {verdict})")


def _profile(app, url: str, rounds: int = 20) -> None:
    client = app.test_client()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        client.get(url)
    profiler.disable()
    print(f"\nprofile of {rounds} x GET {url}:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
