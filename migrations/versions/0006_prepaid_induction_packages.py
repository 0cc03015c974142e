"""prepaid induction packages: purchases (one card payment each), credits used and returned as rows, and the
package's size and price in the clinic settings

Revision ID: 0006_packages
Revises: 0005_receipts
Create Date: 2026-11-22 05:11:41.927227

"""
from alembic import op
import sqlalchemy as sa

import clinic.database


# revision identifiers, used by Alembic.
revision = '0006_packages'
down_revision = '0005_receipts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('package_purchases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=50), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', clinic.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price_cents > 0', name=op.f('ck_package_purchases_price_positive')),
    sa.CheckConstraint('sessions > 0', name=op.f('ck_package_purchases_sessions_positive')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_package_purchases_patient_id_patients')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_package_purchases_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package_purchases')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_package_purchases_payment_id'))
    )
    with op.batch_alter_table('package_purchases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_purchases_patient_id'), ['patient_id'], unique=False)

    op.create_table('package_credits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('at', clinic.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('used', 'returned')", name=op.f('ck_package_credits_kind_known')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_package_credits_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['purchase_id'], ['package_purchases.id'], name=op.f('fk_package_credits_purchase_id_package_purchases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package_credits')),
    sa.UniqueConstraint('appointment_id', 'kind', name='one_draw_per_appointment')
    )
    with op.batch_alter_table('package_credits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_credits_purchase_id'), ['purchase_id'], unique=False)

    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        # the clinic's one settings row gets the defaults of the model
        batch_op.add_column(sa.Column('package_sessions', sa.Integer(), nullable=False, server_default='6'))
        batch_op.add_column(sa.Column('package_price_cents', sa.Integer(), nullable=False, server_default='250000'))



def downgrade():
    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        batch_op.drop_column('package_price_cents')
        batch_op.drop_column('package_sessions')

    with op.batch_alter_table('package_credits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_credits_purchase_id'))

    op.drop_table('package_credits')
    with op.batch_alter_table('package_purchases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_purchases_patient_id'))

    op.drop_table('package_purchases')
