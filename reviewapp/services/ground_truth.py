"""The ground-truth star on one annotation: at most one per task."""

from __future__ import annotations

from sqlalchemy import select, update

from reviewapp.extensions import db
from reviewapp.models import Annotation, Project, User
from reviewapp.permissions import may_star_ground_truth
from reviewapp.services.derived.scores import lock_tasks
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.webhooks import emit


class GroundTruthError(Exception):
    """The annotation cannot carry the star; the message says why."""


def set_ground_truth(project: Project, annotation: Annotation) -> str:
    """Star the annotation, taking the star from any other annotation of its task.

    Flushes without refreshing the task (the caller refreshes it); returns a sentence
    saying what happened. Raises GroundTruthError for a skipped annotation.
    """
    if annotation.was_cancelled:
        raise GroundTruthError(
            f"Annotation #{annotation.id} is a skip; a skip cannot be the ground truth."
        )
    previous = db.session.scalars(
        select(Annotation.id).where(
            Annotation.task_id == annotation.task_id,
            Annotation.ground_truth.is_(True),
            Annotation.id != annotation.id,
        )
    ).all()
    if previous:
        db.session.execute(
            update(Annotation).where(Annotation.id.in_(previous)).values(ground_truth=False)
        )
    annotation.ground_truth = True
    db.session.flush()
    emit(project.id, "ground_truth.changed", annotation)
    moved = ", ".join(f"#{i}" for i in previous)
    return f"Annotation #{annotation.id} is now the ground truth of task {annotation.task_id}" + (
        f" (the star moved from annotation {moved})." if previous else "."
    )


def toggle_ground_truth(project: Project, annotation: Annotation, by: User) -> str:
    """Clear the star if the annotation has it, else move it here; refreshes the task.

    Returns the sentence to show. Raises GroundTruthError for a skipped annotation,
    PermissionError when `by` may not mark ground truth.
    """
    if not may_star_ground_truth(by):
        raise PermissionError("Only managers and admins mark ground truth.")
    # Task first, then its annotations, as record_verdict: a concurrent toggle of another
    # annotation of the task is seen, and so one star stays.
    lock_tasks([annotation.task_id])
    db.session.refresh(annotation)
    if annotation.ground_truth:
        annotation.ground_truth = False
        emit(project.id, "ground_truth.changed", annotation)
        message = (
            f"Annotation #{annotation.id} is no longer the ground truth; "
            f"task {annotation.task_id} has none."
        )
    else:
        message = set_ground_truth(project, annotation)
    refresh_tasks(project, [annotation.task_id])
    return message
