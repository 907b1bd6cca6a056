"""Bulk actions of the Data Manager: one registry, one transaction per action.

Each action takes the selected task ids (resolved once, so an action that changes what the
filter matches does not change its own selection) and returns a sentence saying what changed.
Over more than JOBS_BULK_THRESHOLD tasks the action runs as a job (kind "bulk"), still in one
transaction: a cancelled or failed run is rolled back whole, and the ids it was given are
the selection as it was when the user confirmed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, delete, func, insert, literal, select, update

from reviewapp.db import CHUNK
from reviewapp.extensions import db
from reviewapp.models import (
    Annotation,
    Job,
    Membership,
    Prediction,
    Project,
    ReviewerAssignment,
    Task,
    User,
    utcnow,
)
from reviewapp.permissions import MANAGERS, REVIEWERS, has_role
from reviewapp.services import auto_accept
from reviewapp.services.derived.scores import lock_tasks
from reviewapp.services.derived.task_columns import (
    clear_ground_truth,
    delete_all_annotations,
    forget_task_counts,
    refresh_tasks,
)


class BulkError(ValueError):
    """The action cannot run as asked (nothing selected, no reviewer picked...)."""


@dataclass(frozen=True)
class BulkRequest:
    project: Project
    user: User
    task_ids: list[int]
    reviewer_ids: tuple[int, ...] = ()
    # A job's Progress: called after each chunk (and raises Cancelled when asked to stop).
    progress: Callable[..., None] | None = None

    def chunks(self) -> Iterator[Sequence[int]]:
        done, total = 0, len(self.task_ids)
        for chunk in chunks(self.task_ids):
            yield chunk
            done += len(chunk)
            if self.progress:
                self.progress(done, total, f"{done:,} of {total:,} tasks")


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    roles: tuple[str, ...]
    run: Callable[[BulkRequest], str]
    # For destructive actions: the question asked before running, from the selection.
    confirm: Callable[[BulkRequest], str] | None = None
    needs_reviewers: bool = False
    # Changes annotations, scores or task columns: the tasks are held first (lock_tasks).
    changes_tasks: bool = True
    # Removes something (tasks, annotations, the ground-truth flag): shown as a danger button.
    destructive: bool = False


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _reviewers(request: BulkRequest) -> list[User]:
    if not request.reviewer_ids:
        raise BulkError("Pick at least one reviewer.")
    users = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.project_id == request.project.id,
            User.id.in_(request.reviewer_ids),
            User.role.in_(REVIEWERS),
            User.active.is_(True),
        )
    ).all()
    if len(users) != len(set(request.reviewer_ids)):
        raise BulkError("Reviewers must be active reviewers, managers or admins of this project.")
    return list(users)


def assign_reviewers(request: BulkRequest) -> str:
    """Assign each picked reviewer to every selected task; existing pairs are left alone."""
    reviewers = _reviewers(request)
    reviewer_ids = [r.id for r in reviewers]
    now, existed = utcnow(), 0
    for chunk in request.chunks():
        # Counted first: INSERT ... SELECT reports no reliable rowcount on every driver.
        existed += db.session.scalar(
            select(func.count(ReviewerAssignment.id)).where(
                ReviewerAssignment.task_id.in_(chunk),
                ReviewerAssignment.user_id.in_(reviewer_ids),
            )
        )
        for reviewer in reviewers:
            already = select(ReviewerAssignment.id).where(
                ReviewerAssignment.task_id == Task.id, ReviewerAssignment.user_id == reviewer.id
            )
            source = select(
                Task.id, literal(reviewer.id), literal(request.user.id), literal(now)
            ).where(Task.id.in_(chunk), ~already.exists())
            db.session.execute(
                insert(ReviewerAssignment).from_select(
                    ["task_id", "user_id", "assigned_by_id", "created_at"], source
                )
            )
    tasks = _plural(len(request.task_ids), "task")
    return (
        f"Assigned {_plural(len(reviewers), 'reviewer')} to {tasks}; "
        f"{_plural(existed, 'pair')} already existed."
    )


def unassign_reviewers(request: BulkRequest) -> str:
    """Remove the picked reviewers' assignments from every selected task."""
    reviewers = _reviewers(request)
    removed = 0
    for chunk in request.chunks():
        result = db.session.execute(
            delete(ReviewerAssignment).where(
                ReviewerAssignment.task_id.in_(chunk),
                ReviewerAssignment.user_id.in_([r.id for r in reviewers]),
            )
        )
        removed += result.rowcount
    return (
        f"Unassigned {_plural(len(reviewers), 'reviewer')} from "
        f"{_plural(len(request.task_ids), 'task')}; {_plural(removed, 'assignment')} removed."
    )


