"""Confusion: which choices annotators mix up, with each other and against ground truth.

Definitions (docs/metrics.md, "Confusion pairs" and "Confusion against ground truth"), for
each Choices control of the config. An annotation's answer to a control is the set of
choices its result picks for it (none picked: no answer), as for Krippendorff's alpha.

- Between annotators: for every task and every pair of its non-skipped annotations that
  both answered the control, each choice in one answer and not in the other counts against
  each choice in the other and not in the first: the unordered pair {a, b} counts 1. Two
  different single choices therefore count their pair once.
- Against ground truth: for every non-skipped annotation of a task with a ground-truth
  annotation (the first by id, which is not compared with itself), a choice both give
  counts in cell (choice, choice); the choices only the annotation gives cross those only
  the ground truth gives; when only one side has extra choices they count against None (no
  answer there).

The pure functions take Label Studio results. `project_confusion` feeds the first from the
stored ChoiceCount rows (one SQL aggregate); `project_gt_confusion` reads the annotations of
the ground-truth tasks once.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations, groupby

from sqlalchemy import func, select, true
from sqlalchemy.orm import aliased

from reviewapp.extensions import db
from reviewapp.labeling.config import Control, LabelConfig
from reviewapp.models import Annotation, ChoiceCount, Project, Task, User

# How many pairs per control the dashboard shows (the JSON and the CSV have them all).
TOP_PAIRS = 10

Pair = tuple[str, str]
Cell = tuple[str | None, str | None]
NO_ANSWER: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ConfusionPair:
    """Two choices (a < b) confused with each other ``count`` times."""

    a: str
    b: str
    count: int


@dataclass(frozen=True)
class GtCell:
    answer: str | None  # the annotator's choice; None: no extra choice on their side
    truth: str | None  # the ground truth's choice; None: no extra choice on its side
    count: int


@dataclass(frozen=True)
class GtMatrix:
    """One control's confusion matrix against ground truth: ``labels`` in config order
    (then choices not in the config, then None when a side had nothing to set against the
    other), and its non-empty cells, by row then column."""

    control: str
    labels: list[str | None]
    cells: list[GtCell]

    @property
    def total(self) -> int:
        return sum(c.count for c in self.cells)

    @property
    def rows(self) -> list[list[tuple[str | None, str | None, int]]]:
        """(answer, truth, count) for every answer (row) and truth (column)."""
        counts = {(c.answer, c.truth): c.count for c in self.cells}
        return [[(a, t, counts.get((a, t), 0)) for t in self.labels] for a in self.labels]


def choice_controls(config: LabelConfig) -> list[Control]:
    """The controls confusion is counted for, in config order."""
    return [c for c in config.controls.values() if c.tag == "Choices"]


def choice_answers(names: Iterable[str], result: list[dict]) -> dict[str, frozenset[str]]:
    """The answer of a result to each named Choices control: the union of the choices of
    its "choices" items for it; a control with none picked is left out."""
    wanted = set(names)
    picked: dict[str, frozenset[str]] = {}
    for item in result or []:
        name = item.get("from_name")
        if item.get("type") == "choices" and name in wanted:
            chosen = frozenset((item.get("value") or {}).get("choices") or ())
            picked[name] = picked.get(name, frozenset()) | chosen
    return {name: chosen for name, chosen in picked.items() if chosen}


def set_pairs(a: frozenset[str], b: frozenset[str]) -> list[Pair]:
    """The confusion pairs of two answers: each choice of a not in b against each choice of
    b not in a, as (smaller, larger)."""
    return [(min(x, y), max(x, y)) for x in sorted(a - b) for y in sorted(b - a)]


def task_confusion(names: Iterable[str], results: Sequence[list[dict]]) -> dict[str, Counter[Pair]]:
    """Confusion pairs per control over every pair of a task's results (its non-skipped
    annotations); a pair counts for a control only when both answered it."""
    names = list(names)
    answers = [choice_answers(names, r) for r in results]
    counts: dict[str, Counter[Pair]] = defaultdict(Counter)
    for pa, pb in combinations(answers, 2):
        for name in pa.keys() & pb.keys():
            counts[name].update(set_pairs(pa[name], pb[name]))
    return {name: c for name, c in counts.items() if c}


def choice_pairs_from_counts(
    rows: Iterable[tuple[str, str, str, int]],
) -> dict[str, Counter[Pair]]:
    """Confusion pairs per control from ``(control, value a, value b, pairs)``: ``pairs``
    pairs of annotations of one task answered the control with the two different stored
    values (`scores.choice_value`: JSON lists of choices). Each such pair adds the set
    rule's pairs once, so this equals `task_confusion` summed over the tasks."""
    counts: dict[str, Counter[Pair]] = defaultdict(Counter)
    for control, value_a, value_b, n in rows:
        for pair in set_pairs(frozenset(json.loads(value_a)), frozenset(json.loads(value_b))):
            counts[control][pair] += n
    return {name: c for name, c in counts.items() if c}


