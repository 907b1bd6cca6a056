"""comments

Threaded comments on annotations (optionally anchored to a region or a control), their
notifications, and the task column unresolved_comments.

Revision ID: 0015_comments
Revises: 0014_webhooks
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_comments'
down_revision = '0014_webhooks'
branch_labels = None
depends_on = None


def upgrade():
    # In place, no rebuild of the task table: no comment exists yet, so every count is 0.
    op.add_column('task', sa.Column('unresolved_comments', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_task_project_unresolved_comments', 'task', ['project_id', 'unresolved_comments', 'id'])

    op.create_table(
        'comment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('annotation_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('region_id', sa.String(length=100), nullable=True),
        sa.Column('control', sa.String(length=100), nullable=True),
        sa.Column('resolved', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['annotation_id'], ['annotation.id'], name=op.f('fk_comment_annotation_id_annotation'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_comment_project_id_project'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['task_id'], ['task.id'], name=op.f('fk_comment_task_id_task'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_comment_author_id_user')),
        sa.ForeignKeyConstraint(['parent_id'], ['comment.id'], name=op.f('fk_comment_parent_id_comment'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['user.id'], name=op.f('fk_comment_resolved_by_id_user'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_comment')),
    )
    op.create_index('ix_comment_annotation', 'comment', ['annotation_id', 'id'])
    op.create_index('ix_comment_task_resolved', 'comment', ['task_id', 'resolved'])
    op.create_index('ix_comment_parent', 'comment', ['parent_id'])

    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_notification_comment_id_comment'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_notification_project_id_project'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    )
    op.create_index('ix_notification_user_read', 'notification', ['user_id', 'read_at', 'id'])
    op.create_index('ix_notification_comment', 'notification', ['comment_id'])


def downgrade():
    op.drop_index('ix_notification_comment', table_name='notification')
    op.drop_index('ix_notification_user_read', table_name='notification')
    op.drop_table('notification')
    op.drop_index('ix_comment_parent', table_name='comment')
    op.drop_index('ix_comment_task_resolved', table_name='comment')
    op.drop_index('ix_comment_annotation', table_name='comment')
    op.drop_table('comment')
    op.drop_index('ix_task_project_unresolved_comments', table_name='task')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE task DROP COLUMN unresolved_comments")
    else:
        op.drop_column('task', 'unresolved_comments')
