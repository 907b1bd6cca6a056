"""load_demo: users, three labelled projects, reviews with exact counters, images served."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from sqlalchemy import func, select

from reviewapp.demo.loader import DEMO_PASSWORD, load_demo
from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config, validate_result
from reviewapp.models import Annotation, Membership, Prediction, Project, Review, Task, User
from reviewapp.services.metrics.aggregates import project_metrics
from reviewapp.services.metrics.agreement import pairwise, task_agreement
from reviewapp.services.users import find_user
from tests.factories import comparable

ROLES = {
    "admin@example.com": "admin",
    "manager@example.com": "manager",
    "reviewer@example.com": "reviewer",
    "ann1@example.com": "annotator",
    "ann2@example.com": "annotator",
    "ann3@example.com": "annotator",
    "ann4@example.com": "annotator",
}
TITLES = ["Product reviews (sentiment)", "News entities (NER)", "Shapes (bounding boxes)"]


@pytest.fixture
def demo(app):
    return load_demo()


def projects() -> dict[str, Project]:
    return {p.title: p for p in db.session.scalars(select(Project))}


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_demo_creates_the_users_with_the_demo_password(demo):
    for email, role in ROLES.items():
        user = find_user(email)
        assert user is not None and user.active
        assert user.role == role
        assert user.check_password(DEMO_PASSWORD)
    assert "Log in at http://127.0.0.1:5000 as:" in demo
    assert "  admin     admin@example.com / demo-password" in demo
    assert any(line.strip().startswith("annotator ann1@example.com") for line in demo)


def test_demo_creates_three_projects_with_every_demo_user_as_member(demo):
    found = projects()
    assert sorted(found) == sorted(TITLES)
    demo_ids = set(db.session.scalars(select(User.id).where(User.email.in_(ROLES))))
    for project in found.values():
        members = set(
            db.session.scalars(
                select(Membership.user_id).where(Membership.project_id == project.id)
            )
        )
        assert members == demo_ids
        assert project.overlap == 3


def test_every_project_has_tasks_labelled_by_several_annotators(demo):
    sizes = {}
    for title, project in projects().items():
        tasks = db.session.scalars(select(Task).where(Task.project_id == project.id)).all()
        sizes[title] = len(tasks)
        annotators = set(
            db.session.scalars(
                select(User.email)
                .join(Annotation, Annotation.completed_by_id == User.id)
                .where(Annotation.project_id == project.id)
            )
        )
        assert len(annotators) >= 3
        assert annotators <= set(ROLES)
        config = parse_label_config(project.label_config)
        for task in tasks:
            assert len({a.completed_by_id for a in task.annotations}) == 3
            for a in task.annotations:
                validate_result(config, a.result, task.data)
        # Annotators disagree on some tasks, not on all.
        distinct = [
            len({comparable(a.result) for a in t.annotations if not a.was_cancelled}) for t in tasks
        ]
        assert 1 in distinct and any(d > 1 for d in distinct)
    assert sizes == {TITLES[0]: 120, TITLES[1]: 60, TITLES[2]: 30}


def test_every_task_has_a_scored_prediction_and_some_have_ground_truth(demo):
    for project in projects().values():
        predictions = db.session.scalars(
            select(Prediction).where(Prediction.project_id == project.id)
        ).all()
        tasks = db.session.scalars(select(Task).where(Task.project_id == project.id)).all()
        assert len(predictions) == len(tasks)
        assert all(0 <= p.score <= 1 and p.model_version for p in predictions)
        for task in tasks:
            assert task.prediction_score == task.predictions[0].score
        ground_truth = [a for t in tasks for a in t.annotations if a.ground_truth]
        assert 0 < len(ground_truth) < 0.25 * len(tasks)
        assert {a.completed_by.email for a in ground_truth} == {"ann1@example.com"}
        assert sum(t.has_ground_truth for t in tasks) == len(ground_truth)


def test_reviews_set_the_status_and_the_task_counters_stay_exact(demo):
    reviews = db.session.scalars(select(Review).order_by(Review.id)).all()
    assert 10 <= len(reviews) <= 20
    assert {r.reviewer.email for r in reviews} == {"reviewer@example.com"}
    verdicts = Counter(r.verdict for r in reviews)
    assert verdicts["accepted"] > verdicts["rejected"] >= 1
    assert verdicts["fixed"] >= 1
    text = projects()[TITLES[0]]
    config = parse_label_config(text.label_config)
    for review in reviews:
        annotation = db.session.get(Annotation, review.annotation_id)
        assert annotation.project_id == text.id
        assert annotation.review_status == review.verdict
        assert not annotation.was_cancelled
        if review.verdict == "rejected":
            assert review.comment
        if review.verdict == "fixed":
            assert review.result_before != review.result_after
            assert annotation.result == review.result_after
            validate_result(config, review.result_after)
            assert review.fix_size == 1.0  # single choice: s = 0 before the fix

    for task in db.session.scalars(select(Task)):
        done = [a for a in task.annotations if not a.was_cancelled]
        config = parse_label_config(task.project.label_config)
        pairs = pairwise(config, [a.result for a in done], task.project.iou_threshold)
        assert task.agreement == pytest.approx(task_agreement([s for _, _, s in pairs]))
        statuses = Counter(a.review_status for a in done)
        assert task.annotation_count == len(done)
        assert task.skipped_count == len(task.annotations) - len(done)
        assert task.pending_count == statuses["pending"]
        assert task.accepted_count == statuses["accepted"]
        assert task.fixed_count == statuses["fixed"]
        assert task.rejected_count == statuses["rejected"]


def test_loading_the_demo_twice_creates_nothing_new(demo):
    before = row_counts()
    again = load_demo()
    assert row_counts() == before
    assert again[1:] == demo[1:]  # the same login lines


def test_demo_images_exist_and_are_served_to_a_logged_in_user(demo, app, client):
    project = projects()[TITLES[2]]
    tasks = db.session.scalars(select(Task).where(Task.project_id == project.id)).all()
    urls = [t.data["image"] for t in tasks]
    assert all(url.startswith("/media/demo/") for url in urls)
    for url in urls:
        path = os.path.join(app.config["MEDIA_FOLDER"], url.removeprefix("/media/"))
        assert os.path.isfile(path)

    assert client.get(urls[0]).status_code == 302  # not logged in
    response = client.post(
        "/login", data={"email": "reviewer@example.com", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    response = client.get(urls[0])
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")


def test_demo_reviews_take_plausible_times(demo):
    """The demo's 15 reviews are one reviewer's, 12..95 s apart: 14 timed gaps, and their
    median lies in that range (it was 0.0 s when every review had the same time)."""
    project = projects()["Product reviews (sentiment)"]
    (row,) = project_metrics(project).reviewers
    assert row.email == "reviewer@example.com" and row.reviews == 15
    assert row.time_n == 14
    assert 12 <= row.median_seconds <= 95
