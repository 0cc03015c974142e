"""`flask superbills issue --month 2027-03`: the month's superbills for every patient with billable visits, with a
progress bar. Each patient is its own transaction, so one failure is listed and the rest still issue; a patient
who already has an issued superbill for the month is skipped, so running it again issues no duplicates."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from billing import superbills
from clinic.errors import DomainError
from clinic.extensions import db


@click.group("superbills", cls=AppGroup)
def superbills_cli():
    """Superbills."""


@superbills_cli.command("issue")
@click.option("--month", required=True, help="YYYY-MM, in the clinic's time zone")
def issue_month(month: str):
    """Issue the month's superbills for every patient with completed, paid visits (idempotent)."""
    try:
        first, last = superbills.month_range(month)
    except DomainError as error:
        raise click.BadParameter(error.message, param_hint="--month")
    patients = superbills.patients_to_bill(first, last)
    issued, failed = [], []
    with click.progressbar(patients, label=f"Superbills for {month}", show_pos=True) as bar:
        for patient in bar:
            _issue_one(patient, first, last, issued, failed)
    for number in issued:
        click.echo(f"issued {number}")
    for patient_id, reason in failed:
        click.echo(f"patient {patient_id}: {reason}")
    click.echo(f"{len(issued)} issued, {len(failed)} not issued.")


def _issue_one(patient, first, last, issued: list, failed: list) -> None:
    try:
        superbill = superbills.issue(None, patient, first, last)
        db.session.commit()
        issued.append(superbill.number)
    except DomainError as error:
        db.session.rollback()
        if error.code != "nothing_to_bill":  # completed but unpaid visits: nothing to list as a failure
            failed.append((patient.id, error.message))
