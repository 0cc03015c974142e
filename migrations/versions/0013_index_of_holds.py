"""index of holds: every booking looks for treatment holds that ran out (booking.services.expire_holds); without an
index that was a scan of every appointment the clinic ever had, 2 ms at 8,000 on PostgreSQL and growing. A partial
index holds only the appointments still pending payment.

Revision ID: 0013_index_of_holds
Revises: 0012_overlap_trigger_one_row
Create Date: 2026-12-06 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_index_of_holds'
down_revision = '0012_overlap_trigger_one_row'
branch_labels = None
depends_on = None

HOLDS = sa.text("status = 'pending_payment'")


def upgrade():
    op.create_index('ix_appointments_holds', 'appointments', ['hold_expires_at'], postgresql_where=HOLDS,
                    sqlite_where=HOLDS)


def downgrade():
    op.drop_index('ix_appointments_holds', table_name='appointments')
