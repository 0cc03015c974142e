"""`flask superbills issue --month 2027-03` and `flask superbills work [--loop]`: the month's superbills through the
stored batch (billing/superbill_batches.py).

`issue` starts the month's batch (or joins the one running), works it here with a progress bar in the terminal while
any other workers share it, and lists what happened: one failure is listed and the rest still issue; a patient who
already has the month's superbill is skipped, so running it again issues no duplicates. `work` is the worker that
`make run` starts beside the mail sender: it issues every batch's claimable items, round after round."""
from __future__ import annotations

import logging
import signal
import time
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from billing import superbill_batches as batches
from billing.batch_models import BatchStatus, ItemStatus, SuperbillBatch, SuperbillBatchItem
from billing.models import Superbill
from clinic.errors import DomainError
from clinic.extensions import db

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5  # while other workers hold the batch's last items


@click.group("superbills", cls=AppGroup)
def superbills_cli():
    """Superbills."""


@superbills_cli.command("issue")
@click.option("--month", required=True, help="YYYY-MM, in the clinic's time zone")
def issue_month(month: str):
    """Issue the month's superbills for every patient with completed, paid visits (idempotent)."""
    try:
        batch, _ = batches.start(None, month)
        db.session.commit()
    except DomainError as error:
        raise click.BadParameter(error.message, param_hint="--month")
    batch_id, worker = batch.id, batches.worker_name()
    with click.progressbar(length=batch.total, label=f"Superbills for {batch.month}", show_pos=True) as bar:
        _work_until_finished(worker, batch_id, bar)
    _report(batch_id)


def _work_until_finished(worker: str, batch_id: int, bar) -> None:
    shown = 0
    while True:
        worked = batches.work_chunk(worker, batch_id)
        batch = db.session.get(SuperbillBatch, batch_id, populate_existing=True)
        bar.update(batches.done(batch) - shown)
        shown, finished = batches.done(batch), batch.status == BatchStatus.finished.value
        db.session.commit()
        if finished:
            return
        if not worked:
            time.sleep(POLL_SECONDS)  # the rest is claimed by other workers (or waits out a dead one's lease)


def _report(batch_id: int) -> None:
    items = db.session.execute(select(SuperbillBatchItem, Superbill.number)
                               .outerjoin(Superbill, Superbill.id == SuperbillBatchItem.superbill_id)
                               .where(SuperbillBatchItem.batch_id == batch_id).order_by(SuperbillBatchItem.id)).all()
    for item, number in items:
        if item.status == ItemStatus.issued.value:
            click.echo(f"issued {number}")
    for item, _ in items:
        if item.status != ItemStatus.issued.value:
            click.echo(f"patient {item.patient_id} {item.status}: {item.reason}")
    batch = db.session.get(SuperbillBatch, batch_id)
    click.echo(f"{batch.issued} issued, {batch.failed} not issued.")
    if batch.skipped:
        click.echo(f"{batch.skipped} skipped (nothing paid to bill, or already issued).")


@superbills_cli.command("work")
@click.option("--loop", is_flag=True, help="Keep working every few seconds (make run uses this).")
@click.option("--interval", default=2.0, show_default=True)
def work(loop: bool, interval: float):
    """Issue the superbills of every running batch, claiming items so several workers can share one."""
    worker, stop = batches.worker_name(), _GracefulStop()
    while True:
        # Each round in an app context of its own, like a request: what it cached must not outlive its session.
        with current_app.app_context(), stop.round():
            outcomes = _round(worker)
        if outcomes or not loop:
            click.echo(f"issued {outcomes['issued']}, failed {outcomes['failed']}, skipped {outcomes['skipped']}")
        if not loop or stop.requested:
            return
        time.sleep(interval)


class _GracefulStop:
    """SIGTERM (make run's exit, a deployment) between rounds ends the loop at once; during a round it lets the round
    finish and report first, so no chunk is left to wait out its lease."""

    def __init__(self):
        self.requested = self._in_round = False
        signal.signal(signal.SIGTERM, self._terminate)

    def _terminate(self, *_):
        if not self._in_round:
            raise SystemExit(0)
        self.requested = True

    @contextmanager
    def round(self):
        self._in_round = True
        try:
            yield
        finally:
            self._in_round = False


def _round(worker: str):
    try:
        return batches.work(worker)
    except Exception:  # the database restarting, say: the loop must outlive it and try again next round
        log.exception("a superbill worker round failed")
        db.session.rollback()
        return batches.Counter()
    finally:
        db.session.remove()
