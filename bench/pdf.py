"""`python -m bench.pdf`: superbill PDFs against bare wkhtmltopdf runs of a one-line page, in the same run.

Issue 10's targets: one superbill costs at most 1.5x one bare run; 200 superbills, spread over the cores, at
most 0.7x 200 sequential bare runs. The batch is the real path: superbills issued from a database by the month's
batch and its workers (billing/superbill_batches.py), numbers, snapshots, PDFs, hashes and emails included. "Bare" is `wkhtmltopdf --quiet page.html page.pdf` with the engine's
defaults, as an operator would run it; the details also give the ratio to a one-line page through
billing/pdf.py's own settings, so what the settings save is visible apart from what the templates cost.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from bench import billable, clinic as bench_clinic
from billing import pdf, superbill_batches as batches
from billing.batch_models import SuperbillBatch
from billing.documents import Diagnosis, Drug, Practice, Provider, SuperbillData, SuperbillLine, superbill_pdf
from clinic.extensions import db

ISSUE_TARGET = 1.5
BATCH_TARGET = 0.7
ONE_LINE = "<!DOCTYPE html><html><body><p>One line.</p></body></html>"


def sample_superbill(number: int = 123, visits: int = 6) -> SuperbillData:
    """A month of IV treatments: an infusion line and a drug line per visit, as the issuing step will build."""
    practice = Practice("Springfield Ketamine Clinic, PLLC", "12 Elm Street, Suite 300\nSpringfield, MA 01103",
                        "(413) 555-0142", "1245319599", "12-3456789")
    provider = Provider("Ana Rivera", "MD", "1003000126", "MD-284761", "MA")
    drug = Drug("Ketamine HCl 50 mg/mL", "0409-2053-10", "35 mg")
    lines: list[SuperbillLine] = []
    for n in range(visits):
        day = date(2027, 3, 1) + timedelta(days=2 * n + n // 3)
        lines += [SuperbillLine(day, "11", "96365", 60000, ("A", "B"), description="IV infusion, first hour"),
                  SuperbillLine(day, "11", "J3490", 5000, ("A",), modifiers=("JZ",), description="Unclassified drug",
                                drug=drug)]
    return SuperbillData(f"SB-2027-{number:06d}", date(2027, 3, 31), practice, provider, "Zoë Ñúñez-O'Brien",
                         date(1988, 7, 4), "45 Rue d'Élan, Apt 2\nSpringfield, MA 01103",
                         (Diagnosis("F43.12", "Post-traumatic stress disorder, chronic"),
                          Diagnosis("F33.1", "Major depressive disorder, recurrent, moderate")),
                         tuple(lines), 65000 * visits)


def bare_run(folder: Path) -> Callable[[], None]:
    """One bare wkhtmltopdf run of a one-line page, file to file."""
    page, out = folder / "page.html", folder / "page.pdf"
    page.write_text(ONE_LINE)
    return lambda: subprocess.run(["wkhtmltopdf", "--quiet", str(page), str(out)], check=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def superbill_issue_download(rounds: int = 15) -> dict:
    """One superbill rendered (plain data to PDF bytes) against one bare run, medians of interleaved rounds."""
    superbill = sample_superbill()
    with tempfile.TemporaryDirectory(prefix="clinic-bench-pdf-") as directory:
        timings = _interleaved({"bare": bare_run(Path(directory)), "superbill": lambda: superbill_pdf(superbill),
                                "same-settings": lambda: pdf.html_to_pdf(ONE_LINE)}, rounds)
    ratio = timings["superbill"] / timings["bare"]
    detail = (f"render only for now (no database, no download): a {len(superbill.lines)}-line superbill "
              f"{_ms(timings['superbill'])} vs bare wkhtmltopdf one-line page {_ms(timings['bare'])}, medians of "
              f"{rounds}; vs a one-line page through billing/pdf.py's settings ({_ms(timings['same-settings'])}): "
              f"{timings['superbill'] / timings['same-settings']:.2f}x")
    return _result("superbill-issue-download", ratio, ISSUE_TARGET, detail)


def superbill_batch(count: int = 200, workers: int | None = None) -> dict:
    """`count` superbills issued through the real batch path against `count` sequential bare runs: a demo clinic in a
    temporary SQLite database with `count` patients each with a completed, paid visit last month, the month's batch
    started as billing staff start it, and `workers` worker threads (each its own session, as separate hosts would
    be) claiming and issuing its items until it has finished."""
    workers = workers or min(pdf.MAX_RENDERS, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="clinic-bench-pdf-") as directory:
        bare = bare_run(Path(directory))
        baseline = _seconds(lambda: [bare() for _ in range(count)])
        app = bench_clinic.build(f"sqlite:///{Path(directory) / 'batch.db'}")
        month = _billable_month(app, count)
        outcome: dict = {}
        batch = _seconds(lambda: outcome.update(_issue_month(app, month, workers)))
        bench_clinic.close(app)
    if outcome["issued"] != count:
        raise RuntimeError(f"{count - outcome['issued']} of {count} superbills were not issued: {outcome}")
    detail = (f"{count} superbills issued from the database by the month's batch in {batch:.2f} s ({workers} worker "
              f"threads, {pdf.MAX_RENDERS} engines at once per process, SQLite) vs {count} sequential bare one-line "
              f"pages in {baseline:.2f} s")
    return _result("superbill-batch-200" if count == 200 else f"superbill-batch-{count}", batch / baseline,
                   BATCH_TARGET, detail)


def _billable_month(app, count: int) -> str:
    last_month = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    with app.app_context():
        billable.billable_patients(count, last_month)
        db.session.remove()
    return last_month.strftime("%Y-%m")


def _issue_month(app, month: str, workers: int) -> dict:
    """Start the month's batch and let `workers` threads work it; returns its final counts."""
    with app.app_context():
        started, _ = batches.start(None, month)
        db.session.commit()
        batch_id = started.id
        db.session.remove()

    def work() -> None:
        with app.app_context():
            batches.work(batches.worker_name())
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        finished = db.session.get(SuperbillBatch, batch_id)
        counts = {"status": finished.status, "issued": finished.issued, "failed": finished.failed}
        db.session.remove()
    return counts


def run(rounds: int = 15, batch: int = 200) -> list[dict]:
    """Both benchmarks, printed as they finish; returns their results for `python -m bench`."""
    results = []
    for measure in (lambda: superbill_issue_download(rounds), lambda: superbill_batch(batch)):
        result = measure()
        print(f"{result['name']}: {result['ratio']:.2f}x (target {result['target']:g}x, "
              f"{'met' if result['met'] else 'NOT met'}): {result['detail']}", flush=True)
        results.append(result)
    return results


def _interleaved(tasks: dict[str, Callable[[], object]], rounds: int, warmup: int = 2) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in tasks}
    for round_number in range(warmup + rounds):
        for name, task in tasks.items():
            elapsed = _seconds(task)
            if round_number >= warmup:
                samples[name].append(elapsed)
    return {name: statistics.median(values) for name, values in samples.items()}


def _seconds(task: Callable[[], object]) -> float:
    started = time.perf_counter()
    task()
    return time.perf_counter() - started


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _result(name: str, ratio: float, target: float, detail: str) -> dict:
    ratio = round(ratio, 3)  # judged on the ratio as reported
    return {"name": name, "ratio": ratio, "target": target, "met": ratio <= target, "detail": detail}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pdf", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds for one superbill (median taken)")
    parser.add_argument("--batch", type=int, default=200, help="superbills in the batch")
    options = parser.parse_args()
    run(options.rounds, options.batch)


if __name__ == "__main__":
    main()
