"""review lease time

When a lease was taken (task_lease.leased_at, annotation_lease.leased_at; a renewal by the
same holder keeps it), and on each review the seconds from its annotation's lease to the
verdict (review.lease_seconds), for the reviewers' median review time. Earlier reviews have
none: the lease's start was not stored.

Revision ID: 0016_review_lease_time
Revises: 0015_comments
Create Date: 2026-12-06 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_review_lease_time'
down_revision = '0015_comments'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('task_lease', sa.Column('leased_at', sa.DateTime(), nullable=True))
    op.add_column('annotation_lease', sa.Column('leased_at', sa.DateTime(), nullable=True))
    op.add_column('review', sa.Column('lease_seconds', sa.Float(), nullable=True))
    op.create_index(
        'ix_review_project_reviewer_lease_seconds',
        'review',
        ['project_id', 'reviewer_id', 'lease_seconds'],
    )


def downgrade():
    op.drop_index('ix_review_project_reviewer_lease_seconds', table_name='review')
    op.drop_column('review', 'lease_seconds')
    op.drop_column('annotation_lease', 'leased_at')
    op.drop_column('task_lease', 'leased_at')
