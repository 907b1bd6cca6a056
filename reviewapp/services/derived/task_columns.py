"""The denormalised task columns and the per-task label index, derived in one place.

`summarise` is pure and shared by the importer (which knows the rows it writes) and by
`refresh_tasks` (which reads them back after any change); so the two cannot drift apart.
Both take the task agreement from `reviewapp.services.derived.scores`, which also stores the pair
and ground-truth scores it is computed from, so the column and the stored rows agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, cast, delete, event, func, insert, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from reviewapp.db import CHUNK
from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, parse_label_config
from reviewapp.labeling.results import result_labels
from reviewapp.models import (
    REVIEW_RANKS,
    Annotation,
    GtScore,
    Prediction,
    Project,
    Review,
    Task,
    TaskLabel,
    TaskStateChange,
    User,
    utcnow,
)
from reviewapp.services.derived.scores import delete_scores, lock_tasks, write_scores


@dataclass(frozen=True)
class AnnotationRow:
    completed_by: str  # the annotator's email
    result: list
    was_cancelled: bool = False
    ground_truth: bool = False
    review_status: str = "pending"
    id: int | None = None  # None before insert: in the review sample
    requeued: bool = False
    reassigned: bool = False


@dataclass(frozen=True)
class ReviewPolicy:
    """The project settings a task's counts and state depend on."""

    overlap: int = 1
    criteria: str = "all"  # REVIEW_CRITERIA
    sample_percent: int = 100

    @classmethod
    def of(cls, project: Project) -> ReviewPolicy:
        return cls(
            project.overlap or 1,
            project.review_criteria or "all",
            100 if project.review_sample_percent is None else project.review_sample_percent,
        )


# Knuth's multiplicative hash: a stable pseudo-random key in 0..99 per annotation id, the same
# in Python and in SQL (sample_key_sql), so the queue and the counts agree on the sample.
_HASH, _SPAN = 2654435761, 2**32


def sample_key(annotation_id: int) -> int:
    return (annotation_id * _HASH) % _SPAN * 100 // _SPAN


def sample_key_sql(column):
    # In 64 bits: PostgreSQL's INTEGER overflows on the product (and on the constants).
    hashed = cast(column, BigInteger) * literal(_HASH, BigInteger)
    return hashed % literal(_SPAN, BigInteger) * 100 / literal(_SPAN, BigInteger)


def in_sample(annotation_id: int | None, percent: int) -> bool:
    """Whether the review sample takes this annotation: about `percent` % of every
    annotator's annotations, always the same ones for the same percent."""
    return percent >= 100 or annotation_id is None or sample_key(annotation_id) < percent


def waits_for_review(a: AnnotationRow, policy: ReviewPolicy) -> bool:
    return a.review_status == "pending" and in_sample(a.id, policy.sample_percent)


def task_state(annotations: Sequence[AnnotationRow], policy: ReviewPolicy) -> str:
    """returned (an annotation is back with its annotator), annotating (fewer counted
    annotations than the overlap), done (the review criterion is met) or needs_review.

    Counted: non-skipped and not reassigned. Criterion `one`: one counted annotation is
    accepted or fixed; `all`: no counted annotation waits for review. An annotation left out
    of the review sample counts as reviewed, and for `one` as accepted."""
    done = [a for a in annotations if not a.was_cancelled]
    if any(a.requeued for a in done):
        return "returned"
    counted = [a for a in done if not a.reassigned]
    if len(counted) < policy.overlap:
        return "annotating"
    if policy.criteria == "one":
        met = any(
            a.review_status in ("accepted", "fixed")
            or (a.review_status == "pending" and not waits_for_review(a, policy))
            for a in counted
        )
    else:
        met = not any(waits_for_review(a, policy) for a in counted)
    return "done" if met else "needs_review"


def data_text(data: dict) -> str:
    """The string values of task data, lower-cased, for the Data Manager's text search."""
    parts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None:
            parts.append(str(value))

    walk(data)
    return "\n".join(parts).lower()


