"""The steps of bench/run.py that work on the database directly, one child process each.

    python bench/steps.py create-project MANAGER_EMAIL
    python bench/steps.py first-annotator
    python bench/steps.py user-ids EMAIL...
    python bench/steps.py count-reviews
    python bench/steps.py add-reviews PROJECT_ID FIRST_REVIEWER_ID N
    python bench/steps.py store-annotations PROJECT_ID
    python bench/steps.py add-comments PROJECT_ID REVIEWER_EMAIL N
    python bench/steps.py database-mb
    python bench/steps.py pending-tasks PROJECT_ID N

The app is configured from the environment run.py sets (REVIEWAPP_DATABASE_URL...). Each
step prints its answer on the last line of stdout, for run.py to read.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from sqlalchemy import func, select, text

from bench import shapes
from reviewapp import create_app
from reviewapp.extensions import db
from reviewapp.labeling.presets import TEXT_CLASSIFICATION
from reviewapp.models import Annotation, Project, Review, Task
from reviewapp.services.comments import add_comment
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.projects import create_project
from reviewapp.services.users import find_user

STORED_ANNOTATIONS = 60
# The first stores are a warm-up, not timed.
UNTIMED_STORES = 10


def create_bench_project(manager: str, shape: str = "") -> int:
    """The text-classification project every section works on, created by manager; with a
    shape ("box" or "polygon"), an image project of that shape (bench/shapes.py)."""
    config = {"": TEXT_CLASSIFICATION, "box": shapes.BOXES, "polygon": shapes.POLYGONS}[shape]
    title = f"Benchmark {shape}s" if shape else "Benchmark"
    project = create_project(title, config, find_user(manager), overlap=3)
    db.session.commit()
    return project.id


def first_annotator() -> int:
    """The annotator of the first imported annotation (for the annotator filter)."""
    return db.session.get(Annotation, 1).completed_by_id


def user_ids(emails: list[str]) -> list[int]:
    return [find_user(email).id for email in emails]


def count_reviews() -> tuple[int, int]:
    """Reviews stored, and annotations with more than one review (two reviewers racing)."""
    total = db.session.scalar(select(func.count(Review.id)))
    doubled = db.session.scalar(
        select(func.count()).select_from(
            select(Review.annotation_id)
            .group_by(Review.annotation_id)
            .having(func.count(Review.id) > 1)
            .subquery()
        )
    )
    return total, doubled


def _seconds_after(day: str, seconds: str) -> str:
    if db.engine.dialect.name == "postgresql":
        return f"timestamp '{day}' + ({seconds}) * interval '1 second'"
    return f"datetime('{day}', '+' || ({seconds}) || ' seconds')"


def add_reviews(project_id: int, first_reviewer_id: int, n: int) -> None:
    """A review of each of the first n unskipped annotations, written straight into the
    table by the four reviewers from first_reviewer_id in turn (a tenth rejected, a seventh
    fixed), one every 7 seconds from 2026-11-01."""
    db.session.execute(
        text(
            "INSERT INTO review (annotation_id, project_id, reviewer_id, verdict, comment, "
            "reason, fix_size, created_at) "
            "SELECT id, project_id, :first + id % 4, "
            "CASE WHEN id % 10 = 0 THEN 'rejected' WHEN id % 7 = 0 THEN 'fixed' "
            "ELSE 'accepted' END, "
            "'', '', CASE WHEN id % 7 = 0 THEN 0.3 END, "
            f"{_seconds_after('2026-11-01', 'id * 7')} "
            "FROM annotation WHERE project_id = :project AND was_cancelled = false "
            "ORDER BY id LIMIT :n"
        ),
        {"first": first_reviewer_id, "project": project_id, "n": n},
    )
    db.session.commit()


def store_annotations(project_id: int) -> tuple[float, float]:
    """p50 and p95 ms of changing one annotation's result and committing it with its
    refreshed task columns and scores, over the project's first annotations."""
    project = db.session.get(Project, project_id)
    ids = db.session.scalars(
        select(Annotation.id)
        .where(Annotation.project_id == project.id)
        .order_by(Annotation.id)
        .limit(STORED_ANNOTATIONS)
    ).all()
    samples = []
    for annotation_id in ids:
        start = time.perf_counter()
        annotation = db.session.get(Annotation, annotation_id)
        annotation.result = (
            [dict(annotation.result[0], value={"choices": ["Neutral"]})]
            if annotation.result
            else []
        )
        refresh_tasks(project, [annotation.task_id])
        db.session.commit()
        samples.append(time.perf_counter() - start)
    timed = sorted(samples[UNTIMED_STORES:])
    return statistics.median(timed) * 1000, timed[int(0.95 * (len(timed) - 1))] * 1000


