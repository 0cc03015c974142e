"""The month's superbill batch on billing staff's pages: the start form and recent batches on /billing/superbills
(a partial its template includes), and a page per batch whose progress bar polls the API (and shows the stored
progress on every reload without JavaScript)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from billing import superbill_batches as batches
from billing.batch_models import SuperbillBatch
from billing.superbill_batch_api import items_json
from clinic import audit
from clinic.auth_context import roles_required
from clinic.database import utcnow
from clinic.errors import DomainError, NotFound
from clinic.extensions import db
from clinic.models import Role
from clinic.settings import clinic_zone


bp = Blueprint("superbill_batches", __name__)


class MonthForm(FlaskForm):
    month = StringField("Month", description="As YYYY-MM, for example 2027-03.",
                        validators=[DataRequired(message="Choose the month to issue.")])


@bp.app_context_processor
def _batch_panel():
    return {"superbill_batches_panel": superbill_batches_panel}


def superbill_batches_panel() -> dict:
    this_month = utcnow().astimezone(clinic_zone()).strftime("%Y-%m")
    return {"form": MonthForm(month=this_month), "batches": batches.recent(5), "this_month": this_month,
            "done": batches.done, "percent": batches.percent}


@bp.post("/billing/superbill-batches")
@roles_required(Role.billing, Role.admin)
def start_batch():
    form = MonthForm()
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors))
        return redirect(url_for("superbills.superbill_desk"))
    try:
        batch, started = batches.start(current_user, form.month.data)
    except DomainError as error:
        db.session.rollback()
        flash(error.message)
        return redirect(url_for("superbills.superbill_desk"))
    db.session.commit()
    flash(f"Issuing the superbills for {batch.month}." if started else f"The {batch.month} batch is already running.")
    return redirect(url_for("superbill_batches.batch_page", batch_id=batch.id))


@bp.get("/billing/superbill-batches/<int:batch_id>")
@roles_required(Role.billing, Role.admin)
def batch_page(batch_id: int):
    batch = db.session.get(SuperbillBatch, batch_id)
    if batch is None:
        raise NotFound("We could not find that batch.")
    audit.record("view", "superbill_batch", batch.id)  # it names patients and their superbills
    page = render_template("billing/superbill_batch.html", batch=batch, items=items_json(batch),
                           done=batches.done(batch), percent=batches.percent(batch))
    db.session.commit()  # after reading: the counts and the items shown come from one transaction
    return page
