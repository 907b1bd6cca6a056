"""Every bulk action's effect on the database and the sentence it answers with."""

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import (
    AgreementPair,
    Annotation,
    ChoiceCount,
    GtScore,
    Prediction,
    Review,
    ReviewerAssignment,
    Task,
    TaskLabel,
)
from reviewapp.services.data_manager.bulk import BulkError, apply_bulk_action
from reviewapp.services.data_manager.query import TableState, filtered_tasks
from tests import factories


@pytest.fixture
def setup(app):
    manager = factories.user("manager")
    rev1 = factories.user("reviewer", email="rev1@x.com")
    rev2 = factories.user("reviewer", email="rev2@x.com")
    project = factories.project(members=(manager, rev1, rev2))
    factories.tasks(
        project,
        [
            {
                "data": {"text": "one"},
                "annotations": [
                    factories.annotation("a@x.com", "Positive", created_at="2024-01-02T00:00:00"),
                    factories.annotation("b@x.com", "Negative", created_at="2024-01-01T00:00:00"),
                ],
                "predictions": [{"result": factories.choice("Positive"), "score": 0.5}],
            },
            {
                "data": {"text": "two"},
                "annotations": [{"completed_by": "a@x.com", "result": [], "was_cancelled": True}],
            },
            {
                "data": {"text": "three"},
                "annotations": [
                    factories.annotation("a@x.com", "Neutral", ground_truth=True),
                    factories.annotation("b@x.com", "Neutral"),
                ],
            },
        ],
    )
    ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    return project, manager, rev1, rev2, ids


def run(name, project, user, ids, **kwargs):
    selection = select(Task.id).where(Task.id.in_(ids))
    return apply_bulk_action(name, project, user, selection, **kwargs)


def pairs():
    return set(db.session.execute(select(ReviewerAssignment.task_id, ReviewerAssignment.user_id)))


def test_assign_reviewers_leaves_existing_pairs(setup):
    project, manager, rev1, rev2, ids = setup
    first = run("assign_reviewers", project, manager, ids[:1], reviewer_ids=[rev1.id])
    assert first.message == "Assigned 1 reviewer to 1 task; 0 pairs already existed."
    outcome = run("assign_reviewers", project, manager, ids, reviewer_ids=[rev1.id, rev2.id])
    assert outcome.message == "Assigned 2 reviewers to 3 tasks; 1 pair already existed."
    assert pairs() == {(t, r.id) for t in ids for r in (rev1, rev2)}


def test_unassign_reviewers(setup):
    project, manager, rev1, rev2, ids = setup
    run("assign_reviewers", project, manager, ids, reviewer_ids=[rev1.id, rev2.id])
    outcome = run("unassign_reviewers", project, manager, ids[:2], reviewer_ids=[rev1.id])
    assert outcome.message == "Unassigned 1 reviewer from 2 tasks; 2 assignments removed."
    assert pairs() == {(ids[2], rev1.id)} | {(t, rev2.id) for t in ids}


def test_reviewers_must_be_reviewing_members(setup):
    project, manager, rev1, rev2, ids = setup
    outsider = factories.user("reviewer")
    annotator = factories.user("annotator")
    with pytest.raises(BulkError, match="Pick at least one reviewer"):
        run("assign_reviewers", project, manager, ids)
    for user in (outsider, annotator):
        with pytest.raises(BulkError, match="must be active reviewers"):
            run("assign_reviewers", project, manager, ids, reviewer_ids=[user.id])
    assert pairs() == set()


def test_assign_ground_truth_marks_the_earliest_non_skipped(setup):
    project, manager, rev1, rev2, ids = setup
    outcome = run("assign_ground_truth", project, manager, ids)
    assert outcome.message == (
        "Marked ground truth on 1 task; 1 task already had ground truth; "
        "1 task has no annotation to mark."
    )
    flagged = db.session.execute(
        select(Annotation.task_id, Annotation.created_at).where(Annotation.ground_truth.is_(True))
    ).all()
    # Task one: b@x.com's annotation was created first, although it has the higher id.
    assert sorted(t for t, _ in flagged) == [ids[0], ids[2]]
    assert [c.isoformat() for t, c in flagged if t == ids[0]] == ["2024-01-01T00:00:00"]
    assert db.session.scalars(select(Task.has_ground_truth).order_by(Task.id)).all() == [
        True,
        False,
        True,
    ]
    labels = set(
        db.session.execute(
            select(TaskLabel.task_id, TaskLabel.label).where(TaskLabel.source == "ground_truth")
        )
    )
    assert labels == {(ids[0], "Negative"), (ids[2], "Neutral")}