def add_comments(project_id: int, reviewer: str, n: int) -> tuple[float, float]:
    """A comment by the reviewer on n annotations spread over the project (every k-th), each
    committed on its own as the page does; p50 and p95 ms of one."""
    user = find_user(reviewer)
    total = db.session.scalar(
        select(func.count(Annotation.id)).where(Annotation.project_id == project_id)
    )
    step = max(total // max(n, 1), 1)
    ids = db.session.scalars(
        select(Annotation.id)
        .where(Annotation.project_id == project_id, Annotation.id % step == 0)
        .order_by(Annotation.id)
        .limit(n)
    ).all()
    samples = []
    for annotation_id in ids:
        start = time.perf_counter()
        add_comment(db.session.get(Annotation, annotation_id), user, "Please check this one.")
        db.session.commit()
        samples.append(time.perf_counter() - start)
    timed = sorted(samples[UNTIMED_STORES:]) or [0.0]
    return statistics.median(timed) * 1000, timed[int(0.95 * (len(timed) - 1))] * 1000


def wait_job(project_id: int) -> str:
    """Wait for the project's newest job to finish; its status and message."""
    from reviewapp.models import Job

    while True:
        db.session.rollback()
        job = db.session.scalar(
            select(Job).where(Job.project_id == project_id).order_by(Job.id.desc()).limit(1)
        )
        if job is None or job.finished:
            return f"{job.status}: {job.message}" if job else "no job"
        time.sleep(0.2)


def pending_tasks(project_id: int, n: int) -> tuple[list[int], int]:
    """The first tasks (by id) whose pending annotations add up to at least n, and how many
    pending annotations they hold (fewer when the project has fewer)."""
    ids, total = [], 0
    rows = db.session.execute(
        select(Task.id, Task.pending_count)
        .where(Task.project_id == project_id, Task.pending_count > 0)
        .order_by(Task.id)
    )
    for task_id, pending in rows:
        if total >= n:
            break
        ids.append(task_id)
        total += pending
    return ids, total


def database_mb() -> float:
    """The database's size on disk: the SQLite file, or pg_database_size."""
    if db.engine.dialect.name == "postgresql":
        size = db.session.scalar(text("SELECT pg_database_size(current_database())"))
    else:
        size = db.session.scalar(
            text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        )
    return size / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    create = steps.add_parser("create-project")
    create.add_argument("manager")
    create.add_argument("--shape", choices=("box", "polygon"), default="")
    steps.add_parser("first-annotator")
    steps.add_parser("user-ids").add_argument("emails", nargs="+")
    steps.add_parser("count-reviews")
    add = steps.add_parser("add-reviews")
    add.add_argument("project_id", type=int)
    add.add_argument("first_reviewer_id", type=int)
    add.add_argument("n", type=int)
    steps.add_parser("store-annotations").add_argument("project_id", type=int)
    comments = steps.add_parser("add-comments")
    comments.add_argument("project_id", type=int)
    comments.add_argument("reviewer")
    comments.add_argument("n", type=int)
    steps.add_parser("database-mb")
    steps.add_parser("wait-job").add_argument("project_id", type=int)
    pending = steps.add_parser("pending-tasks")
    pending.add_argument("project_id", type=int)
    pending.add_argument("n", type=int)
    args = parser.parse_args(argv)
    with create_app().app_context():
        if args.step == "create-project":
            print(create_bench_project(args.manager, args.shape))
        elif args.step == "first-annotator":
            print(first_annotator())
        elif args.step == "user-ids":
            print(*user_ids(args.emails))
        elif args.step == "count-reviews":
            print(*count_reviews())
        elif args.step == "add-reviews":
            add_reviews(args.project_id, args.first_reviewer_id, args.n)
        elif args.step == "add-comments":
            print(*add_comments(args.project_id, args.reviewer, args.n))
        elif args.step == "wait-job":
            print(wait_job(args.project_id))
        elif args.step == "pending-tasks":
            ids, total = pending_tasks(args.project_id, args.n)
            print(*ids, total)
        elif args.step == "database-mb":
            print(f"{database_mb():.1f}")
        else:
            print(*store_annotations(args.project_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
