"""The month's superbills as a stored batch: started by billing staff (page, API) or `flask superbills issue`, worked
by `flask superbills work`, on as many hosts as like.

A batch is a row with one item per patient to bill. Workers claim items as the outbox's sender claims mail: a few at
a time in a short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite every transaction takes the write
lock, so claims queue), leased for `SUPERBILL_LEASE_SECONDS`; an item whose worker died is claimed again once its
lease is over, and failed after `MAX_ATTEMPTS` such deaths. A claimed chunk is then worked in three steps so no
transaction is open while PDFs render (on SQLite an open transaction holds the write lock; on PostgreSQL the number
counter's row lock would serialize every render):

1. each patient's superbill is gathered as plain data, one per rendering clinician (`superbills.prepare_all`);
2. their numbers are taken at once in one short transaction (a number whose superbill then fails is never reused);
3. the PDFs render over the cores (`documents.superbill_pdfs`), then each is recorded in a transaction of its own,
   after checking that the item is still this worker's, that the patient has no superbill for the month yet and that
   nothing billed changed meanwhile (if it did, the item goes back to the queue).

One patient failing is listed with the reason and the rest go on; running the month again skips patients who
already have its superbill, so it issues no duplicates."""
from __future__ import annotations

import logging
import re
import os
import secrets
import socket
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from billing import batch_states, documents, pdf, superbills
from billing.batch_models import DONE, BatchStatus, ItemStatus, SuperbillBatch, SuperbillBatchItem
from billing.documents import SuperbillData
from billing.models import Superbill, SuperbillStatus
from clinic import audit
from clinic.database import utcnow
from clinic.errors import DomainError, ValidationError
from clinic.extensions import db
from clinic.models import Patient, User
from clinic.settings import clinic_zone

log = logging.getLogger(__name__)
LEASE_SECONDS = 300.0
MAX_ATTEMPTS = 3
CHUNK = 4 * pdf.MAX_RENDERS  # items claimed at once: enough for every engine to convert several in one run
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
UNEXPECTED = "We could not issue it because of an unexpected error (logged for the team); run the month again."


def worker_name() -> str:
    """Who holds a claim: host, process and a random part (threads of one process each get their own)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


# --- starting -------------------------------------------------------------------------------------------------------

def start(actor: User | None, month) -> tuple[SuperbillBatch, bool]:
    """The month's batch: a new one (True) with an item per patient to bill, or the one already running (False)."""
    month = checked_month(month)
    first, last = superbills.month_range(month)
    running = _running(month)
    if running is not None:
        return running, False
    patients = superbills.patients_to_bill(first, last)
    batch = SuperbillBatch(month=month, first_day=first, last_day=last, started_by_id=actor.id if actor else None,
                           status=BatchStatus.running.value, total=len(patients),
                           items=[SuperbillBatchItem(patient_id=p.id, status=ItemStatus.pending.value) for p in patients])
    if not patients and batch_states.move_batch(batch, BatchStatus.finished):
        batch.finished_at = utcnow()
    try:
        with db.session.begin_nested():
            db.session.add(batch)
    except IntegrityError:  # another start for the month got in first: that one is the batch
        return _running(month), False
    audit.record("start", "superbill_batch", batch.id, user=actor, detail={"month": month, "total": batch.total})
    return batch, True


def checked_month(month) -> str:
    """`month` as YYYY-MM, refused unless written so and begun (in the clinic's zone); the API's body shape reads
    it with this too, so its answer names the month beside any other problem."""
    if not isinstance(month, str) or not MONTH.fullmatch(month.strip()) or month.strip() < "1900-01":
        message = "Give the month as YYYY-MM, for example 2027-03."
        raise ValidationError(message, fields={"month": message})
    if month.strip() > utcnow().astimezone(clinic_zone()).strftime("%Y-%m"):
        message = "That month has not started yet: choose this month or an earlier one."
        raise ValidationError(message, fields={"month": message})
    return month.strip()


def _running(month: str) -> SuperbillBatch | None:
    return db.session.scalar(select(SuperbillBatch).where(SuperbillBatch.month == month,
                                                          SuperbillBatch.status == BatchStatus.running.value))


# --- working --------------------------------------------------------------------------------------------------------

