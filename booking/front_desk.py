"""The front desk books for a caller: find the caller's patient record (by name, email, phone or date of birth),
or create it, then book through the same API and services as a patient does. Services flush, never commit."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, or_, select

from booking import treatments
from booking.models import Protocol, Service, ServiceKind
from clinic import jsonin
from clinic.errors import Conflict
from clinic.extensions import db
from clinic.models import Patient, User

MAX_RESULTS = 25
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def find_patients(query: str) -> list[Patient]:
    """Patients whose name or email contains the words, whose phone contains the digits (4 or more), or
    born on the date (YYYY-MM-DD or MM/DD/YYYY)."""
    query = query.strip()[:200]
    if not query:
        return []
    like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    conditions = [Patient.name.ilike(like, escape="\\"), Patient.email.ilike(like, escape="\\")]
    digits = re.sub(r"\D", "", query)
    if len(digits) >= 4 and not re.search(r"[A-Za-z@]", query):
        conditions.append(_phone_digits().contains(digits[-10:]))
    born = _date_in(query)
    if born is not None:
        conditions.append(Patient.date_of_birth == born)
    return list(db.session.scalars(select(Patient).where(or_(*conditions)).order_by(Patient.name, Patient.id)
                                   .limit(MAX_RESULTS)))


def _phone_digits():
    column = Patient.phone
    for mark in (" ", "-", "(", ")", ".", "+"):
        column = func.replace(column, mark, "")
    return column


def _date_in(query: str) -> date | None:
    us = _US_DATE.match(query)
    text = f"{us[3]}-{int(us[1]):02d}-{int(us[2]):02d}" if us else query
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def register_caller(actor: User, data) -> Patient:
    """A new patient record for someone who called: name, email and phone, date of birth if they give it."""
    given = jsonin.patient_details(data, ("name", "email", "phone", "date_of_birth"),
                                   required=("name", "email", "phone"))
    existing = db.session.scalar(select(Patient).where(Patient.email == given["email"]))
    if existing is not None:
        message = f"{existing.name} already has a record with that email address: book for them instead."
        raise Conflict(message, code="patient_exists", fields={"email": message})
    patient = Patient(**given)
    db.session.add(patient)
    db.session.flush()
    return patient


def bookable_services(patient: Patient) -> list[Service]:
    """The free consultation for anyone; each treatment the patient's current clearance covers."""
    found = list(db.session.scalars(select(Service).where(Service.active, Service.kind == ServiceKind.consultation.value)
                                    .order_by(Service.position, Service.id)))
    return found + [s for s in cleared_services(patient) if s not in found]


def cleared_services(patient: Patient) -> list[Service]:
    clearance = treatments.current_clearance(patient)
    if clearance is None or not clearance.cleared:
        return []
    protocols = db.session.scalars(select(Protocol).where(Protocol.code.in_(list(clearance.protocols or [])),
                                                          Protocol.active).order_by(Protocol.id))
    return list(dict.fromkeys(p.service for p in protocols if p.service.active))
