"""Billing's part of `flask seed-demo`: a fee schedule for each billed service (idempotent).

The codes are demo data, as billing staff would enter them; the charges add up to each service's price so a
visit paid in full shows a zero balance. The consultation is free and bills nothing."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from billing import fee_schedule
from billing.fee_schedule import LineSpec
from billing.models import FeeScheduleLine
from booking.models import Service
from clinic.extensions import db

EFFECTIVE = date(2026, 1, 1)
KETAMINE = dict(drug_name="Ketamine HCl injection 50 mg/mL", ndc="0409-2053-10", dose_unit="mg")
FEE_SCHEDULE = {
    "iv-ketamine": [LineSpec("96365", 42500, "IV infusion, first hour"),
                    LineSpec("J3490", 5000, "Unclassified drug (ketamine)", **KETAMINE)],
    "im-ketamine": [LineSpec("96372", 30000, "Therapeutic injection, IM"),
                    LineSpec("J3490", 5000, "Unclassified drug (ketamine)", **KETAMINE)],
    "esketamine-nasal": [LineSpec("G2082", 60000, "Esketamine visit, up to 56 mg", max_dose_mg=56),
                         LineSpec("G2083", 60000, "Esketamine visit, over 56 mg", min_dose_mg=57)],
    "sublingual-ketamine": [LineSpec("99213", 22500, "Office visit, established patient, low complexity"),
                            LineSpec("J3490", 2500, "Unclassified drug (ketamine)", **KETAMINE)],
    "psychotherapy": [LineSpec("90834", 17500, "Psychotherapy, 45 minutes")],
}


def seed(_sender, **_) -> None:
    """Seed each service's first version once; a service that already has fee lines is left as staff made it."""
    db.session.flush()
    for code, specs in FEE_SCHEDULE.items():
        service = db.session.scalar(select(Service).where(Service.code == code))
        if service is None or _has_lines(service):
            continue
        fee_schedule.add_version(None, service, EFFECTIVE, specs)


def _has_lines(service: Service) -> bool:
    return db.session.scalar(select(FeeScheduleLine.id).where(FeeScheduleLine.service_id == service.id).limit(1)) is not None
