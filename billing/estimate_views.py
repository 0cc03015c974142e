"""Good Faith Estimates for billing staff and administrators: each estimate given, when it was due (business days)
and whether it was given in time, its total, and the patients billed $400 or more above what was estimated."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template
from sqlalchemy import select

from billing import estimates
from billing.models import Estimate
from billing.views import BILLING_STAFF
from clinic import audit
from clinic.auth_context import roles_required
from clinic.extensions import db
from clinic.models import Patient

bp = Blueprint("estimates", __name__)

LISTED = 200


@bp.get("/billing/estimates")
@roles_required(*BILLING_STAFF)
def estimate_list():
    rows = db.session.scalars(select(Estimate).order_by(Estimate.created_at.desc(), Estimate.id.desc())
                              .limit(LISTED)).all()
    overruns = estimates.overruns()
    patients = {p.id: p for p in db.session.scalars(select(Patient).where(
        Patient.id.in_({e.patient_id for e in rows} | {o["patient_id"] for o in overruns})))}
    audit.record("list", "estimate", None, detail={"page": "billing_estimates", "count": len(rows)})
    db.session.commit()
    return render_template("billing/estimates.html", rows=[estimate_row(e) for e in rows], patients=patients,
                           overruns=overruns, listed=LISTED)


def estimate_row(estimate: Estimate) -> dict:
    """What the list shows of one estimate, read from what it showed when given."""
    snapshot = estimate.snapshot or {}
    given_on = date.fromisoformat(snapshot["issued_on"]) if snapshot.get("issued_on") else None
    due = date.fromisoformat(snapshot["due_on"]) if snapshot.get("due_on") else None
    first = min((line["expected_on"] for line in snapshot.get("lines", []) if line.get("expected_on")), default=None)
    return {"estimate": estimate, "given_on": given_on, "due_on": due,
            "first_service_on": date.fromisoformat(first) if first else None,
            "in_time": due is None or (given_on is not None and given_on <= due)}
