"""The annotators' label stream: which task a labeller gets next, and saving their work.

A task is held with a TaskLease so that two labellers working at once are not handed the
same task; a lease that is not renewed expires and the task comes back. Every function
takes ``now`` (naive UTC) so tests can move the clock. Writes are flushed, not committed:
the caller commits once per user action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, select, update

from reviewapp.extensions import db
from reviewapp.labeling import check_complete, parse_label_config
from reviewapp.models import Annotation, Project, Review, Task, TaskLease, User, utcnow
from reviewapp.permissions import may_star_ground_truth
from reviewapp.services import auto_accept
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.ground_truth import set_ground_truth
from reviewapp.services.leases import LEASE, RENEW_BEFORE, claim
from reviewapp.services.metrics.agreement import diff_results
from reviewapp.services.webhooks import emit

# A claim is lost only when another labeller claimed the same task in the same instant.
CLAIM_ATTEMPTS = 5
PAGE_SIZE = 50


class StreamError(Exception):
    """The action does not fit the annotation's state; the message says why."""


class AlreadySubmitted(StreamError):
    """The labeller already has an annotation (or a skip) on this task."""


class OverlapReached(StreamError):
    """The task already has the project's overlap of non-skipped annotations."""


class NotEditable(StreamError):
    """The annotation has been reviewed and is no longer its annotator's to change."""


@dataclass(frozen=True)
class LabelItem:
    """What the stream shows: a task, and the labeller's requeued annotation if any."""

    task: Task
    annotation: Annotation | None = None  # set for a requeued annotation
    comment: str = ""  # the reviewer's comment that sent it back
    reason: str = ""
    lease_until: datetime | None = None
    rounds: tuple[ReviewRound, ...] = ()  # every review of the annotation, oldest first


@dataclass(frozen=True)
class ReviewRound:
    """One review of an annotation as its annotator sees it."""

    review: Review
    changes: tuple[str, ...] = ()  # for a fix: what the reviewer changed in the answer


@dataclass(frozen=True)
class Saved:
    annotation: Annotation
    message: str


def next_item(project: Project, user: User, now: datetime | None = None) -> LabelItem | None:
    """The labeller's next item, leased to them for LEASE; None when nothing is left.

    In this order: (1) a task whose annotation by this user a reviewer sent back
    (``requeued``), oldest first; (2) the task the user already holds an unexpired lease on,
    if it still needs them; (3) the lowest-ID task of the project with fewer non-skipped
    annotations than ``project.overlap``, that the user has not annotated or skipped, and
    that nobody else holds an unexpired lease on. Item (3) is leased, and item (2) renewed
    once less than RENEW_BEFORE of its lease is left: until then a reload writes nothing.
    """
    now = now or utcnow()
    requeued = requeued_annotation(project, user)
    if requeued is not None:
        return item_for(project, user, requeued.task)
    held = _held_task(project, user, now)
    if held is not None:
        task, until = held
        if until > now + RENEW_BEFORE:
            return LabelItem(task, lease_until=until)
        if claim(TaskLease, task.id, user.id, now):
            return LabelItem(task, lease_until=now + LEASE)
    for _ in range(CLAIM_ATTEMPTS):
        task_id = next_task_id(project, user, now)
        if task_id is None:
            return None
        if claim(TaskLease, task_id, user.id, now):
            return LabelItem(db.session.get(Task, task_id), lease_until=now + LEASE)
    return None


def item_for(project: Project, user: User, task: Task) -> LabelItem:
    """The stream item of a given task: with the user's requeued annotation of it, if any."""
    annotation = _own_annotation(user, task)
    if annotation is None or not annotation.requeued:
        return LabelItem(task)
    rounds = review_rounds(project, annotation)
    review = rounds[-1].review if rounds else None
    return LabelItem(
        task,
        annotation,
        comment=review.comment if review else "",
        reason=review.reason if review else "",
        rounds=tuple(rounds),
    )


