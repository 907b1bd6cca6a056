"""The label stream service, without a request: order, overlap, exclusions, leases, requeue."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Task, TaskLease, utcnow
from reviewapp.services import label_stream as stream
from reviewapp.services.ground_truth import GroundTruthError, toggle_ground_truth
from reviewapp.services.leases import claim
from tests import factories

POSITIVE = factories.choice("Positive")


@pytest.fixture
def setup(app):
    ann1 = factories.user("annotator", email="ann1@x.com")
    ann2 = factories.user("annotator", email="ann2@x.com")
    ann3 = factories.user("annotator", email="ann3@x.com")
    project = factories.project(members=(ann1, ann2, ann3), overlap=2)
    factories.text_tasks(project, "one", "two", "three")
    ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    return project, (ann1, ann2, ann3), ids


def next_id(project, user, now=None):
    item = stream.next_item(project, user, now)
    db.session.commit()
    return item.task.id if item else None


def submit(project, user, task_id, result=POSITIVE, **kwargs):
    saved = stream.submit(project, user, db.session.get(Task, task_id), result, 2.5, **kwargs)
    db.session.commit()
    return saved


def skip(project, user, task_id):
    saved = stream.skip(project, user, db.session.get(Task, task_id), 1.0)
    db.session.commit()
    return saved


def test_tasks_come_in_id_order_and_the_held_task_comes_back(setup):
    project, (ann1, _, _), ids = setup
    assert next_id(project, ann1) == ids[0]
    # Reloading the page hands the same task back rather than a new one.
    assert next_id(project, ann1) == ids[0]
    submit(project, ann1, ids[0])
    assert next_id(project, ann1) == ids[1]


def test_submit_saves_result_lead_time_and_counters(setup):
    project, (ann1, _, _), ids = setup
    next_id(project, ann1)
    saved = submit(project, ann1, ids[0])
    assert saved.message == f"Saved task {ids[0]}."
    annotation = db.session.get(Annotation, saved.annotation.id)
    assert annotation.result == POSITIVE and annotation.lead_time == 2.5
    assert annotation.review_status == "pending" and not annotation.was_cancelled
    task = db.session.get(Task, ids[0])
    assert task.annotation_count == 1 and task.pending_count == 1
    assert db.session.scalar(select(func.count()).select_from(TaskLease)) == 0


def test_a_task_leaves_the_stream_once_it_has_overlap_annotations(setup):
    project, (ann1, ann2, ann3), ids = setup
    submit(project, ann1, ids[0])
    assert next_id(project, ann2) == ids[0]  # one annotation, overlap 2: still needed
    submit(project, ann2, ids[0])
    assert next_id(project, ann3) == ids[1]


def test_skips_do_not_count_towards_overlap_but_exclude_the_skipper(setup):
    project, (ann1, ann2, ann3), ids = setup
    skipped = skip(project, ann1, ids[0])
    assert skipped.message == f"Skipped task {ids[0]}."
    annotation = db.session.get(Annotation, skipped.annotation.id)
    assert annotation.was_cancelled and annotation.result == []
    assert db.session.get(Task, ids[0]).skipped_count == 1
    assert next_id(project, ann1) == ids[1]
    submit(project, ann2, ids[0])
    assert next_id(project, ann3) == ids[0]  # 1 non-skipped of 2 wanted


def test_tasks_the_user_annotated_before_are_excluded_whatever_their_count(setup):
    project, (ann1, _, _), ids = setup
    items = [{"data": {"text": "imported"}, "annotations": [factories.annotation(ann1)]}]
    factories.tasks(project, items)
    for task_id in ids:
        submit(project, ann1, task_id)
    # The imported task has 1 of 2 annotations, but the other is ann1's own.
    assert next_id(project, ann1) is None


def test_another_users_lease_hides_the_task_until_it_expires(setup):
    project, (ann1, ann2, _), ids = setup
    now = utcnow()
    assert next_id(project, ann1, now) == ids[0]
    assert next_id(project, ann2, now) == ids[1]
    # ann1 walks away; once the lease has expired the task goes to the next labeller.
    later = now + stream.LEASE + timedelta(seconds=1)
    lease = db.session.get(TaskLease, ids[1])
    assert lease.user_id == ann2.id
    db.session.delete(lease)  # ann2 finished meanwhile (lease released)
    db.session.commit()
    assert next_id(project, ann2, later) == ids[0]
    assert db.session.get(TaskLease, ids[0]).user_id == ann2.id


def test_a_lease_is_renewed_on_each_load(setup):
    project, (ann1, ann2, _), ids = setup
    now = utcnow()
    next_id(project, ann1, now)
    almost = now + stream.LEASE - timedelta(seconds=1)
    assert next_id(project, ann1, almost) == ids[0]  # renewed until almost + LEASE
    assert next_id(project, ann2, now + stream.LEASE + timedelta(seconds=1)) == ids[1]


def test_the_held_task_is_dropped_when_it_no_longer_needs_the_user(setup):
    project, (ann1, ann2, ann3), ids = setup
    now = utcnow()
    assert next_id(project, ann1, now) == ids[0]
    # Meanwhile two others annotated it (after ann1's lease expired, say).
    submit(project, ann2, ids[0])
    submit(project, ann3, ids[0])
    assert next_id(project, ann1, now) == ids[1]
    assert db.session.get(TaskLease, ids[0]) is None


def test_two_labellers_racing_for_one_task_only_one_wins(setup):
    project, (ann1, ann2, _), ids = setup
    now = utcnow()
    assert claim(TaskLease, ids[0], ann1.id, now)
    assert not claim(TaskLease, ids[0], ann2.id, now)
    assert claim(TaskLease, ids[0], ann1.id, now)  # renewal
    assert claim(TaskLease, ids[0], ann2.id, now + stream.LEASE)  # expired: taken over
    db.session.commit()


def test_end_of_queue(setup):
    project, (ann1, _, _), ids = setup
    for task_id in ids:
        assert next_id(project, ann1) == task_id
        submit(project, ann1, task_id)
    assert stream.next_item(project, ann1) is None


def test_a_second_submit_is_refused_and_stores_nothing(setup):
    project, (ann1, _, _), ids = setup
    submit(project, ann1, ids[0])
    with pytest.raises(stream.AlreadySubmitted, match=f"Task {ids[0]} was already submitted"):
        submit(project, ann1, ids[0], factories.choice("Negative"))
    db.session.rollback()
    with pytest.raises(stream.AlreadySubmitted):
        skip(project, ann1, ids[0])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Annotation)) == 1


def test_a_requeued_annotation_comes_first_with_the_comment_and_goes_back_to_pending(setup):
    project, (ann1, _, _), ids = setup
    reviewer = factories.user("reviewer")
    saved = submit(project, ann1, ids[1])
    annotation = db.session.get(Annotation, saved.annotation.id)
    annotation.review_status, annotation.requeued = "rejected", True
    factories.review(
        annotation, reviewer, "rejected", comment="It is negative.", reason="Wrong label"
    )
    db.session.commit()
    item = stream.next_item(project, ann1)
    assert item.task.id == ids[1] and item.annotation.id == annotation.id
    assert item.comment == "It is negative." and item.reason == "Wrong label"
    updated = submit(project, ann1, ids[1], factories.choice("Negative"))
    assert updated.annotation.id == annotation.id
    assert "back in review" in updated.message
    annotation = db.session.get(Annotation, annotation.id)
    assert annotation.result == factories.choice("Negative")
    assert annotation.review_status == "pending" and not annotation.requeued
    assert annotation.lead_time == 5.0  # both sittings
    assert db.session.scalar(select(func.count()).select_from(Annotation)) == 1
    assert next_id(project, ann1) == ids[0]


def test_only_the_users_own_requeued_annotations_come_back(setup):
    project, (ann1, ann2, _), ids = setup
    saved = submit(project, ann2, ids[0])
    annotation = db.session.get(Annotation, saved.annotation.id)
    annotation.review_status, annotation.requeued = "rejected", True
    db.session.commit()
    item = stream.next_item(project, ann1)
    assert item.annotation is None and item.task.id == ids[0]


def test_update_own_while_pending_but_not_after_review(setup):
    project, (ann1, _, _), ids = setup
    annotation = skip(project, ann1, ids[0]).annotation
    saved = stream.update_own(project, ann1, annotation, POSITIVE)
    db.session.commit()
    annotation = db.session.get(Annotation, saved.annotation.id)
    assert annotation.result == POSITIVE and not annotation.was_cancelled
    assert db.session.get(Task, ids[0]).annotation_count == 1
    annotation.review_status = "accepted"
    db.session.commit()
    with pytest.raises(stream.NotEditable, match="already reviewed \\(accepted\\)"):
        stream.update_own(project, ann1, annotation, [])


def test_own_annotations_newest_first_with_latest_review(setup):
    project, (ann1, ann2, _), ids = setup
    reviewer = factories.user("reviewer")
    first = submit(project, ann1, ids[0]).annotation.id
    submit(project, ann1, ids[1])
    submit(project, ann2, ids[2])
    for verdict, comment in (("rejected", "no"), ("accepted", "fine now")):
        factories.review(db.session.get(Annotation, first), reviewer, verdict, comment=comment)
    db.session.commit()
    page = stream.own_annotations(project, ann1)
    assert page.total == 2 and page.pages == 1
    assert [row.annotation.task_id for row in page.rows] == [ids[1], ids[0]]
    assert (page.rows[1].verdict, page.rows[1].comment) == ("accepted", "fine now")
    assert page.rows[0].verdict == ""


def test_ground_truth_moves_and_clears(setup):
    project, (ann1, ann2, _), ids = setup
    manager = factories.user("manager")
    a = submit(project, ann1, ids[0]).annotation.id
    b = submit(project, ann2, ids[0]).annotation.id
    a, b = db.session.get(Annotation, a), db.session.get(Annotation, b)
    assert toggle_ground_truth(project, a, manager) == (
        f"Annotation #{a.id} is now the ground truth of task {ids[0]}."
    )
    message = toggle_ground_truth(project, b, manager)
    assert message == (
        f"Annotation #{b.id} is now the ground truth of task {ids[0]} "
        f"(the star moved from annotation #{a.id})."
    )
    db.session.commit()
    assert not db.session.get(Annotation, a.id).ground_truth
    assert db.session.get(Task, ids[0]).has_ground_truth
    message = toggle_ground_truth(project, db.session.get(Annotation, b.id), manager)
    db.session.commit()
    assert message.endswith(f"task {ids[0]} has none.")
    assert not db.session.get(Task, ids[0]).has_ground_truth


def test_submit_as_ground_truth(setup):
    project, _, ids = setup
    lead, admin = factories.user("manager"), factories.user("admin")
    a = submit(project, lead, ids[0], ground_truth=True).annotation.id
    saved = submit(project, admin, ids[0], ground_truth=True)
    assert f"moved from annotation #{a}" in saved.message
    stars = db.session.scalars(select(Annotation.id).where(Annotation.ground_truth.is_(True)))
    assert list(stars) == [saved.annotation.id]


def test_a_skip_cannot_be_ground_truth(setup):
    project, (ann1, _, _), ids = setup
    annotation = skip(project, ann1, ids[0]).annotation
    with pytest.raises(GroundTruthError, match="a skip cannot be the ground truth"):
        toggle_ground_truth(project, annotation, factories.user("manager"))


def test_only_managers_and_admins_mark_ground_truth(setup):
    project, (ann1, ann2, _), ids = setup
    with pytest.raises(PermissionError, match="Only managers and admins"):
        submit(project, ann1, ids[0], ground_truth=True)
    db.session.rollback()
    annotation = submit(project, ann2, ids[0]).annotation
    with pytest.raises(PermissionError, match="Only managers and admins"):
        toggle_ground_truth(project, annotation, factories.user("reviewer"))
    db.session.rollback()
    assert db.session.scalar(select(Annotation.task_id).where(Annotation.ground_truth)) is None
    assert db.session.scalars(select(Annotation.completed_by_id)).all() == [ann2.id]
