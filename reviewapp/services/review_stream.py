"""The review stream: hand out pending annotations in the Data Manager's order, record verdicts.

Leases keep two reviewers off the same annotation; a verdict is one guarded UPDATE
(`... WHERE review_status = 'pending'`), so a stale or doubled verdict records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Select,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import joinedload

from reviewapp.extensions import db
from reviewapp.labeling import ResultError, check_complete, parse_label_config, validate_result
from reviewapp.models import (
    REJECT_ACTIONS,
    VERDICTS,
    Annotation,
    AnnotationLease,
    Project,
    Review,
    ReviewerAssignment,
    Task,
    User,
    utcnow,
)
from reviewapp.permissions import verdict_refusal
from reviewapp.services import auto_accept
from reviewapp.services.data_manager.query import TableState, filtered_tasks, in_table_order
from reviewapp.services.derived.scores import lock_task_of_annotation
from reviewapp.services.derived.task_columns import (
    refresh_tasks,
    sample_key_sql,
    unapplied_totals,
)
from reviewapp.services.leases import LEASE as LEASE  # re-exported for callers and tests
from reviewapp.services.leases import RENEW_BEFORE, claim
from reviewapp.services.metrics.agreement import diff_results, fix_size
from reviewapp.services.projects import reject_reasons
from reviewapp.services.webhooks import emit

# A fix obeys the rules of a submit (labeling.check_complete); a reviewer's way out is Reject.
EMPTY_FIX = "Choose at least one label, or Reject"
TASK_BATCH = 20  # tasks read at a time while walking the queue in the table's order


class VerdictError(ValueError):
    """The verdict is incomplete or invalid (422): a missing comment, a bad result..."""


class StaleVerdict(Exception):
    """The annotation was reviewed by someone else meanwhile, or deleted (409)."""


class OtherProject(LookupError):
    """The annotation belongs to another project than the one the verdict came through (404)."""


@dataclass
class VerdictOutcome:
    review: Review
    message: str
    diff: list[str] = field(default_factory=list)
    task_id: int | None = None


def queue_tasks(project: Project, reviewer: User, state: TableState, task_ids: Select | None):
    """select(Task.id) of the tasks whose annotations make up the reviewer's set: the
    matching (or selected) tasks, only those assigned to the reviewer when the project says so."""
    tasks = filtered_tasks(project.id, state)
    if task_ids is not None:
        tasks = tasks.where(Task.id.in_(task_ids))
    if project.review_only_assigned:
        tasks = tasks.where(
            select(ReviewerAssignment.id)
            .where(ReviewerAssignment.task_id == Task.id, ReviewerAssignment.user_id == reviewer.id)
            .exists()
        )
    if project.review_only_finished:
        tasks = tasks.where(Task.overlap_count >= project.overlap)
    if project.auto_accept:  # tasks waiting for the auto-accept spot-check are not reviewed
        tasks = tasks.where(or_(Task.auto_accept.is_(None), Task.auto_accept != "pending"))
    return tasks


def offered_reject_actions(project: Project) -> list[str]:
    """The project's reject actions, in REJECT_ACTIONS order (the default when none is set)."""
    offered = [a for a in REJECT_ACTIONS if a in (project.reject_actions or ())]
    return offered or [project.default_reject_action or "remove"]


def rejection_values(project: Project, action: str | None, reviewer: User | None = None) -> dict:
    """The Annotation columns a rejection with this action writes (None: the project's
    default); VerdictError for an action the project does not offer."""
    offered = offered_reject_actions(project)
    if not action:  # the default, or the first offered should the default not be
        action = project.default_reject_action
        action = action if action in offered else offered[0]
    if action not in offered:
        raise VerdictError(
            f"Unknown reject action {action!r}; this project offers {', '.join(offered)}."
        )
    return {
        "requeued": action == "return",
        "reassigned": action == "reassign",
        "returned_by_id": reviewer.id if action == "return" and reviewer is not None else None,
    }