def test_delete_ground_truth_keeps_annotations(setup):
    project, manager, rev1, rev2, ids = setup
    outcome = run("delete_ground_truth", project, manager, ids)
    assert outcome.message == "Removed ground truth from 1 task; the annotations are kept."
    assert db.session.scalar(select(func.count(Annotation.id))) == 5
    assert db.session.scalar(select(func.count(Annotation.id)).where(Annotation.ground_truth)) == 0
    assert not any(db.session.scalars(select(Task.has_ground_truth)))
    assert (
        db.session.scalar(
            select(func.count(TaskLabel.id)).where(TaskLabel.source == "ground_truth")
        )
        == 0
    )


def stored_scores(model):
    """{task id: number of rows} of a stored score table."""
    return dict(
        db.session.execute(select(model.task_id, func.count()).group_by(model.task_id)).all()
    )


def test_delete_ground_truth_deletes_the_scores_against_it(setup):
    project, manager, rev1, rev2, ids = setup
    run("assign_ground_truth", project, manager, ids)
    # Task one: b's annotation is the truth; a's annotation and the prediction are scored
    # against it. Task three: b's annotation against a's.
    assert stored_scores(GtScore) == {ids[0]: 2, ids[2]: 1}
    pairs, choices = stored_scores(AgreementPair), stored_scores(ChoiceCount)
    run("delete_ground_truth", project, manager, ids[2:])
    assert stored_scores(GtScore) == {ids[0]: 2}  # the other tasks keep theirs
    run("delete_ground_truth", project, manager, ids)
    assert stored_scores(GtScore) == {}
    # Agreement and alpha do not depend on ground truth.
    assert (stored_scores(AgreementPair), stored_scores(ChoiceCount)) == (pairs, choices)


def test_delete_annotations_deletes_their_stored_scores(setup):
    project, manager, rev1, rev2, ids = setup
    run("assign_ground_truth", project, manager, ids)
    assert stored_scores(AgreementPair) == {ids[0]: 1, ids[2]: 1}
    assert stored_scores(ChoiceCount) == {ids[0]: 2, ids[2]: 1}  # Positive, Negative; Neutral
    run("delete_annotations", project, manager, ids[:2], confirmed=True)
    # Task one's prediction score against the deleted ground truth goes too.
    for model in (AgreementPair, GtScore, ChoiceCount):
        assert set(stored_scores(model)) == {ids[2]}, model


def test_delete_annotations_asks_first_then_resets_the_tasks(setup):
    project, manager, rev1, rev2, ids = setup
    annotation = db.session.scalar(select(Annotation).where(Annotation.task_id == ids[0]))
    factories.review(annotation, rev1)
    db.session.commit()
    question = run("delete_annotations", project, manager, ids[:2])
    assert question.needs_confirmation
    assert question.message.startswith(
        "Delete 3 annotations (skipped ones included) and their reviews from 2 tasks?"
    )
    assert db.session.scalar(select(func.count(Annotation.id))) == 5
    done = run("delete_annotations", project, manager, ids[:2], confirmed=True)
    assert done.message == "Deleted 3 annotations from 2 tasks; they are back in the label stream."
    assert db.session.scalar(select(func.count(Annotation.id))) == 2
    assert db.session.scalar(select(func.count(Review.id))) == 0
    first = db.session.get(Task, ids[0])
    assert (
        first.annotation_count,
        first.skipped_count,
        first.pending_count,
        first.agreement,
        first.first_annotator,
        first.prediction_score,
    ) == (0, 0, 0, None, None, 0.5)
    assert (
        db.session.scalar(
            select(func.count(TaskLabel.id)).where(
                TaskLabel.task_id == ids[0], TaskLabel.source == "annotation"
            )
        )
        == 0
    )
    assert (
        db.session.scalar(
            select(func.count(TaskLabel.id)).where(
                TaskLabel.task_id == ids[0], TaskLabel.source == "prediction"
            )
        )
        == 1
    )


