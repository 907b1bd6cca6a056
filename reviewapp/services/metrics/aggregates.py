"""The project dashboard's numbers, as SQL aggregates over stored rows.

`project_metrics` runs a bounded number of aggregate queries whatever the project's size
(no per-row queries; a few per annotator) and returns the plain dataclasses of
`metrics_core`, whose docstrings state each definition. The HTML dashboard, its CSV
downloads and the JSON API all read that one result, so they cannot disagree.

Pair and ground-truth scores come from the AgreementPair and GtScore rows, and alpha from
the ChoiceCount rows, that `services.derived.scores` keeps current; task counts from the Task
table's denormalised columns; per-annotator counts from the Annotation rows. The queries
over the project's tasks, annotations, pair scores and alpha units each read a covering
index in order (see the indexes in models), so they cost a scan of index entries, never
of table rows or their JSON. Median lead times are read at their positions from an index
in lead-time order, as SQLite has no median.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import (
    Float,
    String,
    case,
    cast,
    exists,
    false,
    func,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, parse_label_config
from reviewapp.models import (
    VERDICTS,
    AgreementPair,
    Annotation,
    ChoiceCount,
    GtScore,
    Prediction,
    Project,
    Review,
    Task,
    User,
)
from reviewapp.services.metrics.agreement import score
from reviewapp.services.metrics.confusion import project_confusion, project_gt_confusion
from reviewapp.services.metrics.definitions import (
    AlphaRow,
    AnnotatorRow,
    Histogram,
    Matrix,
    ModelRow,
    ProjectMetrics,
    Rater,
    ReviewerRow,
    Summary,
    alpha_row,
    bucket_bounds,
    build_matrix,
    histogram,
    mean,
    median,
    middle_positions,
    review_gaps,
    sort_annotators,
)
from reviewapp.services.metrics.throughput import project_throughput

# Model versions in the agreement matrix are scored on the fly on at most this many of the
# latest tasks that have both predictions and annotations.
MODEL_SAMPLE_TASKS = 1000


def project_metrics(
    project: Project,
    order: str = "annotator",
    include_models: bool = False,
    include_confusion: bool = True,
    include_gt_confusion: bool = True,
    include_throughput: bool = True,
) -> ProjectMetrics:
    """Every dashboard number of the project (see metrics_core for each definition).

    ``order`` sorts the annotator rows (a key of metrics_core.ANNOTATOR_ORDERS, "-" for
    descending; KeyError if unknown). ``include_models`` adds the model versions to the
    agreement matrix, scored on a bounded sample (MODEL_SAMPLE_TASKS). ``include_confusion``
    and ``include_gt_confusion`` False leave the confusion pairs (None) and the matrices against
    ground truth (empty) out: the page loads those blocks on their own, after it is shown
    (together about 300 ms at 100k tasks on PostgreSQL). ``include_throughput`` False leaves
    the throughput per day out (None), loaded on its own as well.
    """
    config = parse_label_config(project.label_config)
    pair_totals = _pair_totals(project.id)
    annotators = _annotators(project.id, pair_totals)
    matrix = _matrix(project, config, annotators, pair_totals, include_models)
    hist, agreement_sum, agreement_n, low = _agreement_stats(project)
    return ProjectMetrics(
        summary=_summary(project, annotators, mean(agreement_sum, agreement_n), agreement_n, low),
        annotators=sort_annotators(annotators, order),
        matrix=matrix,
        histogram=hist,
        models=_models(project.id),
        reviewers=_reviewers(project.id, project.low_agreement_threshold),
        alpha=choice_alpha(project, config),
        annotator_order=order,
        confusion=project_confusion(project, config) if include_confusion else None,
        confusion_gt=project_gt_confusion(project, config) if include_gt_confusion else {},
        final_sources=_final_sources(project.id),
        throughput=project_throughput(project.id) if include_throughput else None,
    )


def _final_sources(project_id: int) -> dict[str, int]:
    """Tasks per final-label rule (ProjectMetrics.final_sources) from the task counters: one
    scan of the project's task rows."""
    truth = Task.has_ground_truth == true()
    reviewed = Task.accepted_count + Task.fixed_count > 0
    # annotation_count and rejected_count are over non-skipped annotations.
    candidates = Task.annotation_count > Task.rejected_count
    gt, review, annotators, total = db.session.execute(
        select(
            func.count().filter(truth),
            func.count().filter(~truth, reviewed),
            func.count().filter(~truth, ~reviewed, candidates),
            func.count(),
        ).where(Task.project_id == project_id)
    ).one()
    return {
        "ground_truth": gt,
        "review": review,
        "annotators": annotators,
        "none": total - gt - review - annotators,
    }


