"""The stored agreement scores of tasks: one AgreementPair row per annotation pair, one
GtScore row per annotation or prediction compared with ground truth, and the ChoiceCount
rows Krippendorff's alpha is summed from.

They are what the dashboard aggregates, so every number there is one SQL aggregate at
render time. Definitions (DESIGN.md, "Metrics"), with ``s`` from
``reviewapp.services.metrics.agreement.score`` at the project's IoU threshold:

- AgreementPair: ``s(a, b)`` for every pair of the task's non-skipped annotations, stored
  with ``a.id < b.id`` and both annotators.
- GtScore: when the task has a ground-truth annotation (the first by id if there were
  several), ``s(x, ground truth)`` for every other non-skipped annotation x (with its
  annotator) and every prediction x (with its model version). ``s`` is symmetric, so an
  annotation's score against a non-skipped ground truth is its pair score with it.
- ChoiceCount: for each Choices control that two or more of the task's non-skipped
  annotations answer, how many of them gave each value (`choice_value`), with that number
  of answers as the unit size; so alpha sums integers instead of reading JSON.
- Task agreement: the mean of the task's pair scores (None below two non-skipped
  annotations); ``TaskScores.agreement`` is what the task's ``agreement`` column holds.

`score_task` is pure (plain data in, positions and scores out) and shared by the importer,
which scores before its rows have ids, and by `write_scores`, which rewrites the rows of
stored tasks in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from sqlalchemy import delete, event, false, select, update
from sqlalchemy.orm import Session

from reviewapp.db import CHUNK
from reviewapp.db.bulk_insert import insert_plain_rows
from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, parse_label_config
from reviewapp.models import (
    AgreementPair,
    Annotation,
    ChoiceCount,
    GtScore,
    Prediction,
    Project,
    Task,
)
from reviewapp.services.metrics.agreement import (
    KEYPOINT_RADIUS_PERCENT,
    pairwise,
    score,
    task_agreement,
)

# The longest value key stored as it is (ChoiceCount.value is a String(200)).
VALUE_KEY_LENGTH = 200


class ScorableAnnotation(Protocol):
    """What scoring reads of an annotation (task_state.AnnotationRow is one)."""

    result: list
    was_cancelled: bool
    ground_truth: bool


@dataclass(frozen=True)
class StoredAnnotation:
    result: list
    was_cancelled: bool = False
    ground_truth: bool = False


@dataclass(frozen=True)
class TaskScores:
    """A task's scores by position in the annotation and prediction lists it was given.

    ``pairs``: ``(i, j, s(annotations[i], annotations[j]))`` for i < j, non-skipped only.
    ``annotation_gt``: ``(i, s(annotations[i], ground truth))``.
    ``prediction_gt``: ``(k, s(predictions[k], ground truth))``.
    ``choices``: ``(control, value, count, unit size)``, see `choice_counts`.
    """

    pairs: list[tuple[int, int, float]]
    annotation_gt: list[tuple[int, float]]
    prediction_gt: list[tuple[int, float]]
    choices: list[tuple[str, str, int, int]] = field(default_factory=list)

    @property
    def agreement(self) -> float | None:
        """Task agreement: the mean pair score; None with fewer than two annotations."""
        return task_agreement([s for _, _, s in self.pairs])

    def rows(
        self,
        project_id: int,
        task_id: int,
        annotations: Sequence[tuple[int, int]],
        predictions: Sequence[tuple[int, str]],
    ) -> tuple[list[dict], list[dict]]:
        """AgreementPair and GtScore rows, given (id, user id) of each annotation and
        (id, model version) of each prediction, in the positions that were scored."""
        pairs = []
        for i, j, s in self.pairs:
            (a_id, a_user), (b_id, b_user) = annotations[i], annotations[j]
            if a_id > b_id:
                (a_id, a_user), (b_id, b_user) = (b_id, b_user), (a_id, a_user)
            pairs.append(
                {
                    "project_id": project_id,
                    "task_id": task_id,
                    "annotation_a_id": a_id,
                    "annotation_b_id": b_id,
                    "user_a_id": a_user,
                    "user_b_id": b_user,
                    "score": s,
                }
            )
        gt = [
            {
                "project_id": project_id,
                "task_id": task_id,
                "annotation_id": annotations[i][0],
                "prediction_id": None,
                "user_id": annotations[i][1],
                "model_version": None,
                "score": s,
            }
            for i, s in self.annotation_gt
        ]
        gt += [
            {
                "project_id": project_id,
                "task_id": task_id,
                "annotation_id": None,
                "prediction_id": predictions[k][0],
                "user_id": None,
                "model_version": predictions[k][1],
                "score": s,
            }
            for k, s in self.prediction_gt
        ]
        return pairs, gt

    def choice_rows(self, project_id: int, task_id: int) -> list[dict]:
        """The task's ChoiceCount rows."""
        return [
            {
                "task_id": task_id,
                "control": control,
                "value": value,
                "project_id": project_id,
                "count": count,
                "unit_size": size,
            }
            for control, value, count, size in self.choices
        ]