def summarise(
    annotations: Sequence[AnnotationRow],
    prediction_scores: Sequence[float | None],
    agreement: float | None,
    policy: ReviewPolicy,
) -> dict:
    """The task's denormalised columns from its annotations (in id order) and predictions.

    Counts are over non-skipped annotations except skipped_count; review counts are the
    annotations' latest verdicts, pending only those in the review sample; review_rank
    indexes REVIEW_RANKS; state is task_state's. ``agreement`` is passed
    in, as computed with the stored scores (`scores.score_task(...).agreement`: the mean
    pair score s(x, y) over all pairs of non-skipped annotations, None below two).
    """
    done = [a for a in annotations if not a.was_cancelled]
    counts = {status: 0 for status in ("pending", "accepted", "fixed", "rejected")}
    for a in done:
        if a.review_status != "pending" or waits_for_review(a, policy):
            counts[a.review_status] += 1
    if not done:
        rank = "none"
    elif counts["pending"]:
        rank = "pending"
    elif counts["rejected"]:
        rank = "rejected"
    elif counts["fixed"]:
        rank = "fixed"
    else:
        rank = "accepted"
    scores = [s for s in prediction_scores if s is not None]
    return {
        "annotation_count": len(done),
        "skipped_count": len(annotations) - len(done),
        "pending_count": counts["pending"],
        "accepted_count": counts["accepted"],
        "fixed_count": counts["fixed"],
        "rejected_count": counts["rejected"],
        "review_rank": REVIEW_RANKS.index(rank),
        "prediction_score": max(scores) if scores else None,
        "has_ground_truth": any(a.ground_truth for a in annotations),
        "first_annotator": done[0].completed_by if done else None,
        "agreement": agreement,
        "overlap_count": sum(not a.reassigned for a in done),
        "state": task_state(annotations, policy),
    }


def label_rows(
    config: LabelConfig,
    project_id: int,
    task_id: int,
    annotations: Iterable[AnnotationRow],
    prediction_results: Iterable[list],
) -> list[dict]:
    """TaskLabel rows: each (control, label) once per source (annotation, ground_truth,
    prediction) among the task's non-skipped annotations and its predictions."""
    found: set[tuple[str, str, str]] = set()
    for a in annotations:
        if a.was_cancelled:
            continue
        for control, label in result_labels(config, a.result):
            found.add(("annotation", control, label))
            if a.ground_truth:
                found.add(("ground_truth", control, label))
    for result in prediction_results:
        for control, label in result_labels(config, result):
            found.add(("prediction", control, label))
    return [
        {"project_id": project_id, "task_id": task_id, "source": s, "control": c, "label": lbl}
        for s, c, lbl in sorted(found)
    ]