# The review stream's key for each reject action (r focuses the comment with the default).
REJECT_ACTION_KEYS = {"remove": "x", "return": "b", "reassign": "n"}
REJECT_ACTION_HINTS = {
    "remove": "stays rejected and leaves every queue",
    "return": "goes back to its annotator with your comment",
    "reassign": "the task goes back to the label stream for another annotator",
}

# What every verdict other than a rejection writes: the annotation is in no loop any more.
NOT_REJECTED = {"requeued": False, "reassigned": False, "returned_by_id": None}


def _eligible(project: Project, reviewer: User, now: datetime):
    """Conditions on Annotation (outer-joined to its lease) for the reviewer's queue."""
    conditions = [
        Annotation.review_status == "pending",
        Annotation.was_cancelled.is_(False),
        or_(
            AnnotationLease.until.is_(None),
            AnnotationLease.user_id == reviewer.id,
            AnnotationLease.until <= now,
        ),
    ]
    if not project.allow_self_review:
        conditions.append(Annotation.completed_by_id != reviewer.id)
    if (project.review_sample_percent or 100) < 100:
        conditions.append(sample_key_sql(Annotation.id) < project.review_sample_percent)
    return conditions


def queue_counts(
    project: Project, reviewer: User, state: TableState, task_ids: Select | None = None
) -> tuple[int, int]:
    """(left, total) for the reviewer's set: pending, and all, non-skipped annotations of the
    set's tasks, less the reviewer's own unless self-review is allowed.

    The whole project reads the project's totals; a narrower set sums its tasks'
    denormalised counts in one pass over a covering index. The reviewer's own annotations
    are found from their index range and joined to the set's tasks.
    """
    whole_project = (
        not state.filtered
        and task_ids is None
        and not project.review_only_assigned
        and not project.auto_accept
    )
    if whole_project:
        counts = select(Project.pending_count, Project.annotation_count).where(
            Project.id == project.id
        )
    else:
        counts = queue_tasks(project, reviewer, state, task_ids).with_only_columns(
            func.coalesce(func.sum(Task.pending_count), 0),
            func.coalesce(func.sum(Task.annotation_count), 0),
        )
    # This transaction's own changes to the project totals are written at its commit.
    shift = unapplied_totals(project.id) if whole_project else (0, 0)
    if project.allow_self_review:
        left, total = db.session.execute(counts).one()
        return left + shift[1], total + shift[0]
    own = select(
        func.count(Annotation.id).filter(Annotation.review_status == "pending"),
        func.count(Annotation.id),
    ).where(
        Annotation.project_id == project.id,
        Annotation.completed_by_id == reviewer.id,
        Annotation.was_cancelled.is_(False),
    )
    if not whole_project:
        tasks = queue_tasks(project, reviewer, state, task_ids).subquery()
        own = own.join(tasks, tasks.c.id == Annotation.task_id)
    # Both single-row counts in one round trip.
    counts, own = counts.subquery(), own.subquery()
    left, total, own_left, own_total = db.session.execute(
        select(*counts.c, *own.c).select_from(counts.join(own, true()))
    ).one()
    return left + shift[1] - own_left, total + shift[0] - own_total


def queue_size(
    project: Project, reviewer: User, state: TableState, task_ids: Select | None = None
) -> int:
    """How many annotations are waiting for this reviewer in the set."""
    return queue_counts(project, reviewer, state, task_ids)[0]