def _summary(
    project: Project,
    annotators: list[AnnotatorRow],
    mean_agreement: float | None,
    agreement_n: int,
    low: int,
) -> Summary:
    """Task counts from the Task table; annotation and review counts are the totals of the
    annotator rows, so the summary always equals the table's column sums."""

    def tasks(*conditions):
        # One count per index range, rather than one scan of the task rows.
        return (
            select(func.count())
            .select_from(Task)
            .where(Task.project_id == project.id, *conditions)
            .scalar_subquery()
        )

    all_tasks, annotated, full, gt = db.session.execute(
        select(
            tasks(),
            tasks(Task.annotation_count > 0),
            tasks(Task.annotation_count >= max(project.overlap, 1)),
            tasks(Task.has_ground_truth == true()),
        )
    ).one()
    return Summary(
        tasks=all_tasks,
        annotated_tasks=annotated,
        fully_annotated_tasks=full,
        overlap=project.overlap,
        annotations=sum(a.annotations for a in annotators),
        skipped=sum(a.skipped for a in annotators),
        accepted=sum(a.accepted for a in annotators),
        fixed=sum(a.fixed for a in annotators),
        rejected=sum(a.rejected for a in annotators),
        pending=sum(a.pending for a in annotators),
        ground_truth_tasks=gt,
        mean_agreement=mean_agreement,
        agreement_tasks=agreement_n,
        low_agreement_tasks=low,
        low_agreement_threshold=project.low_agreement_threshold,
    )


def _agreement_stats(project: Project) -> tuple[Histogram, float | None, int, int]:
    """Per histogram bucket the tasks and the sum of their agreement, and the tasks below
    the low-agreement threshold: each a count over one range of the (project, agreement)
    index."""
    ranges = []
    for k, low, high in bucket_bounds():
        bounds = [Task.agreement >= low] if low is not None else []
        if high is not None:
            bounds.append(Task.agreement < high)
        ranges.append((literal_column(str(k)), bounds))
    ranges.append((literal_column("-1"), [Task.agreement < project.low_agreement_threshold]))
    rows = db.session.execute(
        union_all(
            *[
                select(k, func.count(), func.sum(Task.agreement)).where(
                    Task.project_id == project.id, Task.agreement.is_not(None), *bounds
                )
                for k, bounds in ranges
            ]
        )
    ).all()
    counts = {int(k): n for k, n, _ in rows if k >= 0}
    n = sum(counts.values())
    total = sum(float(s) for k, _, s in rows if k >= 0 and s is not None) if n else None
    low = next(n for k, n, _ in rows if k < 0)
    return histogram(counts), total, n, low


def _pair_totals(project_id: int) -> dict[tuple[int, int], tuple[float, int]]:
    """(sum of s, pairs) per (user a, user b) over the project's AgreementPair rows."""
    rows = db.session.execute(
        select(
            AgreementPair.user_a_id,
            AgreementPair.user_b_id,
            func.sum(AgreementPair.score),
            func.count(),
        )
        .where(AgreementPair.project_id == project_id)
        .group_by(AgreementPair.user_a_id, AgreementPair.user_b_id)
    )
    return {(a, b): (float(total), n) for a, b, total, n in rows}


def _sums(statement) -> dict:
    """{key: (sum, n)} from a select of (key, SUM(x), COUNT(x)) rows; a NULL sum is 0."""
    return {key: (float(total or 0), n) for key, total, n in db.session.execute(statement)}


