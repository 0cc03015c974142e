"""superbill batches: the month's superbills as a stored job (one row per batch, at most one running per month)
and one row per patient, claimed by workers under a lease

Revision ID: 0009_superbill_batches
Revises: 0008_clearance_status
Create Date: 2026-12-06 00:11:15.975570

"""
from alembic import op
import sqlalchemy as sa

import clinic.database


# revision identifiers, used by Alembic.
revision = '0009_superbill_batches'
down_revision = '0008_clearance_status'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('superbill_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('started_at', clinic.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', clinic.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('running', 'finished')", name=op.f('ck_superbill_batches_status_known')),
    sa.CheckConstraint('issued + failed + skipped <= total', name=op.f('ck_superbill_batches_counts_add_up')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_superbill_batches_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_superbill_batches'))
    )
    with op.batch_alter_table('superbill_batches', schema=None) as batch_op:
        batch_op.create_index('ix_superbill_batches_one_running_per_month', ['month'], unique=True, sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))

    op.create_table('superbill_batch_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('superbill_id', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_until', clinic.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', clinic.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status <> 'issued' OR superbill_id IS NOT NULL", name=op.f('ck_superbill_batch_items_issued_has_superbill')),
    sa.CheckConstraint("status IN ('pending', 'running', 'issued', 'failed', 'skipped')", name=op.f('ck_superbill_batch_items_status_known')),
    sa.ForeignKeyConstraint(['batch_id'], ['superbill_batches.id'], name=op.f('fk_superbill_batch_items_batch_id_superbill_batches')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_superbill_batch_items_patient_id_patients')),
    sa.ForeignKeyConstraint(['superbill_id'], ['superbills.id'], name=op.f('fk_superbill_batch_items_superbill_id_superbills')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_superbill_batch_items')),
    sa.UniqueConstraint('batch_id', 'patient_id', name='one_item_per_patient')
    )
    with op.batch_alter_table('superbill_batch_items', schema=None) as batch_op:
        batch_op.create_index('ix_superbill_batch_items_claimable', ['status', 'claimed_until'], unique=False)



def downgrade():
    with op.batch_alter_table('superbill_batch_items', schema=None) as batch_op:
        batch_op.drop_index('ix_superbill_batch_items_claimable')

    op.drop_table('superbill_batch_items')
    with op.batch_alter_table('superbill_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_superbill_batches_one_running_per_month', sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))

    op.drop_table('superbill_batches')
