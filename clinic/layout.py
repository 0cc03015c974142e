"""What every page's layout needs, from core: the clinic's details and the navigation packages registered."""
from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from clinic import navigation
from clinic.extensions import db
from clinic.models import ClinicSettings
from clinic.settings import clinic_settings


def settings_for_page() -> ClinicSettings:
    """The layout shows the clinic's name on every page, error pages included: those must render even
    when the database is what failed."""
    try:
        return clinic_settings()
    except SQLAlchemyError:
        db.session.rollback()
        return ClinicSettings(name="Clinic", address="", phone="")


def register(app: Flask) -> None:
    @app.context_processor
    def _layout() -> dict:
        return {"clinic_settings": settings_for_page, "nav_links": navigation.links,
                "nav_home": navigation.home_endpoint}
