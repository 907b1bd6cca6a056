"""Bulk Accept and Reject: the counts worked out by hand, the single verdict's policies, the
reject actions, what is left alone, and the page and API that run them."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import (
    Annotation,
    AnnotationLease,
    Job,
    Review,
    ReviewerAssignment,
    Task,
    TaskStateChange,
    User,
    utcnow,
)
from reviewapp.permissions import verdict_refusal, verdict_refusals_sql
from reviewapp.services.data_manager.bulk import BulkError, apply_bulk_action
from reviewapp.services.data_manager.bulk_verdicts import VerdictOptions
from reviewapp.services.label_stream import next_item
from reviewapp.services.review_stream import record_verdict
from reviewapp.services.users import add_member
from tests import factories
from tests.test_openapi import check


@pytest.fixture
def setup(app):
    """Five tasks, overlap 2, worked out by hand below:

    T1: amy, bob (2 pending)        T2: amy (pending), bob skipped (1 pending)
    T3: amy accepted already, bob   T4: no annotation
    T5: the manager's own and bob's (2 pending, the first the manager may not review)
    So the manager may accept 2 + 1 + 1 + 0 + 1 = 5 annotations in 4 tasks, 1 skipped.
    """
    manager = factories.user("manager", email="mona@x.com")
    reviewer = factories.user("reviewer", email="rita@x.com")
    amy = factories.user("annotator", email="amy@x.com")
    bob = factories.user("annotator", email="bob@x.com")
    project = factories.project(
        members=(manager, reviewer, amy, bob),
        overlap=2,
        reject_actions=["remove", "return", "reassign"],
        default_reject_action="remove",
        reject_reasons="Wrong label\nUnclear text",
        require_comment_on_reject=True,
    )
    skipped = {"completed_by": bob.email, "result": [], "was_cancelled": True}
    factories.tasks(
        project,
        [
            {"data": {"text": "one"}, "annotations": [annotation(amy), annotation(bob)]},
            {"data": {"text": "two"}, "annotations": [annotation(amy), skipped]},
            {"data": {"text": "three"}, "annotations": [annotation(amy), annotation(bob)]},
            {"data": {"text": "four"}},
            {"data": {"text": "five"}, "annotations": [annotation(manager), annotation(bob)]},
        ],
    )
    ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    earlier = first_annotation(ids[2], amy)
    record_verdict(earlier.id, reviewer, "accepted", project=project)
    db.session.commit()
    return project, manager, reviewer, amy, bob, ids


def annotation(user, label="Positive"):
    return factories.annotation(user, label)


def first_annotation(task_id, user) -> Annotation:
    return db.session.scalar(
        select(Annotation).where(
            Annotation.task_id == task_id, Annotation.completed_by_id == user.id
        )
    )


def run(name, project, user, ids, **kwargs):
    return apply_bulk_action(name, project, user, select(Task.id).where(Task.id.in_(ids)), **kwargs)


def statuses(task_id) -> list[tuple[str, str]]:
    """(annotator's name, review status) of the task's non-skipped annotations, in order."""
    rows = db.session.execute(
        select(User.email, Annotation.review_status)
        .join(User, User.id == Annotation.completed_by_id)
        .where(Annotation.task_id == task_id, Annotation.was_cancelled.is_(False))
        .order_by(Annotation.id)
    )
    return [(email.split("@")[0], status) for email, status in rows]


def reviews(verdict=None) -> int:
    query = select(func.count(Review.id))
    if verdict:
        query = query.where(Review.verdict == verdict)
    return db.session.scalar(query)


# -- accept ---------------------------------------------------------------------------------


def test_accept_asks_with_the_counts_then_accepts_what_the_manager_may_review(setup):
    project, manager, reviewer, amy, bob, ids = setup
    asked = run("accept", project, manager, ids)
    assert asked.needs_confirmation
    assert asked.message == "Accept 5 pending annotations in 4 tasks? 1 skipped: your own."
    assert reviews() == 1  # the question changes nothing

    done = run("accept", project, manager, ids, confirmed=True)
    db.session.commit()
    assert done.message == "Accepted 5 annotations in 4 tasks; 1 skipped: your own."
    assert done.counts == {
        "tasks": 5,
        "accepted": 5,
        "reviewed_tasks": 4,
        "skipped": 1,
        "skipped_own": 1,
        "skipped_not_assigned": 0,
    }
    assert statuses(ids[0]) == [("amy", "accepted"), ("bob", "accepted")]
    assert statuses(ids[1]) == [("amy", "accepted")]
    assert statuses(ids[4]) == [("mona", "pending"), ("bob", "accepted")]
    # Each verdict is a Review row as a single verdict writes it.
    rows = db.session.scalars(select(Review).where(Review.reviewer_id == manager.id)).all()
    assert len(rows) == 5
    assert {(r.verdict, r.comment, r.reason, r.result_after, r.fix_size) for r in rows} == {
        ("accepted", "", "", None, None)
    }
    assert {r.project_id for r in rows} == {project.id}
    # The tasks' columns and states follow: T1 to T3 are done, T5 waits for another reviewer.
    tasks = {t.id: t for t in db.session.scalars(select(Task))}
    assert [tasks[i].state for i in ids] == [
        "done",
        "annotating",
        "done",
        "annotating",
        "needs_review",
    ]
    assert (tasks[ids[0]].accepted_count, tasks[ids[0]].pending_count) == (2, 0)
    assert (tasks[ids[4]].accepted_count, tasks[ids[4]].pending_count) == (1, 1)
    changes = db.session.scalars(
        select(TaskStateChange).where(TaskStateChange.reason == "bulk accept")
    ).all()
    assert {(c.task_id, c.from_state, c.to_state, c.by_id) for c in changes} == {
        (ids[0], "needs_review", "done", manager.id),
        (ids[2], "needs_review", "done", manager.id),
    }


def test_accept_only_the_chosen_annotators_work(setup):
    project, manager, reviewer, amy, bob, ids = setup
    only_amy = VerdictOptions(annotator_ids=(amy.id,))
    asked = run("accept", project, manager, ids, verdict=only_amy)
    # T1 and T2; T3's was accepted already.
    assert asked.message == "Accept 2 pending annotations by amy@x.com in 2 tasks?"
    done = run("accept", project, manager, ids, verdict=only_amy, confirmed=True)
    assert done.message == "Accepted 2 annotations in 2 tasks."
    assert statuses(ids[0]) == [("amy", "accepted"), ("bob", "pending")]


def test_stale_annotations_are_untouched_and_a_second_run_reviews_nothing(setup):
    project, manager, reviewer, amy, bob, ids = setup
    earlier = first_annotation(ids[2], amy)
    run("accept", project, manager, ids, confirmed=True)
    db.session.commit()
    # The one accepted before keeps its single review, by its reviewer.
    assert [(r.reviewer_id, r.verdict) for r in reviews_of(earlier.id)] == [
        (reviewer.id, "accepted")
    ]
    before = reviews()
    again = run("accept", project, manager, ids, confirmed=True)
    db.session.commit()
    assert again.message == (
        "No pending annotation left to accept in the 5 selected tasks; nothing changed; "
        "1 skipped: your own."
    )
    assert again.counts["accepted"] == 0
    assert reviews() == before
    with pytest.raises(BulkError, match="have no pending annotation for you to accept"):
        run("accept", project, manager, ids)  # asking first says so instead


def reviews_of(annotation_id):
    return db.session.scalars(
        select(Review).where(Review.annotation_id == annotation_id).order_by(Review.id)
    ).all()


def test_a_verdict_drops_the_annotations_lease(setup):
    project, manager, reviewer, amy, bob, ids = setup
    target = first_annotation(ids[0], bob)
    db.session.add(
        AnnotationLease(
            annotation_id=target.id, user_id=reviewer.id, until=utcnow() + timedelta(minutes=5)
        )
    )
    db.session.commit()
    run("accept", project, manager, ids[:1], confirmed=True)
    db.session.commit()
    assert db.session.get(AnnotationLease, target.id) is None


def test_review_sample_leaves_the_unsampled_annotations_alone(setup):
    from reviewapp.services.derived.task_columns import in_sample

    project, manager, reviewer, amy, bob, ids = setup
    project.review_sample_percent = 50
    db.session.commit()
    pending = db.session.scalars(
        select(Annotation.id).where(
            Annotation.review_status == "pending",
            Annotation.was_cancelled.is_(False),
            Annotation.completed_by_id != manager.id,
        )
    ).all()
    sampled = [i for i in pending if in_sample(i, 50)]
    done = run("accept", project, manager, ids, confirmed=True)
    assert done.counts["accepted"] == len(sampled)
    accepted = db.session.scalars(
        select(Annotation.id).where(
            Annotation.id.in_(pending), Annotation.review_status == "accepted"
        )
    ).all()
    assert sorted(accepted) == sorted(sampled)


# -- policies ---------------------------------------------------------------------------------


@pytest.fixture
def assigned_only(setup):
    project, manager, reviewer, amy, bob, ids = setup
    project.review_only_assigned = True
    db.session.add(ReviewerAssignment(task_id=ids[0], user_id=reviewer.id))
    db.session.commit()
    return setup


def test_reviewers_skip_what_is_not_assigned_to_them(assigned_only):
    project, manager, reviewer, amy, bob, ids = assigned_only
    asked = run("accept", project, reviewer, ids)
    # T1's two; T2's 1, T3's 1 and T5's 2 are on tasks not assigned to the reviewer.
    assert (
        asked.message == "Accept 2 pending annotations in 1 task? 4 skipped: not assigned to you."
    )
    done = run("accept", project, reviewer, ids, confirmed=True)
    assert done.message == "Accepted 2 annotations in 1 task; 4 skipped: not assigned to you."
    assert statuses(ids[1]) == [("amy", "pending")]


def test_the_sql_rules_agree_with_the_single_verdicts(assigned_only):
    project, manager, reviewer, amy, bob, ids = assigned_only
    for user in (manager, reviewer):
        for allow_self_review in (False, True):
            project.allow_self_review = allow_self_review
            rules = verdict_refusals_sql(user, project)
            for row in db.session.scalars(select(Annotation)):
                refused = [key for key, condition in rules if _holds(condition, row.id)]
                assert bool(refused) == (verdict_refusal(user, project, row) is not None)


def _holds(condition, annotation_id) -> bool:
    return bool(
        db.session.scalar(select(func.count()).where(Annotation.id == annotation_id, condition))
    )


def test_annotators_may_not_run_a_bulk_verdict(setup):
    project, manager, reviewer, amy, bob, ids = setup
    with pytest.raises(PermissionError):
        run("accept", project, amy, ids, confirmed=True)
    assert reviews() == 1


# -- reject -----------------------------------------------------------------------------------


def test_reject_return_puts_the_annotation_first_in_its_annotators_stream(setup):
    project, manager, reviewer, amy, bob, ids = setup
    note = VerdictOptions((amy.id,), "return", "Wrong label", "Read it again")
    asked = run("reject", project, manager, ids[1:2], verdict=note)
    assert asked.message == (
        "Reject 1 pending annotation by amy@x.com in 1 task? "
        "They go back to their annotators with your comment."
    )
    done = run("reject", project, manager, ids[1:2], verdict=note, confirmed=True)
    db.session.commit()
    assert done.message == "Rejected 1 annotation in 1 task (returned)."
    rejected = first_annotation(ids[1], amy)
    assert (rejected.review_status, rejected.requeued, rejected.returned_by_id) == (
        "rejected",
        True,
        manager.id,
    )
    review = reviews_of(rejected.id)[-1]
    assert (review.verdict, review.reason, review.comment) == (
        "rejected",
        "Wrong label",
        "Read it again",
    )
    assert db.session.get(Task, ids[1]).state == "returned"
    # amy has T4 still to label (lower ids come first), but the returned one comes before it.
    item = next_item(project, amy)
    assert item.task.id == ids[1] and item.annotation.id == rejected.id


def test_reject_reassign_frees_the_overlap_slot(setup):
    project, manager, reviewer, amy, bob, ids = setup
    carl = factories.user("annotator", email="carl@x.com")
    add_member(project.id, carl)
    db.session.commit()
    assert next_item(project, carl).task.id == ids[1]  # T1 is full: amy and bob
    note = VerdictOptions((bob.id,), "reassign", "", "Too quick")
    done = run("reject", project, manager, ids[:1], verdict=note, confirmed=True)
    db.session.commit()
    assert done.message == "Rejected 1 annotation in 1 task (reassigned)."
    task = db.session.get(Task, ids[0])
    assert (task.overlap_count, task.rejected_count, task.state) == (1, 1, "annotating")
    # One more annotator may label T1 now; it comes before T2 for a new one.
    dave = factories.user("annotator", email="dave@x.com")
    add_member(project.id, dave)
    db.session.commit()
    assert next_item(project, dave).task.id == ids[0]


def test_reject_remove_is_the_default_and_leaves_the_queues(setup):
    project, manager, reviewer, amy, bob, ids = setup
    done = run(
        "reject", project, manager, ids[:1], verdict=VerdictOptions(comment="No"), confirmed=True
    )
    assert done.message == "Rejected 2 annotations in 1 task (removed)."
    assert {
        (a.requeued, a.reassigned)
        for a in db.session.scalars(select(Annotation).where(Annotation.task_id == ids[0]))
    } == {(False, False)}


@pytest.mark.parametrize(
    ("note", "error"),
    [
        (VerdictOptions(), "requires a comment"),
        (VerdictOptions(comment="x", reason="Typo"), "Unknown reason 'Typo'"),
        (VerdictOptions(comment="x", reject_action="later"), "this project offers remove, return"),
        (VerdictOptions((99999,), comment="x"), "No user with id 99999"),
    ],
)
def test_an_incomplete_rejection_is_refused_before_the_question(setup, note, error):
    project, manager, reviewer, amy, bob, ids = setup
    with pytest.raises(BulkError, match=error):
        run("reject", project, manager, ids, verdict=note)
    assert reviews() == 1


# -- as a job ---------------------------------------------------------------------------------


def test_over_the_threshold_a_reviewer_runs_it_as_a_job(setup, app):
    project, manager, reviewer, amy, bob, ids = setup
    app.config["JOBS_BULK_THRESHOLD"] = 2
    outcome = run("accept", project, reviewer, ids, confirmed=True)
    job = db.session.get(Job, outcome.job.id)
    db.session.refresh(job)
    assert job.status == "done" and job.user_id == reviewer.id
    # The reviewer may review the manager's own annotation: 6 of them, none skipped.
    assert job.message == "Accepted 6 annotations in 4 tasks."
    assert job.result["counts"]["accepted"] == 6


# -- the Data Manager page ------------------------------------------------------------------


def url(project, suffix=""):
    return f"/projects/{project.id}/tasks{suffix}"


def test_the_page_asks_then_accepts(client, auth, htmx, setup):
    project, manager, reviewer, amy, bob, ids = setup
    auth.login(manager)
    form = {"action": "accept", "ids": ids[:2], "annotators": [amy.id]}
    asked = client.post(url(project, "/bulk"), data=form, headers=htmx)
    body = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "Accept 2 pending annotations by amy@x.com in 2 tasks?" in body
    # The confirmation posts the action's own fields again.
    assert f'<input type="hidden" name="annotators" value="{amy.id}">' in body
    assert 'class="primary">Yes, accept</button>' in body
    assert reviews() == 1
    done = client.post(url(project, "/bulk"), data={**form, "confirm": "1"}, headers=htmx)
    body = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "Accepted 2 annotations in 2 tasks." in body
    # The table comes back with T1's Review status column changed.
    row = body[body.index(f'<tr id="task-{ids[0]}">') :]
    row = row[: row.index("</tr>")]
    assert '<span class="pending">1 pending</span> · <span class="ok">1 accepted</span>' in row


def test_the_page_shows_a_rejection_error_and_keeps_everything(client, auth, htmx, setup):
    project, manager, reviewer, amy, bob, ids = setup
    auth.login(manager)
    answer = client.post(url(project, "/bulk"), data={"action": "reject", "ids": ids}, headers=htmx)
    assert "this project requires a comment" in answer.get_data(as_text=True)
    assert reviews() == 1


def test_reviewers_see_accept_and_reject_but_not_the_managers_actions(client, auth, setup):
    project, manager, reviewer, amy, bob, ids = setup
    auth.login(reviewer)
    body = client.get(url(project)).get_data(as_text=True)
    for action in ("accept", "reject"):
        assert f'name="action" value="{action}"' in body
    for action in ("assign_reviewers", "delete_tasks"):
        assert f'value="{action}"' not in body
    assert "Export JSON" not in body
    assert 'name="comment"' in body and 'placeholder="Comment for Reject (required)"' in body
    assert '<option value="Wrong label">Wrong label</option>' in body
    assert '<option value="remove" selected>remove</option>' in body


def test_annotators_get_no_bulk_verdict_page(client, auth, setup):
    project, manager, reviewer, amy, bob, ids = setup
    auth.login(amy)
    answer = client.post(
        url(project, "/bulk"), data={"action": "accept", "ids": ids, "confirm": "1"}
    )
    assert answer.status_code == 403
    assert reviews() == 1


# -- the API ----------------------------------------------------------------------------------


def api(user):
    return {"Authorization": f"Token {factories.token(user)}"}


def bulk_url(project):
    return f"/api/projects/{project.id}/bulk"


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").json


def post(client, document, project, user, body):
    response = client.post(bulk_url(project), json=body, headers=api(user))
    check(document, "/api/projects/{project_id}/bulk", "post", response)
    return response


def test_api_accept_answers_the_counts(client, document, setup):
    project, manager, reviewer, amy, bob, ids = setup
    answer = post(client, document, project, manager, {"action": "accept", "ids": ids})
    assert answer.status_code == 200
    assert answer.json == {
        "action": "accept",
        "message": "Accepted 5 annotations in 4 tasks; 1 skipped: your own.",
        "counts": {
            "tasks": 5,
            "accepted": 5,
            "reviewed_tasks": 4,
            "skipped": 1,
            "skipped_own": 1,
            "skipped_not_assigned": 0,
        },
    }


def test_api_reject_with_filters_and_exclude(client, document, setup):
    project, manager, reviewer, amy, bob, ids = setup
    body = {
        "action": "reject",
        "annotator": [amy.id],  # the table's filter: tasks amy annotated (T1, T2, T3)
        "exclude": [ids[0]],
        "annotators": [amy.id],
        "reject_action": "return",
        "reason": "Unclear text",
        "comment": "Please look again",
    }
    answer = post(client, document, project, manager, body)
    assert answer.status_code == 200, answer.json
    assert answer.json["message"] == "Rejected 1 annotation in 1 task (returned)."
    assert answer.json["counts"]["tasks"] == 2  # T2 and T3; T3's amy was accepted already
    assert first_annotation(ids[1], amy).requeued


def test_api_errors(client, document, setup):
    project, manager, reviewer, amy, bob, ids = setup
    other = factories.project(members=(manager,), title="Other")
    factories.text_tasks(other, "elsewhere")
    foreign = db.session.scalar(select(Task.id).where(Task.project_id == other.id))
    cases = [
        (manager, {"action": "accept", "ids": [ids[0], foreign]}, 422, f"No task {foreign} in"),
        (manager, {"action": "explode", "ids": ids}, 400, "'action' must be one of"),
        (manager, {"action": {}, "ids": ids}, 400, "'action' must be one of"),
        (manager, {"action": "accept", "ids": ["1"]}, 400, "'ids' must be a list of ids"),
        (manager, {"action": "accept", "ids": ids, "q": "x"}, 400, "either 'ids' or filters"),
        (manager, {"action": "accept", "idz": ids}, 400, "Unknown field 'idz'"),
        (manager, {"action": "accept", "review_status": "maybe"}, 400, "review_status"),
        (manager, {"action": "reject", "ids": ids}, 422, "requires a comment"),
        (manager, {"action": "reject", "ids": ids, "comment": None}, 400, "'comment' must be"),
        (manager, {"action": "accept", "ids": ids, "reject_action": "x"}, 400, "reject_action"),
        (manager, {"action": "accept", "ids": ids, "confirm": "yes"}, 400, "'confirm' must"),
        (manager, {"action": "assign_reviewers", "ids": ids}, 422, "Pick at least one reviewer"),
        (reviewer, {"action": "delete_tasks", "ids": ids, "confirm": True}, 403, "is for admin"),
        (amy, {"action": "accept", "ids": ids}, 403, None),
        (manager, {"action": "delete_tasks", "ids": ids}, 409, "Delete 5 tasks with"),
        (manager, {"action": "delete_ground_truth", "ids": ids}, 409, "Delete ground truth on 5"),
    ]
    for user, body, status, error in cases:
        answer = post(client, document, project, user, body)
        assert answer.status_code == status, (body, answer.json)
        if error:
            assert error in answer.json["error"], (body, answer.json)
    assert reviews() == 1
    assert db.session.scalar(select(func.count(Task.id))) == 6


def test_api_destructive_actions_run_when_confirmed(client, document, setup):
    project, manager, reviewer, amy, bob, ids = setup
    body = {"action": "delete_tasks", "ids": ids[3:4], "confirm": True}
    answer = post(client, document, project, manager, body)
    assert answer.json == {
        "action": "delete_tasks",
        "message": "Deleted 1 task.",
        "counts": {"tasks": 1, "deleted": 1},
    }
    body = {"action": "assign_reviewers", "review_status": "pending", "reviewers": [reviewer.id]}
    answer = post(client, document, project, manager, body)
    # T1, T2, T3 and T5 have a pending annotation.
    assert answer.json["counts"] == {"tasks": 4, "reviewers": 1, "already_assigned": 0}


def test_api_over_the_threshold_answers_from_the_job(client, document, setup, app):
    project, manager, reviewer, amy, bob, ids = setup
    app.config["JOBS_BULK_THRESHOLD"] = 2
    answer = post(client, document, project, manager, {"action": "accept", "ids": ids})
    assert answer.status_code == 200
    assert answer.json["counts"]["accepted"] == 5
    job = db.session.scalar(select(Job).order_by(Job.id.desc()))
    assert job.kind == "bulk" and job.status == "done"


def test_api_a_double_post_reviews_once(client, document, setup):
    project, manager, reviewer, amy, bob, ids = setup
    first = post(client, document, project, manager, {"action": "accept", "ids": ids[:1]})
    second = post(client, document, project, manager, {"action": "accept", "ids": ids[:1]})
    assert first.json["counts"]["accepted"] == 2
    assert second.status_code == 200 and second.json["counts"]["accepted"] == 0
    assert reviews("accepted") == 3


def test_api_a_queued_job_answers_202_and_its_result_has_the_counts(setup, queued_app, document):
    from reviewapp.services.jobs import runner

    project, manager, reviewer, amy, bob, ids = setup
    queued_app.config["JOBS_BULK_THRESHOLD"] = 2
    with queued_app.app_context():
        headers = api(db.session.get(User, reviewer.id))  # in this app's session
        client = queued_app.test_client()
        answer = client.post(
            bulk_url(project) + "?wait=0", json={"action": "accept", "ids": ids}, headers=headers
        )
        check(document, "/api/projects/{project_id}/bulk", "post", answer)
        assert answer.status_code == 202
        job = answer.json["job"]
        assert job["kind"] == "bulk" and job["status"] == "queued"
        assert answer.headers["Location"] == job["url"]
        assert answer.json["message"] == "Accept: started on 5 tasks."
        runner.run(job["id"])  # as the worker would
        polled = client.get(job["url"], headers=headers).json["job"]
    assert polled["status"] == "done"
    assert polled["message"] == "Accepted 6 annotations in 4 tasks."
    assert polled["result"]["counts"]["accepted"] == 6
