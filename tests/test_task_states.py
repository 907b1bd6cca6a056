"""Task states and their history, the reject actions, and what gets reviewed in what order
(issue 14, parts 1, 2 and 5), through the services a request calls."""

from __future__ import annotations

from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from reviewapp.extensions import db
from reviewapp.models import Annotation, Task, TaskStateChange
from reviewapp.services.data_manager.query import TableState, count_tasks, filtered_tasks
from reviewapp.services.derived.task_columns import in_sample, recount_chunks, sample_key
from reviewapp.services.label_stream import next_item, submit
from reviewapp.services.projects import update_project
from reviewapp.services.review_stream import next_for_review, record_verdict
from tests import factories


def _task(task_id: int) -> Task:
    return db.session.get(Task, task_id, populate_existing=True)


def _history(task_id: int) -> list[tuple]:
    rows = db.session.scalars(
        select(TaskStateChange)
        .where(TaskStateChange.task_id == task_id)
        .order_by(TaskStateChange.id)
    )
    return [(r.from_state, r.to_state, r.reason) for r in rows]


def _annotations(task_id: int) -> list[Annotation]:
    return list(
        db.session.scalars(
            select(Annotation)
            .where(Annotation.task_id == task_id)
            .order_by(Annotation.id)
            .execution_options(populate_existing=True)
        )
    )


def _verdict(annotation: Annotation, reviewer, verdict="accepted", **kw):
    outcome = record_verdict(annotation.id, reviewer, verdict, **kw)
    db.session.commit()
    return outcome


def _two_annotators():
    rev = factories.user("reviewer", email="rev@x.com")
    amy = factories.user("annotator", email="amy@x.com")
    bob = factories.user("annotator", email="bob@x.com")
    return rev, amy, bob


def test_a_task_walks_annotating_needs_review_done_and_keeps_its_history(app):
    rev, amy, bob = _two_annotators()
    project = factories.project(members=(rev, amy, bob), overlap=2)
    factories.text_tasks(project, "one")
    [task] = db.session.scalars(select(Task)).all()
    assert task.state == "annotating" and _history(task.id) == [(None, "annotating", "imported")]

    submit(project, amy, task, factories.choice("Positive"), 3.0)
    db.session.commit()
    assert _task(task.id).state == "annotating"  # one of two
    submit(project, bob, _task(task.id), factories.choice("Negative"), 3.0)
    db.session.commit()
    assert _task(task.id).state == "needs_review"

    first, second = _annotations(task.id)
    _verdict(first, rev)
    assert _task(task.id).state == "needs_review"  # criterion "all": one is still pending
    _verdict(second, rev, "rejected", action="remove", comment="Off topic")
    assert _task(task.id).state == "done"
    assert _history(task.id) == [
        (None, "annotating", "imported"),
        ("annotating", "needs_review", "annotation submitted"),
        ("needs_review", "done", "review: rejected, removed"),
    ]
    change = db.session.scalars(
        select(TaskStateChange)
        .where(TaskStateChange.task_id == task.id)
        .order_by(TaskStateChange.id.desc())
    ).first()
    assert change.by_id == rev.id


def test_criterion_one_is_done_at_the_first_accept(app):
    rev, _, _ = _two_annotators()
    project = factories.project(members=(rev,), overlap=2, review_criteria="one")
    factories.tasks(
        project,
        [
            {
                "data": {"text": "t"},
                "annotations": [
                    factories.annotation("amy@x.com"),
                    factories.annotation("bob@x.com", "Negative"),
                ],
            }
        ],
    )
    [task] = db.session.scalars(select(Task)).all()
    assert task.state == "needs_review"
    first, _ = _annotations(task.id)
    _verdict(first, rev)
    assert _task(task.id).state == "done"


def test_imports_keep_more_annotations_than_the_overlap(app):
    project = factories.project(overlap=1)
    factories.tasks(
        project,
        [
            {
                "data": {"text": "t"},
                "annotations": [factories.annotation(f"a{k}@x.com") for k in range(3)],
            }
        ],
    )
    [task] = db.session.scalars(select(Task)).all()
    assert task.annotation_count == 3 and task.overlap_count == 3
    assert task.state == "needs_review"