def work(worker: str, batch_id: int | None = None, on_chunk=None, limit: int = CHUNK) -> Counter:
    """Claim and issue chunks until nothing is left to claim; returns how many items ended how."""
    outcomes: Counter = Counter()
    while chunk := work_chunk(worker, batch_id, limit):
        outcomes.update(chunk)
        if on_chunk:
            on_chunk(chunk)
    return outcomes


def work_chunk(worker: str, batch_id: int | None = None, limit: int = CHUNK) -> Counter:
    """Claim up to `limit` items and issue their superbills; an empty Counter when nothing was claimable."""
    claimed = claim(worker, batch_id, limit)
    outcomes: Counter = Counter()
    if not claimed:
        return outcomes
    ready = []  # (item id, its superbills' data: one per rendering clinician)
    for item_id in claimed:
        data = _guarded(worker, item_id, outcomes, _prepare_item)
        if data:
            ready.append((item_id, data))
    if ready:
        numbers = iter(superbills.reserve_numbers(sum(len(data) for _, data in ready)))
        db.session.commit()
        ready = [(item_id, [replace(one, number=next(numbers)) for one in data]) for item_id, data in ready]
        pdfs = iter(_render([one for _, data in ready for one in data]))
        for item_id, data in ready:
            _guarded(worker, item_id, outcomes, _record_item, data, [next(pdfs) for _ in data])
    outcomes["claimed"] = len(claimed)
    return outcomes


def _render(superbills_data: list[SuperbillData]) -> list:
    """Each PDF or the error it met; with no engine at all, that error for every one (each item is failed with it)."""
    try:
        return documents.superbill_pdfs(superbills_data)
    except pdf.PdfUnavailable as error:
        return [error] * len(superbills_data)


def claim(worker: str, batch_id: int | None = None, limit: int = CHUNK) -> list[int]:
    """Lease up to `limit` pending items (or running ones whose lease is over) to `worker`, in a transaction of its
    own; an item whose workers died `MAX_ATTEMPTS` times is failed instead."""
    now = utcnow()
    running = select(SuperbillBatch.id).where(SuperbillBatch.status == BatchStatus.running.value)
    query = select(SuperbillBatchItem).where(
        SuperbillBatchItem.batch_id.in_(running),
        or_(SuperbillBatchItem.status == ItemStatus.pending.value,
            and_(SuperbillBatchItem.status == ItemStatus.running.value, SuperbillBatchItem.claimed_until < now)))
    if batch_id is not None:
        query = query.where(SuperbillBatchItem.batch_id == batch_id)
    items = db.session.scalars(query.order_by(SuperbillBatchItem.id).limit(limit)
                               .with_for_update(skip_locked=True)).all()
    claimed = []
    for item in items:
        if item.attempts >= MAX_ATTEMPTS:
            _finish(item, ItemStatus.failed, f"Its worker stopped while issuing it {item.attempts} times; "
                                             "run the month again to retry.")
            continue
        batch_states.move_item(item, ItemStatus.running)
        item.claimed_by, item.attempts = worker, item.attempts + 1
        item.claimed_until = now + timedelta(seconds=_lease_seconds())
        claimed.append(item.id)
    db.session.commit()
    return claimed


def _lease_seconds() -> float:
    return float(current_app.config.get("SUPERBILL_LEASE_SECONDS", LEASE_SECONDS))


def _guarded(worker: str, item_id: int, outcomes: Counter, step, *args):
    """Run one item's step; a refusal or an unexpected error finishes that item (listed with the reason) alone."""
    try:
        return step(worker, item_id, outcomes, *args)
    except DomainError as error:
        db.session.rollback()
        status = ItemStatus.skipped if error.code == "nothing_to_bill" else ItemStatus.failed
        _finish_owned(worker, item_id, outcomes, status, error.message)
    except Exception:
        log.exception("superbill batch item %s failed", item_id)
        db.session.rollback()
        _finish_owned(worker, item_id, outcomes, ItemStatus.failed, UNEXPECTED)
    return None


def _prepare_item(worker: str, item_id: int, outcomes: Counter) -> list[SuperbillData] | None:
    """Step 1: the item's superbills (one per rendering clinician) as plain data, unnumbered; None when the patient
    already has the month's."""
    item = _owned(worker, item_id)
    if item is None:
        db.session.rollback()
        return None
    if _skipped_as_issued(item, outcomes):
        return None
    data = [prepared.data for prepared in _prepare(item)]
    db.session.commit()
    return data


def _prepare(item: SuperbillBatchItem) -> list:
    return superbills.prepare_all(db.session.get(Patient, item.patient_id), item.batch.first_day, item.batch.last_day)


