"""Outgoing mail: the one module that talks SMTP.

Mail is written to the outbox in the same transaction as the change it reports and sent after
commit by `flask outbox send`, which retries with backoff. Without SMTP settings the messages are
logged and marked sent, so development needs no mail server.
"""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import select

from clinic import outbox_states
from clinic.database import utcnow
from clinic.extensions import db
from clinic.models import OutboxMessage
from clinic.settings import clinic_settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(minutes=10)

#: Attachments queued as data ({"filename", "content_type", "writer", "data"}) and written into their file when the
#: message is sent, by the writer registered under that name at import by the module that queues them (booking: a
#: visit's .ics). Writing a six-session series' calendar file took as long as finding the sessions; the request
#: that books them stores what the file will say, and the sender, whom nobody waits for, writes it.
ATTACHMENT_WRITERS: dict[str, Callable[[dict], str]] = {}


def absolute_url(endpoint: str, **values) -> str:
    """A full link for an email; works outside a request too (the outbox sender queues reminders)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def queue(to: str, subject: str, template: str, *, attachments: list[dict] | None = None,
          dedupe_key: str | None = None, kind: str | None = None, **context) -> OutboxMessage:
    """Render `templates/email/<template>.txt` (and `.html` if present) into the outbox."""
    context.setdefault("clinic", _clinic_details())
    message = OutboxMessage(
        to=to, subject=subject, kind=kind or template, dedupe_key=dedupe_key, attachments=attachments,
        text=render_template(f"email/{template}.txt", **context),
        html=_render_optional(f"email/{template}.html", context),
    )
    db.session.add(message)
    return message


def _render_optional(name: str, context: dict) -> str | None:
    try:  # Jinja caches what it loaded; listing the template folders on every email walked the disk each time
        current_app.jinja_env.get_template(name)
    except TemplateNotFound:
        return None
    return render_template(name, **context)


def _clinic_details():
    return clinic_settings()


def send_pending(limit: int = 100) -> tuple[int, int]:
    """Send what is due; returns (sent, failed). Safe on several hosts at once.

    Each message is claimed in a short transaction of its own (FOR UPDATE SKIP LOCKED on PostgreSQL)
    that pushes its next attempt a lease ahead, so no other sender takes it; writing the email (its attachments
    too) and the SMTP conversation then happen outside any transaction (on SQLite a transaction holds the write
    lock, and bookings must not wait for the sender). A sender that dies mid-send leaves the message to be retried
    after the lease.
    """
    sent = failed = 0
    while sent + failed < limit and (claimed := _claim_next()) is not None:
        message_id, message = claimed
        try:
            email = to_email(message, current_app.config["MAIL_FROM"])
        except Exception as error:  # an attachment that cannot be written now will not be on a retry either
            log.exception("mail %s to %s cannot be written, giving up", message_id, message.to)
            failed += 1
            _give_up(db.session.get(OutboxMessage, message_id), f"could not be written: {error}")
            db.session.commit()
            continue
        try:
            _deliver(message_id, email)
        except (OSError, smtplib.SMTPException) as error:
            failed += 1
            _retry_later(db.session.get(OutboxMessage, message_id), error)
        else:
            sent += 1
            _mark_sent(db.session.get(OutboxMessage, message_id))
        db.session.commit()
    return sent, failed


def _mark_sent(message: OutboxMessage) -> None:
    outbox_states.move(message, outbox_states.SENT)
    message.sent_at, message.last_error = utcnow(), None
    message.attempts += 1


def _give_up(message: OutboxMessage, reason: str) -> None:
    message.attempts += 1
    message.last_error = reason[:500]
    outbox_states.move(message, outbox_states.FAILED)


def _claim_next() -> tuple[int, OutboxMessage] | None:
    """Lease the next due message; returns its id and the message, detached from the session with what it holds
    loaded, to be written into an email after the claim's commit."""
    query = (select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())
             .order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True))
    message = db.session.scalar(query)
    if message is None:
        db.session.commit()
        return None
    message.next_attempt_at = utcnow() + CLAIM_LEASE
    db.session.flush()
    db.session.expunge(message)  # the commit does not expire it: what it holds is read without a transaction
    db.session.commit()
    return message.id, message


def _retry_later(message: OutboxMessage, error: Exception) -> None:
    message.attempts += 1
    message.last_error = str(error)[:500]
    if message.attempts >= MAX_ATTEMPTS:
        outbox_states.move(message, outbox_states.FAILED)
        log.error("giving up on mail %s to %s: %s", message.id, message.to, error)
    else:
        message.next_attempt_at = utcnow() + timedelta(minutes=2 ** (message.attempts - 1))
        log.warning("mail %s to %s failed, will retry: %s", message.id, message.to, error)


def _deliver(message_id: int, email: EmailMessage) -> None:
    config = current_app.config
    if not config.get("SMTP_HOST"):
        log.info("mail %s (no SMTP configured) to=%s subject=%s\n%s", message_id, email["To"], email["Subject"],
                 email.get_body(("plain",)).get_content())
        return
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=20) as smtp:
        smtp.send_message(email)


def attachment_content(attachment: dict) -> str:
    """An outbox attachment's text: as it was queued, or written now by its writer from the data queued."""
    if "content" in attachment:
        return attachment["content"]
    return ATTACHMENT_WRITERS[attachment["writer"]](attachment["data"])


def to_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = sender, message.to, message.subject
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments or []:
        kind, *parameters = (part.strip() for part in attachment["content_type"].split(";"))
        maintype, subtype = kind.split("/")
        params = dict(parameter.split("=", 1) for parameter in parameters)
        content = attachment_content(attachment)
        if maintype == "text":  # declared UTF-8 (an .ics names the clinic with an en dash), with its method kept
            email.add_attachment(content, subtype=subtype, charset="utf-8", params=params,
                                 filename=attachment["filename"])
        else:
            email.add_attachment(content.encode(), maintype=maintype, subtype=subtype, params=params,
                                 filename=attachment["filename"])
    return email
