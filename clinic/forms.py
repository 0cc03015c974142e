"""Forms for signing in and managing an account (Flask-WTF: CSRF on every one)."""
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from clinic import claim_codes
from clinic.jsonin import EARLIEST_DAY, LATEST_DAY, SANE_RANGE
from clinic.passwords import weakness


class PlainText:
    """Text without control characters (PostgreSQL refuses NUL; the others print as garbage on claims): a line, or
    several lines when `multiline`."""

    def __init__(self, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field):
        allowed = "\n\r\t" if self.multiline else ""
        if any((ord(c) < 32 or 127 <= ord(c) < 160) and c not in allowed for c in field.data or ""):
            raise ValidationError(f"{field.label.text} can hold letters, digits and punctuation, not control characters.")


class NPI:
    """A National Provider Identifier whose Luhn check digit holds (a mistyped one is refused before a claim is)."""

    def __call__(self, form, field):
        if field.data and not claim_codes.is_npi(field.data.strip()):
            raise ValidationError("This NPI's check digit does not match: please copy it again from NPPES.")


class EIN:
    """An employer identification number, the practice's tax id: never a person's social security number."""

    def __call__(self, form, field):
        if field.data and not claim_codes.is_ein(field.data.strip()):
            raise ValidationError("An EIN looks like 12-3456789: two digits, a hyphen, seven digits "
                                  "(never a social security number).")


class SaneDate:
    """A date field's value within the range every date the app reads must keep (see clinic.jsonin)."""

    def __init__(self, label: str):
        self.label = label

    def __call__(self, form, field):
        if field.data is not None and not EARLIEST_DAY <= field.data <= LATEST_DAY:
            raise ValidationError(f"The {self.label} must be {SANE_RANGE}.")


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Please enter your email address."), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired("Please enter your password."), Length(max=200)])


class SecondFactorForm(FlaskForm):
    code = StringField("Code from your authenticator app, or a recovery code",
                       validators=[DataRequired("Please enter the code."), Length(max=40)])


class StrongPassword:
    def __call__(self, form, field):
        problem = weakness(field.data or "", [form.email.data if hasattr(form, "email") else ""])
        if problem:
            raise ValidationError(problem)


class RegisterForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Please enter your name."), Length(max=200)])
    email = EmailField("Email address", validators=[DataRequired("Please enter your email address."),
                                                     Email("Please enter a valid email address."), Length(max=254)])
    password = PasswordField("Password (at least 10 characters)", validators=[DataRequired("Please choose a password."),
                                                                              StrongPassword()])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The two passwords are not the same.")])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Please enter your email address."), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password (at least 10 characters)",
                             validators=[DataRequired("Please choose a password."), StrongPassword()])
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("password", "The two passwords are not the same.")])


class EnableTotpForm(FlaskForm):
    code = StringField("6-digit code from your authenticator app",
                       validators=[DataRequired("Please enter the code."), Length(min=6, max=6)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Please enter your current password."),
                                                            Length(max=200)])
    password = PasswordField("New password (at least 10 characters)",
                             validators=[DataRequired("Please choose a password."), StrongPassword()])
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("password", "The two passwords are not the same.")])


class ChangeEmailForm(FlaskForm):
    email = EmailField("New email address", validators=[DataRequired("Please enter the new email address."),
                                                        Length(max=254)])


class PatientDetailsForm(FlaskForm):
    """A patient's own details: the name on their records and the date of birth and address a superbill needs.
    The values are read by clinic.jsonin's patient readers, the same as the API's."""
    name = StringField("Full name", validators=[Length(max=200), PlainText()])
    phone = StringField("Phone", validators=[Length(max=40), PlainText()])
    date_of_birth = StringField("Date of birth", validators=[Length(max=10)])
    address = TextAreaField("Mailing address", validators=[Length(max=500), PlainText(multiline=True)])
