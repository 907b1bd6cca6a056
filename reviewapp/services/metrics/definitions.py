"""The dashboard's numbers as plain dataclasses, and the formulas that turn aggregates into
them. No flask, no database: `reviewapp.services.metrics.aggregates` feeds these from SQL.

Every metric's definition is in the docstring of the field or function that holds it, so a
number on the dashboard can be checked by hand (DESIGN.md, "Metrics").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reviewapp.services.metrics.intervals import wilson

# Below this many items a number is shown greyed with its n ("too few to trust").
MIN_N = 5
# Gaps between a reviewer's consecutive reviews longer than this count as this long.
REVIEW_GAP_CAP_SECONDS = 600.0
BUCKETS = 10
# A task agreement this close below a bucket boundary counts in the upper bucket, so that a
# value shown as 30% is never put in the 20-30% bar by floating-point rounding.
BUCKET_EPSILON = 1e-9


@dataclass(frozen=True)
class Summary:
    """Project totals. Annotation counts are over non-skipped annotations; review counts are
    each annotation's latest verdict (its review_status)."""

    tasks: int
    annotated_tasks: int  # with at least one non-skipped annotation
    fully_annotated_tasks: int  # with at least `overlap` non-skipped annotations
    overlap: int
    annotations: int
    skipped: int
    accepted: int
    fixed: int
    rejected: int
    pending: int
    ground_truth_tasks: int
    mean_agreement: float | None  # mean of Task.agreement over tasks that have one
    agreement_tasks: int  # tasks with an agreement (two or more non-skipped annotations)
    low_agreement_tasks: int  # tasks whose agreement is below the threshold
    low_agreement_threshold: float

    @property
    def reviewed(self) -> int:
        return self.accepted + self.fixed + self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return acceptance_rate(self.accepted, self.fixed, self.reviewed)

    @property
    def acceptance_rate_ci(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the acceptance rate (n = reviewed)."""
        return wilson(self.accepted + self.fixed, self.reviewed)


@dataclass(frozen=True)
class AnnotatorRow:
    """One annotator's line of the Annotator Performance table.

    - annotations, skipped: their non-skipped and skipped annotations in the project;
      accepted / fixed / rejected / pending: latest verdicts of the non-skipped ones.
    - acceptance_rate: (accepted + fixed) / (accepted + fixed + rejected).
    - agreement: mean of ``s`` over every stored pair of annotations of one task where one
      annotation is theirs and the other another annotator's; agreement_n = those pairs.
    - gt_accuracy: mean ``s(annotation, ground truth)`` over their non-ground-truth,
      non-skipped annotations on tasks with ground truth; gt_n = those annotations.
    - mean_fix_size: mean fix size ``1 - s(before, after)`` over every Fix & Accept review
      of their annotations; fix_n = those reviews.
    - median_lead_time: median lead time in seconds of their non-skipped annotations that
      have one; lead_time_n = those annotations.
    - last_active: when they created their latest annotation (skipped ones included).
    - first_pass_acceptance: first_pass / first_pass_n, where first_pass_n counts their
      non-skipped annotations with at least one review and first_pass those of them now
      accepted or fixed that no review ever rejected (see ``first_pass``).
    - times_rejected: every rejection their annotations received, each round counted.
    """

    id: int
    email: str
    name: str
    annotations: int
    skipped: int
    accepted: int
    fixed: int
    rejected: int
    pending: int
    agreement: float | None = None
    agreement_n: int = 0
    gt_accuracy: float | None = None
    gt_n: int = 0
    mean_fix_size: float | None = None
    fix_n: int = 0
    median_lead_time: float | None = None
    lead_time_n: int = 0
    last_active: datetime | None = None
    first_pass: int = 0
    first_pass_n: int = 0
    times_rejected: int = 0

    @property
    def first_pass_acceptance(self) -> float | None:
        return self.first_pass / self.first_pass_n if self.first_pass_n else None

    @property
    def first_pass_acceptance_ci(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the first-pass acceptance (n = first_pass_n)."""
        return wilson(self.first_pass, self.first_pass_n)

    @property
    def reviewed(self) -> int:
        return self.accepted + self.fixed + self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return acceptance_rate(self.accepted, self.fixed, self.reviewed)

    @property
    def acceptance_rate_ci(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the acceptance rate (n = reviewed)."""
        return wilson(self.accepted + self.fixed, self.reviewed)

    @property
    def label(self) -> str:
        return self.name or self.email


@dataclass(frozen=True)
class Cell:
    """A mean score with the number of items it is the mean of (None when n is 0)."""

    score: float | None
    n: int

    @property
    def few(self) -> bool:
        """Too few items to trust: shown greyed."""
        return self.n < MIN_N


@dataclass(frozen=True)
class Rater:
    """A row/column of the agreement matrix: an annotator, or a model version."""

    key: str  # "u<id>" or "m<model version>"
    label: str
    user_id: int | None = None
    email: str | None = None
    model_version: str | None = None

    @property
    def is_model(self) -> bool:
        return self.model_version is not None


@dataclass(frozen=True)
class Matrix:
    """Annotator agreement matrix.

    ``cells[i][j]`` is the mean of ``s`` over the pairs of annotations of one task by raters
    i and j, with n = the number of those pairs, which is the number of tasks both
    annotated (an annotator annotates a task once). The diagonal is empty. ``avg[i]`` is
    the mean over all of rater i's pairs with annotators (the "Avg" row). Model versions
    (when included) are compared on a bounded sample of tasks, see ``sample_tasks``.
    """

    raters: list[Rater]
    cells: list[list[Cell]]
    avg: list[Cell]
    sample_tasks: int | None = None  # tasks the model columns were computed on


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    count: int

    @property
    def label(self) -> str:
        return f"{self.low * 100:.0f}–{self.high * 100:.0f}%"


@dataclass(frozen=True)
class Histogram:
    """Task agreement in 10 buckets: bucket k holds k/10 <= agreement < (k+1)/10, the last
    one also 1.0. Tasks without an agreement are not counted."""

    buckets: list[Bucket]

    @property
    def total(self) -> int:
        return sum(b.count for b in self.buckets)

    @property
    def peak(self) -> int:
        return max((b.count for b in self.buckets), default=0)


@dataclass(frozen=True)
class ModelRow:
    """A model version: its predictions, and its ground-truth accuracy, the mean
    ``s(prediction, ground truth)`` over its predictions on tasks with ground truth (gt_n)."""

    model_version: str
    predictions: int
    gt_accuracy: float | None
    gt_n: int


@dataclass(frozen=True)
class ReviewerRow:
    """A reviewer's activity in the project: every verdict they gave (re-reviews included).

    median_seconds: the median time per review, where a review's time is the gap since the
    same reviewer's previous review in this project, capped at 10 minutes (a longer gap is
    a break, counted as 10 minutes); their first review has no time. time_n = reviews timed.
    overturned: how many of their verdicts a different reviewer later replaced on the same
    round of the annotation (see ``overturned``); overturn_rate = overturned / reviews.

    Reviewer quality (docs/metrics.md, "Reviewer quality"):
    - gt_accuracy = gt_right / gt_judged: their verdicts judged against ground truth (see
      ``verdict_right``), each on a non-ground-truth annotation of a task with ground truth,
      counted only when it judged the annotation's current result (same round, no later fix).
    - acceptance_rate: (accepted + fixed) / reviews over every verdict they gave; leniency =
      it minus project_acceptance, the same share over every verdict in the project.
    - median_review_time: the median of lease_seconds (from taking the annotation's lease
      to the verdict) over their reviews that have one; review_time_n = those reviews.
    """

    id: int
    email: str
    name: str
    reviews: int
    accepted: int
    fixed: int
    rejected: int
    median_seconds: float | None
    time_n: int
    last_review: datetime | None
    overturned: int = 0  # their verdicts another reviewer replaced (see ``overturned``)
    gt_right: int = 0
    gt_judged: int = 0
    project_acceptance: float | None = None
    median_review_time: float | None = None
    review_time_n: int = 0

    @property
    def overturn_rate(self) -> float | None:
        return self.overturned / self.reviews if self.reviews else None

    @property
    def overturn_rate_ci(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the overturn rate (n = reviews)."""
        return wilson(self.overturned, self.reviews)

    @property
    def gt_accuracy(self) -> float | None:
        return self.gt_right / self.gt_judged if self.gt_judged else None

    @property
    def gt_accuracy_ci(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the accuracy against ground truth (n = gt_judged)."""
        return wilson(self.gt_right, self.gt_judged)

    @property
    def acceptance_rate(self) -> float | None:
        return acceptance_rate(self.accepted, self.fixed, self.reviews)

    @property
    def acceptance_rate_ci(self) -> tuple[float, float] | None:
        return wilson(self.accepted + self.fixed, self.reviews)

    @property
    def leniency(self) -> float | None:
        return leniency(self.acceptance_rate, self.project_acceptance)

    @property
    def label(self) -> str:
        return self.name or self.email


@dataclass(frozen=True)
class AlphaRow:
    """Krippendorff's alpha (nominal) of one Choices control, beside its raw agreement.

    Each task is a unit; each non-skipped annotation that answers the control gives one
    value (multiple choice: the set of choices, written sorted and joined by '|'). Units
    with fewer than two values are left out. ``raw_agreement`` is the share of pairs of
    values within a unit that are equal; ``alpha = 1 - D_o / D_e``
    (see ``alpha_from_counts``). units, values: the pairable units and their values.
    """

    control: str
    multiple: bool
    alpha: float | None
    raw_agreement: float | None
    units: int
    values: int
    equal_pairs: int = 0  # unordered pairs of equal values within a unit
    pairs: int = 0  # unordered pairs of values within a unit

    @property
    def raw_agreement_ci(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of raw agreement, n = pairs (pairs of one task share an
        answer, so they are not independent: the interval is a lower bound on the
        uncertainty)."""
        return wilson(self.equal_pairs, self.pairs)


@dataclass(frozen=True)
class ProjectMetrics:
    summary: Summary
    annotators: list[AnnotatorRow]
    matrix: Matrix
    histogram: Histogram
    models: list[ModelRow]
    reviewers: list[ReviewerRow]
    alpha: list[AlphaRow]
    annotator_order: str = "annotator"
    # Per confusable control, from services.metrics.confusion (not imported here: it reads
    # the database): its ConfusionPair list between annotators, most confused first, and its
    # GtMatrix against ground truth over all annotators.
    confusion: dict[str, list] | None = field(default_factory=dict)  # None: not computed
    confusion_gt: dict[str, object] = field(default_factory=dict)
    # Tasks by the rule that gives their final label (services.metrics.final): "ground_truth"
    # (a ground-truth annotation), "review" (else an accepted or fixed annotation),
    # "annotators" (else majority or consensus winner over the annotations neither skipped
    # nor rejected) and "none" (no rule applies). They add up to the project's tasks.
    final_sources: dict[str, int] = field(default_factory=dict)
    # services.metrics.throughput.Throughput (not imported here); None: not computed.
    throughput: object | None = None


def acceptance_rate(accepted: int, fixed: int, reviewed: int) -> float | None:
    """Acceptance rate: ``(accepted + fixed) / reviewed``, latest verdict of each annotation.

    None when nothing was reviewed.
    """
    if reviewed == 0:
        return None
    return (accepted + fixed) / reviewed


def verdict_right(verdict: str, gt_score: float, threshold: float) -> bool:
    """Whether a verdict agrees with ground truth: an accept or a fix is right when the
    result it let through (the fixed result for a fix) scores at least the low-agreement
    threshold against ground truth; a reject is right when the result scores below it."""
    good = gt_score >= threshold
    return good if verdict in ("accepted", "fixed") else not good


def leniency(rate: float | None, project_rate: float | None) -> float | None:
    """A reviewer's acceptance rate minus the project's (both over every verdict): above 0
    accepts more than the project does. None when either has no verdicts."""
    return None if rate is None or project_rate is None else rate - project_rate


def mean(total: float | None, n: int) -> float | None:
    """total / n, or None for no items."""
    return None if n == 0 or total is None else total / n


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count); None if empty."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def middle_positions(n: int) -> tuple[int, ...]:
    """The 0-based positions, in sorted order, of the value(s) whose mean is the median of n
    values: the middle one, or the two middle ones for an even n; none for n = 0."""
    if n == 0:
        return ()
    return (n // 2,) if n % 2 else (n // 2 - 1, n // 2)


def review_gaps(seconds: Sequence[float], cap: float = REVIEW_GAP_CAP_SECONDS) -> list[float]:
    """Seconds between consecutive reviews (their times in seconds, in order), each capped
    at ``cap``."""
    return [min(later - earlier, cap) for earlier, later in zip(seconds, seconds[1:], strict=False)]


def bucket_of(agreement: float) -> int:
    """The histogram bucket of a task agreement in 0..1: the largest k with
    ``agreement >= k / 10 - BUCKET_EPSILON`` (the SQL in metrics uses the same test)."""
    return max(k for k in range(BUCKETS) if k == 0 or agreement >= k / BUCKETS - BUCKET_EPSILON)


def bucket_bounds() -> list[tuple[int, float | None, float | None]]:
    """``(k, low, high)`` of each histogram bucket: bucket k holds the agreements with
    ``low <= agreement < high`` (None: unbounded), the same as `bucket_of`."""
    edges = [k / BUCKETS - BUCKET_EPSILON for k in range(BUCKETS)]
    return [
        (k, edges[k] if k else None, edges[k + 1] if k + 1 < BUCKETS else None)
        for k in range(BUCKETS)
    ]


def histogram(counts: Mapping[int, int]) -> Histogram:
    """The 10 buckets from {bucket index: tasks}."""
    return Histogram(
        [Bucket(k / BUCKETS, (k + 1) / BUCKETS, counts.get(k, 0)) for k in range(BUCKETS)]
    )


def alpha_from_counts(observed: float, n: int, totals: Iterable[int]) -> float | None:
    """Krippendorff's alpha (nominal) from the sums over pairable units (two values or more).

    With ``m_u`` values in unit u, ``n_uc`` of them equal to c, ``n = sum m_u``,
    ``n_c = sum_u n_uc`` (``totals``) and
    ``observed = sum_u (m_u**2 - sum_c n_uc**2) / (m_u - 1)``::

        alpha = 1 - (n - 1) * observed / (n**2 - sum_c n_c**2)

    the same formula as ``services.metrics.agreement.krippendorff_alpha_nominal``, taking the sums
    from a SQL aggregate instead of the units. None when there are no values, or when all
    values are equal (expected disagreement 0).
    """
    expected = n * n - sum(c * c for c in totals)
    if n == 0 or expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected


def raw_agreement(agreeing_pairs: float, pairs: float) -> float | None:
    """Share of equal pairs of values within units; None without pairs."""
    return agreeing_pairs / pairs if pairs else None


def alpha_row(
    control: str, multiple: bool, groups: Iterable[tuple[int, object, int, int]]
) -> AlphaRow:
    """Alpha and raw agreement of a control from its pairable units in groups
    ``(m, c, k, units)``: ``units`` units of m values in which k values are c.

    With ``n_uc = k`` and ``m_u = m``, the sums of `alpha_from_counts` are::

        n = sum k * units            n_c = sum over groups of c of k * units
        observed = sum_m (sum k * (m - k) * units) / (m - 1)
        (as m**2 - sum_c n_uc**2 = sum_c n_uc * (m - n_uc))
        equal pairs = sum k * (k - 1) * units, pairs = sum k * (m - 1) * units

    and the number of units is ``sum_m (sum k * units) / m``, as a unit's k add up to m.
    Each sum over one m is an integer, so only one division per unit size is inexact.
    """
    totals: dict[object, int] = {}
    values_by_size: dict[int, int] = {}
    disagreeing_by_size: dict[int, int] = {}
    agreeing = pairs = 0
    for m, value, k, units in groups:
        if m < 2:  # not pairable
            continue
        totals[value] = totals.get(value, 0) + k * units
        values_by_size[m] = values_by_size.get(m, 0) + k * units
        disagreeing_by_size[m] = disagreeing_by_size.get(m, 0) + k * (m - k) * units
        agreeing += k * (k - 1) * units
        pairs += k * (m - 1) * units
    n = sum(totals.values())
    observed = sum(d / (m - 1) for m, d in disagreeing_by_size.items())
    return AlphaRow(
        control=control,
        multiple=multiple,
        alpha=alpha_from_counts(observed, n, totals.values()),
        raw_agreement=raw_agreement(agreeing, pairs),
        units=sum(values // m for m, values in values_by_size.items()),
        values=n,
        # Ordered pairs were counted: each unordered pair twice.
        equal_pairs=agreeing // 2,
        pairs=pairs // 2,
    )


def build_matrix(
    raters: Sequence[Rater],
    pair_totals: Mapping[tuple[str, str], tuple[float, int]],
    sample_tasks: int | None = None,
) -> Matrix:
    """The symmetric matrix from (sum of s, number of pairs) per ordered pair of rater keys.

    Totals given for (a, b) and (b, a) are added; pairs of a rater with itself are left out
    (the diagonal is empty). ``avg`` of a rater sums its pairs with annotators only, so an
    annotator's Avg equals their agreement in the performance table.
    """
    totals: dict[tuple[str, str], list] = {}
    for (a, b), (total, n) in pair_totals.items():
        if a == b:
            continue
        for key in ((a, b), (b, a)):
            entry = totals.setdefault(key, [0.0, 0])
            entry[0] += total
            entry[1] += n

    def cell(a: str, b: str) -> Cell:
        total, n = totals.get((a, b), (0.0, 0)) if a != b else (0.0, 0)
        return Cell(mean(total, n), n)

    cells = [[cell(r.key, c.key) for c in raters] for r in raters]
    avg = []
    for r in raters:
        total, n = 0.0, 0
        for c in raters:
            if c.key != r.key and not c.is_model and (r.key, c.key) in totals:
                total += totals[r.key, c.key][0]
                n += totals[r.key, c.key][1]
        avg.append(Cell(mean(total, n), n))
    return Matrix(list(raters), cells, avg, sample_tasks)


ANNOTATOR_ORDERS = {
    "annotator": lambda r: r.label.lower(),
    "annotations": lambda r: r.annotations,
    "skipped": lambda r: r.skipped,
    "accepted": lambda r: r.accepted,
    "fixed": lambda r: r.fixed,
    "rejected": lambda r: r.rejected,
    "pending": lambda r: r.pending,
    "acceptance_rate": lambda r: r.acceptance_rate,
    "first_pass_acceptance": lambda r: r.first_pass_acceptance,
    "times_rejected": lambda r: r.times_rejected,
    "agreement": lambda r: r.agreement,
    "gt_accuracy": lambda r: r.gt_accuracy,
    "mean_fix_size": lambda r: r.mean_fix_size,
    "median_lead_time": lambda r: r.median_lead_time,
    "last_active": lambda r: r.last_active,
}


def sort_annotators(rows: Sequence[AnnotatorRow], order: str) -> list[AnnotatorRow]:
    """Rows ordered by a key of ANNOTATOR_ORDERS, "-key" for descending; empty values
    (no items) last in both directions, ties by email. Unknown keys raise KeyError."""
    key = ANNOTATOR_ORDERS[order.lstrip("-")]
    descending = order.startswith("-")
    by_email = sorted(rows, key=lambda r: r.email)
    present = [r for r in by_email if key(r) is not None]
    empty = [r for r in by_email if key(r) is None]
    return sorted(present, key=key, reverse=descending) + empty


def first_pass(verdicts: Sequence[str], status: str) -> bool:
    """Whether a reviewed annotation passed on its first round: it is accepted or fixed now
    and none of its reviews (``verdicts``, every round) rejected it. A return, a
    resubmission and an accept is not a first pass."""
    return bool(verdicts) and status in ("accepted", "fixed") and "rejected" not in verdicts


def overturned(reviews: Sequence[tuple[int, int]]) -> list[bool]:
    """For one annotation's reviews in order, as (reviewer id, round judged): whether each
    was overturned, i.e. the next review is by a different reviewer on the same round (the
    annotator did not change the result in between). A fix leaves its round: the verdict
    that replaces a fix judges the result the fix made."""
    return [
        k + 1 < len(reviews) and reviews[k + 1][1] == r[1] and reviews[k + 1][0] != r[0]
        for k, r in enumerate(reviews)
    ]
