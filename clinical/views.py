"""Pages of the clinical path. Patients: intake (/account/intake), PCL-5 (/account/pcl5), progress chart
(/account/progress) and integration therapy after a treatment (/account/integration/<id>). Clinicians:
intakes to review, a patient's clearance page, and today's treatments with completion and discharge."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (DateField, HiddenField, IntegerField, RadioField, SelectChoice, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from clinic import audit, formatting, inbound, navigation
from clinic.database import utcnow
from clinic.auth_context import roles_required
from clinic.errors import DomainError
from clinic.forms import SaneDate
from clinic.extensions import db
from clinic.models import Patient, Role
from clinic.settings import clinic_zone
from clinical import crisis, hooks, services as clinical
from clinical.models import Clearance, PatientFlag

bp = Blueprint("clinical", __name__)
navigation.add(bp, navigation.Link("clinical.intake", "Intake", 34, navigation.roles(Role.patient)),
               navigation.Link("clinical.progress", "Progress", 36, navigation.roles(Role.patient)),
               navigation.Link("clinical.intakes", "Intakes", 52, navigation.roles(Role.clinician, Role.admin)))
CLINICAL_VIEWERS = (Role.clinician, Role.admin)
YES_NO = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]


# --- forms --------------------------------------------------------------------------------------------------------

class MultipleCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _intake_field(question: clinical.Question):
    required = InputRequired("Please answer this question.")
    if question.kind == "yes_no":
        return RadioField(question.text, choices=YES_NO, validators=[required])
    if question.kind == "choice":
        return RadioField(question.text, choices=_choices(question.choices), validators=[required])
    if question.kind == "count":
        return IntegerField(question.text, validators=[required, NumberRange(0, question.maximum)])
    return TextAreaField(question.text, validators=[Optional(), Length(max=clinical.TEXT_MAX)])


def _choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(str(value), label) for value, label in pairs]


class IntakeForm(FlaskForm):
    """One field per clinical.INTAKE_QUESTIONS entry, named by its key."""

    def answers(self) -> dict:
        values = {}
        for question in clinical.INTAKE_QUESTIONS:
            data = self[question.key].data
            values[question.key] = (data == "yes") if question.kind == "yes_no" and data else data
        return values


for _question in clinical.INTAKE_QUESTIONS:
    setattr(IntakeForm, _question.key, _intake_field(_question))


class Pcl5Form(FlaskForm):
    appointment_id = HiddenField()


for _number, _item in enumerate(clinical.PCL5_ITEMS, start=1):
    setattr(Pcl5Form, f"item_{_number}", RadioField(f"{_number}. {_item}", coerce=int, choices=_choices(clinical.PCL5_SCALE),
                                                    validators=[InputRequired("Please choose an answer.")]))


class ClearForm(FlaskForm):
    protocols = MultipleCheckboxField("Protocols")  # at least one: checked by clinical.clear
    diagnosis_codes = StringField("ICD-10 diagnosis codes", description="Separate codes with commas, like F43.12.",
                                  validators=[DataRequired("Give at least one diagnosis code."), Length(max=200)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=4000)])
    rems_enrollment_date = DateField("REMS enrollment date (needed for esketamine)",
                                     validators=[Optional(), SaneDate("REMS enrollment date")])


class RefuseForm(FlaskForm):
    reason = TextAreaField("Reason for not clearing", validators=[DataRequired("Please give the reason."),
                                                                  Length(max=4000)])


class WithdrawForm(FlaskForm):
    withdraw_reason = TextAreaField("Reason for withdrawing", validators=[DataRequired("Please give the reason."),
                                                                         Length(max=4000)])


class PlainForm(FlaskForm):
    """Only the CSRF token: buttons that post one action."""


# --- the PCL-5 chart, drawn as server-side SVG (the CSP allows no inline script or style) ---------------------------

@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    score: int
    when: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    points: list[ChartPoint]
    gridlines: list[tuple[int, float]]
    baseline_y: float | None
    threshold_y: float | None
    scale_max: int  # the highest score the instrument gives (clinical.pcl5)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def pcl5_chart(summary: clinical.OutcomeSummary) -> Chart | None:
    if not summary.scores:
        return None
    width, height, left, right, top, bottom = 640, 280, 44, 624, 16, 240
    count = len(summary.scores)

    def y(score: float) -> float:
        return bottom - (bottom - top) * score / clinical.PCL5_MAX

    def x(index: int) -> float:
        return (left + right) / 2 if count == 1 else left + (right - left) * index / (count - 1)

    points = [ChartPoint(x(i), y(s.score), s.score, formatting.long_date(s.taken_at, clinic_zone(), weekday=False))
              for i, s in enumerate(summary.scores)]
    threshold = summary.baseline - clinical.MEANINGFUL_FALL
    gridlines = [(v, y(v)) for v in range(0, clinical.PCL5_MAX + 1, max(1, clinical.PCL5_MAX // 4))]
    return Chart(width, height, left, right, points, gridlines, y(summary.baseline),
                 y(threshold) if threshold >= 0 else None, clinical.PCL5_MAX)


# --- patient pages ------------------------------------------------------------------------------------------------

@bp.route("/account/intake", methods=["GET", "POST"])
@roles_required(Role.patient)
def intake():
    patient = _own_patient()
    if clinical.in_crisis(patient):
        return _crisis_page(patient)
    intakes = clinical.intakes_of(patient)
    form = IntakeForm(data=_form_data(intakes[0].answers) if intakes and request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            submitted = clinical.submit_intake(current_user, patient, form.answers())
        except DomainError as error:
            db.session.rollback()
            _attach_errors(form, error)
        else:
            audit.record("create", "intake", submitted.id, detail={"crisis": submitted.crisis_flag})
            db.session.commit()
            if not submitted.crisis_flag:
                flash("Thank you. A clinician will review your answers before your treatment is planned.", "success")
            return redirect(url_for("clinical.intake"))
    audit.record("view", "intake", intakes[0].id if intakes else None, detail={"page": "account"})
    db.session.commit()
    return render_template("clinical/intake.html", form=form, latest=intakes[0] if intakes else None,
                           questions=clinical.INTAKE_QUESTIONS)


def _crisis_page(patient: Patient):
    audit.record("view", "patient_flag", None, detail={"page": "crisis", "patient_id": patient.id})
    db.session.commit()
    return render_template("clinical/crisis.html", crisis=crisis.response(utcnow()))


def _form_data(answers: dict) -> dict:
    return {key: ("yes" if value else "no") if isinstance(value, bool) else value for key, value in answers.items()}


def _attach_errors(form: FlaskForm, error: DomainError) -> None:
    for key, message in error.fields.items():
        if key in form:
            form[key].errors = [*form[key].errors, message]
    if not any(key in form for key in error.fields):
        flash(error.message, "error")


def _own_patient() -> Patient:
    if current_user.patient is None:
        abort(404)
    return current_user.patient


@bp.route("/account/pcl5", methods=["GET", "POST"])
@roles_required(Role.patient)
def pcl5():
    patient = _own_patient()
    form = Pcl5Form(appointment_id=request.args.get("appointment", ""))
    if form.validate_on_submit():
        try:
            score = clinical.record_outcome(current_user, patient, appointment=_own_appointment(form.appointment_id.data),
                                            answers=[form[f"item_{n}"].data for n in range(1, len(clinical.PCL5_ITEMS) + 1)])
        except DomainError as error:
            flash(error.message, "error")
        else:
            audit.record("create", "outcome_score", score.id, detail={"patient_id": patient.id})
            db.session.commit()
            flash(f"Thank you. Your PCL-5 score today is {score.score} out of {clinical.PCL5_MAX}.", "success")
            return redirect(url_for("clinical.progress"))
    return render_template("clinical/pcl5.html", form=form, scale=clinical.PCL5_SCALE, items=len(clinical.PCL5_ITEMS))


def _own_appointment(raw: str | None):
    appointment_id = inbound.row_id(raw)
    return None if appointment_id is None else hooks.patients_appointment(current_user.patient, appointment_id)


@bp.get("/account/progress")
@roles_required(Role.patient)
def progress():
    patient = _own_patient()
    summary = clinical.outcome_summary(patient)
    audit.record("view", "outcome_score", None, detail={"patient_id": patient.id, "page": "progress"})
    db.session.commit()
    return render_template("clinical/progress.html", summary=summary, chart=pcl5_chart(summary),
                           meaningful_fall=clinical.MEANINGFUL_FALL)


# --- clinician pages ----------------------------------------------------------------------------------------------

@bp.get("/clinical/intakes")
@roles_required(*CLINICAL_VIEWERS)
def intakes():
    items = clinical.review_queue()
    audit.record("list", "intake", None, detail={"page": "review", "count": len(items)})
    db.session.commit()
    return render_template("clinical/intakes.html", items=items, concerns=clinical.concerns)


@bp.get("/clinical/patients/<int:patient_id>")
@roles_required(*CLINICAL_VIEWERS)
def patient(patient_id: int):
    record = db.session.get(Patient, patient_id) or abort(404)
    summary, current = clinical.outcome_summary(record), clinical.current_clearance(record)
    audit.record("view", "patient", record.id, detail={"page": "clinical"})
    db.session.commit()
    return render_template(
        "clinical/patient.html", patient=record, intakes=clinical.intakes_of(record), summary=summary,
        chart=pcl5_chart(summary), history=clinical.clearance_history(record), flags=clinical.open_flags(record),
        current=current, upcoming=clinical.upcoming_treatments(record),
        questions=clinical.questions_for_review(), concerns=clinical.concerns, status=clinical.clearance_status,
        clear_form=_clear_form(current), refuse_form=RefuseForm(), withdraw_form=WithdrawForm(), flag_form=PlainForm(),
        meaningful_fall=clinical.MEANINGFUL_FALL)


def _clear_form(current: Clearance | None = None) -> ClearForm:
    """The clear form, filled in from the clearance in force so a change starts from what is on file."""
    on_file = {"protocols": current.protocols, "diagnosis_codes": ", ".join(current.diagnosis_codes),
               "rems_enrollment_date": current.rems_enrollment_date} if current is not None and current.cleared else None
    form = ClearForm(data=on_file)
    form.protocols.choices = [SelectChoice(code, f"{name} ({code})") for code, name in hooks.protocols()]
    return form


@bp.post("/clinical/patients/<int:patient_id>/<action>")
@roles_required(Role.clinician)
def decide(patient_id: int, action: str):
    record = db.session.get(Patient, patient_id) or abort(404)
    handlers = {"clear": _clear, "refuse": _refuse, "withdraw": _withdraw}
    if action not in handlers:
        abort(404)
    try:
        done = handlers[action](record)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        if done:
            db.session.commit()
    return redirect(url_for("clinical.patient", patient_id=record.id))


def _clear(record: Patient) -> bool:
    form = _clear_form()
    if not form.validate_on_submit():
        return _form_problem(form)
    codes = [c for c in form.diagnosis_codes.data.replace(";", ",").split(",") if c.strip()]
    clearance = clinical.clear(current_user, record, protocols=form.protocols.data, diagnosis_codes=codes,
                               notes=form.notes.data or None, rems_enrollment_date=form.rems_enrollment_date.data)
    audit.record("create", "clearance", clearance.id, detail={"patient_id": record.id, "cleared": True})
    flash(f"{record.name} is cleared for {', '.join(clearance.protocols)}.", "success")
    return True


def _refuse(record: Patient) -> bool:
    form = RefuseForm()
    if not form.validate_on_submit():
        return _form_problem(form)
    clearance = clinical.refuse(current_user, record, reason=form.reason.data)
    audit.record("create", "clearance", clearance.id, detail={"patient_id": record.id, "cleared": False})
    flash(f"The refusal for {record.name} is recorded.", "success")
    return True


def _withdraw(record: Patient) -> bool:
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _form_problem(form)
    clearance = clinical.withdraw(current_user, record, reason=form.withdraw_reason.data)
    audit.record("withdraw", "clearance", clearance.id, detail={"patient_id": record.id})
    upcoming = clinical.upcoming_treatments(record)
    flash("The clearance is withdrawn." + (f" {len(upcoming)} booked treatment(s) remain: review them on the "
                                           "schedule." if upcoming else ""), "warning" if upcoming else "success")
    return True


def _form_problem(form: FlaskForm) -> bool:
    flash(" ".join(e for errors in form.errors.values() for e in errors) or "Please check the form.", "error")
    return False


@bp.post("/clinical/flags/<int:flag_id>/resolve")
@roles_required(Role.clinician)
def resolve_flag(flag_id: int):
    flag = db.session.get(PatientFlag, flag_id) or abort(404)
    if PlainForm().validate_on_submit():
        try:
            clinical.resolve_flag(current_user, flag)
        except DomainError as error:
            flash(error.message, "error")
        else:
            audit.record("resolve", "patient_flag", flag.id, detail={"patient_id": flag.patient_id})
            db.session.commit()
            flash("The flag is resolved.", "success")
    return redirect(url_for("clinical.patient", patient_id=flag.patient_id))