def next_for_review(
    project: Project,
    reviewer: User,
    state: TableState | None = None,
    task_ids: Select | None = None,
    now: datetime | None = None,
    current_task: int | None = None,
) -> Annotation | None:
    """Claim the first annotation of the reviewer's queue with a lease and return it.

    The queue: pending, non-skipped annotations of the tasks matching `state` (or of
    `task_ids`), in the review order then by annotation id; not the reviewer's own unless
    the project allows self-review; only assigned tasks, only fully annotated tasks, only
    the review sample, when the project says so; annotations leased by another reviewer
    until later than `now` are skipped. None at the end.

    First come the resubmissions of annotations this reviewer returned, then the rest of
    `current_task` (the task of the verdict just given: a fix that changes its agreement
    does not move the reviewer off it half-way), then the project's review_order: `table`
    (the Data Manager's order), `low_agreement_first`, `random` (seeded per reviewer, the
    same on every reload) or `by_annotator` (one annotator's work before the next's).
    """
    state = state or TableState()
    now = now or utcnow()
    tasks = queue_tasks(project, reviewer, state, task_ids).where(Task.pending_count > 0)
    eligible = _eligible(project, reviewer, now)
    # Two indexed looks, not one OR (which made SQLite scan every annotation of the project):
    # the resubmissions this reviewer returned, then the rest of the current task.
    firsts = [
        _candidates(
            Annotation.returned_by_id == reviewer.id,
            Annotation.project_id == project.id,
            Annotation.task_id.in_(tasks),
            *eligible,
        ).order_by(Annotation.id)
    ]
    if current_task is not None:
        # The task's few annotations, sorted here: with an ORDER BY, SQLite walked every
        # pending annotation of the project in id order instead of using the task's index.
        firsts.append(
            _candidates(
                Annotation.task_id == current_task,
                Annotation.task_id.in_(tasks.where(Task.id == current_task)),
                *eligible,
            )
        )
    # One statement for both looks; each part keeps its own index.
    firsts = [
        q.limit(TASK_BATCH).add_columns(literal(k).label("rank")).subquery().select()
        for k, q in enumerate(firsts)
    ]
    looks = union_all(*firsts) if len(firsts) > 1 else firsts[0]
    for annotation_id, holder, until, _ in sorted(
        db.session.execute(looks).all(), key=lambda row: (row[3], row[0])
    ):
        claimed = _take(annotation_id, holder, until, reviewer, now)
        if claimed is not None:
            return claimed
    if project.review_order == "by_annotator":
        return _next_by_annotator(tasks, eligible, reviewer, now)
    for ordered in _ordered(project, reviewer, tasks, state):
        offset = 0
        while True:
            batch = list(db.session.scalars(ordered.offset(offset).limit(TASK_BATCH)))
            if not batch:
                break
            offset += len(batch)
            position = {task_id: k for k, task_id in enumerate(batch)}
            rows = db.session.execute(
                _candidates(Annotation.task_id.in_(batch), *eligible).add_columns(
                    Annotation.task_id
                )
            )
            for annotation_id, holder, until, _ in sorted(
                rows, key=lambda r: (position[r[3]], r[0])
            ):
                claimed = _take(annotation_id, holder, until, reviewer, now)
                if claimed is not None:
                    return claimed
    return None


def upcoming_tasks(
    project: Project,
    reviewer: User,
    state: TableState,
    task_ids: Select | None = None,
    after_task: int | None = None,
    limit: int = 10,
) -> list[Task]:
    """The next tasks of the reviewer's set in the stream's order, those with pending
    annotations, without the current one: what the stream will show next, as a list to
    look ahead at. The by-annotator order lists in table order. Reads; claims nothing."""
    tasks = queue_tasks(project, reviewer, state, task_ids).where(Task.pending_count > 0)
    if after_task is not None:
        tasks = tasks.where(Task.id != after_task)
    if project.review_order == "by_annotator":
        ordered = [tasks.order_by(Task.id)]
    else:
        ordered = _ordered(project, reviewer, tasks, state)
    found: list[int] = []
    for query in ordered:
        found += db.session.scalars(query.limit(limit - len(found))).all()
        if len(found) >= limit:
            break
    by_id = {t.id: t for t in db.session.scalars(select(Task).where(Task.id.in_(found)))}
    return [by_id[task_id] for task_id in found if task_id in by_id]