def test_return_goes_back_to_its_annotator_and_then_first_to_its_reviewer(app):
    rev, amy, bob = _two_annotators()
    rev2 = factories.user("reviewer", email="rev2@x.com")
    project = factories.project(members=(rev, rev2, amy, bob), reject_actions=["remove", "return"])
    factories.text_tasks(project, "one", "two")
    one, two = db.session.scalars(select(Task).order_by(Task.id)).all()
    for task in (one, two):
        submit(project, amy, task, factories.choice("Positive"), 1.0)
    db.session.commit()
    [on_two] = _annotations(two.id)

    _verdict(on_two, rev, "rejected", action="return", comment="Wrong sentiment")
    assert _task(two.id).state == "returned"
    assert ("needs_review", "returned", "review: rejected, returned") in _history(two.id)
    # Amy gets the returned task before anything new.
    item = next_item(project, amy)
    assert item.task.id == two.id
    submit(project, amy, _task(two.id), factories.choice("Negative"), 1.0)
    db.session.commit()
    assert _task(two.id).state == "needs_review"
    assert _annotations(two.id)[0].review_status == "pending"
    # The reviewer who returned it sees the resubmission first, ahead of task one.
    assert next_for_review(project, rev).task_id == two.id
    db.session.rollback()
    # Another reviewer gets the queue in its usual order.
    assert next_for_review(project, rev2).task_id == one.id


def test_reassign_frees_the_overlap_slot_for_another_annotator(app):
    rev, amy, bob = _two_annotators()
    project = factories.project(members=(rev, amy, bob), reject_actions=["reassign"])
    factories.text_tasks(project, "one")
    [task] = db.session.scalars(select(Task)).all()
    submit(project, amy, task, factories.choice("Positive"), 1.0)
    db.session.commit()
    assert _task(task.id).state == "needs_review" and next_item(project, bob) is None

    [amys] = _annotations(task.id)
    _verdict(amys, rev, "rejected", action="reassign", comment="Careless")
    task = _task(task.id)
    assert task.state == "annotating" and task.overlap_count == 0
    # The rejected annotation stays, counted as a rejection.
    assert task.annotation_count == 1 and task.rejected_count == 1
    assert next_item(project, amy) is None  # not back to the same person
    assert next_item(project, bob).task.id == task.id
    submit(project, bob, _task(task.id), factories.choice("Negative"), 1.0)
    db.session.commit()
    assert _task(task.id).state == "needs_review"


def test_an_action_the_project_does_not_offer_is_refused(app):
    rev, amy, _ = _two_annotators()
    project = factories.project(members=(rev,), reject_actions=["remove"])
    factories.tasks(project, [{"data": {"text": "t"}, "annotations": [factories.annotation(amy)]}])
    [annotation] = db.session.scalars(select(Annotation)).all()
    try:
        record_verdict(annotation.id, rev, "rejected", action="return", comment="No")
    except ValueError as error:
        assert "this project offers remove" in str(error)
    else:
        raise AssertionError("a reject action the project does not offer was recorded")
    db.session.rollback()
    assert _annotations(annotation.task_id)[0].review_status == "pending"


def test_review_only_finished_keeps_partly_annotated_tasks_out(app):
    rev, amy, _ = _two_annotators()
    project = factories.project(members=(rev,), overlap=2, review_only_finished=True)
    factories.tasks(
        project,
        [
            {"data": {"text": "half"}, "annotations": [factories.annotation("amy@x.com")]},
            {
                "data": {"text": "full"},
                "annotations": [
                    factories.annotation("amy@x.com"),
                    factories.annotation("bob@x.com"),
                ],
            },
        ],
    )
    half, full = db.session.scalars(select(Task).order_by(Task.id)).all()
    seen = []
    while (annotation := next_for_review(project, rev)) is not None:
        seen.append(annotation.task_id)
        _verdict(annotation, rev)
    assert seen == [full.id, full.id]
    assert _task(half.id).state == "annotating"


