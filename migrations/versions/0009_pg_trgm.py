"""pg_trgm

On PostgreSQL, a GIN trigram index over task.data_text for the Data Manager's text search,
when the pg_trgm extension is installed or this role may create it (else LIKE as before).

Revision ID: 0009_pg_trgm
Revises: 0008_jobs
Create Date: 2026-12-02 14:10:00

"""
from alembic import op

from reviewapp.db import text_search


# revision identifiers, used by Alembic.
revision = '0009_pg_trgm'
down_revision = '0008_jobs'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        text_search.create_postgres_index(bind)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {text_search.PG_INDEX}')