def review_rounds(project: Project, annotation: Annotation) -> list[ReviewRound]:
    """The annotation's reviews, oldest first, each fix with the reviewer's changes to the
    answer it replaced (so an annotator sees what was wrong, not only the corrected answer)."""
    config = parse_label_config(project.label_config)
    return [
        ReviewRound(
            review,
            tuple(
                diff_results(
                    config,
                    review.result_before or [],
                    review.result_after or [],
                    project.iou_threshold,
                    project.keypoint_radius_percent,
                ).summary()
            )
            if review.verdict == "fixed"
            else (),
        )
        for review in reviews_of(annotation)
    ]


def requeued_annotation(project: Project, user: User) -> Annotation | None:
    """The user's oldest annotation in the project that a reviewer sent back to them."""
    # review_status is "rejected" while requeued; the status index keeps this cheap.
    return db.session.scalar(
        select(Annotation)
        .where(
            Annotation.project_id == project.id,
            Annotation.review_status == "rejected",
            Annotation.completed_by_id == user.id,
            Annotation.requeued.is_(True),
        )
        .order_by(Annotation.id)
        .limit(1)
    )


def latest_review(annotation_id: int) -> Review | None:
    return db.session.scalar(
        select(Review)
        .where(Review.annotation_id == annotation_id)
        .order_by(Review.id.desc())
        .limit(1)
    )


def reviews_of(annotation: Annotation) -> list[Review]:
    """The annotation's reviews, oldest first."""
    return list(
        db.session.scalars(
            select(Review).where(Review.annotation_id == annotation.id).order_by(Review.id)
        )
    )


def _annotated_by(user_id: int, project_id: int):
    """EXISTS: the user has an annotation (or a skip) on the outer query's task."""
    return (
        select(Annotation.id)
        .where(
            Annotation.project_id == project_id,
            Annotation.completed_by_id == user_id,
            Annotation.task_id == Task.id,
        )
        .exists()
    )


def candidates(project: Project, user: User, now: datetime, count: int) -> Select:
    """select(Task.id) of the tasks with exactly ``count`` counted annotations (non-skipped,
    not reassigned) that the
    user may be handed, in ID order (one equality per count keeps it on the
    (project_id, overlap_count) index, already in ID order)."""
    leased_by_other = (
        select(TaskLease.task_id)
        .where(TaskLease.task_id == Task.id, TaskLease.user_id != user.id, TaskLease.until > now)
        .exists()
    )
    return (
        select(Task.id)
        .where(
            Task.project_id == project.id,
            Task.overlap_count == count,
            ~_annotated_by(user.id, project.id),
            ~leased_by_other,
        )
        .order_by(Task.id)
    )


def next_task_id(project: Project, user: User, now: datetime) -> int | None:
    """The lowest ID among the tasks the user may be handed next (see next_item)."""
    found = [
        db.session.scalar(candidates(project, user, now, count).limit(1))
        for count in range(project.overlap)
    ]
    found = [task_id for task_id in found if task_id is not None]
    return min(found) if found else None