def test_the_sample_is_stable_and_unsampled_annotations_count_as_reviewed(app):
    rev, _, _ = _two_annotators()
    project = factories.project(members=(rev,), review_sample_percent=50)
    factories.tasks(
        project,
        [
            {"data": {"text": f"t{k}"}, "annotations": [factories.annotation("amy@x.com")]}
            for k in range(40)
        ],
    )
    annotations = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()
    sampled = {a.id for a in annotations if sample_key(a.id) < 50}
    assert all(in_sample(a.id, 50) == (a.id in sampled) for a in annotations)
    assert 0 < len(sampled) < 40
    # Unsampled tasks are done at import; sampled ones wait for review.
    for annotation in annotations:
        expected = "needs_review" if annotation.id in sampled else "done"
        assert _task(annotation.task_id).state == expected
    reviewed = []
    while (annotation := next_for_review(project, rev)) is not None:
        reviewed.append(annotation.id)
        _verdict(annotation, rev)
    assert set(reviewed) == sampled
    assert {t.state for t in db.session.scalars(select(Task))} == {"done"}


def test_by_annotator_order_reviews_one_persons_work_before_the_next(app):
    rev, amy, bob = _two_annotators()
    project = factories.project(members=(rev,), overlap=2, review_order="by_annotator")
    factories.tasks(
        project,
        [
            {
                "data": {"text": f"t{k}"},
                "annotations": [factories.annotation(bob), factories.annotation(amy)],
            }
            for k in range(3)
        ],
    )
    order = []
    while (annotation := next_for_review(project, rev)) is not None:
        order.append(annotation.completed_by_id)
        _verdict(annotation, rev)
    first, second = sorted((amy.id, bob.id))
    assert order == [first] * 3 + [second] * 3


def test_random_order_is_stable_per_reviewer_and_differs_between_reviewers(app):
    rev = factories.user("reviewer", email="rev@x.com")
    rev2 = factories.user("reviewer", email="rev2@x.com")
    project = factories.project(members=(rev, rev2), review_order="random")
    factories.tasks(
        project,
        [
            {"data": {"text": f"t{k}"}, "annotations": [factories.annotation("amy@x.com")]}
            for k in range(30)
        ],
    )

    def walk(reviewer):
        seen = []
        while (annotation := next_for_review(project, reviewer)) is not None:
            seen.append(annotation.task_id)
            # Leave it pending: release the lease so the walk moves on.
            db.session.execute(
                Annotation.__table__.update()
                .where(Annotation.id == annotation.id)
                .values(review_status="accepted")
            )
        db.session.rollback()
        return seen

    first = walk(rev)
    assert first == walk(rev)  # the same on every reload
    assert sorted(first) == sorted(t.id for t in db.session.scalars(select(Task)))
    assert first != sorted(first) and first != walk(rev2)


def test_low_agreement_first_and_the_stream_stays_on_the_current_task(app):
    rev, amy, bob = _two_annotators()
    project = factories.project(members=(rev,), overlap=2, review_order="low_agreement_first")
    factories.tasks(
        project,
        [
            {
                "data": {"text": "agree"},
                "annotations": [factories.annotation(amy), factories.annotation(bob)],
            },
            {
                "data": {"text": "disagree"},
                "annotations": [
                    factories.annotation(amy),
                    factories.annotation(bob, "Negative"),
                ],
            },
        ],
    )
    agree, disagree = db.session.scalars(select(Task).order_by(Task.id)).all()
    assert disagree.agreement < agree.agreement
    first = next_for_review(project, rev)
    assert first.task_id == disagree.id
    # Fixing it makes the task agree fully; the stream still finishes this task first.
    record_verdict(first.id, rev, "fixed", result=factories.choice("Negative"))
    db.session.commit()
    assert _task(disagree.id).agreement == 1.0
    following = next_for_review(project, rev, current_task=disagree.id)
    assert following.task_id == disagree.id


def test_a_new_overlap_recounts_the_states(app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,), overlap=1)
    factories.tasks(
        project,
        [{"data": {"text": "t"}, "annotations": [factories.annotation("amy@x.com")]}],
    )
    [task] = db.session.scalars(select(Task)).all()
    assert task.state == "needs_review"
    update_project(project, project.label_config, overlap=2)
    for _ in recount_chunks(project, manager):
        pass
    db.session.commit()
    assert _task(task.id).state == "annotating"
    assert _history(task.id)[-1][:2] == ("needs_review", "annotating")


