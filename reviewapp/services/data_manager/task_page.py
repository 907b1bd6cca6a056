"""Everything the task page shows about one task, loaded in a fixed number of queries.

`task_detail` runs four queries whatever the number of annotations: annotations with
their annotators, predictions, reviews with their reviewers, reviewer assignments with
who assigned them. The agreement receipt and the ground-truth accuracy are computed
here from those rows with `reviewapp.services.metrics.agreement`, the same functions that fill
the task's denormalised agreement column, so the page and the table cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, parse_label_config
from reviewapp.labeling.config import REGION_TAGS, Control
from reviewapp.models import (
    Annotation,
    Prediction,
    Project,
    Review,
    ReviewerAssignment,
    Task,
    TaskStateChange,
    User,
)
from reviewapp.services.metrics.agreement import Comparison, compare


@dataclass(frozen=True)
class ReviewEntry:
    """One verdict on one annotation."""

    id: int
    annotation_id: int
    annotator_email: str
    reviewer_email: str
    verdict: str
    comment: str
    reason: str
    fix_size: float | None
    created_at: datetime


@dataclass
class AnnotationEntry:
    id: int
    annotator_email: str
    annotator_name: str
    result: list
    review_status: str
    ground_truth: bool
    was_cancelled: bool
    lead_time: float | None
    created_at: datetime
    reviews: list[ReviewEntry] = field(default_factory=list)  # newest first
    gt_accuracy: GroundTruthScore | None = None  # None for the GT itself, skipped, or no GT

    @property
    def label(self) -> str:
        """How tabs, matrix headers and the receipt name this annotation."""
        return f"{self.annotator_email} #{self.id}"


@dataclass
class PredictionEntry:
    id: int
    model_version: str
    score: float | None
    result: list
    created_at: datetime
    gt_accuracy: GroundTruthScore | None = None

    @property
    def label(self) -> str:
        return f"{self.model_version or 'prediction'} #{self.id}"


@dataclass(frozen=True)
class ReviewerEntry:
    """A reviewer of the task: assigned to it, or who reviewed one of its annotations."""

    email: str
    assigned_at: datetime | None  # None: reviewed without being assigned
    assigned_by_email: str | None
    review_count: int
    last_reviewed_at: datetime | None


@dataclass(frozen=True)
class RegionMatch:
    a: str  # the region in words, see describe_region
    b: str
    iou: float


@dataclass(frozen=True)
class ControlReceipt:
    """One control's part of a pair score, with region matches in words."""

    name: str
    tag: str
    score: float
    detail: str
    matches: list[RegionMatch]
    unmatched_a: list[str]
    unmatched_b: list[str]

    @property
    def is_region(self) -> bool:
        return self.tag in REGION_TAGS


@dataclass(frozen=True)
class Receipt:
    """``s(a, b)`` and how each control contributed to it."""

    score: float
    controls: list[ControlReceipt]


@dataclass(frozen=True)
class PairScore:
    a: AnnotationEntry
    b: AnnotationEntry
    receipt: Receipt

    @property
    def score(self) -> float:
        return self.receipt.score


@dataclass(frozen=True)
class GroundTruthScore:
    """Ground-truth accuracy ``s(result, ground truth)`` of one annotation or prediction."""

    receipt: Receipt

    @property
    def score(self) -> float:
        return self.receipt.score


@dataclass
class TaskDetail:
    task: Task
    config: LabelConfig
    annotations: list[AnnotationEntry]  # id order, skipped ones included
    predictions: list[PredictionEntry]  # id order
    reviewers: list[ReviewerEntry]  # assigned first (by date), then reviewers who were not
    history: list[ReviewEntry]  # every review of the task, newest first
    pairs: list[PairScore]  # every pair of non-skipped annotations, in id order
    agreement: float | None  # mean pair score; None below two non-skipped annotations
    ground_truth: AnnotationEntry | None
    _by_pair: dict[tuple[int, int], PairScore] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_pair = {(p.a.id, p.b.id): p for p in self.pairs}
        self._by_pair.update({(p.b.id, p.a.id): p for p in self.pairs})

    @property
    def compared(self) -> list[AnnotationEntry]:
        """The annotations the pair matrix is over: the non-skipped ones."""
        return [a for a in self.annotations if not a.was_cancelled]

    def pair(self, a_id: int, b_id: int) -> PairScore | None:
        """The pair score of two annotations in either order; None on the diagonal."""
        return self._by_pair.get((a_id, b_id))


