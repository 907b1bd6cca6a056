"""sessions and inputs

A session version per user (changing the password, a reset, deactivation or a role change
ends every other session), failed log-ins counted in the database, and the project setting
that allows empty annotations.

Revision ID: 0006_sessions_and_inputs
Revises: 0005_source_ids
Create Date: 2026-12-02 13:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_sessions_and_inputs'
down_revision = '0005_source_ids'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('project') as batch:
        batch.add_column(
            sa.Column('allow_empty_annotations', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        'login_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure')),
    )
    op.create_index('ix_login_failure_email_address_at', 'login_failure', ['email', 'address', 'at'])
    op.create_index('ix_login_failure_at', 'login_failure', ['at'])


def downgrade():
    op.drop_index('ix_login_failure_at', table_name='login_failure')
    op.drop_index('ix_login_failure_email_address_at', table_name='login_failure')
    op.drop_table('login_failure')
    with op.batch_alter_table('project') as batch:
        batch.drop_column('allow_empty_annotations')
    with op.batch_alter_table('user') as batch:
        batch.drop_column('session_version')
