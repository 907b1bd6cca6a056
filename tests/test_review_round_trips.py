"""What a verdict costs the database, and the write-at-commit of the project totals that
lets eight reviewers of one project work at once (issue 11's review-stream target)."""

import re

import pytest
from flask import g
from sqlalchemy import select, text

from reviewapp.extensions import db
from reviewapp.models import Annotation, Project
from reviewapp.services.data_manager.query import TableState
from reviewapp.services.derived.scores import lock_tasks
from reviewapp.services.review_stream import queue_counts, record_verdict
from tests import factories


@pytest.fixture
def setup(app):
    rev = factories.user("reviewer", email="rev@x.com")
    project = factories.project(members=(rev,))
    factories.tasks(
        project,
        [
            {
                "data": {"text": f"text {i}"},
                "annotations": [
                    factories.annotation("amy@x.com"),
                    factories.annotation("bob@x.com", "Negative"),
                ],
            }
            for i in range(3)
        ],
    )
    annotations = db.session.scalars(select(Annotation.id).order_by(Annotation.id)).all()
    return project, rev, annotations


def committed_totals(project_id: int) -> tuple[int, int]:
    """(annotations, pending) as another connection sees them: what is committed."""
    with db.engine.connect() as other:
        return tuple(
            other.execute(
                text("SELECT annotation_count, pending_count FROM project WHERE id = :id"),
                {"id": project_id},
            ).one()
        )


def test_the_project_totals_move_at_commit_and_a_rollback_leaves_them(setup):
    project, rev, annotations = setup
    assert committed_totals(project.id) == (6, 6)

    record_verdict(annotations[0], rev, "accepted")
    db.session.flush()
    # Not written yet: the row every verdict of the project writes is held for the commit
    # only. This transaction's own count already shows the verdict.
    assert committed_totals(project.id) == (6, 6)
    assert queue_counts(project, rev, TableState()) == (5, 6)
    db.session.commit()
    assert committed_totals(project.id) == (6, 5)

    record_verdict(annotations[1], rev, "rejected", comment="Wrong")
    db.session.rollback()
    assert committed_totals(project.id) == (6, 5)
    # The rolled-back shift is gone with its transaction, not added to the next one.
    record_verdict(annotations[2], rev, "accepted")
    db.session.commit()
    assert committed_totals(project.id) == (6, 4)
    assert db.session.get(Project, project.id).pending_count == 4


def test_a_task_is_locked_once_a_transaction_and_again_after_it(setup, statements):
    project, _, _ = setup
    task_id = db.session.scalar(select(Annotation.task_id).order_by(Annotation.id))
    db.session.commit()
    statements.clear()
    lock_tasks([task_id])
    lock_tasks([task_id])
    assert len(statements) == 1
    db.session.rollback()
    lock_tasks([task_id])  # a new transaction holds nothing yet
    assert len(statements) == 2
    savepoint = db.session.begin_nested()
    savepoint.rollback()
    lock_tasks([task_id])  # the savepoint's end may have released it: taken again
    assert len([s for s in statements if "SAVEPOINT" not in s.upper()]) == 3
    db.session.rollback()


def test_a_verdict_in_the_stream_locks_its_task_once_and_reads_each_row_once(
    client, auth, setup, htmx, statements
):
    project, rev, _ = setup
    auth.login(rev)
    page = client.get(f"/projects/{project.id}/review").get_data(as_text=True)
    annotation_id = re.search(r'data-annotation-id="(\d+)"', page).group(1)
    # Each request of a server starts with an empty session and no user loaded; the test's
    # app context would keep both.
    db.session.close()
    g.pop("_login_user", None)
    statements.clear()
    response = client.post(
        f"/projects/{project.id}/review/{annotation_id}", data={"verdict": "accepted"}, headers=htmx
    )
    assert response.status_code == 200
    assert "Accepted annotation" in response.get_data(as_text=True)

    def count(pattern: str) -> int:
        return sum(1 for sql in statements if re.search(pattern, " ".join(sql.split()), re.I))

    if db.engine.dialect.name == "postgresql":
        assert count(r"FOR NO KEY UPDATE") == 1
    assert count(r"^UPDATE project SET") == 1
    # The user, the project and its membership are read once; the page after the commit
    # is rendered from what the transaction read, not loaded again.
    assert count(r'^SELECT "user"\.id, "user"\.email') <= 1
    assert count(r"^SELECT project\.id, project\.title") == 1
    assert count(r"^SELECT review\.id") == 1  # the next item's history, not the new review