def refresh_tasks(
    project: Project,
    task_ids: Iterable[int],
    results_changed: bool = True,
    by: User | None = None,
    reason: str = "",
) -> None:
    """Recompute the denormalised columns, label index and stored scores (AgreementPair,
    GtScore, ChoiceCount) of these tasks from their rows.

    Call it in the same transaction as any change to annotations, predictions, reviews or
    ground truth; it flushes but does not commit. A change that leaves every result,
    skip and ground-truth flag as it was (a verdict other than a fix) passes
    results_changed=False: the scores, agreement and label index stay as stored.

    It first holds the tasks until the caller commits (lock_tasks), so on PostgreSQL two
    changes to one task recount it in turn, the second seeing the first, and the project
    totals move by differences of counts read under the lock. Every task is held before
    the project row is written, so no call waits for a task while holding the project;
    a transaction that refreshes in several calls should lock all its tasks first.

    A task whose state changes gets a TaskStateChange by `by` for `reason`.
    """
    config = parse_label_config(project.label_config)
    policy = ReviewPolicy.of(project)
    ids = sorted(set(task_ids))
    db.session.flush()
    lock_tasks(ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stored = {
            row.id: row
            for row in db.session.execute(
                select(
                    Task.id,
                    Task.agreement,
                    Task.prediction_score,
                    Task.annotation_count,
                    Task.pending_count,
                    Task.state,
                ).where(Task.id.in_(chunk))
            )
        }
        if results_changed:
            agreements = write_scores(project, chunk, config)
        else:
            agreements = {task_id: row.agreement for task_id, row in stored.items()}
        annotations: dict[int, list[AnnotationRow]] = {i: [] for i in chunk}
        rows = db.session.execute(
            select(
                Annotation.task_id,
                User.email,
                Annotation.result,
                Annotation.was_cancelled,
                Annotation.ground_truth,
                Annotation.review_status,
                Annotation.id,
                Annotation.requeued,
                Annotation.reassigned,
            )
            .join(User, User.id == Annotation.completed_by_id)
            .where(Annotation.task_id.in_(chunk))
            .order_by(Annotation.id)
        )
        for task_id, *fields in rows:
            annotations[task_id].append(AnnotationRow(*fields))
        predictions: dict[int, list[tuple[float | None, list]]] = {i: [] for i in chunk}
        if results_changed:
            for task_id, score, result in db.session.execute(
                select(Prediction.task_id, Prediction.score, Prediction.result).where(
                    Prediction.task_id.in_(chunk)
                )
            ):
                predictions[task_id].append((score, result))
        else:  # the predictions are as they were: their best score is the stored one
            for task_id, row in stored.items():
                predictions[task_id].append((row.prediction_score, []))
        updates, labels = [], []
        for task_id in chunk:
            preds = predictions[task_id]
            updates.append(
                {
                    "id": task_id,
                    **summarise(
                        annotations[task_id],
                        [s for s, _ in preds],
                        agreements.get(task_id),
                        policy,
                    ),
                }
            )
            if results_changed:
                labels += label_rows(
                    config, project.id, task_id, annotations[task_id], [r for _, r in preds]
                )
        db.session.execute(update(Task), updates)
        record_state_changes(
            project.id,
            [(u["id"], stored[u["id"]].state, u["state"]) for u in updates if u["id"] in stored],
            by,
            reason,
        )
        shift_project_totals(
            project.id,
            sum(u["annotation_count"] for u in updates)
            - sum(row.annotation_count for row in stored.values()),
            sum(u["pending_count"] for u in updates)
            - sum(row.pending_count for row in stored.values()),
        )
        if results_changed:
            db.session.execute(delete(TaskLabel).where(TaskLabel.task_id.in_(chunk)))
            if labels:
                db.session.execute(insert(TaskLabel), labels)
    _expire_changed_rows()


def record_state_changes(
    project_id: int,
    changes: Iterable[tuple[int, str | None, str]],
    by: User | None,
    reason: str,
) -> int:
    """Add a TaskStateChange for each (task id, state before, state after) that differs
    (before None: the task's creation); returns how many."""
    rows = [
        {
            "task_id": task_id,
            "project_id": project_id,
            "from_state": before,
            "to_state": after,
            "at": utcnow(),
            "by_id": by.id if by is not None else None,
            "reason": (reason or "changed")[:200],
        }
        for task_id, before, after in changes
        if before != after
    ]
    if rows:
        db.session.execute(insert(TaskStateChange), rows)
    return len(rows)


# The settings a task's counts and state are derived from: changing one recounts every task.
POLICY_SETTINGS = ("overlap", "review_criteria", "review_sample_percent")


def recount_chunks(project: Project, by: User | None = None, chunk: int = 2000):
    """Recount every task's columns and state (after the overlap or the review criteria
    change), a chunk at a time; yields the tasks done after each flush, where the caller
    commits. Each chunk is complete in itself: running it again finishes an interrupted run."""
    ids = list(db.session.scalars(select(Task.id).where(Task.project_id == project.id)))
    for start in range(0, len(ids), chunk):
        refresh_tasks(
            project,
            ids[start : start + chunk],
            results_changed=False,
            by=by,
            reason="review settings changed",
        )
        db.session.flush()
        yield start + len(ids[start : start + chunk])


def _expire_changed_rows() -> None:
    """Expire what the bulk statements here and in the callers changed (tasks, annotations,
    scores...), but not users, reviews (written once, never by a bulk statement) or
    projects (their totals move at commit, apply_project_totals): keeping those loaded
    spares the request reloading them."""
    for instance in list(db.session.identity_map.values()):
        if not isinstance(instance, User | Review | Project):
            db.session.expire(instance)


def task_totals(*conditions) -> tuple[int, int]:
    """(annotations, pending annotations) summed over the denormalised counts of the tasks
    that match the conditions."""
    annotations, pending = db.session.execute(
        select(
            func.coalesce(func.sum(Task.annotation_count), 0),
            func.coalesce(func.sum(Task.pending_count), 0),
        ).where(*conditions)
    ).one()
    return annotations, pending


def shift_project_totals(project_id: int, annotations: int, pending: int) -> None:
    """Move the project's totals (Project.annotation_count, pending_count) by these amounts;
    every change to the tasks' counts calls it in the same transaction.

    The shifts are summed and written once, just before the transaction commits
    (apply_project_totals): every verdict of a project writes its row, so written at commit
    the row is held for the commit alone, not for the rest of the request (the review
    stream claims the next item after its verdict) nor for a whole import.
    """
    if annotations or pending:
        shifts = db.session.info.setdefault(TOTAL_SHIFTS, {})
        before = shifts.get(project_id, (0, 0))
        shifts[project_id] = (before[0] + annotations, before[1] + pending)


def unapplied_totals(project_id: int) -> tuple[int, int]:
    """(annotations, pending) this transaction has shifted the project's totals by, not yet
    written: a reader of the totals before the commit adds them."""
    return db.session.info.get(TOTAL_SHIFTS, {}).get(project_id, (0, 0))


def apply_project_totals(session: Session | None = None) -> None:
    """Write the summed shifts of the project totals (in project id order, like the tasks)."""
    session = session or db.session()
    shifts = session.info.pop(TOTAL_SHIFTS, None) or {}
    for project_id, (counted, pending) in sorted(shifts.items()):
        if not (counted or pending):
            continue
        session.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(
                annotation_count=Project.annotation_count + counted,
                pending_count=Project.pending_count + pending,
            )
            .execution_options(synchronize_session=False)
        )
        loaded = session.identity_map.get(identity_key(Project, project_id))
        if loaded is not None:
            session.expire(loaded, ["annotation_count", "pending_count"])


