"""A clearance decision's status is a column (current, withdrawn or superseded) instead of being read off the
sentence written in withdrawn_reason when a later decision replaced it; whether a protocol needs a REMS
enrollment date is a column (true for esketamine) instead of a test of its editable code.

Revision ID: 0008_clearance_status
Revises: 0007_superbills
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_clearance_status'
down_revision = '0007_superbills'
branch_labels = None
depends_on = None

SUPERSEDED = "Replaced by a later decision."  # the sentence clinical.services wrote when a decision was replaced


def upgrade():
    with op.batch_alter_table('clearances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='current'))
    clearances = sa.table('clearances', sa.column('status'), sa.column('withdrawn_at'), sa.column('withdrawn_reason'))
    op.execute(clearances.update().where(clearances.c.withdrawn_at.isnot(None))
               .values(status=sa.case((clearances.c.withdrawn_reason == SUPERSEDED, 'superseded'), else_='withdrawn')))
    with op.batch_alter_table('clearances', schema=None) as batch_op:
        batch_op.alter_column('status', server_default=None)
        batch_op.create_check_constraint('status_known', "status IN ('current', 'withdrawn', 'superseded')")
    with op.batch_alter_table('protocols', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_rems', sa.Boolean(), nullable=False, server_default=sa.false()))
    protocols = sa.table('protocols', sa.column('code'), sa.column('needs_rems'))
    op.execute(protocols.update().where(protocols.c.code == 'esketamine').values(needs_rems=True))
    with op.batch_alter_table('protocols', schema=None) as batch_op:
        batch_op.alter_column('needs_rems', server_default=None)


def downgrade():
    with op.batch_alter_table('protocols', schema=None) as batch_op:
        batch_op.drop_column('needs_rems')
    with op.batch_alter_table('clearances', schema=None) as batch_op:
        batch_op.drop_constraint('status_known', type_='check')
        batch_op.drop_column('status')
