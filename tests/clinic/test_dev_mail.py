"""Development mail, run as `make run` runs it: the local SMTP sink (`python -m clinic.dev_mail_sink`) and the
sender (`flask outbox send --loop`) as real processes, round after round; the app shows what arrived at
`/dev/mail`, with working links, and has no such page in production."""
import os
import re
import subprocess
import sys
import time as time_module
from pathlib import Path

import pytest

from clinic import create_app
from clinic.extensions import db
from tests.gunicorn_server import stop_process, wait_for_port
from tests.factories import csrf_from, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STRONG = "lantern orchard velvet 93"


@pytest.fixture
def mail_processes(demo, database_url, tmp_path):
    """The sink and the sender loop, started with the same commands and settings as `make run`."""
    with demo.app_context():  # the seeding session must let go of the database first
        db.session.remove()
        db.engine.dispose()
    port, folder = free_port(), tmp_path / "mail"
    demo.config["DEV_MAIL_DIR"] = str(folder)
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": database_url, "SECRET_KEY": "test-secret",
           "CLINIC_ENV": "development", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "DEV_MAIL_DIR": str(folder),
           "PUBLIC_URL": "http://127.0.0.1:5000", "PYTHONUNBUFFERED": "1"}
    started = dict(text=True, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sink = subprocess.Popen([sys.executable, "-m", "clinic.dev_mail_sink", "--port", str(port), "--folder",
                             str(folder)], **started)
    wait_for_port(port, sink)
    log = tmp_path / "sender.log"  # read while it runs: each round, idle ones too, says what it sent
    with log.open("w") as sender_out:
        sender = subprocess.Popen([str(BIN / "flask"), "outbox", "send", "--loop", "--interval", "0.3", "--verbose"],
                                  **{**started, "stdout": sender_out})
    processes = {"sink": sink, "sender": sender, "folder": folder, "sender_log": log}
    yield processes
    for name in ("sender", "sink"):
        if processes[name].poll() is None:
            processes[name + "_output"] = stop_process(processes[name])


def _wait_for_mail(folder: Path, count: int, sender: subprocess.Popen, seconds: float = 20) -> list[Path]:
    deadline = time_module.monotonic() + seconds
    while time_module.monotonic() < deadline:
        paths = sorted(folder.glob("*.eml"), key=lambda p: int(p.stem)) if folder.is_dir() else []
        if len(paths) >= count:
            return paths
        assert sender.poll() is None, f"the sender loop died:\n{sender.communicate()[0]}"
        time_module.sleep(0.2)
    pytest.fail(f"{count} messages did not arrive within {seconds} s")


def _wait_for_idle_rounds(log: Path, count: int, sender: subprocess.Popen, seconds: float = 20) -> None:
    """Until the sender loop has reported `count` more rounds that sent nothing than it had so far."""
    idle = "sent 0, failed 0"
    target = log.read_text().count(idle) + count
    deadline = time_module.monotonic() + seconds
    while time_module.monotonic() < deadline:
        if log.read_text().count(idle) >= target:
            return
        assert sender.poll() is None, f"the sender loop died:\n{log.read_text()}"
        time_module.sleep(0.1)
    pytest.fail(f"the sender loop did not go round {count} idle times within {seconds} s")


def _post_form(client, page: str, action: str, **fields):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**fields, "csrf_token": token})


def _link_on_dev_page(client, subject: str) -> str:
    """Open the newest message with `subject` on the development mail page and return the app link in it."""
    listing = client.get("/dev/mail").get_data(as_text=True)
    message_path = re.search(rf'href="(/dev/mail/\d+)">{re.escape(subject)}<', listing).group(1)
    message = client.get(message_path).get_data(as_text=True)
    return re.search(r'<a href="http://127\.0\.0\.1:5000(/[^"]+)"', message).group(1)


def test_make_run_mail_reaches_the_dev_page_round_after_round(demo, client, mail_processes):
    folder, sender = mail_processes["folder"], mail_processes["sender"]
    _post_form(client, "/register", "/register", name="Nora New", email="nora@example.com", password=STRONG,
               confirm=STRONG)
    _wait_for_mail(folder, 1, sender)
    _wait_for_idle_rounds(mail_processes["sender_log"], 3, sender)  # the loop must outlive them (it died on the 2nd)
    confirm = _link_on_dev_page(client, "Confirm your email address")
    assert client.get(confirm).headers["Location"].endswith("/login")

    _post_form(client, "/password/forgot", "/password/forgot", email="nora@example.com")
    _wait_for_mail(folder, 2, sender)
    reset = _link_on_dev_page(client, "Reset your password")
    assert client.get(reset).status_code == 200

    _post_form(client, "/password/forgot", "/password/forgot", email="patient@clinic.test")
    paths = _wait_for_mail(folder, 3, sender)
    listing = client.get("/dev/mail").get_data(as_text=True)
    assert "patient@clinic.test" in listing and "nora@example.com" in listing
    assert len(paths) == 3 and sender.poll() is None
    output = stop_process(sender) + mail_processes["sender_log"].read_text() + stop_process(mail_processes["sink"])
    assert "Traceback" not in output and "Error" not in output, output
    assert output.count("sent 1, failed 0") == 3, output


def test_dev_mail_page_is_never_registered_in_production(monkeypatch, database_url):
    monkeypatch.setenv("CLINIC_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "production-secret")
    monkeypatch.setenv("DATABASE_URL", database_url)
    app = create_app()
    assert not [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/dev")]
    with app.app_context():
        db.engine.dispose()
