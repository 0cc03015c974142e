"""superbills: the versioned fee schedule, issued superbills (snapshot, PDF hash, the visits they bill), Good Faith Estimates,
patients' superbill requests, a never-reused number counter per year, and the practice's legal name

Revision ID: 0007_superbills
Revises: 0006_packages
Create Date: 2026-11-22 05:09:38.943991

"""
from alembic import op
import sqlalchemy as sa

import clinic.database


# revision identifiers, used by Alembic.
revision = '0007_superbills'
down_revision = '0006_packages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('superbill_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_superbill_counters'))
    )
    op.create_table('fee_schedule_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('modifiers', sa.JSON(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('charge_cents', sa.Integer(), nullable=False),
    sa.Column('place_of_service', sa.String(length=2), nullable=False),
    sa.Column('min_dose_mg', sa.Integer(), nullable=True),
    sa.Column('max_dose_mg', sa.Integer(), nullable=True),
    sa.Column('drug_name', sa.String(length=200), nullable=True),
    sa.Column('ndc', sa.String(length=13), nullable=True),
    sa.Column('dose_unit', sa.String(length=20), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', clinic.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("place_of_service IN ('11', '02', '10')", name=op.f('ck_fee_schedule_lines_place_known')),
    sa.CheckConstraint('charge_cents >= 0', name=op.f('ck_fee_schedule_lines_charge_not_negative')),
    sa.CheckConstraint('units >= 1', name=op.f('ck_fee_schedule_lines_units_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_fee_schedule_lines_created_by_id_users')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_fee_schedule_lines_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_schedule_lines'))
    )
    with op.batch_alter_table('fee_schedule_lines', schema=None) as batch_op:
        batch_op.create_index('ix_fee_schedule_lines_version', ['service_id', 'effective_on'], unique=False)

    op.create_table('estimates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('created_at', clinic.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('appointment_ids', sa.JSON(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_estimates_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_estimates')),
    sa.UniqueConstraint('number', name=op.f('uq_estimates_number'))
    )
    with op.batch_alter_table('estimates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_estimates_patient_id'), ['patient_id'], unique=False)

    op.create_table('superbills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('total_charged_cents', sa.Integer(), nullable=False),
    sa.Column('total_paid_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', clinic.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.Column('voided_at', clinic.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status = 'issued' OR void_reason IS NOT NULL", name=op.f('ck_superbills_void_has_reason')),
    sa.CheckConstraint("status IN ('issued', 'void')", name=op.f('ck_superbills_status_known')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_superbills_issued_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_superbills_patient_id_patients')),
    sa.ForeignKeyConstraint(['replaces_id'], ['superbills.id'], name=op.f('fk_superbills_replaces_id_superbills')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_superbills')),
    sa.UniqueConstraint('number', name=op.f('uq_superbills_number')),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_superbills_replaces_id'))
    )
    with op.batch_alter_table('superbills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_superbills_patient_id'), ['patient_id'], unique=False)

    op.create_table('superbill_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('superbill_id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_superbill_visits_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['superbill_id'], ['superbills.id'], name=op.f('fk_superbill_visits_superbill_id_superbills'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_superbill_visits')),
    sa.UniqueConstraint('superbill_id', 'appointment_id', name='one_row_per_visit')
    )
    with op.batch_alter_table('superbill_visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_superbill_visits_appointment_id'), ['appointment_id'], unique=False)

    op.create_table('superbill_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('created_at', clinic.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('superbill_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', clinic.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_note', sa.Text(), nullable=True),
    sa.CheckConstraint('first_day <= last_day', name=op.f('ck_superbill_requests_range_ordered')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_superbill_requests_patient_id_patients')),
    sa.ForeignKeyConstraint(['superbill_id'], ['superbills.id'], name=op.f('fk_superbill_requests_superbill_id_superbills')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_superbill_requests'))
    )
    with op.batch_alter_table('superbill_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_superbill_requests_patient_id'), ['patient_id'], unique=False)

    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_name', sa.String(length=200), nullable=False, server_default=''))
    # The default only fills the existing row; the model supplies the value from then on.
    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        batch_op.alter_column('legal_name', server_default=None)



def downgrade():
    with op.batch_alter_table('clinic_settings', schema=None) as batch_op:
        batch_op.drop_column('legal_name')

    with op.batch_alter_table('superbill_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_superbill_requests_patient_id'))

    op.drop_table('superbill_requests')
    with op.batch_alter_table('superbill_visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_superbill_visits_appointment_id'))

    op.drop_table('superbill_visits')
    with op.batch_alter_table('superbills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_superbills_patient_id'))

    op.drop_table('superbills')
    with op.batch_alter_table('estimates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_estimates_patient_id'))

    op.drop_table('estimates')
    with op.batch_alter_table('fee_schedule_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_fee_schedule_lines_version')

    op.drop_table('fee_schedule_lines')
    op.drop_table('superbill_counters')
