"""calendar version: one row whose number grows with every committed change to reservations, appointments, hours,
closures, clinicians, chairs, services or settings, so each worker process's cache of free time knows when to
drop what it holds

Revision ID: 0011_calendar_version
Revises: 0010_superbill_pdf
Create Date: 2026-12-06 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_calendar_version'
down_revision = '0010_superbill_pdf'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('calendar_version',
                            sa.Column('id', sa.Integer(), nullable=False),
                            sa.Column('n', sa.BigInteger(), nullable=False),
                            sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_version')))
    op.bulk_insert(table, [{'id': 1, 'n': 0}])


def downgrade():
    op.drop_table('calendar_version')
