"""Payments keep the card's brand and last four, for receipts.

Revision ID: 0005_receipts
Revises: 0004_guest_patients
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_receipts'
down_revision = '0004_guest_patients'
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN (no batch copy on SQLite): rebuilding `payments` would drop the triggers that refer to it.
def upgrade():
    op.add_column('payments', sa.Column('card_brand', sa.String(length=20), nullable=True))
    op.add_column('payments', sa.Column('card_last4', sa.String(length=4), nullable=True))


def downgrade():
    op.drop_column('payments', 'card_last4')
    op.drop_column('payments', 'card_brand')