def _annotators(
    project_id: int, pair_totals: dict[tuple[int, int], tuple[float, int]]
) -> list[AnnotatorRow]:
    """Every user with an annotation in the project (members or not), unsorted.

    Counts come from one scan grouped by (annotator, skipped, verdict), each group with its
    latest created_at; median lead times from `_median_lead_times`.
    """
    latest = aliased(Annotation)
    last_created = (
        select(func.max(latest.created_at))
        .where(
            latest.project_id == project_id,
            latest.completed_by_id == Annotation.completed_by_id,
            latest.was_cancelled == Annotation.was_cancelled,
            latest.review_status == Annotation.review_status,
        )
        .scalar_subquery()
    )
    groups = db.session.execute(
        select(
            Annotation.completed_by_id,
            Annotation.was_cancelled,
            Annotation.review_status,
            func.count(),
            last_created,
        )
        .where(Annotation.project_id == project_id)
        .group_by(Annotation.completed_by_id, Annotation.was_cancelled, Annotation.review_status)
    ).all()
    if not groups:
        return []
    statuses = ("accepted", "fixed", "rejected", "pending")
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(statuses, 0))
    done: dict[int, int] = defaultdict(int)
    skipped: dict[int, int] = defaultdict(int)
    last: dict[int, datetime] = {}
    for uid, cancelled, status, n, latest_at in groups:
        if cancelled:
            skipped[uid] += n
        else:
            done[uid] += n
            counts[uid][status] += n
        if uid not in last or latest_at > last[uid]:
            last[uid] = latest_at
    people = {
        uid: (email, name)
        for uid, email, name in db.session.execute(
            select(User.id, User.email, User.name).where(User.id.in_(list(last)))
        )
    }
    gt = _sums(
        select(GtScore.user_id, func.sum(GtScore.score), func.count())
        .where(GtScore.project_id == project_id, GtScore.annotation_id.is_not(None))
        .group_by(GtScore.user_id)
    )
    fixes = _fix_sizes(project_id)
    passes = _first_passes(project_id)
    lead_times = _median_lead_times(project_id, done)
    agreement: dict[int, list] = defaultdict(lambda: [0.0, 0])
    for (a, b), (total, n) in pair_totals.items():
        if a != b:
            for uid in (a, b):
                agreement[uid][0] += total
                agreement[uid][1] += n
    rows = []
    for uid in last:
        email, name = people[uid]
        pair_sum, pair_n = agreement.get(uid, (0.0, 0))
        gt_sum, gt_n = gt.get(uid, (0.0, 0))
        fix_sum, fix_n = fixes.get(uid, (0.0, 0))
        lead_time, lead_n = lead_times.get(uid, (None, 0))
        rows.append(
            AnnotatorRow(
                id=uid,
                email=email,
                name=name or "",
                annotations=done[uid],
                skipped=skipped[uid],
                accepted=counts[uid]["accepted"],
                fixed=counts[uid]["fixed"],
                rejected=counts[uid]["rejected"],
                pending=counts[uid]["pending"],
                agreement=mean(pair_sum, pair_n),
                agreement_n=pair_n,
                gt_accuracy=mean(gt_sum, gt_n),
                gt_n=gt_n,
                mean_fix_size=mean(fix_sum, fix_n),
                fix_n=fix_n,
                median_lead_time=lead_time,
                lead_time_n=lead_n,
                last_active=last[uid],
                **passes.get(uid, {}),
            )
        )
    return rows


def _median_lead_times(
    project_id: int, done: dict[int, int]
) -> dict[int, tuple[float | None, int]]:
    """(median lead time, n) of each annotator's non-skipped annotations with a lead time,
    given their non-skipped counts: the annotations without one are counted, then the
    middle value(s) read at their offset in the (annotator, lead time) index."""
    medians = {}
    for uid, count in done.items():
        # Equalities only (not IS), so PostgreSQL too reads the index in lead-time order.
        theirs = (
            Annotation.project_id == project_id,
            Annotation.completed_by_id == uid,
            Annotation.was_cancelled == false(),
        )
        without = db.session.scalar(
            select(func.count())
            .select_from(Annotation)
            .where(*theirs, Annotation.lead_time.is_(None))
        )
        n = count - without
        positions = middle_positions(n)
        values = []
        if positions:
            values = db.session.scalars(
                select(Annotation.lead_time)
                .where(*theirs, Annotation.lead_time.is_not(None))
                .order_by(Annotation.lead_time)
                .offset(positions[0])
                .limit(len(positions))
            ).all()
        medians[uid] = (sum(values) / len(values) if values else None, n)
    return medians