def assign_ground_truth(request: BulkRequest) -> str:
    """On each selected task without ground truth, mark its earliest non-skipped annotation
    (by created_at, then id). Tasks with ground truth keep it; tasks with none are reported."""
    marked, had, empty = [], 0, 0
    for chunk in request.chunks():
        rows = db.session.execute(
            select(Task.id, Task.has_ground_truth, Task.annotation_count).where(Task.id.in_(chunk))
        ).all()
        had += sum(1 for _, gt, _ in rows if gt)
        empty += sum(1 for _, gt, n in rows if not gt and n == 0)
        targets = [task_id for task_id, gt, n in rows if not gt and n > 0]
        if not targets:
            continue
        rank = (
            func.row_number()
            .over(partition_by=Annotation.task_id, order_by=(Annotation.created_at, Annotation.id))
            .label("rank")
        )
        ranked = (
            select(Annotation.id, rank)
            .where(Annotation.task_id.in_(targets), Annotation.was_cancelled.is_(False))
            .subquery()
        )
        first = select(ranked.c.id).where(ranked.c.rank == 1)
        db.session.execute(
            update(Annotation).where(Annotation.id.in_(first)).values(ground_truth=True)
        )
        marked += targets
    refresh_tasks(request.project, marked, by=request.user, reason="ground truth marked")
    parts = [f"Marked ground truth on {_plural(len(marked), 'task')}"]
    if had:
        parts.append(f"{_plural(had, 'task')} already had ground truth")
    if empty:
        verb = "has" if empty == 1 else "have"
        parts.append(f"{_plural(empty, 'task')} {verb} no annotation to mark")
    return "; ".join(parts) + "."


def delete_ground_truth(request: BulkRequest) -> str:
    """Clear the ground-truth flag on the selected tasks, and so their scores against ground
    truth; the annotations stay."""
    cleared = sum(clear_ground_truth(chunk) for chunk in request.chunks())
    return f"Removed ground truth from {_plural(cleared, 'task')}; the annotations are kept."


def _annotation_count(task_ids: list[int]) -> int:
    return sum(
        db.session.scalar(select(func.count(Annotation.id)).where(Annotation.task_id.in_(chunk)))
        for chunk in chunks(task_ids)
    )


def confirm_delete_annotations(request: BulkRequest) -> str:
    count = _annotation_count(request.task_ids)
    return (
        f"Delete {_plural(count, 'annotation')} (skipped ones included) and their reviews from "
        f"{_plural(len(request.task_ids), 'task')}? The tasks go back to the label stream."
    )


def delete_annotations(request: BulkRequest) -> str:
    """Delete every annotation (and so its reviews) of the selected tasks."""
    deleted = sum(
        delete_all_annotations(request.project, c, request.user) for c in request.chunks()
    )
    return (
        f"Deleted {_plural(deleted, 'annotation')} from {_plural(len(request.task_ids), 'task')}; "
        "they are back in the label stream."
    )


def confirm_delete_tasks(request: BulkRequest) -> str:
    annotations = _annotation_count(request.task_ids)
    predictions = sum(
        db.session.scalar(select(func.count(Prediction.id)).where(Prediction.task_id.in_(chunk)))
        for chunk in request.chunks()
    )
    tasks = _plural(len(request.task_ids), "task")
    return (
        f"Delete {tasks} with {_plural(annotations, 'annotation')} "
        f"and {_plural(predictions, 'prediction')}? This cannot be undone."
    )


