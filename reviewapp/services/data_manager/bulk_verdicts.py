"""Accept or reject many pending annotations at once: the Data Manager's bulk verdicts.

Each verdict is what review_stream.record_verdict writes for one annotation (the guarded
status update with the reject action's columns, a Review row, the lease dropped, the task
recounted), written for a chunk of tasks with a few set-based statements. The caller holds
the tasks first (lock_tasks, in id order) and commits.

Which annotations: the pending, non-skipped annotations of the tasks that the review queue
would hand out (inside the review sample when the project reviews a sample), optionally
only those of some annotators. Of those, the ones the user may not review by the single
verdict's rules (permissions.verdict_refusals_sql: their own, a task not assigned to them)
are skipped and counted by reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, delete, distinct, func, insert, literal, null, select, update

from reviewapp.db import CHUNK
from reviewapp.extensions import db
from reviewapp.models import Annotation, AnnotationLease, Project, Review, Task, User, utcnow
from reviewapp.permissions import VERDICT_SKIPS, verdict_refusals_sql
from reviewapp.services import auto_accept
from reviewapp.services.derived.task_columns import refresh_tasks, sample_key_sql
from reviewapp.services.review_stream import (
    NOT_REJECTED,
    VerdictError,
    checked_note,
    rejection_outcome,
    rejection_values,
)
from reviewapp.services.webhooks.outbox import emit_reviews

BULK_VERDICTS = ("accepted", "rejected")


@dataclass(frozen=True)
class VerdictOptions:
    """The fields of a bulk verdict besides the tasks: whose annotations (none: everyone's)
    and, for a rejection, the reject action (None: the project's default), reason, comment."""

    annotator_ids: tuple[int, ...] = ()
    reject_action: str | None = None
    reason: str = ""
    comment: str = ""

    def as_params(self) -> dict:
        return {
            "annotator_ids": list(self.annotator_ids),
            "reject_action": self.reject_action,
            "reason": self.reason,
            "comment": self.comment,
        }

    @classmethod
    def from_params(cls, params: dict | None) -> VerdictOptions:
        params = params or {}
        return cls(
            tuple(params.get("annotator_ids") or ()),
            params.get("reject_action"),
            params.get("reason") or "",
            params.get("comment") or "",
        )


@dataclass
class VerdictCounts:
    """What a bulk verdict did (or would do): verdicts written, the tasks they were on, and
    the annotations left alone by VERDICT_SKIPS key."""

    verdicts: int = 0
    tasks: int = 0
    skipped: Counter = field(default_factory=Counter)

    def add(self, other: VerdictCounts) -> None:
        self.verdicts += other.verdicts
        self.tasks += other.tasks
        self.skipped.update(other.skipped)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skip_text(self) -> str:
        """ "3 skipped: not assigned to you; 1 skipped: your own", or ""."""
        return "; ".join(
            f"{self.skipped[key]:,} skipped: {text}"
            for key, text in VERDICT_SKIPS.items()
            if self.skipped[key]
        )

    def as_dict(self, verdict: str) -> dict:
        return {
            verdict: self.verdicts,
            "reviewed_tasks": self.tasks,
            "skipped": self.skipped_total,
            **{f"skipped_{key}": self.skipped[key] for key in VERDICT_SKIPS},
        }


@dataclass(frozen=True)
class CheckedVerdict:
    """A bulk verdict's fields, checked: the Annotation columns it writes and its note."""

    verdict: str
    loop: dict
    comment: str
    reason: str
    options: VerdictOptions


def check_verdict(
    project: Project, user: User, verdict: str, options: VerdictOptions
) -> CheckedVerdict:
    """The verdict's columns and note as record_verdict would take them; VerdictError for an
    action the project does not offer, a missing required comment, an unknown reason, or an
    annotator id that is no user."""
    if verdict not in BULK_VERDICTS:
        raise VerdictError(f"A bulk verdict is {' or '.join(BULK_VERDICTS)}.")
    if verdict == "rejected":
        loop = rejection_values(project, options.reject_action, user)
        comment, reason = checked_note(project, verdict, options.comment, options.reason)
    else:
        loop, comment, reason = NOT_REJECTED, "", ""
    wanted = set(options.annotator_ids)
    if wanted:
        found = set(db.session.scalars(select(User.id).where(User.id.in_(wanted))))
        if found != wanted:
            missing = ", ".join(str(i) for i in sorted(wanted - found))
            raise VerdictError(f"No user with id {missing}: pick annotators of this project.")
    return CheckedVerdict(verdict, loop, comment, reason, options)


def _pending(project: Project, task_ids: Sequence[int], options: VerdictOptions) -> list:
    """Conditions on Annotation: the annotations of these tasks a bulk verdict is about."""
    conditions = [
        Annotation.task_id.in_(task_ids),
        Annotation.review_status == "pending",
        Annotation.was_cancelled.is_(False),
    ]
    if options.annotator_ids:
        conditions.append(Annotation.completed_by_id.in_(options.annotator_ids))
    if (project.review_sample_percent or 100) < 100:
        conditions.append(sample_key_sql(Annotation.id) < project.review_sample_percent)
    return conditions


def _skip_key(project: Project, user: User):
    """The VERDICT_SKIPS key of an annotation the user may not review, NULL when they may."""
    rules = verdict_refusals_sql(user, project)
    if not rules:
        return null()
    return case(*((condition, literal(key)) for key, condition in rules), else_=null())


def count_bulk_verdicts(
    project: Project, user: User, task_ids: Sequence[int], options: VerdictOptions
) -> VerdictCounts:
    """What a bulk verdict over these tasks would do now: one aggregate per chunk."""
    counts = VerdictCounts()
    for start in range(0, len(task_ids), CHUNK):
        chunk = task_ids[start : start + CHUNK]
        rows = (
            select(Annotation.task_id, _skip_key(project, user).label("skip"))
            .where(*_pending(project, chunk, options))
            .subquery()
        )
        for skip, found, tasks in db.session.execute(
            select(rows.c.skip, func.count(), func.count(distinct(rows.c.task_id))).group_by(
                rows.c.skip
            )
        ):
            if skip is None:
                counts.add(VerdictCounts(found, tasks))
            else:
                counts.skipped[skip] += found
    return counts


def record_bulk_verdicts(
    project: Project, user: User, task_ids: Sequence[int], checked: CheckedVerdict
) -> VerdictCounts:
    """Record the checked verdict on every pending annotation of these tasks the user may
    review, as record_verdict would one at a time, and recount the tasks; the skipped ones
    are counted. The caller holds the tasks (lock_tasks) and commits; flushes.

    An annotation reviewed meanwhile is no longer pending and gets nothing, so running the
    same bulk verdict twice records each verdict once."""
    rows = db.session.execute(
        select(Annotation.id, _skip_key(project, user)).where(
            *_pending(project, task_ids, checked.options)
        )
    ).all()
    counts = VerdictCounts(skipped=Counter(skip for _, skip in rows if skip is not None))
    ids = [annotation_id for annotation_id, skip in rows if skip is None]
    now = utcnow()
    touched: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        # Guarded like a single verdict: only what is still pending changes, and RETURNING
        # says which did, so a Review is written for exactly those.
        done = db.session.execute(
            update(Annotation)
            .where(Annotation.id.in_(chunk), Annotation.review_status == "pending")
            .values(review_status=checked.verdict, updated_at=now, **checked.loop)
            .returning(Annotation.id, Annotation.task_id, Annotation.project_id, Annotation.round)
            .execution_options(synchronize_session=False)
        ).all()
        if not done:
            continue
        db.session.execute(
            insert(Review),
            [
                {
                    "annotation_id": annotation_id,
                    "project_id": project_id,
                    "reviewer_id": user.id,
                    "verdict": checked.verdict,
                    "comment": checked.comment,
                    "reason": checked.reason,
                    "created_at": now,
                    "round": judged,
                }
                for annotation_id, _, project_id, judged in done
            ],
        )
        db.session.execute(
            delete(AnnotationLease).where(
                AnnotationLease.annotation_id.in_([row[0] for row in done])
            )
        )
        emit_reviews(project.id, user.id, now, [row[0] for row in done])
        counts.verdicts += len(done)
        touched.update(task_id for _, task_id, _, _ in done)
    if touched:
        refresh_tasks(
            project, touched, results_changed=False, by=user, reason=_state_reason(checked)
        )
        if project.auto_accept:  # spot-check verdicts move the auto-accept bound
            ids = sorted(touched)
            for start in range(0, len(ids), CHUNK):
                spot = db.session.scalar(
                    select(Task.id)
                    .where(
                        Task.id.in_(ids[start : start + CHUNK]), Task.auto_accept == "spot_check"
                    )
                    .limit(1)
                )
                if spot is not None:
                    auto_accept.after_verdict(project, spot)
                    break
    counts.tasks = len(touched)
    return counts


def _state_reason(checked: CheckedVerdict) -> str:
    if checked.verdict == "rejected":
        return f"bulk reject, {rejection_outcome(checked.loop)}"
    return "bulk accept"