def _fix_sizes(project_id: int) -> dict[int, tuple[float, int]]:
    """(sum of fix sizes, Fix & Accept reviews) per author of the fixed annotation."""
    return _sums(
        select(Annotation.completed_by_id, func.sum(Review.fix_size), func.count(Review.fix_size))
        .join(Annotation, Annotation.id == Review.annotation_id)
        .where(Review.project_id == project_id, Review.verdict == "fixed")
        .group_by(Annotation.completed_by_id)
    )


def _matrix(
    project: Project,
    config: LabelConfig,
    annotators: list[AnnotatorRow],
    pair_totals: dict[tuple[int, int], tuple[float, int]],
    include_models: bool,
) -> Matrix:
    """Annotators (by name) who have at least one non-skipped annotation, then, when
    asked, model versions (by name) scored on the sample of `model_pair_totals`."""
    people = sorted((a for a in annotators if a.annotations), key=lambda a: a.label.lower())
    raters = [Rater(f"u{a.id}", a.label, user_id=a.id, email=a.email) for a in people]
    totals = {(f"u{a}", f"u{b}"): value for (a, b), value in pair_totals.items()}
    sample = None
    if include_models:
        model_totals, versions, sample = model_pair_totals(project, config)
        raters += [Rater(f"m{v}", v or "(no version)", model_version=v) for v in versions]
        totals.update(model_totals)
    return build_matrix(raters, totals, sample)


def model_pair_totals(
    project: Project, config: LabelConfig, limit: int = MODEL_SAMPLE_TASKS
) -> tuple[dict[tuple[str, str], tuple[float, int]], list[str], int]:
    """(sum of s, pairs) between model versions and annotators, and between two model
    versions, over the latest `limit` tasks (by id) with predictions and non-skipped
    annotations; also the model versions seen and the number of tasks used.

    Pair scores of predictions are not stored, so they are computed here with the same
    ``s`` and IoU threshold; the bound keeps the page's cost fixed.
    """
    task_ids = list(
        db.session.scalars(
            select(Task.id)
            .where(
                Task.project_id == project.id,
                Task.annotation_count > 0,
                exists().where(Prediction.task_id == Task.id),
            )
            .order_by(Task.id.desc())
            .limit(limit)
        )
    )
    if not task_ids:
        return {}, [], 0
    annotations: dict[int, list[tuple[int, list]]] = defaultdict(list)
    for task_id, uid, result in db.session.execute(
        select(Annotation.task_id, Annotation.completed_by_id, Annotation.result).where(
            Annotation.task_id.in_(task_ids), Annotation.was_cancelled.is_(False)
        )
    ):
        annotations[task_id].append((uid, result or []))
    predictions: dict[int, list[tuple[str, list]]] = defaultdict(list)
    for task_id, version, result in db.session.execute(
        select(Prediction.task_id, Prediction.model_version, Prediction.result).where(
            Prediction.task_id.in_(task_ids)
        )
    ):
        predictions[task_id].append((version, result or []))
    totals: dict[tuple[str, str], list] = defaultdict(lambda: [0.0, 0])
    threshold, radius = project.iou_threshold, project.keypoint_radius_percent
    for task_id in task_ids:
        preds = predictions[task_id]
        for k, (version, result) in enumerate(preds):
            for uid, other in annotations[task_id]:
                entry = totals[f"m{version}", f"u{uid}"]
                entry[0] += score(config, result, other, threshold, radius)
                entry[1] += 1
            for other_version, other in preds[k + 1 :]:
                if other_version != version:
                    entry = totals[f"m{version}", f"m{other_version}"]
                    entry[0] += score(config, result, other, threshold, radius)
                    entry[1] += 1
    versions = sorted({v for preds in predictions.values() for v, _ in preds})
    return {key: (total, n) for key, (total, n) in totals.items()}, versions, len(task_ids)


def _models(project_id: int) -> list[ModelRow]:
    """Every model version with predictions in the project, by name."""
    counts = dict(
        db.session.execute(
            select(Prediction.model_version, func.count(Prediction.id))
            .where(Prediction.project_id == project_id)
            .group_by(Prediction.model_version)
        ).all()
    )
    gt = _sums(
        select(GtScore.model_version, func.sum(GtScore.score), func.count())
        .where(GtScore.project_id == project_id, GtScore.prediction_id.is_not(None))
        .group_by(GtScore.model_version)
    )
    rows = []
    for version in sorted(counts):
        total, n = gt.get(version, (0.0, 0))
        rows.append(ModelRow(version, counts[version], mean(total, n), n))
    return rows


