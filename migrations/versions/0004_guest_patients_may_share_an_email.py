"""Guest patients may share an email: a guest booking made with an existing patient's address is its own
record until the address's owner confirms it.

Revision ID: 0004_guest_patients
Revises: 0003_payments
"""
from alembic import op

revision = '0004_guest_patients'
down_revision = '0003_payments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_patients_email'), type_='unique')
        batch_op.create_index(batch_op.f('ix_patients_email'), ['email'], unique=False)


def downgrade():
    # Fails while two records share an address: merge or remove the unconfirmed guest records first.
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patients_email'))
        batch_op.create_unique_constraint(batch_op.f('uq_patients_email'), ['email'])
