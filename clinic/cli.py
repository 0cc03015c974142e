"""Command line: `flask users create`, `flask seed-demo`, `flask outbox send`."""
from __future__ import annotations

import sys
import time as time_module
from datetime import time

import click
from blinker import Namespace
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from clinic import accounts, mail
from clinic.database import utcnow
from clinic.errors import DomainError
from clinic.extensions import db
from clinic.models import ClinicSettings, OpeningHours, Role

signals = Namespace()
#: Sent by `flask seed-demo` after the clinic's own demo data, with `timezone`; booking and billing
#: connect to add theirs (core never imports them). Receivers must be idempotent.
demo_seeding = signals.signal("demo-seeding")
#: Sent by `flask outbox send` before each round, with `now`; booking connects to queue due reminders.
outbox_round = signals.signal("outbox-round")

DEMO_PASSWORD = "demo-clinic-2026"
DEMO_USERS = [
    ("admin@clinic.test", "Alex Admin", Role.admin),
    ("billing@clinic.test", "Blair Billing", Role.billing),
    ("frontdesk@clinic.test", "Frankie Desk", Role.frontdesk),
    ("dr.rivera@clinic.test", "Dr. Maya Rivera", Role.clinician),
    ("dr.chen@clinic.test", "Dr. Samuel Chen", Role.clinician),
    ("patient@clinic.test", "Pat Jordan", Role.patient),
]


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(seed_demo)
    app.cli.add_command(outbox)


@click.group(cls=AppGroup)
def users():
    """Manage user accounts."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", required=True)
def create_user(email: str, role: str, name: str):
    """Create a user; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(email, name, Role(role), password)
    except DomainError as error:
        raise click.ClickException(error.message)
    db.session.commit()
    click.echo(f"created {user.role} {user.email} (id {user.id})")


@click.command("seed-demo")
@with_appcontext
@click.option("--timezone", "zone", default="America/New_York", show_default=True)
def seed_demo(zone: str):
    """Create (or complete) the demo clinic. Safe to run again."""
    _seed_clinic(zone)
    _seed_users()
    demo_seeding.send(zone, timezone=zone)
    db.session.commit()
    click.echo(f"Demo clinic ready ({zone}). Demo logins, password '{DEMO_PASSWORD}':")
    for email, name, role in DEMO_USERS:
        click.echo(f"  {role.value:<10} {email}")


def _seed_clinic(zone: str) -> None:
    settings = db.session.get(ClinicSettings, 1) or ClinicSettings(id=1)
    settings.name = settings.name or "Harbor Light Ketamine Clinic"
    settings.legal_name = settings.legal_name or "Harbor Light Ketamine Clinic, PLLC"
    settings.address = settings.address or "120 Harbor Street, Suite 300\nBoston, MA 02110"
    settings.phone = settings.phone or "(617) 555-0142"
    settings.email = settings.email or "care@harborlight.example"
    settings.npi = settings.npi or "1234567893"
    settings.tax_id = settings.tax_id or "12-3456789"
    settings.timezone = zone
    db.session.add(settings)
    if db.session.scalar(select(OpeningHours.id).limit(1)) is None:
        db.session.add_all(OpeningHours(weekday=d, opens=time(8), closes=time(18)) for d in range(5))


def _seed_users() -> None:
    for email, name, role in DEMO_USERS:
        if accounts.find_user(email) is None:
            accounts.create_user(email, name, role, DEMO_PASSWORD)


@click.group(cls=AppGroup)
def outbox():
    """The mail outbox."""


@outbox.command("send")
@click.option("--loop", is_flag=True, help="Keep sending every few seconds (make run uses this).")
@click.option("--interval", default=5.0, show_default=True)
@click.option("--verbose", is_flag=True, help="Report every round, idle ones too (tests watch the loop go round).")
def send(loop: bool, interval: float, verbose: bool):
    """Send the mails that are due, retrying failures later."""
    while True:
        # Each round in an app context of its own, like a request: what a round cached (the clinic
        # settings on `g`) belongs to its database session and must not outlive it.
        with current_app.app_context():
            sent, failed = _round()
        if sent or failed or not loop or verbose:
            click.echo(f"sent {sent}, failed {failed}")
        if not loop:
            return
        time_module.sleep(interval)


def _round() -> tuple[int, int]:
    try:
        outbox_round.send(None, now=utcnow())
        db.session.commit()
        return mail.send_pending()
    finally:
        db.session.remove()
