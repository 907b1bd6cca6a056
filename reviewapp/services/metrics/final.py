"""One final label per task, and where it came from (docs/metrics.md, "Final label").

The first rule that applies gives the task's final result:

1. ``ground_truth``: the task's non-skipped ground-truth annotation (the first by id if
   several are marked, as for ground-truth accuracy).
2. ``review``: else the non-skipped annotation accepted or fixed most recently (its latest
   verdict is the newest; an annotation accepted without a recorded review, as imported,
   counts as older than any reviewed one). Its result is the fixed result for a fix.
3. Else, control by control, over the candidates: the annotations neither skipped nor
   rejected.
   - ``majority`` for a single-choice Choices control: the answer given by most of the
     candidates that answered it; a tie goes to the answer of the earliest candidate among
     those tied. agreement = votes for it / candidates that answered.
   - ``winner`` for every other control: the candidate with the highest mean agreement on
     that control to the other candidates (ties: the earliest). A pair where neither has
     the control agrees fully on it (1, as two empty results do in ``s``), one side only
     scores 0. agreement = that mean; None with a single candidate.
   The result is, per control in config order, the chosen annotation's items of it; the
   task's source is the first control's rule and ``sources`` names each control's.
   When no candidate answered any control (all empty), the earliest candidate's empty
   result is the winner.

For rules 1 and 2 agreement is the mean stored ``s`` between the chosen annotation and the
task's other non-skipped annotations (None without any). A task with neither ground
truth, an accepted or fixed annotation nor a candidate has no final label.

Pure: plain data in (annotations earliest first), a FinalLabel out; the loaders at the end
read a chunk of tasks in a fixed number of queries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig
from reviewapp.models import AgreementPair, Annotation, Review
from reviewapp.services.metrics.agreement import compare

SOURCES = ("ground_truth", "review", "majority", "winner")
FINAL_SOURCE_NAMES = {
    "ground_truth": "ground truth",
    "review": "latest accepted or fixed annotation",
    "majority": "majority of the annotators",
    "winner": "consensus winner (highest mean agreement)",
}


@dataclass(frozen=True)
class FinalInput:
    """What the rules read of one annotation. latest_review: id of its latest review, which
    orders verdicts in time (None: no review recorded)."""

    id: int
    result: list[dict]
    skipped: bool = False
    ground_truth: bool = False
    status: str = "pending"
    latest_review: int | None = None


@dataclass(frozen=True)
class FinalLabel:
    result: list[dict]
    source: str  # one of SOURCES: the rule of the first control
    annotation_ids: list[int]
    agreement: float | None
    sources: dict[str, str] = field(default_factory=dict)  # per control (majority, winner)

    @property
    def mixed(self) -> bool:
        """Its controls came from different rules."""
        return len(set(self.sources.values())) > 1

    def as_json(self) -> dict:
        """The export's and API's ``final`` object; ``sources`` only when rules differ."""
        answer = {
            "result": self.result,
            "source": self.source,
            "annotation_ids": self.annotation_ids,
            "agreement": self.agreement,
        }
        if self.mixed:
            answer["sources"] = self.sources
        return answer


def final_label(
    config: LabelConfig,
    annotations: Sequence[FinalInput],
    pair_scores: Mapping[frozenset[int], float] | None = None,
    iou_threshold: float = 0.0,
) -> FinalLabel | None:
    """The task's final label by the rules of this module's docstring; ``annotations`` are
    the task's, earliest first; ``pair_scores`` the stored ``s`` per pair of annotation ids
    (used for rules 1 and 2). None when no rule applies."""
    done = [a for a in annotations if not a.skipped]
    truth = [a for a in done if a.ground_truth]
    if truth:
        first = min(truth, key=lambda a: a.id)
        return _whole(first, "ground_truth", done, pair_scores or {})
    reviewed = [a for a in done if a.status in ("accepted", "fixed")]
    if reviewed:
        latest = max(reviewed, key=lambda a: (a.latest_review or 0, a.id))
        return _whole(latest, "review", done, pair_scores or {})
    candidates = [a for a in done if a.status != "rejected"]
    if not candidates:
        return None
    return _by_control(config, candidates, iou_threshold)


def _whole(
    chosen: FinalInput, source: str, done: Sequence[FinalInput], pairs: Mapping
) -> FinalLabel:
    keys = (frozenset((chosen.id, a.id)) for a in done if a.id != chosen.id)
    scores = [pairs[key] for key in keys if key in pairs]
    return FinalLabel(chosen.result, source, [chosen.id], _mean(scores))


def _items(result: list[dict], control: str) -> list[dict]:
    return [item for item in result if item.get("from_name") == control]


def _by_control(
    config: LabelConfig, candidates: Sequence[FinalInput], iou_threshold: float
) -> FinalLabel:
    present = [name for name in config.controls if any(_items(a.result, name) for a in candidates)]
    if not present:
        earliest = candidates[0]
        agreement = 1.0 if len(candidates) > 1 else None
        return FinalLabel(list(earliest.result), "winner", [earliest.id], agreement)
    comparisons = None
    result: list[dict] = []
    ids: list[int] = []
    agreements: list[float] = []
    sources: dict[str, str] = {}
    for name in present:
        control = config.controls[name]
        if control.tag == "Choices" and not control.multiple:
            chosen, voters, agreement = _majority(name, candidates)
            sources[name] = "majority"
        else:
            if comparisons is None:
                comparisons = {
                    frozenset((a.id, b.id)): compare(config, a.result, b.result, iou_threshold)
                    for a, b in combinations(candidates, 2)
                }
            chosen, agreement = _winner(name, candidates, comparisons)
            voters = [chosen]
            sources[name] = "winner"
        result += _items(chosen.result, name)
        ids += [a.id for a in voters if a.id not in ids]
        if agreement is not None:
            agreements.append(agreement)
    return FinalLabel(result, sources[present[0]], ids, _mean(agreements), sources)


def _answer(result: list[dict], control: str) -> tuple[str, ...]:
    return tuple(
        sorted(c for item in _items(result, control) for c in item["value"].get("choices", ()))
    )


def _majority(
    control: str, candidates: Sequence[FinalInput]
) -> tuple[FinalInput, list[FinalInput], float]:
    """The earliest candidate giving the majority answer, all who gave it, and their share."""
    voters: dict[tuple[str, ...], list[FinalInput]] = {}
    for a in candidates:
        if _items(a.result, control):
            voters.setdefault(_answer(a.result, control), []).append(a)
    # dict order is first-seen order, so max keeps the earliest answer among those tied.
    best = max(voters.values(), key=len)
    answered = sum(len(group) for group in voters.values())
    return best[0], best, len(best) / answered


def _winner(
    control: str, candidates: Sequence[FinalInput], comparisons: Mapping
) -> tuple[FinalInput, float | None]:
    """The candidate of highest mean agreement on the control to the others (ties: the
    earliest), and that mean (None alone)."""
    if len(candidates) == 1:
        return candidates[0], None
    best, best_mean = candidates[0], -1.0
    for a in candidates:
        scores = []
        for b in candidates:
            if b.id != a.id:
                part = comparisons[frozenset((a.id, b.id))].controls.get(control)
                scores.append(part.score if part is not None else 1.0)
        value = math.fsum(scores) / len(scores)
        if value > best_mean:
            best, best_mean = a, value
    return best, best_mean


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def latest_reviews(task_ids: Iterable[int]) -> dict[int, int]:
    """{annotation id: id of its latest review} over the given tasks' annotations: one
    query, with one parameter per task."""
    return dict(
        db.session.execute(
            select(Review.annotation_id, func.max(Review.id))
            .join(Annotation, Annotation.id == Review.annotation_id)
            .where(Annotation.task_id.in_(list(task_ids)))
            .group_by(Review.annotation_id)
        ).all()
    )


def stored_pair_scores(task_ids: Iterable[int]) -> dict[frozenset[int], float]:
    """The stored ``s`` of every pair of annotations of the given tasks: one query."""
    return {
        frozenset((a, b)): s
        for a, b, s in db.session.execute(
            select(
                AgreementPair.annotation_a_id, AgreementPair.annotation_b_id, AgreementPair.score
            ).where(AgreementPair.task_id.in_(list(task_ids)))
        )
    }


def earliest_first(rows: Iterable) -> list:
    """Annotation rows in the rules' order: created_at, then id (attributes ``created_at``
    and ``id``)."""
    return sorted(rows, key=lambda a: (a.created_at or datetime.min, a.id))


def task_final_label(config: LabelConfig, task_id: int, iou_threshold: float) -> FinalLabel | None:
    """The final label of one task (the task page): three queries."""
    annotations = earliest_first(
        db.session.scalars(select(Annotation).where(Annotation.task_id == task_id)).all()
    )
    latest = latest_reviews([task_id])
    inputs = [
        FinalInput(
            a.id, a.result or [], a.was_cancelled, a.ground_truth, a.review_status, latest.get(a.id)
        )
        for a in annotations
    ]
    return final_label(config, inputs, stored_pair_scores([task_id]), iou_threshold)
