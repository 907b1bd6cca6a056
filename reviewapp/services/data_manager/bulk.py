"""Bulk actions of the Data Manager: one registry, one transaction per action.

Each action takes the selected task ids (resolved once, so an action that changes what the
filter matches does not change its own selection) and returns a sentence saying what changed
with the counts behind it (BulkResult).
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
from reviewapp.services.data_manager.bulk_verdicts import (
    CheckedVerdict,
    VerdictCounts,
    VerdictOptions,
    check_verdict,
    count_bulk_verdicts,
    record_bulk_verdicts,
)
from reviewapp.services.derived.scores import lock_tasks
from reviewapp.services.derived.task_columns import (
    clear_ground_truth,
    delete_all_annotations,
    forget_task_counts,
    forget_task_states,
    refresh_tasks,
)
from reviewapp.services.review_stream import VerdictError, rejection_outcome


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
    verdict: VerdictOptions = VerdictOptions()  # accept and reject: whose, action, note

    def chunks(self) -> Iterator[Sequence[int]]:
        done, total = 0, len(self.task_ids)
        for chunk in chunks(self.task_ids):
            yield chunk
            done += len(chunk)
            if self.progress:
                self.progress(done, total, f"{done:,} of {total:,} tasks")


@dataclass(frozen=True)
class BulkResult:
    """What an action did: the sentence for people and its numbers (the API's counts)."""

    message: str
    counts: dict


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    roles: tuple[str, ...]
    run: Callable[[BulkRequest], BulkResult]
    # The question the Data Manager asks before running, from the selection.
    confirm: Callable[[BulkRequest], str] | None = None
    needs_reviewers: bool = False
    # Refuses an incomplete request (BulkError) before any question is asked or job started.
    check: Callable[[BulkRequest], object] | None = None
    # A verdict on the tasks' pending annotations: takes VerdictOptions.
    verdict: str | None = None
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


def assign_reviewers(request: BulkRequest) -> BulkResult:
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
    return BulkResult(
        f"Assigned {_plural(len(reviewers), 'reviewer')} to {tasks}; "
        f"{_plural(existed, 'pair')} already existed.",
        {"tasks": len(request.task_ids), "reviewers": len(reviewers), "already_assigned": existed},
    )


def unassign_reviewers(request: BulkRequest) -> BulkResult:
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
    return BulkResult(
        f"Unassigned {_plural(len(reviewers), 'reviewer')} from "
        f"{_plural(len(request.task_ids), 'task')}; {_plural(removed, 'assignment')} removed.",
        {"tasks": len(request.task_ids), "reviewers": len(reviewers), "removed": removed},
    )


def assign_ground_truth(request: BulkRequest) -> BulkResult:
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
    counts = {
        "tasks": len(request.task_ids),
        "marked": len(marked),
        "already_had": had,
        "without_annotations": empty,
    }
    return BulkResult("; ".join(parts) + ".", counts)


def delete_ground_truth(request: BulkRequest) -> BulkResult:
    """Clear the ground-truth flag on the selected tasks, and so their scores against ground
    truth; the annotations stay."""
    cleared = sum(clear_ground_truth(chunk) for chunk in request.chunks())
    return BulkResult(
        f"Removed ground truth from {_plural(cleared, 'task')}; the annotations are kept.",
        {"tasks": len(request.task_ids), "cleared": cleared},
    )


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


def delete_annotations(request: BulkRequest) -> BulkResult:
    """Delete every annotation (and so its reviews) of the selected tasks."""
    deleted = sum(
        delete_all_annotations(request.project, c, request.user) for c in request.chunks()
    )
    return BulkResult(
        f"Deleted {_plural(deleted, 'annotation')} from {_plural(len(request.task_ids), 'task')}; "
        "they are back in the label stream.",
        {"tasks": len(request.task_ids), "deleted_annotations": deleted},
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


def delete_tasks(request: BulkRequest) -> BulkResult:
    """Delete the selected tasks with everything on them."""
    deleted = 0
    for chunk in request.chunks():
        forget_task_counts(request.project.id, chunk)
        forget_task_states(request.project.id, chunk)
        deleted += db.session.execute(delete(Task).where(Task.id.in_(chunk))).rowcount
    return BulkResult(
        f"Deleted {_plural(deleted, 'task')}.", {"tasks": len(request.task_ids), "deleted": deleted}
    )


VERBS = {"accepted": ("accept", "Accepted"), "rejected": ("reject", "Rejected")}
# What happens to rejected annotations, by reject action, in a bulk confirmation.
REJECT_EFFECTS = {
    "removed": "They stay rejected and leave every queue.",
    "returned": "They go back to their annotators with your comment.",
    "reassigned": "Their tasks go back to the label stream for other annotators.",
}


def _checked_verdict(request: BulkRequest, verdict: str) -> CheckedVerdict:
    try:
        return check_verdict(request.project, request.user, verdict, request.verdict)
    except VerdictError as error:
        raise BulkError(str(error)) from None


def _annotators_text(request: BulkRequest) -> str:
    if not request.verdict.annotator_ids:
        return ""
    emails = db.session.scalars(
        select(User.email).where(User.id.in_(request.verdict.annotator_ids)).order_by(User.email)
    ).all()
    return f" by {', '.join(emails)}"


def _confirm_verdict(request: BulkRequest, verdict: str) -> str:
    """ "Accept 11 pending annotations in 4 tasks?" with what is skipped and, for a
    rejection, where the annotations go; BulkError when there is nothing to review."""
    checked = _checked_verdict(request, verdict)
    counts = count_bulk_verdicts(request.project, request.user, request.task_ids, request.verdict)
    verb = VERBS[verdict][0]
    skipped = f" ({counts.skip_text()})" if counts.skipped_total else ""
    whose = _annotators_text(request)
    if not counts.verdicts:
        have = "has" if len(request.task_ids) == 1 else "have"
        raise BulkError(
            f"The {_plural(len(request.task_ids), 'selected task')} {have} no pending "
            f"annotation{whose} for you to {verb}{skipped}."
        )
    question = (
        f"{verb.capitalize()} {_plural(counts.verdicts, 'pending annotation')}{whose} in "
        f"{_plural(counts.tasks, 'task')}?"
    )
    if counts.skipped_total:
        question += f" {counts.skip_text().capitalize()}."
    if verdict == "rejected":
        question += " " + REJECT_EFFECTS[rejection_outcome(checked.loop)]
    return question


def _run_verdict(request: BulkRequest, verdict: str) -> BulkResult:
    """The verdict on every pending annotation of the selected tasks the user may review."""
    checked = _checked_verdict(request, verdict)
    counts = VerdictCounts()
    for chunk in request.chunks():
        counts.add(record_bulk_verdicts(request.project, request.user, chunk, checked))
    verb, done = VERBS[verdict]
    if counts.verdicts:
        message = (
            f"{done} {_plural(counts.verdicts, 'annotation')} in {_plural(counts.tasks, 'task')}"
        )
        if verdict == "rejected":
            message += f" ({rejection_outcome(checked.loop)})"
    else:
        message = (
            f"No pending annotation left to {verb} in the "
            f"{_plural(len(request.task_ids), 'selected task')}; nothing changed"
        )
    if counts.skipped_total:
        message += f"; {counts.skip_text()}"
    return BulkResult(message + ".", {"tasks": len(request.task_ids), **counts.as_dict(verdict)})


def confirm_accept(request: BulkRequest) -> str:
    return _confirm_verdict(request, "accepted")


def accept(request: BulkRequest) -> BulkResult:
    """Accept the selected tasks' pending annotations (bulk_verdicts says which)."""
    return _run_verdict(request, "accepted")


def confirm_reject(request: BulkRequest) -> str:
    return _confirm_verdict(request, "rejected")


def reject(request: BulkRequest) -> BulkResult:
    """Reject them with the request's reject action, reason and comment."""
    return _run_verdict(request, "rejected")


def undo_auto_accept(request: BulkRequest) -> BulkResult:
    """Take back the system reviewer's auto-accepts on the selected tasks."""
    undone = sum(auto_accept.undo(request.project, list(c), request.user) for c in request.chunks())
    return BulkResult(
        f"Undid the auto-accept of {_plural(undone, 'annotation')}; they are back in review.",
        {"tasks": len(request.task_ids), "annotations": undone},
    )


ACTIONS: dict[str, BulkAction] = {
    action.name: action
    for action in (
        BulkAction(
            "assign_reviewers",
            "Assign reviewers",
            MANAGERS,
            assign_reviewers,
            needs_reviewers=True,
            check=_reviewers,
            changes_tasks=False,
        ),
        BulkAction(
            "unassign_reviewers",
            "Unassign reviewers",
            MANAGERS,
            unassign_reviewers,
            needs_reviewers=True,
            check=_reviewers,
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
        # Reviewers too: each annotation is checked as a single verdict would be.
        BulkAction(
            "accept",
            "Accept",
            REVIEWERS,
            accept,
            confirm=confirm_accept,
            check=lambda request: _checked_verdict(request, "accepted"),
            verdict="accepted",
        ),
        BulkAction(
            "reject",
            "Reject",
            REVIEWERS,
            reject,
            confirm=confirm_reject,
            check=lambda request: _checked_verdict(request, "rejected"),
            verdict="rejected",
        ),
    )
}


@dataclass(frozen=True)
class BulkOutcome:
    message: str
    needs_confirmation: bool = False
    job: Job | None = None  # the job running the action, when it is too big for a request
    counts: dict | None = None  # what the action did (None: a question, or a job)


def apply_bulk_action(
    name: str,
    project: Project,
    user: User,
    task_ids: Select,
    reviewer_ids: Sequence[int] = (),
    confirmed: bool = False,
    verdict: VerdictOptions | None = None,
    ask: bool | None = None,
) -> BulkOutcome:
    """Run the named action over the selected tasks in one transaction.

    Raises KeyError for an unknown action, PermissionError when the user's role may not run
    it, BulkError when the request is incomplete. An action that asks first (`ask`; None:
    the Data Manager's rule, the actions with a question) changes nothing unless confirmed
    and returns the question to ask. Over JOBS_BULK_THRESHOLD tasks it runs as a job.
    """
    action = ACTIONS[name]
    if not has_role(user, action.roles):
        raise PermissionError(f"{action.label} is for {', '.join(action.roles)} only.")
    ids = list(db.session.scalars(task_ids.order_by(None).order_by(Task.id)))
    if not ids:
        raise BulkError("Select at least one task.")
    options = verdict or VerdictOptions()
    request = BulkRequest(project, user, ids, tuple(reviewer_ids), verdict=options)
    if action.check:
        action.check(request)  # refuse an incomplete request now, not after the question
    if (action.confirm is not None if ask is None else ask) and not confirmed:
        return BulkOutcome(question(action, request), needs_confirmation=True)
    if len(ids) > int(current_app.config["JOBS_BULK_THRESHOLD"]):
        from reviewapp.services.jobs.submit import submit

        params = {
            "action": name,
            "task_ids": ids,
            "reviewer_ids": list(reviewer_ids),
            "verdict": request.verdict.as_params(),
        }
        job = submit("bulk", project, user, params, roles=action.roles)
        return BulkOutcome(f"{action.label}: started on {_plural(len(ids), 'task')}.", job=job)
    return run_action(request, action)


def question(action: BulkAction, request: BulkRequest) -> str:
    """The question asked before running the action on these tasks."""
    if action.confirm is not None:
        return action.confirm(request)
    return f"{action.label} on {_plural(len(request.task_ids), 'task')}?"


def run_action(request: BulkRequest, action: BulkAction) -> BulkOutcome:
    if action.changes_tasks:
        # All of them at once, in id order, before any project row: taken chunk by chunk
        # after a project write, they could deadlock with a verdict on one of the tasks.
        lock_tasks(request.task_ids)
    result = action.run(request)
    return BulkOutcome(result.message, counts=result.counts)