# -- The Data Manager, the task page and the API ------------------------------------------


def _mixed_project(manager):
    """Four tasks: one without annotations (annotating), three with one annotation each
    (needs review); the second is then accepted (done) and the third held by a reviewer."""
    rev = factories.user("reviewer", email="rev@x.com")
    project = factories.project(members=(manager, rev))
    factories.tasks(
        project,
        [{"data": {"text": "empty"}}]
        + [
            {"data": {"text": f"t{k}"}, "annotations": [factories.annotation("amy@x.com")]}
            for k in range(3)
        ],
    )
    empty, waiting, accepted, held = db.session.scalars(select(Task).order_by(Task.id)).all()
    [on_accepted] = _annotations(accepted.id)
    _verdict(on_accepted, rev)
    assert next_for_review(project, rev).task_id == waiting.id
    db.session.commit()  # rev now holds waiting's annotation: in review
    return project, empty, waiting, accepted, held


def test_the_data_manager_shows_states_counts_and_filters_by_state(client, auth):
    manager = auth.login("manager")
    project, empty, waiting, accepted, held = _mixed_project(manager)
    page = client.get(f"/projects/{project.id}/tasks").get_data(as_text=True)
    for name, count in (
        ("annotating", 1),
        ("needs_review", 1),
        ("in_review", 1),
        ("returned", 0),
        ("done", 1),
    ):
        assert f'data-state="{name}">' in page
        chip = page.split(f'data-state="{name}">', 1)[1].split("</a>", 1)[0]
        assert f"<strong>{count}</strong>" in chip, (name, chip)
    assert '<span class="task-state task-state-in_review">In review</span>' in page

    def ids(query):
        html = client.get(f"/projects/{project.id}/tasks?{query}").get_data(as_text=True)
        return [int(x.split('"')[0]) for x in html.split('name="page_ids" value="')[1:]]

    assert ids("state=needs_review") == [held.id]  # the one in review shows apart
    assert ids("state=in_review") == [waiting.id]
    assert ids("state=needs_review&state=in_review") == [waiting.id, held.id]
    assert ids("state=done&state=annotating") == [empty.id, accepted.id]
    # A filter on states alone is counted from the project's counts per state (with the task
    # in review apart), and agrees with a count of the rows; with another filter, the rows.
    for query, expected in (
        ({"state": ["needs_review"]}, 1),
        ({"state": ["in_review"]}, 1),
        ({"state": ["needs_review", "in_review", "needs_review"]}, 2),
        ({"state": ["done", "annotating", "returned"]}, 2),
        ({"state": ["needs_review", "in_review"], "has_annotations": "false"}, 0),
    ):
        table = TableState.from_args(MultiDict(query))
        rows = db.session.scalar(
            select(func.count()).select_from(filtered_tasks(project.id, table).subquery())
        )
        assert count_tasks(project.id, table) == rows == expected, query
    page = client.get(f"/projects/{project.id}/tasks?state=bogus").get_data(as_text=True)
    assert "Ignored state: expected one of annotating, needs_review" in page


def test_the_api_gives_states_filters_by_state_and_ids_and_the_history(client, app):
    manager = factories.user("manager")
    project, empty, waiting, accepted, held = _mixed_project(manager)
    headers = {"Authorization": f"Token {factories.token(manager)}"}
    url = f"/api/projects/{project.id}/tasks"
    answer = client.get(url, headers=headers).json
    assert {t["id"]: t["state"] for t in answer["tasks"]} == {
        empty.id: "annotating",
        waiting.id: "in_review",
        accepted.id: "done",
        held.id: "needs_review",
    }
    answer = client.get(f"{url}?state=in_review&state=done", headers=headers).json
    assert [t["id"] for t in answer["tasks"]] == [waiting.id, accepted.id]
    answer = client.get(f"{url}?ids={held.id},{empty.id}", headers=headers).json
    assert answer["count"] == 2 and [t["id"] for t in answer["tasks"]] == [empty.id, held.id]
    assert client.get(f"{url}?ids=1,x", headers=headers).status_code == 400
    assert client.get(f"{url}?state=later", headers=headers).status_code == 400

    history = client.get(f"/api/tasks/{accepted.id}/history", headers=headers).json["history"]
    assert [(h["from"], h["to"], h["reason"]) for h in history] == [
        (None, "needs_review", "imported"),
        ("needs_review", "done", "review: accepted"),
    ]
    assert history[1]["by"]["email"] == "rev@x.com" and history[0]["by"] is None
    assert history[0]["at"].endswith("Z")
    annotator = factories.user("annotator")
    other = {"Authorization": f"Token {factories.token(annotator)}"}
    assert client.get(f"/api/tasks/{accepted.id}/history", headers=other).status_code == 404


