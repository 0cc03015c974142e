"""Mail leaves through the outbox: queued with the booking, sent after it by `flask outbox send` to a real SMTP
server (an aiosmtpd sink on this machine), retried later when the server is down, never sent twice."""
import threading
import time as time_module
from datetime import datetime, time, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select, update

from booking.models import Appointment
from booking.notifications import ics_bytes
from clinic import mail
from clinic.extensions import db
from clinic.models import OutboxMessage
from tests.factories import at, free_port, guest_booking, next_weekday, staff




class Sink:
    """Collects every message an SMTP client hands over; `delay` keeps each delivery open a little while."""

    def __init__(self, delay: float = 0.0):
        self.messages = []
        self.delay = delay
        self.on_message = lambda: None
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time_module.sleep(self.delay)  # blocks the sink's loop on purpose: deliveries overlap the senders' work
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.on_message()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1, and the app told to use it."""
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, MAIL_FROM="Clinic <care@clinic.example>")
    yield sink
    controller.stop()


def send_outbox(app) -> str:
    result = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def book_consultation(client, hour: int = 10, minute: int = 0, email: str = "casey@example.com") -> dict:
    response = client.post("/api/v1/appointments", json=guest_booking(next_weekday(0), hour, minute, email=email))
    assert response.status_code == 201, response.json
    return response.json["appointment"]


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def ics_attachment(message):
    (attachment,) = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    return attachment


def test_booking_queues_a_confirmation_with_the_ics_attached(demo, client, app):
    book_consultation(client, 10, 30)

    (queued,) = outbox(app)
    assert queued.to == "casey@example.com" and queued.status == "pending" and queued.attempts == 0
    assert queued.text and queued.subject
    (attachment,) = queued.attachments
    assert attachment["filename"].endswith(".ics")
    assert attachment["content_type"].startswith("text/calendar")
    content = mail.attachment_content(attachment)
    assert "BEGIN:VEVENT" in content and "TZID=America/New_York" in content


def test_the_ics_is_queued_as_what_it_says_and_written_as_that_when_sent(demo, client, app, smtp):
    """The booking stores the calendar file's events; the sender writes the file. It says what the booking said,
    line for line and stamped when booked, even once the appointment has moved on (the move's own email carries
    the new time)."""
    booked = book_consultation(client, 10, 30)
    with app.app_context():
        as_booked = ics_bytes(db.session.get(Appointment, booked["id"]))
    moved = client.post(f"/api/v1/appointments/{booked['id']}/reschedule", headers=staff(client),
                        json={"start": at(next_weekday(0), 14, 0)})
    assert moved.status_code == 200, moved.json
    queued = outbox(app)
    assert [m.kind for m in queued] == ["appointment_booked", "appointment_rescheduled"]
    assert "content" not in queued[0].attachments[0] and queued[0].attachments[0]["data"]["events"]

    assert send_outbox(app) == "sent 2, failed 0"

    first, second = (Calendar.from_ical(ics_attachment(m).get_content()).walk("VEVENT")[0] for m in smtp.messages)
    stamped = datetime.fromisoformat(queued[0].attachments[0]["data"]["events"][0]["stamp"])
    assert first.decoded("dtstamp") == stamped.replace(microsecond=0)  # made when booked, whenever it was written

    def unstamped(ics: str) -> list[str]:
        return [line for line in ics.splitlines() if not line.startswith("DTSTAMP:")]
    assert unstamped(ics_attachment(smtp.messages[0]).get_content()) == unstamped(as_booked.decode())
    assert first["DTSTART"].dt.replace(tzinfo=None) == datetime.combine(next_weekday(0), time(10, 30))
    assert second["DTSTART"].dt.replace(tzinfo=None) == datetime.combine(next_weekday(0), time(14, 0))
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (0, 1) and first["UID"] == second["UID"]
    assert [ics_attachment(m).get_param("method") for m in smtp.messages] == ["PUBLISH", "PUBLISH"]
    assert [ics_attachment(m).get_content_charset() for m in smtp.messages] == ["utf-8", "utf-8"]


def test_a_message_that_cannot_be_written_is_given_up_and_the_rest_still_go(demo, client, app, smtp, monkeypatch):
    """A writer that fails (a bug, or data it no longer reads) fails that message for good, logged, and the
    sender goes on: every other message still leaves, this round and the next."""
    broken = book_consultation(client, 10, email="one@example.com")
    book_consultation(client, 11, email="two@example.com")
    writer = mail.ATTACHMENT_WRITERS["booking.calendar"]

    def broken_for_one(data):
        if data["events"][0]["uid"].startswith(f"appointment-{broken['id']}@"):
            raise KeyError("start")
        return writer(data)
    monkeypatch.setitem(mail.ATTACHMENT_WRITERS, "booking.calendar", broken_for_one)

    assert send_outbox(app) == "sent 1, failed 1"
    assert send_outbox(app) == "sent 0, failed 0"

    assert [m["To"] for m in smtp.messages] == ["two@example.com"]
    given_up, sent = outbox(app)
    assert given_up.status == "failed" and given_up.attempts == 1 and "could not be written" in given_up.last_error
    assert sent.status == "sent"


def test_outbox_send_delivers_the_confirmation_to_the_smtp_server(demo, client, app, smtp):
    booked = book_consultation(client, 10, 30)

    assert send_outbox(app) == "sent 1, failed 0"

    (received,) = smtp.messages
    assert received["To"] == "casey@example.com"
    assert received["From"] == "Clinic <care@clinic.example>"
    assert received.get_body(("plain",)).get_content().strip()
    event = Calendar.from_ical(ics_attachment(received).get_content()).walk("VEVENT")[0]
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event["DTSTART"].dt.replace(tzinfo=None) == datetime.combine(next_weekday(0), time(10, 30))
    assert booked["start"] == at(next_weekday(0), 10, 30)
    (sent,) = outbox(app)
    assert sent.status == "sent" and sent.sent_at is not None and sent.attempts == 1 and sent.last_error is None


def test_sending_again_sends_nothing_twice(demo, client, app, smtp):
    book_consultation(client, 10, email="one@example.com")
    book_consultation(client, 11, email="two@example.com")

    assert send_outbox(app) == "sent 2, failed 0"
    assert send_outbox(app) == "sent 0, failed 0"

    assert sorted(m["To"] for m in smtp.messages) == ["one@example.com", "two@example.com"]


def test_smtp_server_down_leaves_the_mail_pending_for_later_and_the_booking_stands(demo, client, app):
    port = free_port()  # nothing listens here
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    booked = book_consultation(client, 9, 45)
    before = datetime.now(timezone.utc)

    assert send_outbox(app) == "sent 0, failed 1"

    (waiting,) = outbox(app)
    assert waiting.status == "pending" and waiting.attempts == 1 and waiting.sent_at is None
    assert waiting.next_attempt_at > before and waiting.last_error
    assert send_outbox(app) == "sent 0, failed 0"  # not due yet: no hammering a server that is down
    assert outbox(app)[0].attempts == 1
    with app.app_context():
        assert db.session.get(Appointment, booked["id"]).status == "confirmed"
    slots = client.get("/api/v1/availability", query_string={
        "service": "consultation", "from": next_weekday(0).isoformat()}).json["slots"]
    assert {s["start"]: s["available"] for s in slots}[at(next_weekday(0), 9, 45)] == 1


def test_mail_that_failed_is_delivered_once_the_server_is_back(demo, client, app):
    port = free_port()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    book_consultation(client, 9, 45)
    assert send_outbox(app) == "sent 0, failed 1"

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with app.app_context():
            db.session.execute(OutboxMessage.__table__.update().values(
                next_attempt_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
            db.session.commit()
        assert send_outbox(app) == "sent 1, failed 0"
    finally:
        controller.stop()

    assert [m["To"] for m in sink.messages] == ["casey@example.com"]
    (sent,) = outbox(app)
    assert sent.status == "sent" and sent.attempts == 2


def run_senders(app, count: int, stagger: threading.Event | None = None) -> list[tuple[int, int]]:
    """`count` senders in their own threads and sessions, as on several hosts; with `stagger`, every sender
    after the first starts only once that event is set (while the first is part-way through its batch)."""
    results, errors = [], []

    def sender(number: int):
        try:
            if number and stagger is not None:
                stagger.wait(10)
            with app.app_context():
                results.append(mail.send_pending())
                db.session.remove()
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


@pytest.mark.parametrize("staggered", [False, True], ids=["together", "second-joins-mid-batch"])
def test_two_senders_never_send_a_message_twice(demo, client, app, smtp, staggered):
    """`flask outbox send` may run on several hosts; each message must still leave exactly once, also when a
    second sender starts while the first is still working through what it claimed."""
    emails = [f"guest{n}@example.com" for n in range(6)]
    for n, email in enumerate(emails):
        book_consultation(client, 9 + n, email=email)
    smtp.delay = 0.2
    first_delivered = threading.Event()
    smtp.on_message = first_delivered.set

    results = run_senders(app, 2, stagger=first_delivered if staggered else None)

    assert sorted(m["To"] for m in smtp.messages) == sorted(emails)
    assert sum(sent for sent, _failed in results) == len(emails)
    assert {row.status for row in outbox(app)} == {"sent"}


def test_an_attachment_queued_as_its_file_is_sent_as_it_is(demo, app, smtp):
    """Messages queued before attachments were written at sending, with the file itself, still leave whole."""
    with app.app_context():
        db.session.add(OutboxMessage(to="casey@example.com", subject="Your appointment is confirmed", text="See you soon.",
                                     kind="appointment_booked", attachments=[
                                         {"filename": "note.txt", "content_type": "text/plain",
                                          "content": "Bring water – 1 L"}]))
        db.session.commit()

    assert send_outbox(app) == "sent 1, failed 0"

    (received,) = smtp.messages
    (note,) = received.iter_attachments()
    assert note.get_filename() == "note.txt" and note.get_content().strip() == "Bring water – 1 L"


def test_the_sender_writes_each_email_outside_its_claim(demo, client, app, smtp, monkeypatch):
    """Writing an email (a series' calendar file takes milliseconds) holds no lock: on SQLite the claim's
    transaction holds the database's write lock, which every booking waits for; on PostgreSQL, the message's row.
    While the sender writes, another connection changes that very row at once."""
    book_consultation(client, 10)
    writer = mail.ATTACHMENT_WRITERS["booking.calendar"]
    changed = []

    def writer_beside_a_write(data):
        with app.app_context(), db.engine.connect() as other:
            if other.dialect.name == "sqlite":  # set before its BEGIN IMMEDIATE: wait 0.2 s for the lock, not 30
                other.connection.driver_connection.execute("PRAGMA busy_timeout = 200")
            else:
                other.exec_driver_sql("SET lock_timeout = '200ms'")
            changed.append(other.execute(update(OutboxMessage).where(OutboxMessage.kind == "appointment_booked")
                                         .values(subject=OutboxMessage.subject)).rowcount)
            other.commit()
        return writer(data)
    monkeypatch.setitem(mail.ATTACHMENT_WRITERS, "booking.calendar", writer_beside_a_write)

    assert send_outbox(app) == "sent 1, failed 0"

    assert changed == [1] and len(smtp.messages) == 1 and outbox(app)[0].status == "sent"
