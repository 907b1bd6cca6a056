"""auto accept

The auto-accept rule's settings and state on the project, and each task's part in it.

Revision ID: 0012_auto_accept
Revises: 0011_review_rounds
Create Date: 2026-12-04 19:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_auto_accept'
down_revision = '0011_review_rounds'
branch_labels = None
depends_on = None

PROJECT_COLUMNS = (
    ('auto_accept', sa.Boolean(), sa.false()),
    ('auto_accept_min_agreement', sa.Float(), '1.0'),
    ('auto_accept_min_annotations', sa.Integer(), '2'),
    ('auto_accept_error_target', sa.Float(), '0.05'),
    ('auto_accept_size', sa.Integer(), '0'),
    ('auto_accept_rate', sa.Float(), '1.0'),
    ('auto_accept_stopped', sa.Text(), ''),
)


def upgrade():
    for name, kind, default in PROJECT_COLUMNS:
        op.add_column('project', sa.Column(name, kind, server_default=default, nullable=False))
    op.add_column('project', sa.Column('auto_accept_seed', sa.Integer(), nullable=True))
    op.add_column('task', sa.Column('auto_accept', sa.String(length=16), nullable=True))
    op.create_index('ix_task_project_auto_accept', 'task', ['project_id', 'auto_accept'])


def downgrade():
    op.drop_index('ix_task_project_auto_accept', table_name='task')
    sqlite = op.get_bind().dialect.name == 'sqlite'
    names = [('task', 'auto_accept'), ('project', 'auto_accept_seed')]
    names += [('project', name) for name, _, _ in PROJECT_COLUMNS]
    for table, name in names:
        if sqlite:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
        else:
            op.drop_column(table, name)