def sorted_pairs(counts: Counter[Pair]) -> list[ConfusionPair]:
    """Most confused first; ties by the choices (a, then b)."""
    return [
        ConfusionPair(a, b, n)
        for (a, b), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


@lru_cache(maxsize=4096)
def gt_cells(answer: frozenset[str], truth: frozenset[str]) -> tuple[Cell, ...]:
    """The (answer, truth) cells one answer adds to a control's matrix against the ground
    truth's answer (either may be empty: not answered). Cached: a project has few answers."""
    cells: list[Cell] = [(label, label) for label in sorted(answer & truth)]
    extra, missed = sorted(answer - truth), sorted(truth - answer)
    if extra and missed:
        cells += [(x, y) for x in extra for y in missed]
    else:
        cells += [(x, None) for x in extra] + [(None, y) for y in missed]
    return tuple(cells)


def answer_pairs(
    names: Iterable[str], result: list[dict], truth: list[dict]
) -> Iterator[tuple[str, frozenset[str], frozenset[str]]]:
    """(control, answer, truth's answer) for each control either result answered."""
    names = list(names)
    pa, pt = choice_answers(names, result), choice_answers(names, truth)
    for name in sorted(pa.keys() | pt.keys()):
        yield name, pa.get(name, NO_ANSWER), pt.get(name, NO_ANSWER)


def annotation_gt_cells(
    names: Iterable[str], result: list[dict], truth: list[dict]
) -> dict[str, tuple[Cell, ...]]:
    """Per control, the cells of one annotation's result against the ground truth's."""
    return {name: gt_cells(a, t) for name, a, t in answer_pairs(names, result, truth)}


def gt_matrix(control: Control, counts: Counter[Cell]) -> GtMatrix:
    """The matrix of a control from its cell counts."""
    seen = {label for cell in counts for label in cell}
    order = {label: k for k, label in enumerate(control.labels)}

    def key(label: str | None) -> tuple:
        return (label is None, order.get(label, len(order)), label or "")

    labels = sorted(seen, key=key)
    cells = [
        GtCell(a, t, n)
        for (a, t), n in sorted(counts.items(), key=lambda i: (key(i[0][0]), key(i[0][1])))
    ]
    return GtMatrix(control.name, labels, cells)


@dataclass(frozen=True)
class TaskAnnotation:
    id: int
    user_id: int
    result: list
    was_cancelled: bool
    ground_truth: bool


def truth_and_others(
    annotations: Sequence[TaskAnnotation],
) -> tuple[TaskAnnotation | None, list[TaskAnnotation]]:
    """The task's ground truth (its first ground-truth annotation by id, as for GT accuracy)
    and the other non-skipped annotations, compared with it."""
    ordered = sorted(annotations, key=lambda a: a.id)
    truth = next((a for a in ordered if a.ground_truth), None)
    if truth is None:
        return None, []
    return truth, [a for a in ordered if a is not truth and not a.was_cancelled]


def project_confusion(project: Project, config: LabelConfig) -> dict[str, list[ConfusionPair]]:
    """Confusion pairs between annotators for each Choices control of the project.

    One aggregate over ChoiceCount: a task whose answers to a control take values u and v
    count(u) and count(v) times has count(u) x count(v) pairs of annotations that differ
    so. A control with a hashed (over-long) value cannot be read back from ChoiceCount:
    its tasks' annotations are read instead.
    """
    names = [c.name for c in choice_controls(config)]
    counts: dict[str, Counter[Pair]] = {name: Counter() for name in names}
    if not names:
        return {}
    rows = _choice_value_pairs(project.id, names)
    hashed = {control for control, a, b, _ in rows if _hashed(a) or _hashed(b)}
    for name, found in choice_pairs_from_counts(r for r in rows if r[0] not in hashed).items():
        counts[name].update(found)
    if hashed:
        tasks = select(ChoiceCount.task_id).where(
            ChoiceCount.project_id == project.id, ChoiceCount.control.in_(hashed)
        )
        for _, rows_ in _annotations_of(tasks):
            done = [a.result for a in rows_ if not a.was_cancelled]
            for name, found in task_confusion(hashed, done).items():
                counts[name].update(found)
    return {name: sorted_pairs(c) for name, c in counts.items()}


def _hashed(value: str) -> bool:
    return value.startswith("sha256:")


def _choice_value_pairs(project_id: int, controls: list[str]) -> list[tuple[str, str, str, int]]:
    """(control, value a, value b, pairs of a task's answers with them) for a < b."""
    other = aliased(ChoiceCount)
    return [
        (control, a, b, int(n))
        for control, a, b, n in db.session.execute(
            select(
                ChoiceCount.control,
                ChoiceCount.value,
                other.value,
                func.sum(ChoiceCount.count * other.count),
            )
            .join(
                other,
                (other.task_id == ChoiceCount.task_id)
                & (other.control == ChoiceCount.control)
                & (other.value > ChoiceCount.value),
            )
            .where(
                ChoiceCount.project_id == project_id,
                ChoiceCount.control.in_(controls),
                # A value every answer of the task gave has no other value to differ from.
                ChoiceCount.count < ChoiceCount.unit_size,
            )
            .group_by(ChoiceCount.control, ChoiceCount.value, other.value)
        )
    ]


def _annotations_of(task_ids) -> Iterator[tuple[int, list[TaskAnnotation]]]:
    """(task id, its annotations) for the tasks of a select of task ids, in one query read
    in task order."""
    rows = db.session.execute(
        select(
            Annotation.task_id,
            Annotation.id,
            Annotation.completed_by_id,
            Annotation.result,
            Annotation.was_cancelled,
            Annotation.ground_truth,
        )
        # By task: the project's index would read every annotation of the project.
        .where(Annotation.task_id.in_(task_ids))
        .order_by(Annotation.task_id, Annotation.id)
    )
    for task_id, group in groupby(rows, key=lambda r: r.task_id):
        yield (
            task_id,
            [
                TaskAnnotation(
                    r.id, r.completed_by_id, r.result or [], r.was_cancelled, r.ground_truth
                )
                for r in group
            ],
        )


def _gt_answers(
    project_id: int, names: list[str], annotator_id: int | None
) -> Iterator[tuple[int, str, frozenset[str], frozenset[str]]]:
    """(task id, control, answer, truth's answer) for each annotation compared with ground
    truth and each control it or the ground truth answered; one pass over the annotations
    of the tasks with ground truth."""
    gt_tasks = select(Task.id).where(Task.project_id == project_id, Task.has_ground_truth == true())
    for task_id, rows in _annotations_of(gt_tasks):
        truth, others = truth_and_others(rows)
        if truth is None:  # has_ground_truth is kept exact; this only guards a stale flag
            continue
        truth_answers = choice_answers(names, truth.result)
        for a in others:
            if annotator_id is not None and a.user_id != annotator_id:
                continue
            answers = choice_answers(names, a.result)
            for name in answers.keys() | truth_answers.keys():
                yield (
                    task_id,
                    name,
                    answers.get(name, NO_ANSWER),
                    truth_answers.get(name, NO_ANSWER),
                )


def project_gt_confusion(
    project: Project, config: LabelConfig, annotator_id: int | None = None
) -> dict[str, GtMatrix]:
    """Each Choices control's matrix against ground truth, over all annotators or one."""
    controls = {c.name: c for c in choice_controls(config)}
    if not controls:
        return {}
    # Equal answers give equal cells: count the (answer, truth) pairs, then their cells.
    pairs = Counter(
        (name, a, t) for _, name, a, t in _gt_answers(project.id, list(controls), annotator_id)
    )
    counts: dict[str, Counter[Cell]] = {name: Counter() for name in controls}
    for (name, a, t), n in pairs.items():
        for cell in gt_cells(a, t):
            counts[name][cell] += n
    return {name: gt_matrix(controls[name], c) for name, c in counts.items()}


def gt_confusion_task_ids(
    project: Project,
    config: LabelConfig,
    control: str,
    answer: str | None,
    truth: str | None,
    annotator_id: int | None = None,
) -> list[int]:
    """The tasks counted in one cell of `project_gt_confusion`: those with at least one
    annotation (by the annotator, if given) adding to cell (answer, truth); in id order.
    A control that is not a Choices control of the config matches no task."""
    if control not in {c.name for c in choice_controls(config)}:
        return []
    ids: list[int] = []
    for task_id, _, a, t in _gt_answers(project.id, [control], annotator_id):
        if (answer, truth) in gt_cells(a, t) and (not ids or ids[-1] != task_id):
            ids.append(task_id)
    return ids


def gt_annotators(project_id: int) -> list[tuple[int, str]]:
    """(id, name or email) of everyone with a non-skipped, non-ground-truth annotation on a
    task with ground truth in the project, by name."""
    rows = db.session.execute(
        select(User.id, User.name, User.email).where(
            select(Annotation.id)
            .join(Task, Task.id == Annotation.task_id)
            .where(
                Annotation.project_id == project_id,
                Annotation.completed_by_id == User.id,
                Annotation.was_cancelled.is_(False),
                Annotation.ground_truth.is_(False),
                Task.has_ground_truth == true(),
            )
            .exists()
        )
    )
    people = [(uid, name or email) for uid, name, email in rows]
    return sorted(people, key=lambda p: p[1].lower())
