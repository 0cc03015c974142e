"""The fee schedule pages for billing staff and administrators: every service's lines in force, each service's
versions, and the form that adds a version from a chosen date (never rewriting one a visit was billed at)."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from billing import fee_schedule
from billing.fee_schedule_forms import MAX_LINES, FeeScheduleForm, has_errors, line_data, read_effective_on, read_lines
from billing.views import BILLING_STAFF
from booking.models import Service
from clinic import audit
from clinic.auth_context import roles_required
from clinic.database import utcnow
from clinic.errors import ValidationError
from clinic.extensions import db
from clinic.settings import clinic_zone

bp = Blueprint("fee_schedule", __name__)


@bp.get("/billing/fee-schedule")
@roles_required(*BILLING_STAFF)
def fee_schedule_index():
    today = utcnow().astimezone(clinic_zone()).date()
    services = db.session.scalars(select(Service).order_by(Service.kind, Service.name)).all()
    audit.record("view", "fee_schedule", None, detail={"page": "fee_schedule"})
    db.session.commit()
    return render_template("billing/fee_schedule.html", today=today,
                           services=[(s, fee_schedule.lines_in_force(s, today)) for s in services])


@bp.get("/billing/fee-schedule/<code>")
@roles_required(*BILLING_STAFF)
def fee_schedule_service(code: str):
    service = _service(code)
    form = FeeScheduleForm(formdata=None, data={"lines": [line_data(row) for row in _in_force(service)]})
    for _ in range(min(2, MAX_LINES - len(form.lines.entries))):
        form.lines.append_entry()  # two empty lines to add codes
    return _service_page(service, form)


@bp.post("/billing/fee-schedule/<code>")
@roles_required(*BILLING_STAFF)
def change_fee_schedule(code: str):
    service, form = _service(code), FeeScheduleForm()
    form.validate_on_submit()
    effective_on, specs = read_effective_on(form), read_lines(form)
    if form.errors.get("csrf_token") or has_errors(form) or effective_on is None:
        return _service_page(service, form), 422
    try:
        rows = fee_schedule.change_fees(current_user, service, effective_on, specs)
    except ValidationError as error:
        db.session.rollback()
        form.effective_on.errors = [error.fields.get("effective_on") or error.message]
        return _service_page(service, form), 422
    db.session.commit()
    flash(f"New fees for {service.name} from {effective_on:%m/%d/%Y}: {', '.join(r.code for r in rows)}.")
    return redirect(url_for("fee_schedule.fee_schedule_service", code=service.code))


def _service(code: str) -> Service:
    if not re.fullmatch(r"[\w.-]{1,50}", code):
        abort(404)  # a service code's shape; anything else (a NUL byte PostgreSQL would refuse) names no service
    return db.session.scalar(select(Service).where(Service.code == code)) or abort(404)


def _in_force(service: Service):
    return fee_schedule.lines_in_force(service, utcnow().astimezone(clinic_zone()).date())


def _service_page(service: Service, form: FeeScheduleForm):
    audit.record("view", "fee_schedule", service.id, detail={"service": service.code})
    db.session.commit()
    return render_template("billing/fee_schedule_service.html", service=service, form=form,
                           versions=fee_schedule.versions(service), in_force=_in_force(service))