def _first_passes(project_id: int) -> dict[int, dict[str, int]]:
    """{annotator: first_pass, first_pass_n, times_rejected} from the reviews grouped per
    annotation (definitions.first_pass, in SQL)."""
    per_annotation = (
        select(
            Review.annotation_id.label("annotation_id"),
            func.count().filter(Review.verdict == "rejected").label("rejections"),
        )
        .where(Review.project_id == project_id)
        .group_by(Review.annotation_id)
        .subquery()
    )
    passed = (per_annotation.c.rejections == 0) & Annotation.review_status.in_(
        ("accepted", "fixed")
    )
    rows = db.session.execute(
        select(
            Annotation.completed_by_id,
            func.count().filter(passed),
            func.count(),
            func.sum(per_annotation.c.rejections),
        )
        .join(per_annotation, per_annotation.c.annotation_id == Annotation.id)
        .where(Annotation.project_id == project_id, Annotation.was_cancelled.is_(False))
        .group_by(Annotation.completed_by_id)
    )
    return {
        uid: {"first_pass": ok, "first_pass_n": n, "times_rejected": int(rejected or 0)}
        for uid, ok, n, rejected in rows
    }


def _overturns(project_id: int) -> dict[int, int]:
    """{reviewer: verdicts of theirs overturned} (definitions.overturned, in SQL: each review
    beside the next one on its annotation)."""
    window = {"partition_by": Review.annotation_id, "order_by": Review.id}
    reviews = (
        select(
            Review.reviewer_id,
            Review.round,
            func.lead(Review.reviewer_id).over(**window).label("next_reviewer"),
            func.lead(Review.round).over(**window).label("next_round"),
        )
        .where(Review.project_id == project_id)
        .subquery()
    )
    return dict(
        db.session.execute(
            select(reviews.c.reviewer_id, func.count())
            .where(
                reviews.c.next_reviewer != reviews.c.reviewer_id,
                reviews.c.next_round == reviews.c.round,
            )
            .group_by(reviews.c.reviewer_id)
        ).all()
    )


def _reviewers(project_id: int, threshold: float) -> list[ReviewerRow]:
    """Everyone who gave a verdict on an annotation of the project, by name: counts and last
    review per reviewer, and the median gap between their consecutive reviews, all summed
    in SQL over the reviews' covering index (a project can hold hundreds of thousands)."""
    counts = db.session.execute(
        select(
            Review.reviewer_id,
            func.count(),
            *(func.count().filter(Review.verdict == verdict) for verdict in VERDICTS),
            func.max(Review.created_at),
        )
        .where(Review.project_id == project_id)
        .group_by(Review.reviewer_id)
    ).all()
    if not counts:
        return []
    gaps = _review_gap_medians(project_id)
    overturns = _overturns(project_id)
    judged = _gt_verdicts(project_id, threshold)
    times = _review_time_medians(project_id)
    verdicts = sum(row[1] for row in counts)
    project_acceptance = sum(row[2] + row[3] for row in counts) / verdicts
    people = {
        uid: (email, name)
        for uid, email, name in db.session.execute(
            select(User.id, User.email, User.name).where(User.id.in_([row[0] for row in counts]))
        )
    }
    rows = []
    for uid, total, accepted, fixed, rejected, last in counts:
        email, name = people[uid]
        gap, gap_n = gaps.get(uid, (None, 0))
        rows.append(
            ReviewerRow(
                uid,
                email,
                name or "",
                total,
                accepted,
                fixed,
                rejected,
                gap,
                gap_n,
                last,
                overturns.get(uid, 0),
                *judged.get(uid, (0, 0)),
                project_acceptance,
                *times.get(uid, (None, 0)),
            )
        )
    return sorted(rows, key=lambda r: r.label.lower())