def _candidates(*where) -> Select:
    return (
        select(Annotation.id, AnnotationLease.user_id, AnnotationLease.until)
        .outerjoin(AnnotationLease, AnnotationLease.annotation_id == Annotation.id)
        .where(*where)
    )


def _take(annotation_id: int, holder, until, reviewer: User, now: datetime):
    # A reload keeps the reviewer's own fresh lease without a write: writes queue for
    # SQLite's single write lock, so the stream takes one only when it must.
    if holder == reviewer.id and until > now + RENEW_BEFORE:
        return _load(annotation_id)
    return _claim(annotation_id, reviewer.id, now)


def _ordered(project: Project, reviewer: User, tasks: Select, state: TableState):
    """The task queries to walk, in the project's review order."""
    if project.review_order == "low_agreement_first":
        # Tasks without an agreement (one annotation) after every scored one.
        return [
            tasks.where(Task.agreement.is_not(None)).order_by(Task.agreement, Task.id),
            tasks.where(Task.agreement.is_(None)).order_by(Task.id),
        ]
    if project.review_order == "random":
        # A multiplicative hash of the task id whose multiplier comes from the reviewer: one
        # permutation per reviewer (a salt added after multiplying would only shift it).
        multiplier = 1 + (reviewer.id * 2654435761) % 1000002
        key = cast(Task.id, BigInteger) * literal(multiplier, BigInteger) % 1000003
        return [tasks.order_by(key, Task.id)]
    return in_table_order(tasks, state)


def _next_by_annotator(tasks: Select, eligible, reviewer: User, now: datetime):
    """All of one annotator's pending work (lowest user id first), then the next's."""
    annotators = db.session.scalars(
        _candidates(Annotation.task_id.in_(tasks), *eligible)
        .with_only_columns(Annotation.completed_by_id)
        .distinct()
        .order_by(Annotation.completed_by_id)
    ).all()
    for annotator in annotators:
        offset = 0
        while True:
            rows = db.session.execute(
                _candidates(
                    Annotation.task_id.in_(tasks),
                    Annotation.completed_by_id == annotator,
                    *eligible,
                )
                .order_by(Annotation.task_id, Annotation.id)
                .offset(offset)
                .limit(TASK_BATCH)
            ).all()
            if not rows:
                break
            offset += len(rows)
            for annotation_id, holder, until in rows:
                claimed = _take(annotation_id, holder, until, reviewer, now)
                if claimed is not None:
                    return claimed
    return None


def _load(annotation_id: int) -> Annotation | None:
    """The annotation with its task (the page shows both) as stored now, in one query."""
    return db.session.scalar(
        select(Annotation)
        .options(joinedload(Annotation.task))
        .where(Annotation.id == annotation_id)
        .execution_options(populate_existing=True)
    )


def _claim(annotation_id: int, user_id: int, now: datetime) -> Annotation | None:
    """Lease the annotation to the reviewer if it is still pending; the annotation if so."""
    if not claim(AnnotationLease, annotation_id, user_id, now):
        return None
    # The candidates were read before the lease: someone may have reviewed the annotation
    # (and dropped their lease) since. Read after our write, so it sees their commit.
    annotation = _load(annotation_id)
    if annotation is None or annotation.review_status != "pending":
        db.session.execute(
            delete(AnnotationLease).where(AnnotationLease.annotation_id == annotation_id)
        )
        return None
    return annotation


