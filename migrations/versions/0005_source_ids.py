"""source ids

The imported Label Studio file's task id, task meta and annotation id, kept for export and
the source_id filter.

Revision ID: 0005_source_ids
Revises: 0004_stream_and_filter_speed
Create Date: 2026-12-01 23:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_source_ids'
down_revision = '0004_stream_and_filter_speed'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('task', sa.Column('source_id', sa.String(length=100), nullable=True))
    op.add_column('task', sa.Column('meta', sa.JSON(), nullable=True))
    op.create_index('ix_task_project_source_id', 'task', ['project_id', 'source_id'])
    op.add_column('annotation', sa.Column('source_id', sa.String(length=100), nullable=True))


def downgrade():
    op.drop_column('annotation', 'source_id')
    op.drop_index('ix_task_project_source_id', table_name='task')
    op.drop_column('task', 'meta')
    op.drop_column('task', 'source_id')