@dataclass(frozen=True)
class StateChange:
    from_state: str | None  # None for the first entry: the task's creation or import
    to_state: str
    at: datetime
    by: User | None  # None for the system (a migration, a job without a user)
    reason: str


def state_history(task_id: int) -> list[StateChange]:
    """Every change of the task's state, oldest first."""
    rows = db.session.execute(
        select(TaskStateChange, User)
        .outerjoin(User, User.id == TaskStateChange.by_id)
        .where(TaskStateChange.task_id == task_id)
        .order_by(TaskStateChange.id)
    )
    return [StateChange(c.from_state, c.to_state, c.at, user, c.reason) for c, user in rows]


def task_detail(project: Project, task: Task, scores: bool = True) -> TaskDetail:
    """Load the task page's contents for a task of project.

    With scores False (the review stream) the pair matrix, ground-truth accuracies and
    reviewers are left out and agreement is the task's stored one: a cheaper load.

    Annotations come in id order with annotator, review state and their reviews (newest
    first). The pair matrix covers the non-skipped annotations, scored with
    ``agreement.compare`` at the project's IoU threshold; ``agreement`` is their mean.
    When the task has a ground-truth annotation, every other non-skipped annotation and
    every prediction gets ``s(result, ground truth)``; skipped annotations get none.
    """
    config = parse_label_config(project.label_config)
    threshold, radius = project.iou_threshold, project.keypoint_radius_percent
    annotations = _annotations(task.id)
    by_id = {a.id: a for a in annotations}
    history = _reviews(list(by_id), by_id)
    for review in history:
        by_id[review.annotation_id].reviews.append(review)
    predictions = _predictions(task.id)

    compared = [a for a in annotations if not a.was_cancelled]
    ground_truth = next((a for a in annotations if a.ground_truth), None)
    if not scores:
        return TaskDetail(
            task=task,
            config=config,
            annotations=annotations,
            predictions=predictions,
            reviewers=[],
            history=history,
            pairs=[],
            agreement=task.agreement,
            ground_truth=ground_truth,
        )
    pairs = [
        PairScore(
            a, b, _receipt(config, compare(config, a.result, b.result, threshold, radius), a, b)
        )
        for k, a in enumerate(compared)
        for b in compared[k + 1 :]
    ]
    agreement = math.fsum(p.score for p in pairs) / len(pairs) if pairs else None

    if ground_truth is not None:
        for item in [a for a in compared if a is not ground_truth] + predictions:
            comparison = compare(config, item.result, ground_truth.result, threshold, radius)
            item.gt_accuracy = GroundTruthScore(_receipt(config, comparison, item, ground_truth))

    return TaskDetail(
        task=task,
        config=config,
        annotations=annotations,
        predictions=predictions,
        reviewers=_reviewers(task.id, history),
        history=history,
        pairs=pairs,
        agreement=agreement,
        ground_truth=ground_truth,
    )


def describe_region(control: Control, value: dict) -> str:
    """A region in words: ``"Ada" [0–3] PER`` for a span, ``Circle at 10, 20 (30×40 %)``
    for a box, ``Car polygon of 4 points from 10, 20`` for a polygon, ``Eye point at 10, 20``
    for a key point."""
    if control.tag == "Labels":
        labels = "+".join(value.get("labels") or ()) or "no label"
        text = value.get("text")
        quoted = f'"{text}" ' if isinstance(text, str) and text else ""
        return f"{quoted}[{value.get('start')}–{value.get('end')}] {labels}"
    if control.tag == "KeyPointLabels":
        labels = "+".join(value.get("keypointlabels") or ()) or "no label"
        return f"{labels} point at {_short(value.get('x'))}, {_short(value.get('y'))}"
    if control.tag == "PolygonLabels":
        labels = "+".join(value.get("polygonlabels") or ()) or "no label"
        points = value.get("points") or ()
        first = points[0] if points else ("?", "?")
        return (
            f"{labels} polygon of {len(points)} points from {_short(first[0])}, {_short(first[1])}"
        )
    labels = "+".join(value.get("rectanglelabels") or ()) or "no label"
    x, y, w, h = (_short(value.get(key)) for key in ("x", "y", "width", "height"))
    turned = f" turned {_short(value['rotation'])}°" if value.get("rotation") else ""
    return f"{labels} at {x}, {y} ({w}×{h} %){turned}"


