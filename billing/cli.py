"""`flask stripe sync` settles payments and refunds whose outcome is not known yet, from Stripe's own record;
`flask stripe reconcile` prints every difference between the ledger and Stripe."""
from __future__ import annotations

import click

from billing import settlement, stripe_gateway as gateway
from flask.cli import AppGroup
from clinic.extensions import db


stripe_cli = AppGroup("stripe", help="Stripe: settle and reconcile payments.")


@stripe_cli.command("sync")
def sync():
    """Fetch the PaymentIntent of every pending, unknown or 3-D Secure payment and apply it; likewise refunds."""
    _settle("payment", settlement.unsettled(), settlement.sync_payment)
    _settle("refund", settlement.unsettled_refunds(), settlement.sync_refund)


def _settle(kind: str, rows, fetch_and_apply) -> None:
    """Each row in its own transaction; Stripe unreachable stops the command with its sentence."""
    for row in rows:
        before = row.status
        try:
            after = fetch_and_apply(row)
        except gateway.StripeUnavailable as error:
            db.session.rollback()
            raise click.ClickException(error.message)
        db.session.commit()
        click.echo(f"{kind} {row.id}: {before} -> {after}")


@stripe_cli.command("reconcile")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="first clinic-local day")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True, help="last clinic-local day")
def reconcile(first, last):
    """Compare the ledger with Stripe's payments and refunds and print every difference (exit 1 if any)."""
    try:
        found = settlement.reconcile(first.date(), last.date())
    except gateway.StripeUnavailable as error:
        raise click.ClickException(error.message)
    for line in found:
        click.echo(line)
    click.echo(f"{len(found)} difference(s)." if found else "The ledger matches Stripe.")
    if found:
        raise SystemExit(1)