def test_delete_tasks_asks_first(setup):
    project, manager, rev1, rev2, ids = setup
    question = run("delete_tasks", project, manager, ids[:2])
    assert (
        question.message
        == "Delete 2 tasks with 3 annotations and 1 prediction? This cannot be undone."
    )
    done = run("delete_tasks", project, manager, ids[:2], confirmed=True)
    assert done.message == "Deleted 2 tasks."
    assert db.session.scalars(select(Task.id)).all() == [ids[2]]
    assert db.session.scalar(select(func.count(Prediction.id))) == 0


def test_reviewers_and_annotators_cannot_run_actions(setup):
    project, manager, rev1, rev2, ids = setup
    for name in ("assign_reviewers", "assign_ground_truth", "delete_tasks"):
        with pytest.raises(PermissionError):
            run(name, project, rev1, ids, reviewer_ids=[rev1.id])
    assert db.session.scalar(select(func.count(Task.id))) == 3


def test_empty_selection_is_an_error(setup):
    project, manager, rev1, rev2, ids = setup
    with pytest.raises(BulkError, match="Select at least one task"):
        run("assign_ground_truth", project, manager, [])


def test_selection_is_fixed_before_the_action_changes_the_filter(setup):
    project, manager, rev1, rev2, ids = setup
    no_gt = filtered_tasks(project.id, TableState.from_args({"ground_truth": "false"}))
    outcome = apply_bulk_action("assign_ground_truth", project, manager, no_gt)
    assert outcome.message.startswith("Marked ground truth on 1 task")


# -- over the threshold: a job ----------------------------------------------------------


def test_over_the_threshold_the_action_is_a_job_with_the_same_sentence(setup, app):
    project, manager, rev1, rev2, ids = setup
    app.config["JOBS_BULK_THRESHOLD"] = 2
    outcome = run("assign_reviewers", project, manager, ids, reviewer_ids=[rev1.id])
    assert outcome.job is not None
    job = db.session.get(type(outcome.job), outcome.job.id)
    db.session.refresh(job)
    assert job.status == "done" and job.kind == "bulk"
    assert job.message == "Assigned 1 reviewer to 3 tasks; 0 pairs already existed."
    assert pairs() == {(task_id, rev1.id) for task_id in ids}
    small = run("unassign_reviewers", project, manager, ids[:2], reviewer_ids=[rev1.id])
    assert small.job is None  # at the threshold or under it: in the request, as before


def test_a_cancelled_bulk_job_is_rolled_back_whole(setup, app):
    from reviewapp.services.jobs import live, records, runner

    project, manager, rev1, rev2, ids = setup
    job = records.create_job(
        "bulk",
        project,
        manager,
        {"action": "delete_tasks", "task_ids": ids, "reviewer_ids": []},
    )
    db.session.commit()
    live.request_cancel(job.id)
    runner.run(job.id)
    db.session.refresh(job)
    assert job.status == "cancelled"
    assert db.session.scalar(select(func.count()).select_from(Task)) == 3


def test_a_bulk_job_refuses_a_user_who_lost_the_role(setup, app):
    from reviewapp.services.jobs import records, runner

    project, manager, rev1, rev2, ids = setup
    job = records.create_job(
        "bulk", project, manager, {"action": "delete_tasks", "task_ids": ids, "reviewer_ids": []}
    )
    manager.role = "reviewer"
    db.session.commit()
    runner.run(job.id)
    db.session.refresh(job)
    assert job.status == "failed" and "is for admin, manager only" in job.error
    assert db.session.scalar(select(func.count()).select_from(Task)) == 3


def test_a_missing_reviewer_is_refused_before_any_job(setup, app):
    project, manager, rev1, rev2, ids = setup
    app.config["JOBS_BULK_THRESHOLD"] = 1
    with pytest.raises(BulkError):
        run("assign_reviewers", project, manager, ids, reviewer_ids=[])
    from reviewapp.models import Job

    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