def delete_tasks(request: BulkRequest) -> str:
    """Delete the selected tasks with everything on them."""
    deleted = 0
    for chunk in request.chunks():
        forget_task_counts(request.project.id, chunk)
        deleted += db.session.execute(delete(Task).where(Task.id.in_(chunk))).rowcount
    return f"Deleted {_plural(deleted, 'task')}."


def undo_auto_accept(request: BulkRequest) -> str:
    """Take back the system reviewer's auto-accepts on the selected tasks."""
    undone = sum(auto_accept.undo(request.project, list(c), request.user) for c in request.chunks())
    return f"Undid the auto-accept of {_plural(undone, 'annotation')}; they are back in review."


ACTIONS: dict[str, BulkAction] = {
    action.name: action
    for action in (
        BulkAction(
            "assign_reviewers",
            "Assign reviewers",
            MANAGERS,
            assign_reviewers,
            needs_reviewers=True,
            changes_tasks=False,
        ),
        BulkAction(
            "unassign_reviewers",
            "Unassign reviewers",
            MANAGERS,
            unassign_reviewers,
            needs_reviewers=True,
            changes_tasks=False,
        ),
        BulkAction("assign_ground_truth", "Assign ground truth", MANAGERS, assign_ground_truth),
        BulkAction(
            "delete_ground_truth",
            "Delete ground truth",
            MANAGERS,
            delete_ground_truth,
            destructive=True,
        ),
        BulkAction(
            "delete_annotations",
            "Delete annotations",
            MANAGERS,
            delete_annotations,
            confirm=confirm_delete_annotations,
            destructive=True,
        ),
        BulkAction(
            "delete_tasks",
            "Delete tasks",
            MANAGERS,
            delete_tasks,
            confirm=confirm_delete_tasks,
            destructive=True,
        ),
        BulkAction("undo_auto_accept", "Undo auto-accept", MANAGERS, undo_auto_accept),
    )
}


@dataclass(frozen=True)
class BulkOutcome:
    message: str
    needs_confirmation: bool = False
    job: Job | None = None  # the job running the action, when it is too big for a request


def apply_bulk_action(
    name: str,
    project: Project,
    user: User,
    task_ids: Select,
    reviewer_ids: Sequence[int] = (),
    confirmed: bool = False,
) -> BulkOutcome:
    """Run the named action over the selected tasks in one transaction.

    Raises KeyError for an unknown action, PermissionError when the user's role may not run
    it, BulkError when the request is incomplete. A destructive action that is not confirmed
    changes nothing and returns the question to ask.
    """
    action = ACTIONS[name]
    if not has_role(user, action.roles):
        raise PermissionError(f"{action.label} is for {', '.join(action.roles)} only.")
    ids = list(db.session.scalars(task_ids.order_by(None).order_by(Task.id)))
    if not ids:
        raise BulkError("Select at least one task.")
    request = BulkRequest(project, user, ids, tuple(reviewer_ids))
    if action.confirm and not confirmed:
        return BulkOutcome(action.confirm(request), needs_confirmation=True)
    if action.needs_reviewers:
        _reviewers(request)  # refuse a missing reviewer now, not in the job
    if len(ids) > int(current_app.config["JOBS_BULK_THRESHOLD"]):
        from reviewapp.services.jobs.submit import submit

        params = {"action": name, "task_ids": ids, "reviewer_ids": list(reviewer_ids)}
        job = submit("bulk", project, user, params)
        return BulkOutcome(f"{action.label}: started on {_plural(len(ids), 'task')}.", job=job)
    return run_action(request, action)


def run_action(request: BulkRequest, action: BulkAction) -> BulkOutcome:
    if action.changes_tasks:
        # All of them at once, in id order, before any project row: taken chunk by chunk
        # after a project write, they could deadlock with a verdict on one of the tasks.
        lock_tasks(request.task_ids)
    return BulkOutcome(action.run(request))