def _short(number: object) -> str:
    return f"{number:.3g}" if isinstance(number, int | float) else "?"


def _annotations(task_id: int) -> list[AnnotationEntry]:
    rows = db.session.execute(
        select(Annotation, User.email, User.name)
        .join(User, User.id == Annotation.completed_by_id)
        .where(Annotation.task_id == task_id)
        .order_by(Annotation.id)
    )
    return [
        AnnotationEntry(
            id=a.id,
            annotator_email=email,
            annotator_name=name,
            result=a.result or [],
            review_status=a.review_status,
            ground_truth=a.ground_truth,
            was_cancelled=a.was_cancelled,
            lead_time=a.lead_time,
            created_at=a.created_at,
        )
        for a, email, name in rows
    ]


def _predictions(task_id: int) -> list[PredictionEntry]:
    rows = db.session.scalars(
        select(Prediction).where(Prediction.task_id == task_id).order_by(Prediction.id)
    )
    return [
        PredictionEntry(
            id=p.id,
            model_version=p.model_version,
            score=p.score,
            result=p.result or [],
            created_at=p.created_at,
        )
        for p in rows
    ]


def _reviews(annotation_ids: list[int], by_id: dict[int, AnnotationEntry]) -> list[ReviewEntry]:
    if not annotation_ids:
        return []
    rows = db.session.execute(
        select(Review, User.email)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.annotation_id.in_(annotation_ids))
        .order_by(Review.created_at.desc(), Review.id.desc())
    )
    return [
        ReviewEntry(
            id=r.id,
            annotation_id=r.annotation_id,
            annotator_email=by_id[r.annotation_id].annotator_email,
            reviewer_email=email,
            verdict=r.verdict,
            comment=r.comment or "",
            reason=r.reason or "",
            fix_size=r.fix_size,
            created_at=r.created_at,
        )
        for r, email in rows
    ]


def _reviewers(task_id: int, history: list[ReviewEntry]) -> list[ReviewerEntry]:
    assigner = aliased(User)
    assigned = db.session.execute(
        select(ReviewerAssignment.created_at, User.email, assigner.email)
        .join(User, User.id == ReviewerAssignment.user_id)
        .outerjoin(assigner, assigner.id == ReviewerAssignment.assigned_by_id)
        .where(ReviewerAssignment.task_id == task_id)
        .order_by(ReviewerAssignment.created_at, ReviewerAssignment.id)
    ).all()
    counts: dict[str, int] = {}
    last: dict[str, datetime] = {}
    for review in history:  # newest first, so the first seen is the latest
        counts[review.reviewer_email] = counts.get(review.reviewer_email, 0) + 1
        last.setdefault(review.reviewer_email, review.created_at)
    entries = [
        ReviewerEntry(email, at, by, counts.get(email, 0), last.get(email))
        for at, email, by in assigned
    ]
    seen = {entry.email for entry in entries}
    entries += [
        ReviewerEntry(email, None, None, counts[email], last[email])
        for email in sorted(counts)
        if email not in seen
    ]
    return entries


def _receipt(config: LabelConfig, comparison: Comparison, a, b) -> Receipt:
    """The comparison with each region index replaced by the region in words."""
    controls = []
    for name, part in comparison.controls.items():
        control = config.controls[name]
        regions_a = _regions(control, a.result)
        regions_b = _regions(control, b.result)
        controls.append(
            ControlReceipt(
                name=name,
                tag=control.tag,
                score=part.score,
                detail=part.detail,
                matches=[
                    RegionMatch(regions_a[i], regions_b[j], iou) for i, j, iou in part.matches
                ],
                unmatched_a=[regions_a[i] for i in part.unmatched_a],
                unmatched_b=[regions_b[j] for j in part.unmatched_b],
            )
        )
    return Receipt(comparison.score, controls)


def _regions(control: Control, result: list) -> list[str]:
    """The control's regions in the order ``agreement.compare`` indexes them."""
    if control.tag not in REGION_TAGS:
        return []
    return [
        describe_region(control, item.get("value") or {})
        for item in result
        if item.get("from_name") == control.name
    ]