TOTAL_SHIFTS = "reviewapp_project_total_shifts"


@event.listens_for(Session, "before_commit")
def _apply_totals_at_commit(session: Session) -> None:
    apply_project_totals(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_unapplied_totals(session: Session, transaction) -> None:
    # A rollback drops them with the changes they came from; a flush's subtransaction
    # ending is not the end of anything.
    if transaction.parent is None:
        session.info.pop(TOTAL_SHIFTS, None)


def forget_task_counts(project_id: int, task_ids: Sequence[int]) -> None:
    """Take these tasks' counts out of the project's totals: call it before deleting the
    tasks, or all of their annotations. Holds the tasks, so the counts cannot change."""
    lock_tasks(task_ids)
    annotations, pending = task_totals(Task.id.in_(task_ids))
    shift_project_totals(project_id, -annotations, -pending)


def recount_project_totals(project_id: int) -> None:
    """Set the project's totals from its tasks (recompute-metrics, a repair)."""
    # The tasks' columns already hold what the unapplied shifts would add.
    db.session.info.get(TOTAL_SHIFTS, {}).pop(project_id, None)
    annotations, pending = task_totals(Task.project_id == project_id)
    db.session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(annotation_count=annotations, pending_count=pending)
        .execution_options(synchronize_session=False)
    )


def clear_ground_truth(task_ids: Sequence[int]) -> int:
    """Take the ground-truth star off every annotation of these tasks, with the scores and
    label rows that depend on it; returns how many tasks had one."""
    lock_tasks(task_ids)  # else a concurrent fix could write scores against the old star
    db.session.execute(delete(GtScore).where(GtScore.task_id.in_(task_ids)))
    cleared = db.session.execute(
        update(Task)
        .where(Task.id.in_(task_ids), Task.has_ground_truth.is_(True))
        .values(has_ground_truth=False)
    ).rowcount
    db.session.execute(
        update(Annotation)
        .where(Annotation.task_id.in_(task_ids), Annotation.ground_truth.is_(True))
        .values(ground_truth=False)
    )
    db.session.execute(
        delete(TaskLabel).where(TaskLabel.task_id.in_(task_ids), TaskLabel.source == "ground_truth")
    )
    return cleared


def delete_all_annotations(
    project: Project, task_ids: Sequence[int], by: User | None = None
) -> int:
    """Delete every annotation (with its reviews and scores) of these tasks and give the
    tasks the columns of a task with none; returns how many annotations went."""
    project_id = project.id
    forget_task_counts(project_id, task_ids)
    before = db.session.execute(select(Task.id, Task.state).where(Task.id.in_(task_ids))).all()
    delete_scores(task_ids)  # prediction scores against a deleted ground truth too
    deleted = db.session.execute(
        delete(Annotation).where(Annotation.task_id.in_(task_ids))
    ).rowcount
    db.session.execute(
        delete(TaskLabel).where(
            TaskLabel.task_id.in_(task_ids), TaskLabel.source.in_(("annotation", "ground_truth"))
        )
    )
    # The predictions stay, and with them the task's best prediction score.
    empty = summarise([], [], None, ReviewPolicy.of(project))
    del empty["prediction_score"]
    db.session.execute(update(Task).where(Task.id.in_(task_ids)).values(**empty))
    record_state_changes(
        project_id,
        [(task_id, state, empty["state"]) for task_id, state in before],
        by,
        "annotations deleted",
    )
    return deleted
