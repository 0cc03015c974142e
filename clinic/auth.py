"""Sign in (with a second factor), sign out, registration, password reset and account security pages."""
from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from clinic import accounts, audit, jsonin, navigation, sessions
from clinic.auth_context import roles_required
from clinic.errors import DomainError, ValidationError
from clinic.extensions import db, limiter, login_manager
from clinic.forms import (ChangeEmailForm, ChangePasswordForm, EnableTotpForm, ForgotPasswordForm, LoginForm,
                          RegisterForm, ResetPasswordForm, SecondFactorForm)
from clinic.models import Role, User
from clinic.settings import clinic_settings

bp = Blueprint("auth", __name__)
bp.after_app_request(sessions.save_touches)
login_manager.login_view = "auth.login"
SECOND_FACTOR_PAGES = {"auth.security", "auth.logout", "static"}


@login_manager.request_loader
def _load_user(_request) -> User | None:
    # The cookie names a server-side session row, not a user: an ended row logs the browser out.
    row = sessions.current()
    return row.user if row is not None else None


@bp.before_app_request
def _require_second_factor():
    """Admins must sign in with a second factor: until one is set up, only that page is open to them."""
    row = sessions.current() if session.get("sid") else None
    if row and row.user.role == Role.admin.value and not row.second_factor_done \
            and request.endpoint not in SECOND_FACTOR_PAGES:
        flash("Administrators must set up a second factor before going on.")
        return redirect(url_for("auth.security"))


def _login_failed(response) -> bool:
    return response.status_code == 200 and request.method == "POST"


def _login_key() -> str:
    return f"account:{(request.form.get('email') or '').strip().lower()[:254]}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", key_func=_login_key, methods=["POST"], deduct_when=_login_failed)
@limiter.limit("30 per 15 minutes", methods=["POST"], deduct_when=_login_failed)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None and user.email_verified_at is None:
            flash("Please confirm your email address first: we sent you a link when you registered.")
        elif user is not None:
            return _after_password(user)
        else:
            form.password.errors.append("That email and password do not match an account.")
    return render_template("auth/login.html", form=form)


def _after_password(user: User):
    if user.totp_secret:
        session.clear()
        session["second_factor_user"] = user.id
        session["next"] = _safe_next()
        return redirect(url_for("auth.second_factor"))
    sessions.start(user, second_factor_done=False)
    audit.record("login", "user", user.id, user=user)
    db.session.commit()
    return redirect(_safe_next() or _home_for(user))


@bp.route("/login/verify", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"], deduct_when=_login_failed)
def second_factor():
    user = db.session.get(User, session.get("second_factor_user") or 0)
    if user is None:
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        if accounts.check_second_factor(user, form.code.data):
            next_url = session.get("next")
            sessions.start(user, second_factor_done=True)
            audit.record("login", "user", user.id, user=user, detail={"second_factor": True})
            db.session.commit()
            return redirect(next_url or _home_for(user))
        form.code.errors.append("That code is not right. Try again, or use a recovery code.")
    return render_template("auth/second_factor.html", form=form)


def _safe_next() -> str | None:
    """Only a path on this site: an absolute or scheme-relative `next` would be an open redirect."""
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _home_for(user: User) -> str:
    if user.role == Role.admin.value:
        return url_for("admin.index")
    return url_for(navigation.landing_endpoint(user.role))


@bp.post("/logout")
def logout():
    sessions.end_current()
    db.session.commit()
    flash("You are signed out.")
    return redirect(url_for(navigation.home_endpoint()))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        accounts.register_patient(form.name.data, form.email.data, form.password.data)
        db.session.commit()
        return render_template("auth/check_email.html", email=form.email.data, valid_for=accounts.VERIFY_MAX_AGE)
    return render_template("auth/register.html", form=form)


@bp.get("/register/confirm/<token>")
def verify_email(token: str):
    try:
        accounts.verify_email(token)
    except ValidationError as error:
        return render_template("error.html", status=400, message=error.message), 400
    db.session.commit()
    flash("Your email address is confirmed. You can sign in now.")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per 15 minutes", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("auth/check_email.html", email=form.email.data, reset=True,
                               valid_for=accounts.reset_lifetime())
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.reset_password(token, form.password.data)
        except ValidationError as error:
            flash(error.message)
            return redirect(url_for("auth.forgot_password"))
        audit.record("password_reset", "user", user.id, user=user)
        db.session.commit()
        flash("Your password is changed. Please sign in.")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/account/security", methods=["GET", "POST"])
