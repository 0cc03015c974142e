"""`python -m bench` (`make bench`): the clinic's benchmarks as ratios to a floor measured in the same run, served
by gunicorn, on SQLite and (when TEST_DATABASE_URL is set) on PostgreSQL; writes bench/results.json."""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench import clinic, history, machine, measures, pdf as pdf_bench, server, superbill_issue, throughput

RESULTS = Path(__file__).with_name("results.json")
README = Path(__file__).resolve().parents[1] / "README.md"
TABLE_START, TABLE_END = "<!-- bench table -->", "<!-- /bench table -->"


def main(argv: list[str] | None = None) -> dict:
    options = _options(argv)
    by_database = {}
    for name, url in _databases(options):
        print(f"--- {name}")
        by_database[name] = _run(url, options)
    print("--- PDF")
    documents = [_shown(_issue_download(options)), _shown(pdf_bench.superbill_batch(options.pdf_batch))]
    print(f"--- booking throughput ({options.throughput_seconds:g} s of load, then as long of bare inserts)")
    booking = _shown(throughput.not_measured("skipped by --sqlite-only") if options.sqlite_only
                     else throughput.measure(os.environ.get("TEST_DATABASE_URL"), options.throughput_seconds))
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine.describe(),
              "results": measures.combine(by_database) + documents + [booking]}
    Path(options.output).write_text(json.dumps(report, indent=2) + "\n")
    print(measures.table(report))
    if Path(options.output) == RESULTS:  # the real run, not a smoke test writing elsewhere
        _update_readme(measures.table(report))
    return report


def _update_readme(table: str) -> None:
    """Replace the table between the README's bench markers, so it always shows the latest run."""
    text = README.read_text()
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start != -1 and end > start:
        README.write_text(text[:start] + f"{TABLE_START}\n{table}\n" + text[end:])


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repeat", type=int, default=30, help="timed rounds per measure (median taken)")
    parser.add_argument("--sizes", default="500,5000,50000", help="past appointments in the database, in order")
    parser.add_argument("--main-size", type=int, default=5000, help="the size the month and series ratios use")
    parser.add_argument("--consultations", type=int, default=300, help="consultations booked in the month asked")
    parser.add_argument("--treatments", type=int, default=60, help="IV treatments booked in the month asked")
    parser.add_argument("--series", type=int, default=20, help="series bookings timed (each cancelled after)")
    parser.add_argument("--pdf-batch", type=int, default=200, help="superbills in the batch measure")
    parser.add_argument("--throughput-seconds", type=float, default=throughput.SECONDS,
                        help="seconds of booking load, and as many of bare inserts (BENCH_THROUGHPUT_SECONDS, 60)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL even when TEST_DATABASE_URL is set")
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args(argv)


def _databases(options: argparse.Namespace):
    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as directory:
        yield "sqlite", f"sqlite:///{Path(directory) / 'bench.db'}"
    if os.environ.get("TEST_DATABASE_URL") and not options.sqlite_only:
        yield "postgresql", os.environ["TEST_DATABASE_URL"]


def _run(url: str, options: argparse.Namespace) -> dict:
    sizes = [int(s) for s in options.sizes.split(",")]
    first = date.today() + timedelta(days=1)
    app = clinic.build(url)
    counts = clinic.fill(app, first, 30, options.consultations, options.treatments)
    patients = clinic.cleared_patients(app, options.series + measures.WARMUP)
    print(f"month from {first}: {counts['consultation']} consultations, {counts['iv-ketamine']} IV treatments")
    found = {"month": {}, "series": None}
    with server.gunicorn(url) as base:
        bench = measures.Bench(base, first, patients)
        for size in sizes:
            history.grow(app, size, first - timedelta(days=1))
            found["month"][size] = bench.month(options.repeat)
            print(f"{size} past appointments: {measures.describe(found['month'][size])}")
            if size == options.main_size:
                found["series"] = bench.series(options.series)
                print(f"series: {measures.describe(found['series'])}")
    clinic.close(app)
    found["main"] = options.main_size
    return found


def _postgresql(options: argparse.Namespace) -> str | None:
    return None if options.sqlite_only else os.environ.get("TEST_DATABASE_URL")


def _issue_download(options: argparse.Namespace) -> dict:
    """On PostgreSQL when it is there (the database the clinic runs on in production), else a SQLite file."""
    rounds = options.repeat // 2 or 1
    url = _postgresql(options)
    if url:
        return superbill_issue.measure(url, rounds)
    with tempfile.TemporaryDirectory(prefix="clinic-bench-") as directory:
        return superbill_issue.measure(f"sqlite:///{Path(directory) / 'superbills.db'}", rounds)


def _shown(result: dict) -> dict:
    ratio = "n/a" if result["ratio"] is None else f"{result['ratio']:.2f}x"
    print(f"{result['name']}: {ratio} (target {result['target']:g}x, met: {result['met']}): {result['detail']}",
          flush=True)
    return result


if __name__ == "__main__":
    main()
