"""The clinic's details and policies, stored in the database and edited by an administrator."""
from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from flask import g
from sqlalchemy import select

from clinic.extensions import db
from clinic.models import ClinicSettings, OpeningHours


def clinic_settings() -> ClinicSettings:
    """The settings row, cached for the request. A fresh database gets sensible defaults."""
    cached = g.get("_clinic_settings")
    if cached is None:
        cached = db.session.get(ClinicSettings, 1)
        if cached is None:
            cached = ClinicSettings(id=1, name="Ketamine Clinic")
        g._clinic_settings = cached
    return cached


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(clinic_settings().timezone)


def weekly_hours() -> dict[int, list[tuple[time, time]]]:
    hours: dict[int, list[tuple[time, time]]] = {}
    for row in db.session.scalars(select(OpeningHours).order_by(OpeningHours.weekday, OpeningHours.opens)):
        hours.setdefault(row.weekday, []).append((row.opens, row.closes))
    return hours