@roles_required()
def security():
    form = EnableTotpForm()
    if form.validate_on_submit():
        try:
            codes = accounts.enable_totp(current_user, _totp_setup_secret(), form.code.data)
        except ValidationError as error:
            form.code.errors.append(error.message)
        else:
            return _second_factor_enabled(codes)
    return _security_page(form=form)


def _totp_setup_secret() -> str:
    """The secret being set up, kept in this browser's session until the person proves their app has it."""
    return session.setdefault("totp_setup", pyotp.random_base32())


def _second_factor_enabled(codes: list[str]):
    sessions.current().second_factor_done = True
    session.pop("totp_setup", None)
    audit.record("second_factor_enabled", "user", current_user.id)
    page = _security_page(codes=codes)  # rendered before the commit: a page that fails saves nothing
    db.session.commit()
    return page


def _security_page(**context):
    """The security page: second factor, password, email address, and the sign-ins and tokens in use."""
    secret = None if current_user.totp_secret else _totp_setup_secret()
    uri = pyotp.TOTP(secret).provisioning_uri(name=current_user.email, issuer_name=clinic_settings().name) \
        if secret else None
    context.setdefault("form", EnableTotpForm())
    context.setdefault("password_form", ChangePasswordForm())
    context.setdefault("email_form", ChangeEmailForm())
    return render_template("auth/security.html", secret=secret, uri=uri, this_login=sessions.current(),
                           logins=sessions.active_logins(current_user),
                           tokens=sessions.active_tokens(current_user), **context)


@bp.post("/account/security/password")
@roles_required()
def change_password():
    """A new password ends every sign-in and token of the account; this browser is signed in afresh."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        second_factor_done = sessions.current().second_factor_done
        try:
            accounts.change_password(current_user, form.current.data, form.password.data)
        except ValidationError as error:
            form.current.errors.append(error.message)
        else:
            sessions.start(current_user, second_factor_done=second_factor_done)
            audit.record("password_changed", "user", current_user.id)
            db.session.commit()
            flash("Your password is changed. Every other sign-in and token of your account has ended.")
            return redirect(url_for("auth.security"))
    return _security_page(password_form=form)


@bp.post("/account/security/email")
@roles_required()
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            new_email = jsonin.email({"email": form.email.data})  # the API's rule, test domains included
        except ValidationError as error:
            form.email.errors.append(error.message)
        else:
            accounts.request_email_change(current_user, new_email)
            audit.record("email_change_requested", "user", current_user.id)
            db.session.commit()
            flash(f"We sent a confirmation link to {new_email}. Your address changes when you open it.")
            return redirect(url_for("auth.security"))
    return _security_page(email_form=form)


@bp.get("/account/email/confirm/<token>")
def confirm_email_change(token: str):
    try:
        user = accounts.confirm_email_change(token)
    except DomainError as error:
        return render_template("error.html", status=error.status, message=error.message), error.status
    audit.record("email_changed", "user", user.id, user=user)
    db.session.commit()
    flash(f"Your email address is now {user.email}. Use it to sign in from now on.")
    return redirect(url_for("auth.security" if current_user.is_authenticated else "auth.login"))


@bp.post("/account/security/sessions/<int:session_id>/end")
@roles_required()
def end_login(session_id: int):
    sessions.end_login(current_user, session_id)
    audit.record("session_ended", "user", current_user.id, detail={"session": session_id})
    db.session.commit()
    flash("That sign-in has ended.")
    return redirect(url_for("auth.security"))


@bp.post("/account/security/tokens/<int:token_id>/revoke")
@roles_required()
def revoke_token(token_id: int):
    sessions.revoke_token(current_user, token_id)
    audit.record("token_revoked", "user", current_user.id, detail={"token": token_id})
    db.session.commit()
    flash("That token no longer works.")
    return redirect(url_for("auth.security"))