def record_verdict(
    annotation_id: int,
    reviewer: User,
    verdict: str,
    result: list | None = None,
    comment: str = "",
    reason: str = "",
    project: Project | None = None,
    change: bool = False,
    action: str | None = None,
) -> VerdictOutcome:
    """Record accepted / fixed / rejected on an annotation, in one transaction.

    Fixed stores `result` as the annotation's result and keeps the old one in the review,
    with fix size 1 - s(before, after); like a submit, it must answer every required control
    and be non-empty unless the project allows empty annotations (VerdictError). Rejected
    needs a comment when the project says so, and takes one of the project's reject
    actions (`action`, default the project's: rejection_values). Without `change`, only a
    pending annotation can be reviewed: otherwise StaleVerdict, and nothing is recorded (so
    a double click records one review). With `change` (from the task page) an earlier
    verdict is replaced and the history keeps both. PermissionError when the reviewer may
    not review it (permissions.verdict_refusal). Flushes; the caller commits (the stream
    claims the next item in the same transaction, so a verdict takes the write lock once).
    """
    # The task before its annotation, in the order every writer of a task takes them; the
    # annotation is read after, so it is what the previous holder committed.
    if lock_task_of_annotation(annotation_id) is None:
        raise StaleVerdict("This annotation was deleted meanwhile.")
    annotation = db.session.get(Annotation, annotation_id, populate_existing=True)
    if project is not None and annotation.project_id != project.id:
        raise OtherProject(f"Annotation #{annotation_id} is not in this project.")
    project = project or db.session.get(Project, annotation.project_id)
    refusal = verdict_refusal(reviewer, project, annotation)
    if refusal:
        raise PermissionError(refusal)
    if verdict not in VERDICTS:
        raise VerdictError(f"Unknown verdict {verdict!r}; use one of {', '.join(VERDICTS)}.")
    if annotation.was_cancelled:
        raise VerdictError("A skipped annotation has nothing to review.")
    comment, reason = checked_note(project, verdict, comment, reason)
    before = annotation.result
    after, size, diff = None, None, []
    if verdict == "fixed":
        config = parse_label_config(project.label_config)
        try:
            after = validate_result(
                config, result if result is not None else [], annotation.task.data
            )
        except ResultError as error:
            raise VerdictError(f"The fixed result is not valid: {error}") from None
        try:
            check_complete(config, after, project.allow_empty_annotations, EMPTY_FIX)
        except ResultError as error:
            raise VerdictError(str(error)) from None
        tolerances = project.iou_threshold, project.keypoint_radius_percent
        size = fix_size(config, before, after, *tolerances)
        diff = diff_results(config, before, after, *tolerances).summary()
    guard = update(Annotation).where(Annotation.id == annotation.id)
    if not change:
        guard = guard.where(Annotation.review_status == "pending")
    loop = rejection_values(project, action, reviewer) if verdict == "rejected" else NOT_REJECTED
    values = {"review_status": verdict, **loop}
    if after is not None:
        values["result"] = after
    if db.session.execute(guard.values(**values)).rowcount != 1:
        raise StaleVerdict(_stale_message(annotation_id, reviewer))
    at = utcnow()
    lease = db.session.execute(
        delete(AnnotationLease)
        .where(AnnotationLease.annotation_id == annotation.id)
        .returning(AnnotationLease.user_id, AnnotationLease.leased_at)
    ).first()
    # The review time runs from the reviewer's own lease (docs/metrics.md, reviewer quality).
    timed = lease is not None and lease.user_id == reviewer.id and lease.leased_at is not None
    review = Review(
        annotation_id=annotation.id,
        project_id=annotation.project_id,
        reviewer_id=reviewer.id,
        verdict=verdict,
        comment=comment,
        reason=reason,
        result_before=before if verdict == "fixed" else None,
        result_after=after,
        fix_size=size,
        round=annotation.round,
        lease_seconds=(at - lease.leased_at).total_seconds() if timed else None,
        created_at=at,
    )
    db.session.add(review)
    task_id = annotation.task_id  # read now: the recount expires the annotation
    refresh_tasks(
        project,
        [task_id],
        results_changed=verdict == "fixed",
        by=reviewer,
        reason=_reason(verdict, loop),
    )
    auto_accept.after_verdict(project, task_id)
    emit(project.id, "review.created", review)
    return VerdictOutcome(review, _message(annotation_id, verdict, size, loop), diff, task_id)


