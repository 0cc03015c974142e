"""Sign-ins and API tokens end for good on a password reset or change and on disabling the account, and one at a
time from the security page; a new email address takes effect only once a link sent to it is opened."""
import re

import pyotp
from sqlalchemy import select

from clinic import accounts, sessions
from clinic.extensions import db
from clinic.models import ApiToken, OutboxMessage, Patient, User
from tests.factories import api_token, csrf_from, DEMO_PASSWORD, guest_booking, next_weekday, sign_in

NEW_PASSWORD = "a calmer harbour at dawn 42"


def post_form(client, page: str, action: str, **fields):
    return client.post(action, data={**fields, "csrf_token": csrf_from(client.get(page).get_data(as_text=True))})


def mails(app, kind: str) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def link_in(message: OutboxMessage) -> str:
    return re.search(r"http://127\.0\.0\.1:5000(/\S+)", message.text).group(1)


def works(client, headers) -> bool:
    return client.get("/api/v1/appointments", headers=headers).status_code == 200


def signed_in(client) -> bool:
    return client.get("/account/security").status_code == 200


# --- tokens and sessions -------------------------------------------------------------------------------------------

def test_password_reset_ends_every_token_and_sign_in(demo, client, app):
    headers = api_token(client, "patient@clinic.test")
    browser = app.test_client()
    sign_in(browser, "patient@clinic.test", expect=None)
    post_form(client, "/password/forgot", "/password/forgot", email="patient@clinic.test")
    path = link_in(mails(app, "password_reset")[0])
    assert post_form(client, path, path, password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 302
    assert not works(client, headers) and not signed_in(browser)
    assert works(client, api_token(client, "patient@clinic.test", NEW_PASSWORD))


def _admin(app):
    """An administrator signed in with a second factor."""
    with app.app_context():
        secret = pyotp.random_base32()
        accounts.enable_totp(accounts.find_user("admin@clinic.test"), secret, pyotp.TOTP(secret).now())
        db.session.commit()
    admin = app.test_client()
    sign_in(admin, "admin@clinic.test", expect=None)
    assert post_form(admin, "/login/verify", "/login/verify", code=pyotp.TOTP(secret).now()).status_code == 302
    return admin


def test_a_disabled_users_tokens_stay_dead_after_re_enabling(demo, client, app):
    headers = api_token(client, "frontdesk@clinic.test")
    browser = app.test_client()
    sign_in(browser, "frontdesk@clinic.test", expect=None)
    with app.app_context():
        target = accounts.find_user("frontdesk@clinic.test").id
    admin = _admin(app)
    post_form(admin, "/admin/", f"/admin/users/{target}/active")  # disable
    assert not works(client, headers) and not signed_in(browser)
    post_form(admin, "/admin/", f"/admin/users/{target}/active")  # enable again
    assert not works(client, headers) and not signed_in(browser)
    assert works(client, api_token(client, "frontdesk@clinic.test"))


def test_changing_the_password_ends_other_sign_ins_and_tokens_and_keeps_this_one(demo, client, app):
    headers = api_token(app.test_client(), "patient@clinic.test")
    other = app.test_client()
    sign_in(other, "patient@clinic.test", expect=None)
    sign_in(client, "patient@clinic.test", expect=None)
    wrong = post_form(client, "/account/security", "/account/security/password", current="not it at all",
                      password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert wrong.status_code == 200 and "current password is not right" in wrong.get_data(as_text=True)
    assert works(client, headers)
    changed = post_form(client, "/account/security", "/account/security/password", current=DEMO_PASSWORD,
                        password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert changed.status_code == 302
    assert not works(app.test_client(), headers) and not signed_in(other) and signed_in(client)
    assert sign_in(app.test_client(), "patient@clinic.test", NEW_PASSWORD, expect=None).status_code == 302


def test_security_page_lists_sign_ins_and_tokens_and_revokes_each(demo, client, app):
    headers = api_token(app.test_client(), "patient@clinic.test")
    assert works(client, headers)  # marks it used
    other = app.test_client()
    sign_in(other, "patient@clinic.test", expect=None)
    sign_in(client, "patient@clinic.test", expect=None)
    html = client.get("/account/security").get_data(as_text=True)
    assert html.count('class="sign-in"') == 2 and "(this device)" in html
    assert html.count('class="api-token"') == 1 and "last used\n" in html and "never" not in html
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
        user = accounts.find_user("patient@clinic.test")
        other_login = sessions.active_logins(user)[-1].id  # newest first: the other browser signed in first
    assert client.post(f"/account/security/tokens/{token_id}/revoke").status_code == 400  # no CSRF token
    assert works(client, headers)
    assert post_form(client, "/account/security", f"/account/security/tokens/{token_id}/revoke").status_code == 302
    assert not works(client, headers)
    assert post_form(client, "/account/security", f"/account/security/sessions/{other_login}/end").status_code == 302
    assert not signed_in(other) and signed_in(client)
    assert "No API tokens are in use" in client.get("/account/security").get_data(as_text=True)


def test_nobody_revokes_another_persons_sign_in_or_token(demo, client, app):
    api_token(app.test_client(), "frontdesk@clinic.test")
    staff = app.test_client()
    sign_in(staff, "frontdesk@clinic.test", expect=None)
    sign_in(client, "patient@clinic.test", expect=None)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert post_form(client, "/account/security", f"/account/security/tokens/{token_id}/revoke").status_code == 404
    assert post_form(client, "/account/security", "/account/security/sessions/1/end").status_code == 404
    assert signed_in(staff)


# --- email address ------------------------------------------------------------------------------------------------

def _patient(app) -> tuple[int, int]:
    with app.app_context():
        user = accounts.find_user("patient@clinic.test")
        return user.id, user.patient.id


def test_a_new_email_through_the_api_waits_for_the_link_sent_to_it(demo, client, app):
    headers = api_token(client, "patient@clinic.test")
    _, patient_id = _patient(app)
    response = client.patch(f"/api/v1/patients/{patient_id}", json={"email": "Pat.New@Example.com", "phone": "617 555 0101"},
                            headers=headers)
    assert response.status_code == 200
    assert response.json["patient"]["email"] == "patient@clinic.test" and response.json["patient"]["phone"]
    assert response.json["email_change"]["status"] == "confirmation_sent"
    assert "pat.new@example.com" in response.json["email_change"]["message"]
    assert sign_in(app.test_client(), "pat.new@example.com", expect=None).status_code == 200  # not yet
    (confirm,) = mails(app, "email_change_confirm")
    (notice,) = mails(app, "email_change_notice")
    assert confirm.to == "pat.new@example.com" and notice.to == "patient@clinic.test"
    assert "pat.new@example.com" in notice.text and "/account/email/confirm/" not in notice.text
    assert client.get(link_in(confirm)).status_code == 302
    assert client.get(f"/api/v1/patients/{patient_id}", headers=headers).json["patient"]["email"] == "pat.new@example.com"
    assert sign_in(app.test_client(), "pat.new@example.com", expect=None).status_code == 302
    assert client.get(link_in(confirm)).status_code == 422  # single use


def test_a_new_email_from_the_security_page_waits_for_the_link(demo, client, app):
    sign_in(client, "patient@clinic.test", expect=None)
    done = post_form(client, "/account/security", "/account/security/email", email="pat.page@example.com")
    assert done.status_code == 302
    assert "We sent a confirmation link to pat.page@example.com" in client.get("/account/security").get_data(as_text=True)
    with app.app_context():
        assert accounts.find_user("pat.page@example.com") is None
    bad = post_form(client, "/account/security", "/account/security/email", email="not an address")
    assert bad.status_code == 200 and "valid email address" in bad.get_data(as_text=True)
    (confirm,) = mails(app, "email_change_confirm")
    assert client.get(link_in(confirm)).headers["Location"].endswith("/account/security")
    with app.app_context():
        user = accounts.find_user("pat.page@example.com")
        assert user is not None and user.patient.email == "pat.page@example.com"


def test_a_patient_cannot_take_the_address_of_someone_elses_guest_booking(demo, client, app):
    guest = client.post("/api/v1/appointments", json=guest_booking(next_weekday(2), 11, email="victim@example.com"))
    assert guest.status_code == 201
    headers = api_token(client, "patient@clinic.test")
    user_id, patient_id = _patient(app)
    asked = client.patch(f"/api/v1/patients/{patient_id}", json={"email": "victim@example.com"}, headers=headers)
    assert asked.status_code == 200 and asked.json["patient"]["email"] == "patient@clinic.test"
    assert client.get("/api/v1/appointments", headers=headers).json["appointments"] == []
    (confirm,) = mails(app, "email_change_confirm")
    assert confirm.to == "victim@example.com"  # only the address's owner can open it
    refused = client.get(link_in(confirm))  # and even then it does not merge two people's records
    assert refused.status_code == 409
    with app.app_context():
        assert db.session.get(User, user_id).email == "patient@clinic.test"
        assert db.session.scalar(select(Patient.user_id).where(Patient.email == "victim@example.com")) is None


def test_staff_still_correct_the_address_of_a_patient_without_an_account(demo, client, app):
    assert client.post("/api/v1/appointments", json=guest_booking(next_weekday(2), 11, email="typo@exmaple.com")) \
        .status_code == 201
    with app.app_context():
        patient_id = db.session.scalar(select(Patient.id).where(Patient.email == "typo@exmaple.com"))
    staff = api_token(client, "frontdesk@clinic.test")
    fixed = client.patch(f"/api/v1/patients/{patient_id}", json={"email": "typo@example.com"}, headers=staff)
    assert fixed.status_code == 200 and fixed.json["patient"]["email"] == "typo@example.com"
    assert "email_change" not in fixed.json


def test_a_password_change_voids_email_changes_still_waiting(demo, client, app):
    """Someone who used a stolen sign-in to ask for their own address loses it when the owner changes the password."""
    sign_in(client, "patient@clinic.test", expect=None)
    post_form(client, "/account/security", "/account/security/email", email="thief@example.com")
    post_form(client, "/account/security", "/account/security/password", current=DEMO_PASSWORD, password=NEW_PASSWORD,
              confirm=NEW_PASSWORD)
    (confirm,) = mails(app, "email_change_confirm")
    assert app.test_client().get(link_in(confirm)).status_code == 422
    with app.app_context():
        assert accounts.find_user("thief@example.com") is None
