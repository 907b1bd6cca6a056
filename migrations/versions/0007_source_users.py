"""source users

Per project, the account a Label Studio user id of imported files stands for.

Revision ID: 0007_source_users
Revises: 0006_sessions_and_inputs
Create Date: 2026-12-02 13:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_source_users'
down_revision = '0006_sessions_and_inputs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'source_user',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_source_user_project_id_project'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_source_user_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id', 'source_id', name=op.f('pk_source_user')),
    )
    op.create_index(op.f('ix_source_user_user_id'), 'source_user', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_source_user_user_id'), table_name='source_user')
    op.drop_table('source_user')
