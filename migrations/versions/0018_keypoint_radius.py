"""keypoint radius

The project setting keypoint_radius_percent: key points within this share of the image
diagonal agree in part (docs/metrics.md).

Revision ID: 0018_keypoint_radius
Revises: 0017_state_change_index
Create Date: 2026-12-06 21:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_keypoint_radius'
down_revision = '0017_state_change_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('project') as batch_op:
        batch_op.add_column(
            sa.Column('keypoint_radius_percent', sa.Float(), server_default='2.0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('project') as batch_op:
        batch_op.drop_column('keypoint_radius_percent')