def _record_item(worker: str, item_id: int, outcomes: Counter, rendered: list[SuperbillData], made: list) -> None:
    """Step 3: record what was rendered, if the item is still ours and what it bills has not changed meanwhile."""
    item = _owned(worker, item_id, lock=True)
    if item is None or _skipped_as_issued(item, outcomes):
        db.session.rollback()
        return
    for one in made:
        if isinstance(one, pdf.PdfUnavailable):
            raise one
    prepared = _prepare(item)
    if [_comparable(p.data, r) for p, r in zip(prepared, rendered)] != [superbills.snapshot_of(r) for r in rendered] \
            or len(prepared) != len(rendered):
        batch_states.move_item(item, ItemStatus.pending)
        item.claimed_by, item.claimed_until = None, None
        db.session.commit()  # a refund or a correction came in while it rendered: issue it again from the new data
        outcomes["requeued"] += 1
        return
    issued = [superbills.record(_actor(item.batch), p, r, m) for p, r, m in zip(prepared, rendered, made)]
    _finish(item, ItemStatus.issued, None, issued[0].id)
    db.session.commit()
    outcomes[ItemStatus.issued.value] += 1


def _comparable(fresh: SuperbillData, rendered: SuperbillData) -> dict:
    return superbills.snapshot_of(replace(fresh, number=rendered.number, issued_on=rendered.issued_on))


def _actor(batch: SuperbillBatch) -> User | None:
    return db.session.get(User, batch.started_by_id) if batch.started_by_id else None


def _skipped_as_issued(item: SuperbillBatchItem, outcomes: Counter) -> bool:
    """A patient who already has an issued superbill for exactly the month is skipped (running again issues none)."""
    number = db.session.scalar(select(Superbill.number).where(
        Superbill.patient_id == item.patient_id, Superbill.first_day == item.batch.first_day,
        Superbill.last_day == item.batch.last_day, Superbill.status == SuperbillStatus.issued.value).limit(1))
    if number is None:
        return False
    _finish(item, ItemStatus.skipped, f"Already has superbill {number} for this month.")
    db.session.commit()
    outcomes[ItemStatus.skipped.value] += 1
    return True


def _owned(worker: str, item_id: int, lock: bool = False) -> SuperbillBatchItem | None:
    """The item, if `worker` still holds its claim (another may have taken it over after the lease)."""
    query = select(SuperbillBatchItem).where(SuperbillBatchItem.id == item_id,
                                             SuperbillBatchItem.status == ItemStatus.running.value,
                                             SuperbillBatchItem.claimed_by == worker)
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query.execution_options(populate_existing=True))


def _finish_owned(worker: str, item_id: int, outcomes: Counter, status: ItemStatus, reason: str) -> None:
    item = _owned(worker, item_id, lock=True)
    if item is not None:
        _finish(item, status, reason)
        outcomes[status.value] += 1
    db.session.commit()


def _finish(item: SuperbillBatchItem, status: ItemStatus, reason: str | None, superbill_id: int | None = None) -> None:
    """End the item and count it on its batch (an atomic increment), finishing the batch with its last item."""
    if not batch_states.move_item(item, status):
        return
    item.reason, item.superbill_id, item.claimed_until, item.finished_at = reason, superbill_id, None, utcnow()
    column = getattr(SuperbillBatch, status.value)
    db.session.execute(update(SuperbillBatch).where(SuperbillBatch.id == item.batch_id).values({column: column + 1}))
    batch = db.session.get(SuperbillBatch, item.batch_id, populate_existing=True)
    if done(batch) >= batch.total and batch_states.move_batch(batch, BatchStatus.finished):
        batch.finished_at = utcnow()
    db.session.flush()


# --- reading --------------------------------------------------------------------------------------------------------

def done(batch: SuperbillBatch) -> int:
    return batch.issued + batch.failed + batch.skipped


def percent(batch: SuperbillBatch) -> int:
    return 100 if not batch.total else (100 * done(batch)) // batch.total


def recent(limit: int = 10) -> list[SuperbillBatch]:
    return list(db.session.scalars(select(SuperbillBatch).order_by(SuperbillBatch.id.desc()).limit(limit)))


def finished_items(batch: SuperbillBatch) -> list[SuperbillBatchItem]:
    return [item for item in batch.items if item.status in DONE]
