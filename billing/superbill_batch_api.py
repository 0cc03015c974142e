"""JSON API v1 for the month's superbill batches (billing staff): start one, read its progress; the page's progress
bar polls the one it shows. Routes on clinic.api's blueprint."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from billing import superbill_batches as batches
from billing.api_shapes import BatchRequest, SuperbillBatchAnswer, SuperbillBatchDetail, SuperbillBatches
from billing.batch_models import SuperbillBatch, SuperbillBatchItem
from billing.models import Superbill
from billing.superbill_api import BILLING_ROLES
from booking.serialize import local_iso
from clinic import audit, openapi
from clinic.api import api_blueprint
from clinic.auth_context import require_api_user
from clinic.errors import NotFound
from clinic.extensions import db
from clinic.models import Patient

bp = api_blueprint("superbill_batch_api", __name__)


def batch_json(batch: SuperbillBatch) -> dict:
    return {"id": batch.id, "month": batch.month, "status": batch.status, "started_by": batch.started_by_id,
            "total": batch.total, "issued": batch.issued, "failed": batch.failed, "skipped": batch.skipped,
            "done": batches.done(batch), "percent": batches.percent(batch), "started_at": local_iso(batch.started_at),
            "finished_at": local_iso(batch.finished_at) if batch.finished_at else None,
            "url": f"/api/v1/superbill-batches/{batch.id}", "page_url": f"/billing/superbill-batches/{batch.id}"}


def items_json(batch: SuperbillBatch) -> list[dict]:
    rows = db.session.execute(select(SuperbillBatchItem, Patient.name, Superbill.number)
                              .join(Patient, Patient.id == SuperbillBatchItem.patient_id)
                              .outerjoin(Superbill, Superbill.id == SuperbillBatchItem.superbill_id)
                              .where(SuperbillBatchItem.batch_id == batch.id).order_by(SuperbillBatchItem.id))
    return [{"patient_id": item.patient_id, "patient_name": name, "status": item.status, "reason": item.reason,
             "superbill_id": item.superbill_id, "superbill_number": number} for item, name, number in rows]


@bp.post("/superbill-batches")
@openapi.operation("Issue the month's superbills for every patient with completed, paid visits, in the background "
                   "(billing); 200 with the month's batch when one is already running", body=BatchRequest,
                   answers={201: SuperbillBatchAnswer, 200: SuperbillBatchAnswer}, errors=(400, 401, 403, 422),
                   roles=BILLING_ROLES)
def start_superbill_batch(body: BatchRequest):
    actor = require_api_user(*BILLING_ROLES)
    batch, started = batches.start(actor, body.month)
    db.session.commit()
    return jsonify(batch=batch_json(batch)), 201 if started else 200


@bp.get("/superbill-batches")
@openapi.operation("The latest batches and their progress (billing)", answers={200: SuperbillBatches},
                   errors=(401, 403), roles=BILLING_ROLES)
def list_superbill_batches():
    require_api_user(*BILLING_ROLES)
    return jsonify(batches=[batch_json(batch) for batch in batches.recent(50)])


@bp.get("/superbill-batches/<int:batch_id>")
@openapi.operation("One batch's progress and each patient's outcome, with the reason of any failure (billing)",
                   answers={200: SuperbillBatchDetail}, errors=(401, 403, 404), roles=BILLING_ROLES)
def get_superbill_batch(batch_id: int):
    require_api_user(*BILLING_ROLES)
    batch = db.session.get(SuperbillBatch, batch_id)
    if batch is None:
        raise NotFound("We could not find that batch.")
    answer = {**batch_json(batch), "items": items_json(batch)}  # read together, before the commit expires the batch
    audit.record("view", "superbill_batch", batch.id)  # it names patients and their superbills
    db.session.commit()
    return jsonify(batch=answer)
