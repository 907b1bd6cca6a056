"""task state change project index

An index over a project's task state changes by state and time, so the dashboard's
throughput (tasks reaching done per day and person) reads index entries only.

Revision ID: 0017_state_change_index
Revises: 0016_review_lease_time
Create Date: 2026-12-06 21:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_state_change_index'
down_revision = '0016_review_lease_time'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_task_state_change_project_state',
        'task_state_change',
        ['project_id', 'to_state', 'at', 'by_id'],
    )


def downgrade():
    op.drop_index('ix_task_state_change_project_state', table_name='task_state_change')