def _gt_verdicts(project_id: int, threshold: float) -> dict[int, tuple[int, int]]:
    """{reviewer: (right, judged)} (definitions.verdict_right, in SQL) over their verdicts on
    annotations with a ground-truth score that judged the annotation's current result: the
    annotation's round, and no later fix of it."""
    later_fix = aliased(Review)
    good = GtScore.score >= threshold
    right = case(
        (Review.verdict.in_(("accepted", "fixed")), good),
        else_=~good,
    )
    rows = db.session.execute(
        select(Review.reviewer_id, func.count().filter(right), func.count())
        .join(Annotation, Annotation.id == Review.annotation_id)
        .join(GtScore, GtScore.annotation_id == Review.annotation_id)
        .where(
            Review.project_id == project_id,
            GtScore.project_id == project_id,
            Review.round == Annotation.round,
            ~exists().where(
                later_fix.annotation_id == Review.annotation_id,
                later_fix.id > Review.id,
                later_fix.verdict == "fixed",
            ),
        )
        .group_by(Review.reviewer_id)
    )
    return {uid: (ok, n) for uid, ok, n in rows}


def _review_time_medians(project_id: int) -> dict[int, tuple[float | None, int]]:
    """{reviewer: (median lease_seconds, reviews timed)}: the timed reviews counted per
    reviewer, then the middle value(s) read at their offset in the (reviewer, lease_seconds)
    index, as for the median lead times."""
    counts = db.session.execute(
        select(Review.reviewer_id, func.count(Review.lease_seconds))
        .where(Review.project_id == project_id)
        .group_by(Review.reviewer_id)
    ).all()
    medians = {}
    for uid, n in counts:
        positions = middle_positions(n)
        if not positions:
            continue
        values = db.session.scalars(
            select(Review.lease_seconds)
            .where(
                Review.project_id == project_id,
                Review.reviewer_id == uid,
                Review.lease_seconds.is_not(None),
            )
            .order_by(Review.lease_seconds)
            .offset(positions[0])
            .limit(len(positions))
        ).all()
        medians[uid] = (sum(values) / len(values), n)
    return medians


def _review_gap_medians(project_id: int) -> dict[int, tuple[float, int]]:
    """{reviewer id: (median gap in seconds, number of gaps)} from each reviewer's review
    times in seconds, read as one joined string per reviewer: fetching a row per review
    (hundreds of thousands) cost more than the rest of the dashboard."""
    seconds = _epoch_seconds(Review.created_at)
    if db.session.get_bind().dialect.name == "sqlite":
        joined = func.group_concat(seconds)
    else:
        joined = func.string_agg(cast(seconds, String), ",")
    medians = {}
    for uid, text in db.session.execute(
        select(Review.reviewer_id, joined)
        .where(Review.project_id == project_id)
        .group_by(Review.reviewer_id)
    ):
        gaps = review_gaps(sorted(map(float, text.split(","))))
        if gaps:
            # Seconds from julianday carry float noise far below a millisecond.
            medians[uid] = (round(median(gaps), 3), len(gaps))
    return medians


def _epoch_seconds(column):
    """Seconds since an epoch of a timestamp column, in SQL."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.julianday(column) * 86400.0
    return cast(func.extract("epoch", column), Float)


def choice_alpha(project: Project, config: LabelConfig | None = None) -> list[AlphaRow]:
    """Krippendorff's alpha (nominal) and raw agreement of each Choices control, in config
    order (see metrics_core.AlphaRow and alpha_row), from one aggregate query.

    The units are the ChoiceCount rows `services.derived.scores` stores with each task's scores;
    the database counts the units alike in (unit size, value, count), so only one row per
    such group comes back.
    """
    config = config or parse_label_config(project.label_config)
    controls = [c for c in config.controls.values() if c.tag == "Choices"]
    if not controls:
        return []
    groups: dict[str, list[tuple[int, str, int, int]]] = defaultdict(list)
    for control, size, value, count, units in db.session.execute(
        select(
            ChoiceCount.control,
            ChoiceCount.unit_size,
            ChoiceCount.value,
            ChoiceCount.count,
            func.count(),
        )
        .where(
            ChoiceCount.project_id == project.id,
            ChoiceCount.control.in_([c.name for c in controls]),
        )
        .group_by(ChoiceCount.control, ChoiceCount.unit_size, ChoiceCount.value, ChoiceCount.count)
    ):
        groups[control].append((size, value, count, units))
    return [alpha_row(c.name, c.multiple, groups[c.name]) for c in controls]
