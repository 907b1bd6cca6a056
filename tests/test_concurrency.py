"""Concurrent writers on the same tasks leave exact derived data (issue 11, point 1).

Each thread has its own app context, so its own session and database connection; the
threads wait at a barrier so that they really write at once. The checks recount every
task from its annotations afterwards: on PostgreSQL this catches transactions that
recounted a task without holding it; SQLite serialises its writers and must stay exact.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import (
    AgreementPair,
    Annotation,
    ChoiceCount,
    GtScore,
    Project,
    Task,
    TaskLabel,
    TaskStateChange,
    User,
)
from reviewapp.services import label_stream
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.ground_truth import toggle_ground_truth
from reviewapp.services.review_stream import StaleVerdict, record_verdict
from tests import factories

THREADS = 8
TASKS = 8
JOIN_SECONDS = 60  # a deadlocked run fails here instead of hanging the suite
LABELS = ("Positive", "Negative", "Neutral")
TASK_COLUMNS = (
    Task.annotation_count,
    Task.skipped_count,
    Task.pending_count,
    Task.accepted_count,
    Task.fixed_count,
    Task.rejected_count,
    Task.review_rank,
    Task.agreement,
    Task.has_ground_truth,
    Task.first_annotator,
    Task.overlap_count,
    Task.state,
)


def run_together(app, work: Callable[[int], None]) -> list[str]:
    """Run work(0) ... work(THREADS - 1) in threads started at once; returns their errors."""
    barrier = threading.Barrier(THREADS, timeout=JOIN_SECONDS)
    errors: list[str] = []

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                work(i)
            except Exception as error:  # reported by the test, which fails
                db.session.rollback()
                errors.append(f"thread {i}: {error!r}"[:300])
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "threads still running"
    return errors


def stored(project_id: int) -> dict:
    """Every derived value of the project's tasks, comparable with ==."""
    where = {"project_id": project_id}
    return {
        "tasks": {
            row[0]: tuple(row[1:])
            for row in db.session.execute(select(Task.id, *TASK_COLUMNS).filter_by(**where))
        },
        "pairs": Counter(
            db.session.execute(
                select(
                    AgreementPair.task_id,
                    AgreementPair.annotation_a_id,
                    AgreementPair.annotation_b_id,
                    AgreementPair.user_a_id,
                    AgreementPair.user_b_id,
                    AgreementPair.score,
                ).filter_by(**where)
            ).all()
        ),
        "gt_scores": Counter(
            db.session.execute(
                select(
                    GtScore.task_id,
                    GtScore.annotation_id,
                    GtScore.prediction_id,
                    GtScore.user_id,
                    GtScore.model_version,
                    GtScore.score,
                ).filter_by(**where)
            ).all()
        ),
        "choice_counts": Counter(
            db.session.execute(
                select(
                    ChoiceCount.task_id,
                    ChoiceCount.control,
                    ChoiceCount.value,
                    ChoiceCount.count,
                    ChoiceCount.unit_size,
                ).filter_by(**where)
            ).all()
        ),
        "labels": Counter(
            db.session.execute(
                select(
                    TaskLabel.task_id, TaskLabel.source, TaskLabel.control, TaskLabel.label
                ).filter_by(**where)
            ).all()
        ),
    }


