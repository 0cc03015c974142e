"""Account services: creating users, registration, email verification, password reset and the second factor.

Services take the acting user explicitly, flush, never commit, and raise domain errors."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pyotp
from blinker import Namespace
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, or_, select

from clinic import formatting, mail, sessions
from clinic.database import utcnow
from clinic.errors import Conflict, ValidationError
from clinic.extensions import db
from clinic.models import EmailChange, PasswordReset, Patient, RecoveryCode, Role, User
from clinic.passwords import check_password, hash_password, weakness
from clinic.tokens import new_token, token_hash

VERIFY_MAX_AGE = timedelta(days=2)
EMAIL_CHANGE_LIFETIME = timedelta(hours=24)
#: Sent when an account's address is proven and its patient record linked (sender: the patient); booking
#: connects to bring the guest bookings made with that address onto it.
patient_linked = Namespace().signal("patient-linked")


def reset_lifetime() -> timedelta:
    """How long a password reset link works (the PASSWORD_RESET_LIFETIME setting)."""
    return current_app.config["PASSWORD_RESET_LIFETIME"]


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, name: str, role: Role, password: str) -> User:
    """Create a verified user (staff by an admin or the CLI; demo data)."""
    problem = weakness(password, [email, name])
    if problem:
        raise ValidationError(problem, fields={"password": problem})
    if find_user(email):
        raise Conflict("A user with that email already exists.", fields={"email": "already used"})
    user = User(email=email.strip().lower(), name=name.strip(), role=role.value, password_hash=hash_password(password),
                email_verified_at=utcnow())
    db.session.add(user)
    db.session.flush()
    if role is Role.patient:
        _link_patient(user)
    return user


def register_patient(name: str, email: str, password: str) -> None:
    """Self-registration. Nothing is linked to existing records until the email address is confirmed;
    an address already registered gets a reminder instead, so the page never reveals who has an account."""
    existing = find_user(email)
    if existing:
        mail.queue(existing.email, "You already have an account", "already_registered", name=existing.name,
                   link=mail.absolute_url("auth.forgot_password"))
        return
    user = User(email=email.strip().lower(), name=name.strip(), role=Role.patient.value,
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    mail.queue(user.email, "Confirm your email address", "verify_email", name=user.name,
               link=mail.absolute_url("auth.verify_email", token=_serializer().dumps(user.id, salt="verify")),
               valid_for=formatting.duration(VERIFY_MAX_AGE))


def verify_email(token: str) -> User:
    """Confirm a registration; the account is then linked to the patient record that has this email."""
    try:
        user_id = _serializer().loads(token, salt="verify", max_age=VERIFY_MAX_AGE.total_seconds())
    except BadSignature:
        raise ValidationError("This confirmation link is not valid or has expired. Please register again.")
    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationError("This confirmation link is not valid or has expired. Please register again.")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        _link_patient(user)
    return user


def _link_patient(user: User) -> None:
    """The address is proven: the account takes the oldest record made with it that has no account yet."""
    patient = user.patient or db.session.scalar(select(Patient).where(
        func.lower(Patient.email) == user.email.lower(), Patient.user_id.is_(None)).order_by(Patient.id).limit(1))
    if patient is None:
        patient = Patient(name=user.name, email=user.email, user=user)
        db.session.add(patient)
    patient.user = user
    db.session.flush()
    patient_linked.send(patient)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"])


def request_password_reset(email: str) -> None:
    """Email a single-use, expiring link; silently does nothing for an unknown address."""
    user = find_user(email)
    if user is None or not user.active:
        return
    token = new_token()
    db.session.add(PasswordReset(token_hash=token_hash(token), user=user,
                                 expires_at=utcnow() + reset_lifetime()))
    mail.queue(user.email, "Reset your password", "password_reset", name=user.name,
               link=mail.absolute_url("auth.reset_password", token=token),
               valid_for=formatting.duration(reset_lifetime()))


def reset_password(token: str, password: str) -> User:
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == token_hash(token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise ValidationError("This reset link has expired or was already used. Please ask for a new one.")
    reset.used_at = utcnow()
    reset.user.password_hash = hash_password(password)
    if reset.user.email_verified_at is None:
        reset.user.email_verified_at = utcnow()  # the link proved the address
        _link_patient(reset.user)
    sessions.end_all(reset.user)
    return reset.user


def authenticate(email: str, password: str) -> User | None:
    """The user if the password matches; one answer for an unknown email and a wrong password."""
    user = find_user(email)
    if not check_password(user.password_hash if user else None, password) or not user.active:
        return None
    return user


def check_second_factor(user: User, code: str) -> bool:
    code = code.strip().replace(" ", "").replace("-", "").lower()
    if user.totp_secret and pyotp.TOTP(user.totp_secret).verify(code, valid_window=1):
        return True
    recovery = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == token_hash(code), RecoveryCode.used_at.is_(None)))
    if recovery is None:
        return False
    recovery.used_at = utcnow()
    return True


def enable_totp(user: User, secret: str, code: str) -> list[str]:
    """Turn on the second factor once the person proved their app has `secret`; returns recovery codes."""
    if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        raise ValidationError("That code is not right. Check the time on your phone and try again.",
                              fields={"code": "not right"})
    user.totp_secret = secret
    codes = [secrets.token_hex(5) for _ in range(10)]
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=token_hash(c)) for c in codes)
    return codes


def change_password(user: User, current: str, new: str) -> None:
    """A signed-in person changes their password: every login and token of theirs ends (the view signs
    this browser in again)."""
    if not check_password(user.password_hash, current):
        raise ValidationError("Your current password is not right.", fields={"current": "not right"})
    user.password_hash = hash_password(new)
    sessions.end_all(user)


def request_email_change(user: User, new_email: str) -> None:
    """Email a single-use link to the new address and a notice to the current one; the address changes only
    when the link is opened. The same answer whether or not the address is used elsewhere: it reveals nobody."""
    new_email = new_email.strip().lower()
    if new_email == user.email:
        return
    token = new_token()
    db.session.add(EmailChange(token_hash=token_hash(token), user=user, new_email=new_email,
                               expires_at=utcnow() + EMAIL_CHANGE_LIFETIME))
    mail.queue(new_email, "Confirm your new email address", "email_change_confirm", name=user.name,
               link=mail.absolute_url("auth.confirm_email_change", token=token),
               valid_for=formatting.duration(EMAIL_CHANGE_LIFETIME))
    mail.queue(user.email, "Your email address is about to change", "email_change_notice", name=user.name,
               new_email=new_email, link=mail.absolute_url("auth.security"))


def confirm_email_change(token: str) -> User:
    """Apply a requested address once its owner opened the link sent to it; each link works once."""
    change = db.session.scalar(select(EmailChange).where(EmailChange.token_hash == token_hash(token)))
    if change is None or change.used_at is not None or change.expires_at <= utcnow():
        raise ValidationError("This confirmation link has expired or was already used. "
                              "Please ask for a new one from your account's security page.")
    if _address_used_elsewhere(change.user, change.new_email):
        raise Conflict("That email address is already used by another record at the clinic. "
                       "Please call us and we will help.")
    change.used_at = utcnow()
    change.user.email = change.new_email
    if change.user.patient:
        change.user.patient.email = change.new_email
    return change.user


def _address_used_elsewhere(user: User, email: str) -> bool:
    """Another account or any other patient record has it. Unlike registration, a changed address never
    merges records: the link's opener proves the address, not that the account asking for it is theirs."""
    other_user = find_user(email)
    other_patient = db.session.scalar(select(Patient.id).where(
        func.lower(Patient.email) == email.lower(),
        or_(Patient.user_id.is_(None), Patient.user_id != user.id)).limit(1))
    return (other_user is not None and other_user.id != user.id) or other_patient is not None
