"""state counts

Each project's count of tasks per stored state, kept like its annotation totals.

Revision ID: 0013_state_counts
Revises: 0012_auto_accept
Create Date: 2026-12-04 19:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_state_counts'
down_revision = '0012_auto_accept'
branch_labels = None
depends_on = None

STATES = ('annotating', 'needs_review', 'returned', 'done')


def upgrade():
    for state in STATES:
        op.add_column('project', sa.Column(f'{state}_tasks', sa.Integer(), server_default='0', nullable=False))
        op.execute(
            f"UPDATE project SET {state}_tasks = "
            f"(SELECT count(*) FROM task WHERE task.project_id = project.id AND task.state = '{state}')"
        )


def downgrade():
    for state in STATES:
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f"ALTER TABLE project DROP COLUMN {state}_tasks")
        else:
            op.drop_column('project', f'{state}_tasks')