def drift(project_id: int) -> list[str]:
    """How the stored derived data differs from a recount of the annotations."""
    found = []
    project = db.session.get(Project, project_id)
    status = {
        (task_id, review_status): n
        for task_id, review_status, n in db.session.execute(
            select(Annotation.task_id, Annotation.review_status, func.count())
            .where(Annotation.project_id == project_id, Annotation.was_cancelled.is_(False))
            .group_by(Annotation.task_id, Annotation.review_status)
        )
    }
    totals = (sum(status.values()), sum(n for (_, s), n in status.items() if s == "pending"))
    if (project.annotation_count, project.pending_count) != totals:
        found.append(
            f"project totals {(project.annotation_count, project.pending_count)}, "
            f"annotations {totals}"
        )
    before = stored(project_id)
    for task_id, (_, _, *counts) in before["tasks"].items():
        recount = [
            status.get((task_id, s), 0) for s in ("pending", "accepted", "fixed", "rejected")
        ]
        if counts[:4] != recount:
            found.append(f"task {task_id}: review counts {counts[:4]}, annotations say {recount}")
    # The history ends in the state each task has.
    last = {}
    for task_id, to_state in db.session.execute(
        select(TaskStateChange.task_id, TaskStateChange.to_state)
        .where(TaskStateChange.project_id == project_id)
        .order_by(TaskStateChange.id)
    ):
        last[task_id] = to_state
    for task_id, columns in before["tasks"].items():
        if last.get(task_id) != columns[-1]:
            found.append(
                f"task {task_id}: state {columns[-1]}, history ends in {last.get(task_id)}"
            )
    refresh_tasks(project, list(before["tasks"]))
    after = stored(project_id)
    db.session.rollback()
    for task_id, columns in before["tasks"].items():
        if columns != after["tasks"][task_id]:
            found.append(f"task {task_id}: columns {columns}, recomputed {after['tasks'][task_id]}")
    for kind in ("pairs", "gt_scores", "choice_counts", "labels"):
        if before[kind] != after[kind]:
            wrong = (before[kind] - after[kind]) + (after[kind] - before[kind])
            found.append(f"{kind} of tasks {sorted({row[0] for row in wrong})} differ")
    return found


@pytest.fixture
def busy_project(app):
    """TASKS tasks, each with one annotation by each of THREADS annotators (labels
    alternating), and the manager who reviews them (in THREADS tabs at once)."""
    manager = factories.user("manager")
    project = factories.project(members=(manager,), reject_actions=["remove", "return", "reassign"])
    factories.tasks(
        project,
        [
            {
                "data": {"text": f"task {t}"},
                "annotations": [
                    factories.annotation(f"annotator{i}@x.com", LABELS[(t + i) % 2])
                    for i in range(THREADS)
                ],
            }
            for t in range(TASKS)
        ],
    )
    annotations: dict[int, list[int]] = {}
    for task_id, annotation_id in db.session.execute(
        select(Annotation.task_id, Annotation.id).order_by(Annotation.id)
    ):
        annotations.setdefault(task_id, []).append(annotation_id)
    return project.id, manager.id, annotations


def test_concurrent_verdicts_fixes_and_stars_leave_exact_counts_and_scores(app, busy_project):
    """On every task at once, thread i gives annotation i a verdict (accepted, rejected,
    fixed to another label, or starred then accepted); on every other task it then fixes
    annotation i + 3 again from the task page (change=True), so fixes of one task overlap."""
    project_id, manager_id, annotations = busy_project

    errors: list[str] = []

    def attempt(i: int, write: Callable, *args, **kwargs) -> None:
        """One user action and its commit; a failure is rolled back and the thread goes
        on, so that one error does not hide what the later writes do."""
        try:
            write(*args, **kwargs)
            db.session.commit()
        except StaleVerdict:  # not expected (one thread per annotation), but not a defect
            db.session.rollback()
        except Exception as error:  # reported by the test, which fails
            db.session.rollback()
            errors.append(f"thread {i}: {error!r}"[:300])

    def review(i: int) -> None:
        project = db.session.get(Project, project_id)
        manager = db.session.get(User, manager_id)
        kind = i % 4
        for n, ids in enumerate(annotations.values()):
            mine, other = ids[i], ids[(i + 3) % THREADS]
            if kind == 3:
                star = db.session.get(Annotation, mine)
                attempt(i, toggle_ground_truth, project, star, manager)
            if kind == 2:
                fix = factories.choice(LABELS[(i + 2) % 3])
                attempt(i, record_verdict, mine, manager, "fixed", fix, project=project)
            elif kind == 1:  # rejections that send the work back, or to another annotator
                action = "return" if i < 4 else "reassign"
                attempt(
                    i,
                    record_verdict,
                    mine,
                    manager,
                    "rejected",
                    comment="no",
                    project=project,
                    action=action,
                )
            else:
                attempt(i, record_verdict, mine, manager, "accepted", project=project)
            if n % 2:
                fix = factories.choice(LABELS[i % 3])
                attempt(
                    i, record_verdict, other, manager, "fixed", fix, project=project, change=True
                )

    errors += run_together(app, review)
    db.session.expire_all()
    found = drift(project_id)
    assert not errors and not found, "\n".join(
        [f"{len(errors)} errors:", *errors, f"{len(found)} differences:", *found]
    )


