"""superbills keep the PDF they were issued as: a download serves those very bytes (their sha256 is the one on file)
instead of rendering the snapshot again; only a void one, marked VOID, is rendered anew

Revision ID: 0010_superbill_pdf
Revises: 0009_superbill_batches
Create Date: 2026-12-06 01:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_superbill_pdf'
down_revision = '0009_superbill_batches'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('superbills', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('superbills', schema=None) as batch_op:
        batch_op.drop_column('pdf')