@lru_cache(maxsize=4096)
def choice_value(choices: frozenset[str]) -> str:
    """The stored key of one answer to a Choices control: its set of choices, sorted, as a
    JSON list (``["Positive"]``, ``["A", "B"]``), so equal sets are equal whatever their
    order. A key longer than VALUE_KEY_LENGTH is stored as ``sha256:`` and its hex digest:
    alpha only asks whether two answers are equal. Cached: a project has few answers."""
    key = json.dumps(sorted(choices), ensure_ascii=False)
    if len(key) > VALUE_KEY_LENGTH:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def choice_counts(results: Iterable[list]) -> list[tuple[str, str, int, int]]:
    """``(control, value, count, unit size)`` from the results of a task's non-skipped
    annotations: each answers a Choices control with the union of the choices of its
    "choices" items for it (none picked: no answer). For each control answered at least
    twice, ``count`` of the ``unit size`` answers have that value. Sorted; pure."""
    answers: dict[str, dict[str, int]] = {}
    for result in results:
        picked: dict[str, frozenset[str]] = {}
        for item in result:
            if item.get("type") == "choices":
                name = item.get("from_name")
                chosen = frozenset((item.get("value") or {}).get("choices") or ())
                picked[name] = picked.get(name, frozenset()) | chosen
        for name, chosen in picked.items():
            if chosen:
                counts = answers.setdefault(name, {})
                key = choice_value(chosen)
                counts[key] = counts.get(key, 0) + 1
    rows = []
    for name, counts in answers.items():
        size = sum(counts.values())
        if size >= 2:
            rows += [(name, value, count, size) for value, count in counts.items()]
    return sorted(rows)


def score_task(
    config: LabelConfig,
    iou_threshold: float,
    annotations: Sequence[ScorableAnnotation],
    predictions: Sequence[list],
    keypoint_radius: float = KEYPOINT_RADIUS_PERCENT,
) -> TaskScores:
    """Score one task: every pair of non-skipped annotations, and when an annotation is
    ground truth (the first one if several), every other non-skipped annotation and every
    prediction result against it; and count the answers to its Choices controls. Skipped
    annotations get no score and no answer. Pure."""
    done = [i for i, a in enumerate(annotations) if not a.was_cancelled]
    pairs = [
        (done[i], done[j], s)
        for i, j, s in pairwise(
            config, [annotations[i].result for i in done], iou_threshold, keypoint_radius
        )
    ]
    choices = choice_counts([annotations[i].result for i in done])
    truth = next((i for i, a in enumerate(annotations) if a.ground_truth), None)
    if truth is None:
        return TaskScores(pairs, [], [], choices)
    by_pair = {(i, j): s for i, j, s in pairs}
    truth_result = annotations[truth].result
    annotation_gt = []
    for i in done:
        if i == truth:
            continue
        s = by_pair.get((min(i, truth), max(i, truth)))
        if s is None:  # the ground truth itself was skipped, so it is in no pair
            s = score(config, annotations[i].result, truth_result, iou_threshold, keypoint_radius)
        annotation_gt.append((i, s))
    prediction_gt = [
        (k, score(config, result, truth_result, iou_threshold, keypoint_radius))
        for k, result in enumerate(predictions)
    ]
    return TaskScores(pairs, annotation_gt, prediction_gt, choices)


def lock_tasks(task_ids: Iterable[int]) -> None:
    """Hold these tasks until the transaction ends, so that the writers that derive columns
    and scores from a task's annotations, or check them before writing, take turns.

    Call it before reading what the write depends on; later statements see what the
    previous holder committed (READ COMMITTED). PostgreSQL: the task rows, in ascending id
    order so that two transactions locking overlapping sets queue instead of deadlocking,
    with FOR NO KEY UPDATE, the lock an UPDATE takes: it neither waits for nor blocks the
    inserts that reference a task (annotations, reviews, scores), whose foreign-key checks
    take KEY SHARE. SQLite has one writer at a time: a write that changes nothing takes
    that lock, if the transaction does not hold it already.
    """
    held = db.session.info.setdefault(HELD_TASKS, set())
    ids = sorted(set(task_ids) - held)
    if not ids:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        if not held:
            db.session.execute(update(Task).where(false()).values(id=Task.id))
        held.update(ids)
        return
    for start in range(0, len(ids), CHUNK):
        db.session.execute(
            select(Task.id)
            .where(Task.id.in_(ids[start : start + CHUNK]))
            .order_by(Task.id)
            .with_for_update(key_share=True)
        )
    held.update(ids)


