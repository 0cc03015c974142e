"""Administrator pages: clinic details and policies, opening hours, staff accounts."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp, ValidationError
from zoneinfo import available_timezones

from clinic import accounts, audit, claim_codes, formatting, sessions
from clinic.auth_context import roles_required
from clinic.errors import DomainError
from clinic.forms import EIN, NPI, PlainText
from clinic.extensions import db
from clinic.models import Clinician, Role, User
from clinic.settings import clinic_settings

bp = Blueprint("admin", __name__, url_prefix="/admin")


class ClinicForm(FlaskForm):
    name = StringField("Clinic name", validators=[DataRequired(), Length(max=200)])
    address = TextAreaField("Address", validators=[Length(max=500)])
    phone = StringField("Phone", validators=[Length(max=40)])
    email = EmailField("Email", validators=[Optional(), Email(), Length(max=254)])
    legal_name = StringField("Legal name (as registered with the IRS)", validators=[Length(max=200)])
    npi = StringField("Practice NPI (type 2)", validators=[Optional(), NPI()])
    tax_id = StringField("Tax id (EIN)", validators=[Optional(), EIN()])
    timezone = SelectField("Time zone", choices=[SelectChoice(zone, label) for zone, label in
                                                 formatting.zone_choices(sorted(available_timezones()))])
    min_notice_minutes = IntegerField("Minimum notice for a booking (minutes)", validators=[NumberRange(0, 7 * 24 * 60)])
    horizon_days = IntegerField("How far ahead people can book (days)", validators=[NumberRange(1, 365)])
    hold_minutes = IntegerField("How long an unpaid treatment is held (minutes)", validators=[NumberRange(5, 24 * 60)])
    reminder_hours = IntegerField("Reminder before an appointment (hours)", validators=[NumberRange(1, 7 * 24)])
    fasting_hours = IntegerField("Fasting before a treatment (hours)", validators=[NumberRange(0, 24)])
    full_refund_hours = IntegerField("Full refund if cancelled at least this many hours before", validators=[NumberRange(0, 24 * 30)])
    late_cancel_keep_percent = IntegerField("Share kept on a late cancellation (%)", validators=[NumberRange(0, 100)])
    package_sessions = IntegerField("IV infusions in the prepaid induction package", validators=[NumberRange(1, 50)])
    package_price_cents = IntegerField("Price of the induction package (cents: 250000 is $2,500.00)",
                                       validators=[NumberRange(100, 10**8)])



class ClinicianBillingForm(FlaskForm):
    """A rendering clinician's identifiers, printed on superbills."""

    credentials = StringField("Credentials", validators=[PlainText(), Length(max=100)])
    npi = StringField("NPI (type 1)", validators=[Optional(), NPI()])
    license_number = StringField("License number", validators=[PlainText(), Length(max=50)])
    license_state = StringField("License state", validators=[Optional(), Regexp(r"^[A-Z]{2}$", message="Two capital letters, like MA.")])

    def validate_license_state(self, field):
        if not claim_codes.is_us_state(field.data.strip()):
            raise ValidationError("Enter the two-letter code of the state that issued the license, like MA.")


class StaffForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=[r.value for r in Role if r is not Role.patient])
    password = PasswordField("First password (they can change it)", validators=[DataRequired()])


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.admin)
def index():
    settings = clinic_settings()
    form = ClinicForm(obj=settings)
    if form.validate_on_submit():
        form.populate_obj(settings)
        db.session.add(settings)
        audit.record("change", "clinic_settings", 1)
        db.session.commit()
        flash("The clinic's details are saved.")
        return redirect(url_for("admin.index"))
    staff = db.session.scalars(db.select(User).where(User.role != Role.patient.value).order_by(User.name)).all()
    clinicians = [(c, ClinicianBillingForm(obj=c, prefix=f"c{c.id}")) for c in
                  db.session.scalars(db.select(Clinician).where(Clinician.active).order_by(Clinician.name))]
    return render_template("admin/index.html", form=form, staff_form=StaffForm(), staff=staff,
                           clinicians=clinicians)


@bp.post("/clinicians/<int:clinician_id>")
@roles_required(Role.admin)
def update_clinician(clinician_id: int):
    clinician = db.session.get(Clinician, clinician_id) or abort(404)
    form = ClinicianBillingForm(prefix=f"c{clinician.id}")
    if form.validate_on_submit():
        form.populate_obj(clinician)
        audit.record("change", "clinician", clinician.id)
        db.session.commit()
        flash(f"{clinician.name}'s billing identifiers are saved.")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors))
    return redirect(url_for("admin.index"))


@bp.post("/staff")
@roles_required(Role.admin)
def create_staff():
    form = StaffForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(form.email.data, form.name.data, Role(form.role.data), form.password.data)
        except DomainError as error:
            flash(error.message)
            return redirect(url_for("admin.index"))
        audit.record("create", "user", user.id, detail={"role": user.role, "by": current_user.id})
        db.session.commit()
        flash(f"{user.name} can now sign in as {user.role}.")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors))
    return redirect(url_for("admin.index"))


@bp.post("/users/<int:user_id>/active")
@roles_required(Role.admin)
def set_active(user_id: int):
    """Disable (or re-enable) an account; disabling ends all of its sessions and tokens at once."""
    user = db.session.get(User, user_id)
    if user is None or user.id == current_user.id:
        abort(404)
    user.active = not user.active
    if not user.active:
        sessions.end_all(user)
    audit.record("enable" if user.active else "disable", "user", user.id)
    db.session.commit()
    flash(f"{user.name} is now {'enabled' if user.active else 'disabled'}.")
    return redirect(url_for("admin.index"))
