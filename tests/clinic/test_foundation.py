"""The foundation: tokens, records only their owner sees, throttling, CSRF, headers, sessions."""
import pytest

from tests.conftest import DEMO_PASSWORD, api_token, csrf_from


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


def login(client, email: str, password: str = DEMO_PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_from(page.get_data(as_text=True))})


def test_cookie_copied_before_logout_is_refused_afterwards(demo, client, app):
    assert login(client, "patient@clinic.test").status_code == 302
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
