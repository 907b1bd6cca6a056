"""review rounds

annotation.round counts its annotator's submissions; review.round is the one it judged
(for overturns: a later verdict by another reviewer on the same round).

Revision ID: 0011_review_rounds
Revises: 0010_task_states
Create Date: 2026-12-04 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_review_rounds'
down_revision = '0010_task_states'
branch_labels = None
depends_on = None


def upgrade():
    # In place: earlier rounds are not known, every existing review judged round 1.
    op.add_column('annotation', sa.Column('round', sa.Integer(), server_default='1', nullable=False))
    op.add_column('review', sa.Column('round', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE review DROP COLUMN round")
        op.execute("ALTER TABLE annotation DROP COLUMN round")
    else:
        op.drop_column('review', 'round')
        op.drop_column('annotation', 'round')