def test_the_task_page_shows_its_state_and_history(client, auth):
    manager = auth.login("manager")
    project, _, waiting, accepted, _ = _mixed_project(manager)
    page = client.get(f"/projects/{project.id}/tasks/{accepted.id}").get_data(as_text=True)
    history = page.split('id="state-history"', 1)[1]
    assert "review: accepted" in history and "rev@x.com" in history
    assert history.index("Needs review") < history.index("Done")
    page = client.get(f"/projects/{project.id}/tasks/{waiting.id}").get_data(as_text=True)
    assert 'task-state-in_review">In review</a>' in page


def test_a_returned_annotation_shows_its_annotator_the_reason_comment_and_earlier_fix(client, auth):
    amy = auth.login(factories.user("annotator", email="amy@x.com"))
    rev = factories.user("reviewer", email="rev@x.com")
    project = factories.project(
        members=(amy, rev), reject_actions=["return"], reject_reasons="Wrong label\nSloppy"
    )
    factories.text_tasks(project, "one")
    task = db.session.scalars(select(Task)).one()
    submit(project, amy, task, factories.choice("Positive"), 1.0)
    db.session.commit()
    [annotation] = _annotations(task.id)
    _verdict(annotation, rev, "fixed", result=factories.choice("Negative"))
    _verdict(
        annotation,
        rev,
        "rejected",
        action="return",
        reason="Sloppy",
        comment="Read the <b>whole</b> text",
        change=True,
    )
    page = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    note = page.split('class="requeue-note"', 1)[1].split("</div>\n", 1)[0]
    assert f"sent your annotation #{annotation.id} back: Sloppy." in note
    assert "Read the &lt;b&gt;whole&lt;/b&gt; text" in note
    assert "Earlier reviews (1)" in note and "The reviewer changed your answer:" in note
    assert "sentiment: Positive → Negative" in note
    own = client.get(f"/projects/{project.id}/my-annotations/{annotation.id}").get_data(
        as_text=True
    )
    assert "Reviews (2)" in own and "sentiment: Positive → Negative" in own


def test_the_review_api_takes_a_reject_action_and_refuses_a_bad_one(client, app):
    rev, amy, _ = _two_annotators()
    project = factories.project(members=(rev,), reject_actions=["remove", "return"])
    factories.tasks(project, [{"data": {"text": "t"}, "annotations": [factories.annotation(amy)]}])
    [annotation] = db.session.scalars(select(Annotation)).all()
    headers = {"Authorization": f"Token {factories.token(rev)}"}
    url = f"/api/annotations/{annotation.id}/review"
    bad = client.post(url, json={"verdict": "accepted", "action": "AAA"}, headers=headers)
    assert bad.status_code == 400 and "must be one of remove, return, reassign" in bad.json["error"]
    odd = client.post(url, json={"verdict": "accepted", "action": "return"}, headers=headers)
    assert odd.status_code == 400 and "with a rejection only" in odd.json["error"]
    offered = client.post(
        url, json={"verdict": "rejected", "action": "reassign", "comment": "x"}, headers=headers
    )
    assert (
        offered.status_code == 422 and "this project offers remove, return" in offered.json["error"]
    )
    assert _annotations(annotation.task_id)[0].review_status == "pending"
    done = client.post(
        url, json={"verdict": "rejected", "action": "return", "comment": "redo"}, headers=headers
    )
    assert done.status_code == 201 and done.json["review"]["action"] == "return"
    assert _task(annotation.task_id).state == "returned"
