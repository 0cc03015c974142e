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
    """Fetch the PaymentIntent of every pending, unknown or 3-D Secure payment and apply it."""
    for payment in settlement.unsettled():
        before = payment.status
        try:
            after = settlement.sync_payment(payment)
        except gateway.StripeUnavailable as error:
            db.session.rollback()
            raise click.ClickException(error.message)
        db.session.commit()
        click.echo(f"payment {payment.id}: {before} -> {after}")
    for refund in settlement.unsettled_refunds():
        before = refund.status
        try:
            after = settlement.sync_refund(refund)
        except gateway.StripeUnavailable as error:
            db.session.rollback()
            raise click.ClickException(error.message)
        db.session.commit()
        click.echo(f"refund {refund.id}: {before} -> {after}")


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
