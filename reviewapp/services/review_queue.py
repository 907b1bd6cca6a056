"""The review queue: which annotations a reviewer is handed, in the Data Manager's order."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Project, ReviewerAssignment, User
from reviewapp.services.task_query import TableState, filtered_tasks


def queue_query(project: Project, reviewer: User, state: TableState, task_ids: Select | None):
    """select(Annotation.id) of the annotations waiting for this reviewer's verdict.

    Pending, non-skipped annotations of the matching (or selected) tasks; not the reviewer's
    own unless the project allows self-review; only assigned tasks when the project says so.
    """
    tasks = task_ids if task_ids is not None else filtered_tasks(project.id, state)
    query = select(Annotation.id).where(
        Annotation.project_id == project.id,
        Annotation.task_id.in_(tasks),
        Annotation.was_cancelled.is_(False),
        Annotation.review_status == "pending",
    )
    if not project.allow_self_review:
        query = query.where(Annotation.completed_by_id != reviewer.id)
    if project.review_only_assigned:
        query = query.where(
            select(ReviewerAssignment.id)
            .where(
                ReviewerAssignment.task_id == Annotation.task_id,
                ReviewerAssignment.user_id == reviewer.id,
            )
            .exists()
        )
    return query


def queue_size(
    project: Project, reviewer: User, state: TableState, task_ids: Select | None = None
) -> int:
    query = queue_query(project, reviewer, state, task_ids)
    return db.session.scalar(select(func.count()).select_from(query.subquery()))
