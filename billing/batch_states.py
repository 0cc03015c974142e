"""The month's superbill batch's state machines (like billing.states): a batch runs, then has finished; an item is
pending, claimed (running, and claimed again when its worker died), back in the queue when what it bills changed
while it rendered, or done (issued, failed or skipped) for good. Nothing else writes these statuses."""
from __future__ import annotations

from billing.batch_models import BatchStatus as B, ItemStatus as I, SuperbillBatch, SuperbillBatchItem

BATCH_MOVES: dict[B, frozenset[B]] = {B.running: frozenset({B.finished}), B.finished: frozenset()}
ITEM_MOVES: dict[I, frozenset[I]] = {
    I.pending: frozenset({I.running, I.failed}),
    I.running: frozenset({I.running, I.pending, I.issued, I.failed, I.skipped}),  # running again: a dead worker's
    I.issued: frozenset(),
    I.failed: frozenset(),
    I.skipped: frozenset(),
}


def move_batch(batch: SuperbillBatch, target: B) -> bool:
    """Apply the move if the table allows it; finishing a finished batch is a no-op."""
    if target not in BATCH_MOVES[B(batch.status)]:
        return False
    batch.status = target.value
    return True


def move_item(item: SuperbillBatchItem, target: I) -> bool:
    """Apply the move if the table allows it; an item that is done never moves again."""
    if target not in ITEM_MOVES[I(item.status)]:
        return False
    item.status = target.value
    return True
