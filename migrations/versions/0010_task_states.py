"""task states

Task states with history, reject actions (remove / return / reassign) in place of
reject_mode, and the review settings (criteria, only finished, order, sample).

Revision ID: 0010_task_states
Revises: 0009_pg_trgm
Create Date: 2026-12-03 15:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_task_states'
down_revision = '0009_pg_trgm'
branch_labels = None
depends_on = None


def upgrade():
    # Columns are added and dropped in place where SQLite (3.35+) can: a rebuild of the
    # task table at a million rows takes minutes.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('project', sa.Column('reject_actions', sa.JSON(), server_default='["remove"]', nullable=False))
    op.add_column('project', sa.Column('default_reject_action', sa.String(length=16), server_default='remove', nullable=False))
    op.add_column('project', sa.Column('review_criteria', sa.String(length=8), server_default='all', nullable=False))
    op.add_column('project', sa.Column('review_only_finished', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('project', sa.Column('review_order', sa.String(length=24), server_default='table', nullable=False))
    op.add_column('project', sa.Column('review_sample_percent', sa.Integer(), server_default='100', nullable=False))
    # Existing projects keep their behaviour: requeue was today's "return".
    op.execute(
        "UPDATE project SET reject_actions = '[\"return\"]', default_reject_action = 'return' "
        "WHERE reject_mode = 'requeue'"
    )
    if sqlite:
        op.execute("ALTER TABLE project DROP COLUMN reject_mode")
    else:
        op.drop_column('project', 'reject_mode')

    op.add_column('annotation', sa.Column('reassigned', sa.Boolean(), server_default=sa.false(), nullable=False))
    # SQLite adds a foreign key only by rebuilding the table (env.py turns the cascades off).
    with op.batch_alter_table('annotation') as batch:
        batch.add_column(sa.Column('returned_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_annotation_returned_by_id_user'), 'user', ['returned_by_id'], ['id'], ondelete='SET NULL')
    op.create_index('ix_annotation_returned_by', 'annotation', ['returned_by_id', 'review_status'])

    op.add_column('task', sa.Column('overlap_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('task', sa.Column('state', sa.String(length=16), server_default='annotating', nullable=False))
    op.execute("UPDATE task SET overlap_count = annotation_count")
    # The states the new code derives (task_columns.task_state), with the default criterion
    # "all" and no sampling.
    op.execute(
        "UPDATE task SET state = CASE "
        "WHEN EXISTS (SELECT 1 FROM annotation a WHERE a.task_id = task.id AND a.requeued) "
        "THEN 'returned' "
        "WHEN task.overlap_count < (SELECT p.overlap FROM project p WHERE p.id = task.project_id) "
        "THEN 'annotating' "
        "WHEN task.pending_count = 0 THEN 'done' ELSE 'needs_review' END"
    )
    op.create_index('ix_task_project_state', 'task', ['project_id', 'state', 'id'])
    op.create_index('ix_task_project_overlap_count', 'task', ['project_id', 'overlap_count', 'id'])

    op.create_table(
        'task_state_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('from_state', sa.String(length=16), nullable=True),
        sa.Column('to_state', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_task_state_change_task_id_task'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_task_state_change_project_id_project'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['by_id'], ['user.id'], name=op.f('fk_task_state_change_by_id_user'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_state_change')),
    )
    op.create_index('ix_task_state_change_task', 'task_state_change', ['task_id', 'id'])
    # The history of an existing task starts with its creation, in its state now.
    op.execute(
        "INSERT INTO task_state_change (task_id, project_id, from_state, to_state, at, reason) "
        "SELECT id, project_id, NULL, state, created_at, 'created' FROM task"
    )


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_index('ix_task_state_change_task', table_name='task_state_change')
    op.drop_table('task_state_change')
    op.drop_index('ix_task_project_overlap_count', table_name='task')
    op.drop_index('ix_task_project_state', table_name='task')
    op.drop_index('ix_annotation_returned_by', table_name='annotation')
    with op.batch_alter_table('annotation') as batch:
        batch.drop_constraint(op.f('fk_annotation_returned_by_id_user'), type_='foreignkey')
        batch.drop_column('returned_by_id')
    op.add_column('project', sa.Column('reject_mode', sa.String(length=16), server_default='remove', nullable=False))
    op.execute("UPDATE project SET reject_mode = 'requeue' WHERE default_reject_action = 'return'")
    for table, column in (
        ('task', 'state'), ('task', 'overlap_count'),
        ('annotation', 'reassigned'),
        ('project', 'review_sample_percent'), ('project', 'review_order'),
        ('project', 'review_only_finished'), ('project', 'review_criteria'),
        ('project', 'default_reject_action'), ('project', 'reject_actions'),
    ):
        if sqlite:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