def _stale_message(annotation_id: int, reviewer: User) -> str:
    """Why a verdict found its annotation no longer pending: a double click, a page from the
    browser's history, or another reviewer."""
    latest = db.session.scalar(
        select(Review)
        .where(Review.annotation_id == annotation_id)
        .order_by(Review.id.desc())
        .limit(1)
    )
    if latest is not None and latest.reviewer_id == reviewer.id:
        return f"You already reviewed annotation #{annotation_id} ({latest.verdict})."
    return f"Annotation #{annotation_id} was reviewed by someone else meanwhile."


def switch_to(
    project: Project,
    reviewer: User,
    annotation_id: int,
    state: TableState | None = None,
    task_ids: Select | None = None,
    now: datetime | None = None,
) -> Annotation | None:
    """Make this annotation the one under review (a tab of the task shown): claimed with a
    lease if it is in the reviewer's queue, and the reviewer's other leases in the project
    let go. None (and nothing changed) when it is not theirs to review now."""
    state = state or TableState()
    now = now or utcnow()
    tasks = queue_tasks(project, reviewer, state, task_ids)
    row = db.session.execute(
        _candidates(
            Annotation.id == annotation_id,
            Annotation.project_id == project.id,
            Annotation.task_id.in_(tasks),
            *_eligible(project, reviewer, now),
        )
    ).first()
    if row is None:
        return None
    claimed = _take(annotation_id, row[1], row[2], reviewer, now)
    if claimed is not None:
        mine = select(Annotation.id).where(Annotation.project_id == project.id)
        db.session.execute(
            delete(AnnotationLease).where(
                AnnotationLease.user_id == reviewer.id,
                AnnotationLease.annotation_id != annotation_id,
                AnnotationLease.annotation_id.in_(mine),
            )
        )
    return claimed


def queue_task_count(
    project: Project, reviewer: User, state: TableState, task_ids: Select | None = None
) -> int:
    """How many tasks of the reviewer's set have an annotation waiting for review."""
    tasks = queue_tasks(project, reviewer, state, task_ids).where(Task.pending_count > 0)
    return db.session.scalar(select(func.count()).select_from(tasks.subquery()))


def checked_note(project: Project, verdict: str, comment: str, reason: str) -> tuple[str, str]:
    """The verdict's comment and reason, stripped; VerdictError for a rejection without the
    comment the project requires, or a reason that is not one of the project's."""
    comment, reason = (comment or "").strip(), (reason or "").strip()
    if verdict == "rejected" and project.require_comment_on_reject and not comment:
        raise VerdictError("Say why you reject it: this project requires a comment.")
    if reason and reason not in reject_reasons(project):
        raise VerdictError(f"Unknown reason {reason!r}.")
    return comment, reason


def rejection_outcome(loop: dict) -> str:
    """What a rejection with these rejection_values did: returned, reassigned or removed."""
    return "returned" if loop["requeued"] else "reassigned" if loop["reassigned"] else "removed"


def _reason(verdict: str, loop: dict) -> str:
    if verdict != "rejected":
        return f"review: {verdict}"
    return "review: rejected, " + rejection_outcome(loop)


def _message(annotation_id: int, verdict: str, size: float | None, loop: dict) -> str:
    if verdict == "accepted":
        return f"Accepted annotation #{annotation_id}."
    if verdict == "fixed":
        # A percent, as agreement and accuracy show everywhere in the pages.
        return f"Fixed and accepted annotation #{annotation_id} (fix size {size:.0%})."
    if loop["requeued"]:
        where = "it goes back to its annotator with your comment"
    elif loop["reassigned"]:
        where = "the task goes back to the label stream for another annotator"
    else:
        where = "it leaves every queue"
    return f"Rejected annotation #{annotation_id}; {where}."
