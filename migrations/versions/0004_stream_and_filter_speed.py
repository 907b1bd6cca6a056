"""review stream and filter speed

Project counters of annotations and pending annotations (summed from the tasks), reviews'
project (for the dashboard's reviewer activity), the task
counts index in id order (the review queue walks it), the label index with task_id before
source, indexes on the score tables' annotation and prediction ids (deleting annotations
cascades through them), and on SQLite a trigram full-text index over the tasks' text.

Revision ID: 0004_stream_and_filter_speed
Revises: 0003_dashboard_speed
Create Date: 2026-11-28 03:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_stream_and_filter_speed'
down_revision = '0003_dashboard_speed'
branch_labels = None
depends_on = None

# reviewapp.text_search.SQLITE_DDL as of this revision.
SQLITE_TEXT_INDEX = (
    "CREATE VIRTUAL TABLE task_text USING fts5("
    "data_text, content='task', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER task_text_delete AFTER DELETE ON task BEGIN "
    "INSERT INTO task_text(task_text, rowid, data_text) VALUES ('delete', old.id, old.data_text); "
    "END",
    "CREATE TRIGGER task_text_update AFTER UPDATE OF data_text ON task BEGIN "
    "INSERT INTO task_text(task_text, rowid, data_text) VALUES ('delete', old.id, old.data_text); "
    "INSERT INTO task_text(rowid, data_text) VALUES (new.id, new.data_text); END",
    "INSERT INTO task_text(task_text) VALUES ('rebuild')",
)
COUNTS = ('project_id', 'pending_count', 'annotation_count', 'skipped_count', 'accepted_count',
          'fixed_count', 'rejected_count')


def upgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('annotation_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('pending_count', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_project_counts')
        batch_op.create_index('ix_task_project_counts', ['project_id', 'id', *COUNTS[1:]], unique=False)

    with op.batch_alter_table('task_label', schema=None) as batch_op:
        batch_op.drop_index('ix_task_label_lookup')
        batch_op.create_index('ix_task_label_lookup', ['project_id', 'control', 'label', 'task_id', 'source'], unique=False)

    with op.batch_alter_table('agreement_pair', schema=None) as batch_op:
        batch_op.create_index('ix_agreement_pair_annotation_a', ['annotation_a_id'], unique=False)
        batch_op.create_index('ix_agreement_pair_annotation_b', ['annotation_b_id'], unique=False)

    with op.batch_alter_table('gt_score', schema=None) as batch_op:
        batch_op.create_index('ix_gt_score_annotation', ['annotation_id'], unique=False)
        batch_op.create_index('ix_gt_score_prediction', ['prediction_id'], unique=False)

    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('project_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE review SET project_id = "
        "(SELECT annotation.project_id FROM annotation WHERE annotation.id = review.annotation_id)"
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_review_project_id_project'), 'project', ['project_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_review_project_reviewer', ['project_id', 'reviewer_id', 'created_at', 'verdict'], unique=False)
        batch_op.create_index('ix_review_project_verdict', ['project_id', 'verdict', 'annotation_id', 'fix_size'], unique=False)

    op.execute(
        "UPDATE project SET "
        "annotation_count = COALESCE((SELECT SUM(task.annotation_count) FROM task "
        "WHERE task.project_id = project.id), 0), "
        "pending_count = COALESCE((SELECT SUM(task.pending_count) FROM task "
        "WHERE task.project_id = project.id), 0)"
    )
    if op.get_bind().dialect.name == 'sqlite':
        for statement in SQLITE_TEXT_INDEX:
            op.execute(statement)


def downgrade():
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index('ix_review_project_verdict')
        batch_op.drop_index('ix_review_project_reviewer')
        batch_op.drop_constraint(batch_op.f('fk_review_project_id_project'), type_='foreignkey')
        batch_op.drop_column('project_id')

    if op.get_bind().dialect.name == 'sqlite':
        for name in ('task_text_update', 'task_text_delete'):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE task_text")

    with op.batch_alter_table('gt_score', schema=None) as batch_op:
        batch_op.drop_index('ix_gt_score_prediction')
        batch_op.drop_index('ix_gt_score_annotation')

    with op.batch_alter_table('agreement_pair', schema=None) as batch_op:
        batch_op.drop_index('ix_agreement_pair_annotation_b')
        batch_op.drop_index('ix_agreement_pair_annotation_a')

    with op.batch_alter_table('task_label', schema=None) as batch_op:
        batch_op.drop_index('ix_task_label_lookup')
        batch_op.create_index('ix_task_label_lookup', ['project_id', 'control', 'label', 'source', 'task_id'], unique=False)

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_index('ix_task_project_counts')
        batch_op.create_index('ix_task_project_counts', list(COUNTS), unique=False)

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('pending_count')
        batch_op.drop_column('annotation_count')
