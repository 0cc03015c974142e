"""The month's superbill batch end to end on the real database with real wkhtmltopdf: started over the API, worked by
two workers at once (threads with their own sessions, as two hosts would), a dead worker's items claimed again after
its lease, a failing patient listed with the reason while the rest issue, no duplicates when the month runs again, a
new app instance (a restarted web server) seeing and finishing the job, and each patient told through the outbox."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bench.billable import billable_patients
from billing import superbill_batches as batches
from billing.batch_models import SuperbillBatch, SuperbillBatchItem
from billing.models import Superbill
from clinic import create_app
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import OutboxMessage, Patient
from tests.factories import api_token

MONTH, FIRST = "2026-10", date(2026, 10, 1)


@pytest.fixture
def billable(demo):
    """Five patients with a completed, paid IV treatment in October 2026; the third has no address on file."""
    with demo.app_context():
        ids = billable_patients(5, FIRST)
        db.session.get(Patient, ids[2]).address = None
        db.session.commit()
    return ids


def start(client, month=MONTH, email="billing@clinic.test"):
    return client.post("/api/v1/superbill-batches", json={"month": month}, headers=api_token(client, email))


def run_workers(app, count: int, *, each_takes_one: bool = False, **kwargs) -> list[Counter]:
    """`count` workers at once, each in its own thread and app context (its own database session). With
    `each_takes_one`, a worker that has issued its first chunk waits until every other one has too: which worker the
    scheduler lets claim first is then no longer what the test depends on."""
    results: list[Counter] = [Counter() for _ in range(count)]
    ready, first_chunks = threading.Barrier(count), threading.Barrier(count)

    def worker(index: int) -> None:
        waited = []

        def after_chunk(_chunk) -> None:
            if each_takes_one and not waited:
                waited.append(True)
                first_chunks.wait(60)

        with app.app_context():
            ready.wait(10)
            results[index] = batches.work(batches.worker_name(), on_chunk=after_chunk, **kwargs)
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a worker did not finish"
    return results


def test_two_workers_share_a_batch_without_duplicates_and_list_the_failing_patient(demo, billable):
    client = demo.test_client()
    started = start(client)
    assert started.status_code == 201, started.json
    batch = started.json["batch"]
    assert (batch["month"], batch["status"], batch["total"], batch["done"]) == (MONTH, "running", 5, 0)

    results = run_workers(demo, 2, each_takes_one=True, limit=1)
    assert all(result["claimed"] >= 1 for result in results), results  # both took a share
    assert sum(result["issued"] for result in results) == 4

    done = client.get(batch["url"], headers=api_token(client, "billing@clinic.test")).json["batch"]
    assert (done["status"], done["issued"], done["failed"], done["skipped"], done["percent"]) == ("finished", 4, 1, 0, 100)
    (failed,) = [item for item in done["items"] if item["status"] == "failed"]
    assert failed["patient_id"] == billable[2] and "address is missing" in failed["reason"]
    with demo.app_context():
        numbers = db.session.scalars(select(Superbill.number)).all()
        assert len(numbers) == len(set(numbers)) == 4
        assert db.session.scalar(select(func.count(func.distinct(Superbill.patient_id)))) == 4
        assert db.session.scalar(select(func.count(func.distinct(SuperbillBatchItem.claimed_by)))) == 2


def test_running_the_month_again_issues_nothing_new(demo, billable):
    client = demo.test_client()
    start(client)
    run_workers(demo, 1)
    again = start(client)
    assert again.status_code == 201 and again.json["batch"]["total"] == 1  # only the patient still without one
    run_workers(demo, 1)
    result = demo.test_cli_runner().invoke(args=["superbills", "issue", "--month", MONTH])
    assert result.exit_code == 0, result.output
    assert "Superbills for 2026-10" in result.output  # the terminal's progress bar
    assert "0 issued, 1 not issued." in result.output and "address is missing" in result.output
    with demo.app_context():
        assert db.session.scalar(select(func.count(Superbill.id))) == 4
        assert db.session.scalar(select(func.count(SuperbillBatch.id))) == 3


def test_a_started_batch_is_returned_again_and_a_new_app_instance_finishes_it(demo, billable, database_url):
    client = demo.test_client()
    first = start(client)
    second = start(client)
    assert second.status_code == 200 and second.json["batch"]["id"] == first.json["batch"]["id"]

    restarted = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
                            "RATELIMIT_ENABLED": False, "PUBLIC_URL": "http://127.0.0.1:5000", "SMTP_HOST": None,
                            "PASSWORD_HASH_FAST": True})
    other = restarted.test_client()
    listed = other.get("/api/v1/superbill-batches", headers=api_token(other, "billing@clinic.test")).json["batches"]
    assert [(b["id"], b["status"], b["total"]) for b in listed] == [(first.json["batch"]["id"], "running", 5)]
    run_workers(restarted, 1)
    seen = other.get(first.json["batch"]["url"], headers=api_token(other, "billing@clinic.test")).json["batch"]
    assert (seen["status"], seen["issued"]) == ("finished", 4)
    with restarted.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_dead_workers_items_are_claimed_again_after_the_lease(demo, billable):
    client = demo.test_client()
    batch_id = start(client).json["batch"]["id"]
    with demo.app_context():
        held = batches.claim("dead-host:1:gone", limit=2)  # claimed, then the worker died
        assert len(held) == 2
        survivor = batches.worker_name()
        assert batches.work(survivor)["claimed"] == 3  # the dead worker's items are still leased
        assert db.session.get(SuperbillBatch, batch_id).status == "running"
        items = db.session.scalars(select(SuperbillBatchItem).where(SuperbillBatchItem.id.in_(held))).all()
        for item in items:  # the lease runs out
            item.claimed_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert batches.work(survivor)["claimed"] == 2
        assert db.session.get(SuperbillBatch, batch_id, populate_existing=True).status == "finished"
        items = db.session.scalars(select(SuperbillBatchItem).where(SuperbillBatchItem.id.in_(held))
                                   .execution_options(populate_existing=True)).all()
        assert all(item.claimed_by == survivor and item.attempts == 2 and item.status in ("issued", "failed")
                   for item in items)


def test_an_item_whose_workers_keep_dying_is_failed_with_the_reason(demo, billable):
    client = demo.test_client()
    batch_id = start(client).json["batch"]["id"]
    with demo.app_context():
        for attempt in range(batches.MAX_ATTEMPTS):
            (item_id,) = batches.claim(f"dying-host:{attempt}:x", limit=1)
            db.session.get(SuperbillBatchItem, item_id).claimed_until = utcnow() - timedelta(seconds=1)
            db.session.commit()
        batches.work(batches.worker_name())
        item = db.session.get(SuperbillBatchItem, item_id, populate_existing=True)
        assert item.status == "failed" and "stopped while issuing it 3 times" in item.reason
        batch = db.session.get(SuperbillBatch, batch_id, populate_existing=True)
        assert (batch.status, batch.issued, batch.failed) == ("finished", 3, 2)


def test_every_issued_superbill_emails_its_patient_a_link_never_the_pdf(demo, billable):
    client = demo.test_client()
    start(client)
    run_workers(demo, 1)
    with demo.app_context():
        mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "superbill_ready")).all()
        emails = {p.email for p in db.session.scalars(select(Patient).where(Patient.id.in_(billable)))}
        assert len(mails) == 4 and {m.to for m in mails} < emails
        superbill = db.session.scalars(select(Superbill)).first()
        mail = next(m for m in mails if m.dedupe_key == f"superbill-{superbill.id}")
    assert superbill.number in mail.text and "http://127.0.0.1:5000/account" in mail.text
    assert "10/01/2026 to 10/31/2026" in mail.text
    assert ".pdf" not in mail.text and not mail.attachments and "F43" not in mail.text


def test_a_single_superbill_emails_its_patient_too(demo, billable):
    client = demo.test_client()
    issued = client.post("/api/v1/superbills", headers=api_token(client, "billing@clinic.test"), json={
        "patient_id": billable[0], "from": "2026-10-01", "to": "2026-10-31"})
    assert issued.status_code == 201, issued.json
    with demo.app_context():
        (mail,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "superbill_ready")).all()
        assert mail.to == db.session.get(Patient, billable[0]).email
    assert issued.json["superbill"]["number"] in mail.text


@pytest.mark.parametrize("email", ["patient@clinic.test", "frontdesk@clinic.test", "dr.rivera@clinic.test"])
def test_only_billing_staff_start_or_read_batches(demo, billable, email):
    client = demo.test_client()
    assert start(client, email=email).status_code == 403
    headers = api_token(client, email)
    assert client.get("/api/v1/superbill-batches", headers=headers).status_code == 403
    batch_id = start(client).json["batch"]["id"]
    assert client.get(f"/api/v1/superbill-batches/{batch_id}", headers=headers).status_code == 403


@pytest.mark.parametrize("body", [{}, {"month": "2027-13"}, {"month": "2027-W01"}, {"month": 202703},
                                  {"month": "9999-12"}, {"month": "march"}])
def test_a_bad_month_is_refused_naming_the_field(demo, body):
    client = demo.test_client()
    answer = client.post("/api/v1/superbill-batches", json=body, headers=api_token(client, "billing@clinic.test"))
    assert answer.status_code == 422, answer.json
    assert "month" in answer.json["error"]["fields"] and "month" in answer.json["error"]["message"].lower()


def test_an_unknown_batch_is_not_found(demo):
    client = demo.test_client()
    assert client.get("/api/v1/superbill-batches/999", headers=api_token(client, "billing@clinic.test")).status_code == 404


def test_the_batch_answers_a_patients_request_and_only_that_patient_reads_theirs(demo, billable, tmp_path):
    from bench.billable import paid_visit
    from billing.models import SuperbillRequest
    from tests.billing.factories import pdf_text
    from tests.factories import sign_in
    from tests.factories import csrf_from
    with demo.app_context():
        patient = db.session.scalar(select(Patient).where(Patient.email == "patient@clinic.test"))
        patient.date_of_birth, patient.address = date(1990, 2, 3), "9 Pine Road\nSpringfield, MA 01103"
        paid_visit(patient, date(2026, 10, 14), 99)
        db.session.commit()
        patient_id = patient.id
    browser = demo.test_client()
    sign_in(browser, "patient@clinic.test")
    asked = browser.post("/account/superbill-requests", data={"first_day": "2026-10-05", "last_day": "2026-10-20",
                                                              "csrf_token": csrf_from(browser.get("/account").get_data(as_text=True))})
    assert asked.status_code == 302
    start(demo.test_client())
    run_workers(demo, 1)
    with demo.app_context():
        request = db.session.scalar(select(SuperbillRequest))
        superbill = db.session.get(Superbill, request.superbill_id)
        assert request.closed_at is not None and superbill.patient_id == patient_id
        number, superbill_id = superbill.number, superbill.id
    account = browser.get("/account").get_data(as_text=True)
    assert number in account and f"/api/v1/superbills/{superbill_id}.pdf" in account and "is preparing it" not in account
    download = browser.get(f"/api/v1/superbills/{superbill_id}.pdf")
    assert download.status_code == 200 and number in pdf_text(download.data, tmp_path)
    client = demo.test_client()
    for email in ("frontdesk@clinic.test", "dr.rivera@clinic.test"):
        assert client.get(f"/api/v1/superbills/{superbill_id}.pdf", headers=api_token(client, email)).status_code == 404


def test_without_the_pdf_engine_every_item_fails_with_the_reason_and_a_rerun_issues_them(demo, billable):
    client = demo.test_client()
    demo.config["WKHTMLTOPDF"] = "/nonexistent/wkhtmltopdf"
    batch_id = start(client).json["batch"]["id"]
    run_workers(demo, 1)
    with demo.app_context():
        batch = db.session.get(SuperbillBatch, batch_id)
        assert (batch.status, batch.issued, batch.failed) == ("finished", 0, 5)
        reasons = {item.reason for item in batch.items}
        assert any("could not make this PDF" in reason for reason in reasons), reasons
        assert db.session.scalar(select(func.count(Superbill.id))) == 0
    demo.config["WKHTMLTOPDF"] = None
    assert start(client).status_code == 201
    run_workers(demo, 1)
    with demo.app_context():
        assert db.session.scalar(select(func.count(Superbill.id))) == 4


def test_the_desk_starts_a_batch_and_its_page_shows_progress_without_javascript(demo, billable):
    from tests.factories import sign_in
    from tests.factories import csrf_from
    staff = demo.test_client()
    sign_in(staff, "billing@clinic.test")
    desk = staff.get("/billing/superbills").get_data(as_text=True)
    assert 'type="month"' in desk and "Issue the month's superbills" in desk
    bad = staff.post("/billing/superbill-batches", data={"month": "2027-13", "csrf_token": csrf_from(desk)},
                     follow_redirects=True)
    assert bad.status_code == 200 and "Give the month as YYYY-MM" in bad.get_data(as_text=True)
    started = staff.post("/billing/superbill-batches", data={"month": MONTH, "csrf_token": csrf_from(desk)})
    assert started.status_code == 302 and "/billing/superbill-batches/" in started.headers["Location"]
    page = " ".join(staff.get(started.headers["Location"]).get_data(as_text=True).split())
    assert 'max="5" value="0"' in page and "Running." in page
    run_workers(demo, 1)
    page = " ".join(staff.get(started.headers["Location"]).get_data(as_text=True).split())
    assert 'max="5" value="5"' in page and "Finished" in page and "address is missing" in page
    for email in ("patient@clinic.test", "frontdesk@clinic.test"):
        other = demo.test_client()
        sign_in(other, email)
        assert other.get(started.headers["Location"]).status_code == 403
