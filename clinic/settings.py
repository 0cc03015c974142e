"""The clinic's details and policies, stored in the database and edited by an administrator."""
from __future__ import annotations

from datetime import datetime, time
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
    for weekday, opens, closes in db.session.execute(select(
            OpeningHours.weekday, OpeningHours.opens, OpeningHours.closes).order_by(OpeningHours.weekday, OpeningHours.opens)):
        hours.setdefault(weekday, []).append((opens, closes))
    return hours


def local_iso(instant: datetime | None) -> str | None:
    """An instant as ISO 8601 in the clinic's zone, with its offset (how every API answer writes times)."""
    return instant.astimezone(clinic_zone()).isoformat() if instant is not None else None
