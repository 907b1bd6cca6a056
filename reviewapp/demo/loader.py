"""Demo users and projects for `make run` and `flask --app app demo`."""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from reviewapp.demo import sample_data
from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.labeling.presets import IMAGE_BOXES, NAMED_ENTITIES, TEXT_CLASSIFICATION
from reviewapp.models import Annotation, Project, Review, Task, User, utcnow
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.import_export.importer import import_tasks
from reviewapp.services.metrics.agreement import fix_size
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member, create_user, find_user

DEMO_PASSWORD = "demo-password"
URL = "http://127.0.0.1:5000"
ADMIN = "admin@example.com"
MANAGER = "manager@example.com"
REVIEWER = "reviewer@example.com"
# In order of accuracy: ann1 is the most careful and holds the ground truth.
ANNOTATORS = [f"ann{i}@example.com" for i in range(1, 5)]
STAFF = [(MANAGER, "manager", "Maria Manager"), (REVIEWER, "reviewer", "Rui Reviewer")]
NAMES = ["Ana One", "Ben Two", "Chloe Three", "Dev Four"]
GROUND_TRUTH_RATE = 0.1
REJECT_REASONS = "Wrong label\nMissed an entity or shape\nRegion boundaries are off\nOther"
REVIEWED = 15
# Seconds a demo review takes, drawn from this range: the dashboard's median time per
# review is the gap between a reviewer's consecutive reviews.
REVIEW_SECONDS = (12, 95)


def load_demo(url: str = URL) -> list[str]:
    """Create the demo users, projects, tasks and reviews once; return how to log in.

    Idempotent: when admin@example.com exists nothing is created. The admin is created
    last, so a run that failed halfway is finished by the next one (users are reused).
    """
    if find_user(ADMIN):
        return ["The demo data is already loaded.", *_login_lines(url)]
    users = [_user(email, role, name) for email, role, name in STAFF]
    users += [
        _user(email, "annotator", name) for email, name in zip(ANNOTATORS, NAMES, strict=True)
    ]
    manager = users[0]
    projects = [
        _project(
            "Product reviews (sentiment)",
            TEXT_CLASSIFICATION,
            manager,
            users,
            sample_data.text_classification_tasks(
                120, ANNOTATORS, seed=1, ground_truth_rate=GROUND_TRUTH_RATE
            ),
            description="Short product reviews: is the customer positive, negative or neutral?",
            instructions="Pick the overall sentiment. Mixed reviews: go by what the customer "
            "concludes (usually the part after 'but').",
        ),
        _project(
            "News entities (NER)",
            NAMED_ENTITIES,
            manager,
            users,
            sample_data.ner_tasks(60, ANNOTATORS, seed=2, ground_truth_rate=GROUND_TRUTH_RATE),
            description="News sentences: mark people, organisations, places and other names.",
            instructions="Mark names only, without a leading 'the'. MISC is for events, "
            "products and other names (Python, the Paris Agreement).",
        ),
    ]
    folder = os.path.join(current_app.config["MEDIA_FOLDER"], "demo")
    images = sample_data.make_shape_images(folder, 30, seed=3)
    projects.append(
        _project(
            "Shapes (bounding boxes)",
            IMAGE_BOXES,
            manager,
            users,
            sample_data.image_box_tasks(
                len(images),
                ANNOTATORS,
                [(f"/media/demo/{name}", shapes) for name, shapes in images],
                seed=4,
                ground_truth_rate=GROUND_TRUTH_RATE,
            ),
            description="Draw a tight box around every circle, square and triangle.",
            instructions="One box per shape; the box touches the shape on all four sides.",
        )
    )
    _add_reviews(projects[0], users[1])
    admin = _user(ADMIN, "admin", "Ada Admin")
    for project in projects:
        add_member(project.id, admin)
    db.session.flush()
    tasks = db.session.scalar(
        select(func.count(Task.id)).where(Task.project_id.in_([p.id for p in projects]))
    )
    return [f"Loaded the demo: {len(projects)} projects, {tasks} tasks.", *_login_lines(url)]


def _login_lines(url: str) -> list[str]:
    return [
        f"Log in at {url} as:",
        f"  admin     {ADMIN} / {DEMO_PASSWORD}",
        f"  manager   {MANAGER} / {DEMO_PASSWORD}",
        f"  reviewer  {REVIEWER} / {DEMO_PASSWORD}",
        f"  annotator {ANNOTATORS[0]} / {DEMO_PASSWORD} "
        f"(also {', '.join(e.split('@')[0] for e in ANNOTATORS[1:])})",
    ]


def _user(email: str, role: str, name: str) -> User:
    return find_user(email) or create_user(email, DEMO_PASSWORD, role, name)


def _project(
    title: str,
    label_config: str,
    manager: User,
    members: list[User],
    tasks: Iterable[dict],
    **settings,
) -> Project:
    project = create_project(
        title,
        label_config,
        manager,
        overlap=3,
        reject_reasons=REJECT_REASONS,
        **settings,
    )
    for user in members:
        add_member(project.id, user)
    import_tasks(project, tasks)  # commits
    return project


def _add_reviews(project: Project, reviewer: User) -> None:
    """Review the first REVIEWED non-skipped annotations, one per task.

    Annotations that disagree with their task's majority are rejected (two) or fixed to
    the majority (one); the rest are accepted, one after the other over the last few
    minutes. The tasks' counters and agreement are then recomputed by refresh_tasks.
    """
    config = parse_label_config(project.label_config)
    tasks = db.session.scalars(
        select(Task).where(Task.project_id == project.id).order_by(Task.id)
    ).all()
    plan: list[tuple[Annotation, str, list | None]] = []
    rejected = fixed = 0
    for task in tasks:
        done = [a for a in task.annotations if not a.was_cancelled]
        if len(done) < 2:
            continue
        votes = Counter(_label(a.result) for a in done)
        majority, count = votes.most_common(1)[0]
        outlier = next((a for a in done if count >= 2 and _label(a.result) != majority), None)
        if outlier is not None and rejected < 2:
            plan.append((outlier, "rejected", None))
            rejected += 1
        elif outlier is not None and fixed < 1:
            after = [{**outlier.result[0], "value": {"choices": [majority]}}]
            plan.append((outlier, "fixed", after))
            fixed += 1
        else:
            plan.append((done[0], "accepted", None))
        if len(plan) == REVIEWED:
            break
    pace = random.Random(REVIEWED)  # the same demo every time
    gaps = [pace.uniform(*REVIEW_SECONDS) for _ in plan]
    at = utcnow() - timedelta(seconds=sum(gaps))
    for (annotation, verdict, after), gap in zip(plan, gaps, strict=True):
        at += timedelta(seconds=gap)
        review = Review(
            annotation_id=annotation.id,
            project_id=annotation.project_id,
            reviewer_id=reviewer.id,
            verdict=verdict,
            created_at=at,
        )
        if verdict == "rejected":
            review.reason = "Wrong label"
            review.comment = "The customer's conclusion decides the sentiment; please re-read it."
        elif verdict == "fixed":
            review.result_before = annotation.result
            review.result_after = after
            review.fix_size = fix_size(config, annotation.result, after)
            annotation.result = after
        annotation.review_status = verdict
        db.session.add(review)
    refresh_tasks(project, [annotation.task_id for annotation, _, _ in plan])


def _label(result: list[dict]) -> str:
    return result[0]["value"]["choices"][0] if result else ""