def _held_task(project: Project, user: User, now: datetime) -> tuple[Task, datetime] | None:
    """The task the user holds an unexpired lease on here, if it still needs them, and the
    lease's end."""
    # Driven from the user's few leases (their index), not from the project's tasks.
    row = db.session.execute(
        select(Task, TaskLease.until)
        .join(TaskLease, TaskLease.task_id == Task.id)
        .where(TaskLease.user_id == user.id, TaskLease.until > now, Task.project_id == project.id)
        .order_by(Task.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    task, until = row
    if task.overlap_count >= project.overlap or _has_annotated(user, task):
        release_lease(task.id, user)
        return None
    return task, until


def release_lease(task_id: int, user: User) -> None:
    db.session.execute(
        delete(TaskLease).where(TaskLease.task_id == task_id, TaskLease.user_id == user.id)
    )


def _has_annotated(user: User, task: Task) -> bool:
    return _own_annotation(user, task) is not None


def _own_annotation(user: User, task: Task) -> Annotation | None:
    """The user's annotation of the task (a requeued one first, should they have two)."""
    return db.session.scalar(
        select(Annotation)
        .where(
            Annotation.project_id == task.project_id,
            Annotation.completed_by_id == user.id,
            Annotation.task_id == task.id,
        )
        .order_by(Annotation.requeued.desc(), Annotation.id)
        .limit(1)
    )


def _lock_task(task: Task) -> None:
    # A no-op write that takes the task's row lock (PostgreSQL) or the write lock (SQLite)
    # before the "already annotated?" and overlap checks, so that submits to one task are
    # serialised and each sees the annotations committed before it.
    db.session.execute(
        update(Task).where(Task.id == task.id).values(annotation_count=Task.annotation_count)
    )


def submit(
    project: Project,
    user: User,
    task: Task,
    result: list[dict],
    lead_time: float | None,
    ground_truth: bool = False,
) -> Saved:
    """Save the user's annotation of the task and release their lease.

    A requeued annotation of theirs is updated instead (back to pending review). Raises
    AlreadySubmitted when they already annotated or skipped the task otherwise, so a
    double submit stores one annotation; OverlapReached when the task already has
    ``project.overlap`` non-skipped annotations (a submit that bypasses the lease, or
    loses a race for the last one). ``ground_truth`` (managers and admins) moves the
    task's ground-truth star to this annotation; PermissionError for anyone else.
    IncompleteResult (a ResultError) for an empty result the project does not allow, or one
    without an answer to a required control (labeling.check_complete).
    """
    if ground_truth and not may_star_ground_truth(user):
        raise PermissionError("Only managers and admins mark ground truth.")
    _check_complete(project, result)
    _lock_task(task)
    existing = _own_annotation(user, task)
    if existing is not None and not existing.requeued:
        raise AlreadySubmitted(
            f"Task {task.id} was already {'skipped' if existing.was_cancelled else 'submitted'}; "
            "your first answer was kept (change it under My annotations)."
        )
    if existing is not None:
        annotation = existing
        _rewrite(annotation, result, lead_time)
        message = f"Updated your annotation of task {task.id}; it is back in review."
    else:
        _check_overlap(project, task.id)
        annotation = Annotation(
            task_id=task.id,
            project_id=project.id,
            completed_by_id=user.id,
            result=result,
            lead_time=lead_time,
        )
        db.session.add(annotation)
        message = f"Saved task {task.id}."
    reason = "annotation resubmitted" if existing is not None else "annotation submitted"
    release_lease(task.id, user)
    db.session.flush()
    if ground_truth:
        message += " " + set_ground_truth(project, annotation)
    refresh_tasks(project, [task.id], by=user, reason=reason)
    auto_accept.consider(project, [task.id])
    emit(project.id, "annotation.updated" if existing else "annotation.created", annotation)
    return Saved(annotation, message)


def skip(project: Project, user: User, task: Task, lead_time: float | None) -> Saved:
    """Save a skip: a cancelled annotation with an empty result. A requeued annotation of
    the user's becomes the skip. Raises AlreadySubmitted like submit."""
    _lock_task(task)
    existing = _own_annotation(user, task)
    if existing is not None and not existing.requeued:
        raise AlreadySubmitted(f"Task {task.id} was already answered; your first answer was kept.")
    annotation = existing or Annotation(
        task_id=task.id, project_id=project.id, completed_by_id=user.id
    )
    if existing is not None:
        annotation.round = (annotation.round or 1) + 1
    annotation.result = []
    annotation.was_cancelled = True
    annotation.ground_truth = False
    annotation.lead_time = lead_time
    annotation.review_status = "pending"
    annotation.requeued = False
    db.session.add(annotation)
    release_lease(task.id, user)
    db.session.flush()
    refresh_tasks(project, [task.id], by=user, reason="skipped")
    emit(project.id, "annotation.updated" if existing else "annotation.created", annotation)
    return Saved(annotation, f"Skipped task {task.id}.")


def can_edit(annotation: Annotation) -> bool:
    """Its annotator may change it while it waits for review or was sent back to them."""
    return annotation.review_status == "pending" or annotation.requeued


def _check_overlap(project: Project, task_id: int) -> None:
    """OverlapReached when the task has the project's overlap of counted annotations
    (non-skipped, not reassigned); call it under the task's lock (counted from the rows: the
    task was loaded before it)."""
    answers = db.session.scalar(
        select(func.count())
        .select_from(Annotation)
        .where(
            Annotation.task_id == task_id,
            Annotation.was_cancelled.is_(False),
            Annotation.reassigned.is_(False),
        )
    )
    if answers >= project.overlap:
        raise OverlapReached(f"Task {task_id} already has the annotations it needs.")


def update_own(project: Project, user: User, annotation: Annotation, result: list[dict]) -> Saved:
    """Replace the result of the user's own annotation (a skip becomes an answer).

    Raises NotEditable once a reviewer has accepted, fixed or rejected it (unless it was
    sent back to them); IncompleteResult like submit. The caller has checked that the
    annotation is the user's.
    """
    _lock_task(annotation.task)
    db.session.refresh(annotation)
    if not can_edit(annotation):
        raise NotEditable(
            f"Annotation #{annotation.id} was already reviewed ({annotation.review_status}); "
            "it can no longer be changed."
        )
    _check_complete(project, result)
    if annotation.was_cancelled:  # a skip becoming an answer adds one to the task's count
        _check_overlap(project, annotation.task_id)
    reason = "annotation resubmitted" if annotation.requeued else "annotation updated"
    _rewrite(annotation, result, None)
    db.session.flush()
    refresh_tasks(project, [annotation.task_id], by=user, reason=reason)
    auto_accept.consider(project, [annotation.task_id])
    emit(project.id, "annotation.updated", annotation)
    return Saved(annotation, f"Updated your annotation of task {annotation.task_id}.")


def _check_complete(project: Project, result: list[dict]) -> None:
    config = parse_label_config(project.label_config)
    check_complete(config, result, project.allow_empty_annotations)


def _rewrite(annotation: Annotation, result: list[dict], lead_time: float | None) -> None:
    annotation.round = (annotation.round or 1) + 1
    annotation.result = result
    annotation.was_cancelled = False
    annotation.review_status = "pending"
    annotation.requeued = False
    if lead_time is not None:
        annotation.lead_time = (annotation.lead_time or 0.0) + lead_time


@dataclass(frozen=True)
class OwnRow:
    annotation: Annotation
    verdict: str  # the latest review's verdict, or "" when not reviewed
    comment: str
    reason: str


@dataclass(frozen=True)
class OwnPage:
    rows: list[OwnRow]
    page: int
    pages: int
    total: int


def own_annotations(project: Project, user: User, page: int = 1) -> OwnPage:
    """The user's annotations in the project, newest first, with each latest review."""
    where = (Annotation.project_id == project.id, Annotation.completed_by_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(Annotation).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    annotations = db.session.scalars(
        select(Annotation)
        .where(*where)
        .order_by(Annotation.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    latest = (
        select(func.max(Review.id))
        .where(Review.annotation_id.in_([a.id for a in annotations]))
        .group_by(Review.annotation_id)
    )
    reviews = {
        r.annotation_id: r for r in db.session.scalars(select(Review).where(Review.id.in_(latest)))
    }
    rows = []
    for annotation in annotations:
        review = reviews.get(annotation.id)
        rows.append(
            OwnRow(
                annotation,
                review.verdict if review else "",
                review.comment if review else "",
                review.reason if review else "",
            )
        )
    return OwnPage(rows, page, pages, total)
