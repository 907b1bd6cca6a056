"""The review queue and verdicts, tested without a request."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import (
    Annotation,
    AnnotationLease,
    Review,
    ReviewerAssignment,
    Task,
    utcnow,
)
from reviewapp.services.data_manager.query import TableState
from reviewapp.services.review_stream import (
    LEASE,
    RENEW_BEFORE,
    StaleVerdict,
    VerdictError,
    next_for_review,
    queue_counts,
    queue_size,
    record_verdict,
)
from tests import factories


@pytest.fixture
def setup(app):
    """Three tasks with prediction scores 0.3, 0.9, 0.6; annotations in id order:

    t1: amy Positive, bob Negative        t2: amy Positive, skipped by bob
    t3: carl Neutral, rev's own Neutral
    """
    rev = factories.user("reviewer", email="rev@x.com")
    rev2 = factories.user("reviewer", email="rev2@x.com")
    project = factories.project(members=(rev, rev2), reject_reasons="Wrong label\nSloppy")

    def pred(score):
        return [{"result": factories.choice("Positive"), "score": score}]

    factories.tasks(
        project,
        [
            {
                "data": {"text": "one"},
                "predictions": pred(0.3),
                "annotations": [
                    factories.annotation("amy@x.com"),
                    factories.annotation("bob@x.com", "Negative"),
                ],
            },
            {
                "data": {"text": "two"},
                "predictions": pred(0.9),
                "annotations": [
                    factories.annotation("amy@x.com"),
                    {"completed_by": "bob@x.com", "result": [], "was_cancelled": True},
                ],
            },
            {
                "data": {"text": "three"},
                "predictions": pred(0.6),
                "annotations": [
                    factories.annotation("carl@x.com", "Neutral"),
                    factories.annotation(rev, "Neutral"),
                ],
            },
        ],
    )
    tasks = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    annotations = db.session.scalars(select(Annotation.id).order_by(Annotation.id)).all()
    names = dict(
        zip(
            annotations, ["t1 amy", "t1 bob", "t2 amy", "t2 skip", "t3 carl", "t3 rev"], strict=True
        )
    )
    return project, rev, rev2, tasks, names


def drain(project, reviewer, names, **args):
    """Accept items one by one and list them in the order they came."""
    state = TableState.from_args(args)
    seen = []
    while (item := next_for_review(project, reviewer, state)) is not None:
        seen.append(names[item.id])
        record_verdict(item.id, reviewer, "accepted")
    return seen


def test_default_order_is_task_id_then_annotation_id(setup):
    project, rev, _, _, names = setup
    # Skipped and own annotations are left out.
    assert drain(project, rev, names) == ["t1 amy", "t1 bob", "t2 amy", "t3 carl"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-id", ["t3 carl", "t2 amy", "t1 amy", "t1 bob"]),
        ("prediction_score", ["t1 amy", "t1 bob", "t3 carl", "t2 amy"]),
        ("-prediction_score", ["t2 amy", "t3 carl", "t1 amy", "t1 bob"]),
        # agreement: t1 0 (they differ), t2 none (one annotation), t3 1; empty last.
        ("-agreement", ["t3 carl", "t1 amy", "t1 bob", "t2 amy"]),
        ("agreement", ["t1 amy", "t1 bob", "t3 carl", "t2 amy"]),
    ],
)
def test_each_data_manager_order(setup, ordering, expected):
    project, rev, _, _, names = setup
    assert drain(project, rev, names, ordering=ordering) == expected


def test_filters_and_selected_tasks(setup):
    project, rev, _, tasks, names = setup
    assert drain(project, rev, names, prediction_score_min="0.5") == ["t2 amy", "t3 carl"]
    state = TableState()
    chosen = select(Task.id).where(Task.id.in_([tasks[0]]))
    item = next_for_review(project, rev, state, chosen)
    assert names[item.id] == "t1 amy"


def test_self_review_when_allowed(setup):
    project, rev, _, _, names = setup
    project.allow_self_review = True
    db.session.commit()
    assert drain(project, rev, names)[-1] == "t3 rev"


def test_only_assigned_tasks(setup):
    project, rev, _, tasks, names = setup
    project.review_only_assigned = True
    db.session.add(ReviewerAssignment(task_id=tasks[1], user_id=rev.id))
    db.session.commit()
    assert drain(project, rev, names) == ["t2 amy"]


def test_two_reviewers_never_get_the_same_item_and_leases_expire(setup):
    project, rev, rev2, _, names = setup
    first = next_for_review(project, rev)
    second = next_for_review(project, rev2)
    assert (names[first.id], names[second.id]) == ("t1 amy", "t1 bob")
    again = next_for_review(project, rev)
    assert again.id == first.id  # the reviewer keeps their own item on reload
    later = utcnow() + LEASE + timedelta(seconds=1)
    assert names[next_for_review(project, rev2, now=later).id] == "t1 amy"


def test_a_reload_keeps_a_fresh_lease_and_renews_an_old_one(setup):
    project, rev, _, _, _ = setup
    start = utcnow()
    item = next_for_review(project, rev, now=start)

    def until():
        return db.session.scalar(
            select(AnnotationLease.until).where(AnnotationLease.annotation_id == item.id)
        )

    assert until() == start + LEASE
    soon = start + RENEW_BEFORE / 2
    assert next_for_review(project, rev, now=soon).id == item.id
    assert until() == start + LEASE  # still fresh: handed out again without a write
    late = start + LEASE - RENEW_BEFORE / 2
    assert next_for_review(project, rev, now=late).id == item.id
    assert until() == late + LEASE  # less than half left: renewed


def test_queue_counts_of_a_filtered_set_leave_out_the_reviewers_own(setup):
    project, rev, _, _, _ = setup
    # Prediction score 0.6 and up: t2 (amy; bob's skip) and t3 (carl; rev's own).
    state = TableState.from_args({"prediction_score_min": "0.6"})
    assert queue_counts(project, rev, state) == (2, 2)
    project.allow_self_review = True
    db.session.commit()
    assert queue_counts(project, rev, state) == (3, 3)


def test_queue_counts_left_and_total(setup):
    project, rev, _, _, _ = setup
    # Non-skipped annotations not by rev: t1 amy, t1 bob, t2 amy, t3 carl.
    assert queue_counts(project, rev, TableState()) == (4, 4)
    item = next_for_review(project, rev)
    record_verdict(item.id, rev, "accepted")
    assert queue_counts(project, rev, TableState()) == (3, 4)
    assert queue_counts(project, rev, TableState.from_args({"prediction_score_min": "0.5"})) == (
        2,
        2,
    )
    project.allow_self_review = True
    db.session.commit()
    assert queue_counts(project, rev, TableState()) == (4, 5)  # rev's own t3 annotation joins


def test_queue_size_and_end(setup):
    project, rev, _, _, names = setup
    assert queue_size(project, rev, TableState()) == 4
    drain(project, rev, names)
    assert queue_size(project, rev, TableState()) == 0
    assert next_for_review(project, rev) is None


def test_accept_and_counts(setup):
    project, rev, _, tasks, _ = setup
    item = next_for_review(project, rev)
    outcome = record_verdict(item.id, rev, "accepted")
    assert outcome.message == f"Accepted annotation #{item.id}."
    task = db.session.get(Task, tasks[0])
    assert (task.accepted_count, task.pending_count, task.review_rank) == (1, 1, 1)
    assert db.session.get(Annotation, item.id).review_status == "accepted"


def test_stale_and_double_verdicts_record_nothing(setup):
    project, rev, rev2, _, _ = setup
    item = next_for_review(project, rev)
    record_verdict(item.id, rev2, "accepted")
    with pytest.raises(StaleVerdict, match="reviewed by someone else"):
        record_verdict(item.id, rev, "rejected", comment="no")
    with pytest.raises(StaleVerdict):
        record_verdict(item.id, rev2, "accepted")
    assert (
        db.session.scalar(select(Review.verdict).where(Review.annotation_id == item.id))
        == "accepted"
    )
    assert len(db.session.scalars(select(Review)).all()) == 1
    with pytest.raises(StaleVerdict, match="deleted"):
        record_verdict(99999, rev, "accepted")


def test_fix_keeps_the_original_and_measures_the_fix(setup):
    project, rev, _, tasks, _ = setup
    item = next_for_review(project, rev)  # t1 amy: Positive
    outcome = record_verdict(item.id, rev, "fixed", result=factories.choice("Negative"))
    review = outcome.review
    assert review.result_before == factories.choice("Positive")
    assert review.result_after[0]["value"]["choices"] == ["Negative"]
    # Single choice, Positive -> Negative: s = 0, so fix size = 1 - 0 = 1.
    assert review.fix_size == 1.0
    assert outcome.diff == ["sentiment: Positive → Negative"]
    annotation = db.session.get(Annotation, item.id)
    assert annotation.result[0]["value"]["choices"] == ["Negative"]
    # t1 now has Negative and Negative: agreement 1.
    assert db.session.get(Task, tasks[0]).agreement == 1.0
    assert db.session.get(Task, tasks[0]).fixed_count == 1


def test_fix_with_an_invalid_result_stores_nothing(setup):
    project, rev, _, _, _ = setup
    item = next_for_review(project, rev)
    with pytest.raises(VerdictError, match="not valid"):
        record_verdict(item.id, rev, "fixed", result=factories.choice("Angry"))
    assert db.session.get(Annotation, item.id).review_status == "pending"
    assert db.session.scalars(select(Review)).all() == []


def test_reject_needs_comment_and_known_reason(setup):
    project, rev, _, _, _ = setup
    item = next_for_review(project, rev)
    with pytest.raises(VerdictError, match="comment"):
        record_verdict(item.id, rev, "rejected")
    with pytest.raises(VerdictError, match="Unknown reason"):
        record_verdict(item.id, rev, "rejected", comment="x", reason="Bad vibes")
    outcome = record_verdict(
        item.id, rev, "rejected", comment="Read it again", reason="Wrong label"
    )
    assert outcome.message.endswith("it leaves every queue.")
    annotation = db.session.get(Annotation, item.id)
    assert annotation.review_status == "rejected" and not annotation.requeued
    assert (outcome.review.comment, outcome.review.reason) == ("Read it again", "Wrong label")


def test_reject_with_the_return_action_sends_it_back(setup):
    project, rev, _, _, _ = setup
    project.reject_actions, project.default_reject_action = ["return"], "return"
    project.require_comment_on_reject = False
    db.session.commit()
    item = next_for_review(project, rev)
    outcome = record_verdict(item.id, rev, "rejected")
    assert "goes back to its annotator" in outcome.message
    assert db.session.get(Annotation, item.id).requeued


def test_change_an_earlier_verdict_keeps_history(setup):
    project, rev, rev2, _, _ = setup
    item = next_for_review(project, rev)
    record_verdict(item.id, rev, "accepted")
    record_verdict(item.id, rev2, "rejected", comment="Actually wrong", change=True)
    history = db.session.scalars(
        select(Review.verdict).where(Review.annotation_id == item.id).order_by(Review.id)
    ).all()
    assert history == ["accepted", "rejected"]
    assert db.session.get(Annotation, item.id).review_status == "rejected"


def test_skipped_annotation_cannot_be_reviewed(setup):
    project, rev, _, _, names = setup
    skipped = next(i for i, n in names.items() if n == "t2 skip")
    with pytest.raises(VerdictError, match="skipped"):
        record_verdict(skipped, rev, "accepted")


def test_concurrent_reviewers_never_share_an_item(app):
    import threading

    from reviewapp.models import Project, User

    reviewers = [factories.user("reviewer") for _ in range(4)]
    project = factories.project(members=tuple(reviewers))
    items = [
        {"data": {"text": f"t{i}"}, "annotations": [factories.annotation("a@x.com")]}
        for i in range(60)
    ]
    factories.tasks(project, items)
    project_id, ids = project.id, [r.id for r in reviewers]
    handed: list[tuple[int, int]] = []
    failures: list[Exception] = []

    def work(reviewer_id: int) -> None:
        with app.app_context():
            try:
                while True:
                    me, current = (
                        db.session.get(User, reviewer_id),
                        db.session.get(Project, project_id),
                    )
                    item = next_for_review(current, me)
                    db.session.commit()  # as the views do: the caller commits
                    if item is None:
                        return
                    handed.append((item.id, reviewer_id))
                    record_verdict(item.id, me, "accepted", project=current)
                    db.session.commit()
                    db.session.remove()
            except Exception as error:  # noqa: BLE001 - asserted below
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    handed_ids = [annotation_id for annotation_id, _ in handed]
    assert len(handed_ids) == len(set(handed_ids)) == 60
    assert len(db.session.scalars(select(Review)).all()) == 60
