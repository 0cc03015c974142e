"""Administrator page for closures (/admin/closures): days the whole clinic or one clinician is off.
Availability and booking leave those days out (booking.schedule reads the closures)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError as FieldError

from booking import closures
from booking.models import Closure
from clinic import audit, navigation
from clinic.auth_context import roles_required
from clinic.database import utcnow
from clinic.errors import DomainError
from clinic.extensions import db
from clinic.models import Clinician, Role
from clinic.settings import clinic_zone

bp = Blueprint("closures", __name__, url_prefix="/admin/closures")
navigation.add(bp, navigation.Link(
    "closures.index", "Closures and holidays", 10, navigation.roles(Role.admin), place="admin", action="Set closures",
    description="Close the whole clinic or one clinician for a day or a date range (holidays, training, leave): "
                "no one can book those days."))
WHOLE_CLINIC = "clinic"


def _sane_date(_form, field) -> None:
    if field.data is not None and not date(2000, 1, 1) <= field.data <= date(2100, 12, 31):
        raise FieldError("Choose a date between the years 2000 and 2100.")


class ClosureForm(FlaskForm):
    scope = SelectField("Who is off", validators=[DataRequired()])
    starts_on = DateField("First day closed", validators=[DataRequired(message="Choose the first day."), _sane_date])
    ends_on = DateField("Last day closed", validators=[DataRequired(message="Choose the last day."), _sane_date],
                        description="The same as the first day for a single day.")
    reason = StringField("Reason", validators=[DataRequired(message="Say why, for example Thanksgiving Day."),
                                               Length(max=200)], description="Staff see this; patients do not.")


def _form() -> ClosureForm:
    form = ClosureForm()
    clinicians = db.session.scalars(select(Clinician).where(Clinician.active).order_by(Clinician.name)).all()
    form.scope.choices = [(WHOLE_CLINIC, "The whole clinic")] + [(str(c.id), c.name) for c in clinicians]
    return form


def _today() -> date:
    return utcnow().astimezone(clinic_zone()).date()


@bp.get("/")
@roles_required(Role.admin)
def index(form: ClosureForm | None = None):
    return render_template("admin/closures.html", form=form or _form(), closures=closures.upcoming(_today()))


@bp.post("/")
@roles_required(Role.admin)
def add():
    form = _form()
    if not form.validate_on_submit():
        return index(form), 422
    clinician = db.session.get(Clinician, int(form.scope.data)) if form.scope.data != WHOLE_CLINIC else None
    try:
        closure = closures.add(current_user, clinician=clinician, starts_on=form.starts_on.data,
                               ends_on=form.ends_on.data, reason=form.reason.data)
    except DomainError as error:
        form.ends_on.errors = [error.message]
        return index(form), 422
    audit.record("create", "closure", closure.id)
    booked = closures.booked_during(closure)
    db.session.commit()
    flash("The closure is saved: no one can book those days." + (
        f" {booked} appointment{'s are' if booked != 1 else ' is'} already booked then; they are not cancelled,"
        " so please contact those patients." if booked else ""))
    return redirect(url_for("closures.index"))


@bp.post("/<int:closure_id>/delete")
@roles_required(Role.admin)
def delete(closure_id: int):
    closure = db.session.get(Closure, closure_id) or abort(404)
    closures.delete(current_user, closure)
    audit.record("delete", "closure", closure_id)
    db.session.commit()
    flash("The closure is removed: those days can be booked again.")
    return redirect(url_for("closures.index"))