def test_concurrent_stars_leave_one_per_task(app, busy_project):
    """Each thread stars its annotation of every task at once: one star per task stays."""
    project_id, manager_id, annotations = busy_project

    def star(i: int) -> None:
        project = db.session.get(Project, project_id)
        manager = db.session.get(User, manager_id)
        for ids in annotations.values():
            toggle_ground_truth(project, db.session.get(Annotation, ids[i]), manager)
            db.session.commit()

    errors = run_together(app, star)
    db.session.expire_all()
    stars = dict(
        db.session.execute(
            select(Annotation.task_id, func.count())
            .where(Annotation.ground_truth.is_(True))
            .group_by(Annotation.task_id)
        ).all()
    )
    assert not errors, errors
    assert stars == {task_id: 1 for task_id in annotations}
    assert not drift(project_id)


def test_concurrent_submits_stop_at_the_overlap(app):
    """THREADS annotators submit to the same tasks at once, bypassing the lease as a
    direct POST does: each task keeps `overlap` annotations, the others are refused."""
    annotators = [factories.user("annotator") for _ in range(THREADS)]
    project = factories.project(members=tuple(annotators), overlap=2)
    factories.text_tasks(project, *(f"task {t}" for t in range(TASKS)))
    project_id, user_ids = project.id, [a.id for a in annotators]
    task_ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    refusals: list[str] = []

    def label(i: int) -> None:
        project = db.session.get(Project, project_id)
        user = db.session.get(User, user_ids[i])
        for task_id in task_ids:
            task = db.session.get(Task, task_id)
            try:
                label_stream.submit(project, user, task, factories.choice(LABELS[i % 3]), 1.0)
                db.session.commit()
            except label_stream.StreamError as refused:
                db.session.rollback()
                refusals.append(str(refused))

    errors = run_together(app, label)
    db.session.expire_all()
    counts = dict(
        db.session.execute(
            select(Annotation.task_id, func.count())
            .where(Annotation.was_cancelled.is_(False))
            .group_by(Annotation.task_id)
        ).all()
    )
    assert not errors, errors
    assert counts == {task_id: 2 for task_id in task_ids}
    assert len(refusals) == (THREADS - 2) * TASKS
    assert all("already has the annotations it needs" in r for r in refusals), set(refusals)
    assert not drift(project_id)


def test_a_full_task_refuses_a_new_annotation_but_takes_a_requeued_one_back(app):
    """The sequential case of the race above: a direct POST to a task that has `overlap`
    annotations stores nothing; a requeued annotation resubmitted adds none, so it is
    taken; a skip is no annotation and is taken too."""
    first, second, third = (factories.user("annotator") for _ in range(3))
    project = factories.project(members=(first, second, third), overlap=2)
    factories.text_tasks(project, "one")
    task = db.session.scalar(select(Task))
    for user in (first, second):
        label_stream.submit(project, user, task, factories.choice("Positive"), 1.0)
    db.session.commit()
    with pytest.raises(label_stream.OverlapReached, match="already has the annotations"):
        label_stream.submit(project, third, task, factories.choice("Negative"), 1.0)
    db.session.rollback()
    requeued = db.session.scalar(select(Annotation).filter_by(completed_by_id=first.id))
    requeued.review_status, requeued.requeued = "rejected", True
    db.session.commit()
    saved = label_stream.submit(project, first, task, factories.choice("Negative"), 1.0)
    label_stream.skip(project, third, task, 1.0)
    db.session.commit()
    assert saved.annotation.id == requeued.id
    assert (task.annotation_count, task.skipped_count, task.pending_count) == (2, 1, 2)
    assert not drift(project.id)


def test_a_direct_post_to_a_task_with_its_overlap_answers_409(client, auth, app):
    first, second, third = (factories.user("annotator") for _ in range(3))
    project = factories.project(members=(first, second, third), overlap=2)
    factories.tasks(
        project,
        [
            {
                "data": {"text": "full"},
                "annotations": [
                    factories.annotation(first.email),
                    factories.annotation(second.email),
                ],
            }
        ],
    )
    task_id = db.session.scalar(select(Task.id))
    auth.login(third)
    response = client.post(
        f"/projects/{project.id}/label/{task_id}",
        data={"sentiment": "Positive"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert f"Task {task_id} already has the annotations it needs." in response.get_data(
        as_text=True
    )
    assert db.session.scalar(select(func.count(Annotation.id))) == 2
