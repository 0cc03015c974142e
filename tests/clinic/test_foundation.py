"""The foundation: tokens, records only their owner sees, throttling, CSRF, headers, sessions."""
import re

import pytest

from tests.factories import api_token, csrf_from, DEMO_PASSWORD, sign_in


def test_token_for_right_password_and_401_for_wrong(demo, client):
    ok = client.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": DEMO_PASSWORD})
    assert ok.status_code == 201
    assert ok.json["user"]["role"] == "patient" and ok.json["user"]["patient_id"] is not None
    wrong = client.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": "nope-nope-nope"})
    unknown = client.post("/api/v1/tokens", json={"email": "nobody@clinic.test", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["error"]["message"] == unknown.json["error"]["message"]


def test_patient_cannot_read_another_patients_record(demo, client):
    headers = api_token(client, "patient@clinic.test")
    own = client.get("/api/v1/tokens")  # method not allowed, still JSON
    assert own.status_code == 405 and own.json["error"]["code"] == "method_not_allowed"
    me = client.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": DEMO_PASSWORD}).json["user"]
    assert client.get(f"/api/v1/patients/{me['patient_id']}", headers=headers).status_code == 200
    other = client.post("/api/v1/appointments", json={
        "service": "consultation", "start": "2099-01-05T09:00:00-05:00",
        "patient": {"name": "Other Person", "email": "other@example.com", "phone": "617 555 0101"}})
    assert other.status_code == 422  # too far ahead, but the guest's record exists now
    assert client.get(f"/api/v1/patients/{me['patient_id'] + 1}", headers=headers).status_code == 404
    assert client.get("/api/v1/patients/999999", headers=headers).status_code == 404


@pytest.mark.ratelimit
def test_thirty_wrong_passwords_get_429(demo, client):
    statuses = [client.post("/api/v1/tokens", json={"email": "patient@clinic.test", "password": f"wrong-{i}"}).status_code
                for i in range(30)]
    assert statuses[0] == 401 and statuses[-1] == 429
    page = client.get("/login")
    for i in range(30):
        last = client.post("/login", data={"email": "admin@clinic.test", "password": f"wrong-{i}",
                                           "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert last.status_code == 429


def test_login_without_csrf_token_is_400(demo, client):
    response = client.post("/login", data={"email": "patient@clinic.test", "password": DEMO_PASSWORD})
    assert response.status_code == 400


def test_home_page_sends_security_headers(demo, client):
    response = client.get("/")
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_cookie_copied_before_logout_is_refused_afterwards(demo, client, app):
    assert sign_in(client, "patient@clinic.test", expect=None).status_code == 302
    assert client.get("/account").status_code == 200
    cookie = client.get_cookie("session").value
    token = csrf_from(client.get("/account").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/account").status_code == 302  # back to the login page


def test_malformed_json_and_wrong_types_get_4xx_json(demo, client):
    bad = client.post("/api/v1/tokens", data="{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json["error"]["code"] == "malformed_json"
    typed = client.post("/api/v1/tokens", json={"email": ["x"], "password": 5})
    assert typed.status_code == 422 and "email" in typed.json["error"]["fields"]
    odd = client.post("/api/v1/tokens", json={"email": "a\x00b@example.com", "password": "x"})
    assert odd.status_code == 422
    huge = client.post("/api/v1/tokens", data="x" * (2 * 1024 * 1024), content_type="application/json")
    assert huge.status_code == 413


def test_disabling_a_user_ends_their_session_and_tokens(demo, client, app):
    headers = api_token(client, "frontdesk@clinic.test")
    staff = app.test_client()
    assert sign_in(staff, "frontdesk@clinic.test", expect=None).status_code == 302
    assert staff.get("/staff").status_code == 200
    admin = app.test_client()
    with app.app_context():
        from clinic.accounts import find_user, enable_totp
        import pyotp
        from clinic.extensions import db
        secret = pyotp.random_base32()
        enable_totp(find_user("admin@clinic.test"), secret, pyotp.TOTP(secret).now())
        target = find_user("frontdesk@clinic.test").id
        db.session.commit()
    assert sign_in(admin, "admin@clinic.test", expect=None).headers["Location"].endswith("/login/verify")
    page = admin.get("/login/verify").get_data(as_text=True)
    verified = admin.post("/login/verify", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(page)})
    assert verified.status_code == 302
    token = csrf_from(admin.get("/admin/").get_data(as_text=True))
    assert admin.post(f"/admin/users/{target}/active", data={"csrf_token": token}).status_code == 302
    assert staff.get("/staff").status_code == 302
    assert client.get("/api/v1/appointments", headers=headers).status_code == 401


def test_admin_without_second_factor_is_sent_to_set_one_up(demo, client):
    sign_in(client, "admin@clinic.test", expect=None)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/security")


def test_staff_session_ends_after_thirty_idle_minutes(demo, client, app):
    from datetime import timedelta
    from clinic.database import utcnow
    from clinic.extensions import db
    from clinic.models import UserSession
    sign_in(client, "frontdesk@clinic.test", expect=None)
    assert client.get("/staff").status_code == 200
    with app.app_context():
        db.session.execute(db.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
        db.session.commit()
    assert client.get("/staff").status_code == 302


def test_password_reset_link_works_once(demo, client, app):
    from clinic.extensions import db
    from clinic.models import OutboxMessage
    page = client.get("/password/forgot").get_data(as_text=True)
    client.post("/password/forgot", data={"email": "patient@clinic.test", "csrf_token": csrf_from(page)})
    with app.app_context():
        text = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "password_reset")).one().text
    path = re.search(r"http://127.0.0.1:5000(/password/reset/\S+)", text).group(1)
    form = client.get(path).get_data(as_text=True)
    new = {"password": "a calmer harbour at dawn 42", "confirm": "a calmer harbour at dawn 42", "csrf_token": csrf_from(form)}
    assert client.post(path, data=new).status_code == 302
    assert sign_in(client, "patient@clinic.test", "a calmer harbour at dawn 42", expect=None).status_code == 302
    again = client.post(path, data={**new, "csrf_token": csrf_from(client.get(path).get_data(as_text=True))})
    assert again.headers["Location"].endswith("/password/forgot")


def test_the_reset_page_and_email_say_how_long_the_link_works_as_configured(demo, client, app):
    from datetime import timedelta

    from clinic.extensions import db
    from clinic.models import OutboxMessage
    app.config["PASSWORD_RESET_LIFETIME"] = timedelta(minutes=90)
    page = client.get("/password/forgot").get_data(as_text=True)
    answer = client.post("/password/forgot", data={"email": "patient@clinic.test", "csrf_token": csrf_from(page)})
    assert "The link works for 1 hour 30 minutes and can be used once." in answer.get_data(as_text=True)
    with app.app_context():
        text = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "password_reset")).one().text
    assert "The link works for 1 hour 30 minutes and can be used only once." in text


def test_register_confirm_then_sign_in(demo, client, app):
    from clinic.extensions import db
    from clinic.models import OutboxMessage
    page = client.get("/register").get_data(as_text=True)
    weak = client.post("/register", data={"name": "New Person", "email": "new@example.com", "password": "password1",
                                          "confirm": "password1", "csrf_token": csrf_from(page)})
    assert weak.status_code == 200 and "characters" in weak.get_data(as_text=True)
    strong = "lantern orchard velvet 93"
    client.post("/register", data={"name": "New Person", "email": "new@example.com", "password": strong,
                                   "confirm": strong, "csrf_token": csrf_from(page)})
    assert sign_in(client, "new@example.com", strong, expect=None).status_code == 200  # not confirmed yet
    with app.app_context():
        text = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "verify_email")).one().text
    client.get(re.search(r"http://127.0.0.1:5000(/register/confirm/\S+)", text).group(1))
    assert sign_in(client, "new@example.com", strong, expect=None).status_code == 302
    assert client.get("/account").status_code == 200


def test_production_refuses_to_start_without_secret_key_and_database(monkeypatch, tmp_path):
    from clinic import config
    monkeypatch.setenv("CLINIC_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/clinic")
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load(tmp_path)
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(config.ConfigError, match="DATABASE_URL"):
        config.load(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.example/clinic")
    loaded = config.load(tmp_path)
    assert loaded["SESSION_COOKIE_SECURE"] is True and loaded["SESSION_COOKIE_HTTPONLY"] is True


def test_users_create_reads_the_password_from_standard_input(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "nurse@clinic.test", "--role", "clinician", "--name", "Nia Nurse"],
                           input="steady river lantern 58\n")
    assert result.exit_code == 0, result.output
    weak = runner.invoke(args=["users", "create", "x@clinic.test", "--role", "billing", "--name", "X"], input="short\n")
    assert weak.exit_code != 0 and "characters" in weak.output