def lock_task_of_annotation(annotation_id: int) -> int | None:
    """lock_tasks for the task of this annotation, in one round trip: the task's id, or
    None when the annotation is gone."""
    held = db.session.info.setdefault(HELD_TASKS, set())
    if db.session.get_bind().dialect.name != "postgresql":
        if not held:
            db.session.execute(update(Task).where(false()).values(id=Task.id))
        task_id = db.session.scalar(
            select(Annotation.task_id).where(Annotation.id == annotation_id)
        )
    else:
        task_id = db.session.scalar(
            select(Task.id)
            .join(Annotation, Annotation.task_id == Task.id)
            .where(Annotation.id == annotation_id)
            .with_for_update(of=Task, key_share=True)
        )
    if task_id is not None:
        held.add(task_id)
    return task_id


# The tasks this session's transaction holds, so that a verdict and the recount it triggers
# take the lock once. Forgotten when any transaction or savepoint ends: a rolled-back
# savepoint releases the locks taken inside it, and locking again is only a round trip.
HELD_TASKS = "reviewapp_held_task_ids"


@event.listens_for(Session, "after_transaction_end")
def _forget_held_tasks(session: Session, transaction) -> None:
    # A flush runs in a subtransaction of its own, which ends without releasing anything.
    if transaction.parent is None or transaction.nested:
        session.info.pop(HELD_TASKS, None)


def write_scores(
    project: Project, task_ids: Iterable[int], config: LabelConfig | None = None
) -> dict[int, float | None]:
    """Delete and rewrite the AgreementPair, GtScore and ChoiceCount rows of these tasks from
    their stored annotations and predictions; return each task's agreement (mean pair score).

    Runs in the caller's transaction (flushes, never commits) and leaves Task.agreement
    to the caller, who writes it with the task's other columns. The caller holds the
    tasks (lock_tasks): two writers of one task would each delete the rows they see and
    insert theirs, the second hitting ChoiceCount's primary key. Under the lock that
    cannot happen, so plain inserts suffice and no ON CONFLICT is needed.
    """
    config = config or parse_label_config(project.label_config)
    ids = sorted(set(task_ids))
    agreements: dict[int, float | None] = {}
    db.session.flush()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        annotations: dict[int, list] = {i: [] for i in chunk}
        for row in db.session.execute(
            select(
                Annotation.task_id,
                Annotation.id,
                Annotation.completed_by_id,
                Annotation.result,
                Annotation.was_cancelled,
                Annotation.ground_truth,
            )
            .where(Annotation.task_id.in_(chunk))
            .order_by(Annotation.id)
        ):
            annotations[row.task_id].append(row)
        predictions: dict[int, list] = {i: [] for i in chunk}
        for row in db.session.execute(
            select(Prediction.task_id, Prediction.id, Prediction.model_version, Prediction.result)
            .where(Prediction.task_id.in_(chunk))
            .order_by(Prediction.id)
        ):
            predictions[row.task_id].append(row)
        pair_rows: list[dict] = []
        gt_rows: list[dict] = []
        choice_rows: list[dict] = []
        for task_id in chunk:
            rows, preds = annotations[task_id], predictions[task_id]
            scores = score_task(
                config,
                project.iou_threshold,
                [StoredAnnotation(r.result or [], r.was_cancelled, r.ground_truth) for r in rows],
                [p.result or [] for p in preds],
                project.keypoint_radius_percent,
            )
            agreements[task_id] = scores.agreement
            pairs, gt = scores.rows(
                project.id,
                task_id,
                [(r.id, r.completed_by_id) for r in rows],
                [(p.id, p.model_version) for p in preds],
            )
            pair_rows += pairs
            gt_rows += gt
            choice_rows += scores.choice_rows(project.id, task_id)
        delete_scores(chunk)
        insert_scores(pair_rows, gt_rows, choice_rows)
    return agreements


def delete_scores(task_ids: Sequence[int]) -> None:
    """Delete the AgreementPair, GtScore and ChoiceCount rows of these tasks."""
    for model in (AgreementPair, GtScore, ChoiceCount):
        db.session.execute(delete(model).where(model.task_id.in_(task_ids)))


def insert_scores(pair_rows: list[dict], gt_rows: list[dict], choice_rows: list[dict]) -> None:
    """Bulk-insert AgreementPair, GtScore and ChoiceCount rows in the session's transaction."""
    insert_plain_rows(AgreementPair.__table__, pair_rows)
    insert_plain_rows(GtScore.__table__, gt_rows)
    insert_plain_rows(ChoiceCount.__table__, choice_rows)


def rescore_chunks(project: Project, chunk: int = 2000) -> Iterator[int]:
    """Rebuild every stored score and Task.agreement of the project (after a change of
    definition or of the IoU threshold), a chunk of tasks at a time.

    Yields the number of tasks done after flushing each chunk: the caller commits there,
    so a large project never holds the database's write lock for long. Each chunk is
    complete in itself, and an interrupted run is finished by running it again.
    """
    config = parse_label_config(project.label_config)
    ids = list(db.session.scalars(select(Task.id).where(Task.project_id == project.id)))
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        lock_tasks(part)
        agreements = write_scores(project, part, config)
        db.session.execute(
            update(Task),
            [{"id": task_id, "agreement": value} for task_id, value in agreements.items()],
        )
        db.session.flush()
        yield start + len(part)
