"""The patient's treatment booking page (/account/treatments): one treatment with a slot picker, or a whole
induction series. The page's script (clinic/static/treatments.js) books through the JSON API with the browser
session and the X-CSRFToken header; this view only decides what the patient may see: crisis resources,
a 'needs clearance' explanation, or the forms for the protocols their clearance covers."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from booking import protocols, treatments
from booking.models import Protocol
from booking.series import DEFAULT_TIME, WEEKDAY_NAMES
from clinic import audit, navigation
from clinic.auth_context import roles_required
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import Role
from clinic.settings import clinic_zone
from clinical import crisis, services as clinical

bp = Blueprint("treatments", __name__)
navigation.add(bp, navigation.Link("treatments.book", "Book a treatment", 32, navigation.roles(Role.patient)))
WEEKDAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@bp.get("/account/treatments")
@roles_required(Role.patient)
def book():
    patient = current_user.patient or abort(404)
    if clinical.in_crisis(patient):
        audit.record("view", "patient_flag", None, detail={"page": "treatments", "patient_id": patient.id})
        db.session.commit()
        return render_template("treatments/book.html", crisis=crisis.response(utcnow()), clearance=None)
    clearance = treatments.current_clearance(patient)
    if clearance is None or not clearance.cleared:
        return render_template("treatments/book.html", crisis=None, clearance=None)
    cleared = db.session.scalars(select(Protocol).where(Protocol.code.in_(list(clearance.protocols or [])),
                                                        Protocol.active).order_by(Protocol.id)).all()
    services = []
    for protocol in cleared:
        if protocol.service.active and protocol.service not in services:
            services.append(protocol.service)
    series_protocols = [p for p in cleared if protocols.ProtocolRules.from_dict(p.rules).series_length]
    series_progress = {p.code: _series_progress(patient, p) for p in series_protocols}
    today = datetime.now(clinic_zone()).date()
    return render_template("treatments/book.html", crisis=None, clearance=clearance, services=services,
                           series_protocols=series_protocols, series_progress=series_progress, today=today,
                           first_date=today + timedelta(days=1),
                           default_time=DEFAULT_TIME.strftime("%H:%M"),
                           weekdays=list(zip(WEEKDAY_NAMES, WEEKDAY_LABELS)))


def _series_progress(patient, protocol: Protocol) -> dict:
    """How much of a series the patient already has, so the form says what booking it will add."""
    rules = protocols.ProtocolRules.from_dict(protocol.rules)
    held = len(treatments.spacing_dates(patient, protocol, rules))
    return {"held": held, "length": rules.series_length, "remaining": max(rules.series_length - held, 0)}
