"""The project dashboard's numbers, as SQL aggregates over stored rows.

`project_metrics` runs a fixed number of aggregate queries whatever the project's size
(no per-row queries) and returns the plain dataclasses of `metrics_core`, whose
docstrings state each definition. The HTML dashboard, its CSV downloads and the JSON API
all read that one result, so they cannot disagree.

Pair and ground-truth scores come from the AgreementPair and GtScore rows that
`services.scores` keeps current; task counts from the Task table's denormalised columns;
per-annotator counts from the Annotation rows. Medians are computed in Python from a
(value, count) table that the database groups, as SQLite has no median.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, case, exists, func, select, text

from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig, parse_label_config
from reviewapp.labeling.agreement import score
from reviewapp.labeling.config import Control
from reviewapp.models import (
    AgreementPair,
    Annotation,
    GtScore,
    Prediction,
    Project,
    Review,
    Task,
    User,
)
from reviewapp.services.metrics_core import (
    BUCKET_EPSILON,
    BUCKETS,
    AlphaRow,
    AnnotatorRow,
    Histogram,
    Matrix,
    ModelRow,
    ProjectMetrics,
    Rater,
    ReviewerRow,
    Summary,
    alpha_from_counts,
    build_matrix,
    histogram,
    mean,
    median,
    median_of_counts,
    raw_agreement,
    review_gaps,
    sort_annotators,
)

# Model versions in the agreement matrix are scored on the fly on at most this many of the
# latest tasks that have both predictions and annotations.
MODEL_SAMPLE_TASKS = 1000
# Choices per SQL bitmask column in the alpha query (a signed 64-bit integer).
MASK_BITS = 62


def project_metrics(
    project: Project, order: str = "annotator", include_models: bool = False
) -> ProjectMetrics:
    """Every dashboard number of the project (see metrics_core for each definition).

    ``order`` sorts the annotator rows (a key of metrics_core.ANNOTATOR_ORDERS, "-" for
    descending; KeyError if unknown). ``include_models`` adds the model versions to the
    agreement matrix, scored on a bounded sample (MODEL_SAMPLE_TASKS).
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
        reviewers=_reviewers(project.id),
        alpha=choice_alpha(project, config),
        annotator_order=order,
    )


def _summary(
    project: Project,
    annotators: list[AnnotatorRow],
    mean_agreement: float | None,
    agreement_n: int,
    low: int,
) -> Summary:
    """Task counts from the Task table; annotation and review counts are the totals of the
    annotator rows, so the summary always equals the table's column sums."""
    tasks, annotated, full, gt = db.session.execute(
        select(
            func.count(Task.id),
            func.count(Task.id).filter(Task.annotation_count > 0),
            func.count(Task.id).filter(Task.annotation_count >= max(project.overlap, 1)),
            func.count(Task.id).filter(Task.has_ground_truth.is_(True)),
        ).where(Task.project_id == project.id)
    ).one()
    return Summary(
        tasks=tasks,
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
    """One pass over the (project, agreement) index: per histogram bucket the tasks, the
    sum of their agreement and how many are below the low-agreement threshold."""
    bucket = case(
        *[(Task.agreement >= k / BUCKETS - BUCKET_EPSILON, k) for k in range(BUCKETS - 1, 0, -1)],
        else_=0,
    ).label("bucket")
    rows = db.session.execute(
        select(
            bucket,
            func.count(Task.id),
            func.sum(Task.agreement),
            func.count(Task.id).filter(Task.agreement < project.low_agreement_threshold),
        )
        .where(Task.project_id == project.id, Task.agreement.is_not(None))
        .group_by(bucket)
    ).all()
    counts = {int(k): n for k, n, _, _ in rows}
    n = sum(counts.values())
    total = sum(float(s) for _, _, s, _ in rows) if rows else None
    return histogram(counts), total, n, sum(low for *_, low in rows)


def _pair_totals(project_id: int) -> dict[tuple[int, int], tuple[float, int]]:
    """(sum of s, pairs) per (user a, user b) over the project's AgreementPair rows."""
    rows = db.session.execute(
        select(
            AgreementPair.user_a_id,
            AgreementPair.user_b_id,
            func.sum(AgreementPair.score),
            func.count(AgreementPair.id),
        )
        .where(AgreementPair.project_id == project_id)
        .group_by(AgreementPair.user_a_id, AgreementPair.user_b_id)
    )
    return {(a, b): (float(total), n) for a, b, total, n in rows}


def _sums(statement) -> dict:
    """{key: (sum, n)} from a select of (key, SUM(x), COUNT(x)) rows; a NULL sum is 0."""
    return {key: (float(total or 0), n) for key, total, n in db.session.execute(statement)}


def _gt_filter(project_id: int):
    # Stored scores of a task whose ground truth was removed without a refresh (the bulk
    # "delete ground truth" clears flags only) must not count.
    return and_(
        GtScore.project_id == project_id,
        exists().where(Task.id == GtScore.task_id, Task.has_ground_truth.is_(True)),
    )


def _annotators(
    project_id: int, pair_totals: dict[tuple[int, int], tuple[float, int]]
) -> list[AnnotatorRow]:
    """Every user with an annotation in the project (members or not), unsorted.

    Counts, last activity and lead times come from one scan grouped by (annotator, lead
    time): summing the groups gives the counts, and the groups' non-skipped counts are
    the (value, count) table the median lead time is taken from.
    """
    done = Annotation.was_cancelled.is_(False)
    groups = db.session.execute(
        select(
            Annotation.completed_by_id,
            Annotation.lead_time,
            func.count(Annotation.id).filter(done),
            func.count(Annotation.id).filter(Annotation.was_cancelled.is_(True)),
            *[
                func.count(Annotation.id).filter(done, Annotation.review_status == status)
                for status in ("accepted", "fixed", "rejected", "pending")
            ],
            func.max(Annotation.created_at),
        )
        .where(Annotation.project_id == project_id)
        .group_by(Annotation.completed_by_id, Annotation.lead_time)
    ).all()
    if not groups:
        return []
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * 6)
    last: dict[int, datetime] = {}
    lead_times: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for uid, lead_time, *numbers, latest in groups:
        counts[uid] = [a + b for a, b in zip(counts[uid], numbers, strict=True)]
        if uid not in last or latest > last[uid]:
            last[uid] = latest
        if lead_time is not None and numbers[0]:
            lead_times[uid].append((float(lead_time), numbers[0]))
    people = {
        uid: (email, name)
        for uid, email, name in db.session.execute(
            select(User.id, User.email, User.name).where(User.id.in_(list(counts)))
        )
    }
    gt = _sums(
        select(GtScore.user_id, func.sum(GtScore.score), func.count(GtScore.id))
        .where(_gt_filter(project_id), GtScore.annotation_id.is_not(None))
        .group_by(GtScore.user_id)
    )
    fixes = _sums(
        select(Annotation.completed_by_id, func.sum(Review.fix_size), func.count(Review.fix_size))
        .join(Annotation, Annotation.id == Review.annotation_id)
        .where(Annotation.project_id == project_id, Review.verdict == "fixed")
        .group_by(Annotation.completed_by_id)
    )
    agreement: dict[int, list] = defaultdict(lambda: [0.0, 0])
    for (a, b), (total, n) in pair_totals.items():
        if a != b:
            for uid in (a, b):
                agreement[uid][0] += total
                agreement[uid][1] += n
    rows = []
    for uid, (done_n, skipped, accepted, fixed, rejected, pending) in counts.items():
        email, name = people[uid]
        pair_sum, pair_n = agreement.get(uid, (0.0, 0))
        gt_sum, gt_n = gt.get(uid, (0.0, 0))
        fix_sum, fix_n = fixes.get(uid, (0.0, 0))
        lead = lead_times.get(uid, [])
        rows.append(
            AnnotatorRow(
                id=uid,
                email=email,
                name=name or "",
                annotations=done_n,
                skipped=skipped,
                accepted=accepted,
                fixed=fixed,
                rejected=rejected,
                pending=pending,
                agreement=mean(pair_sum, pair_n),
                agreement_n=pair_n,
                gt_accuracy=mean(gt_sum, gt_n),
                gt_n=gt_n,
                mean_fix_size=mean(fix_sum, fix_n),
                fix_n=fix_n,
                median_lead_time=median_of_counts(lead),
                lead_time_n=sum(n for _, n in lead),
                last_active=last[uid],
            )
        )
    return rows


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
    threshold = project.iou_threshold
    for task_id in task_ids:
        preds = predictions[task_id]
        for k, (version, result) in enumerate(preds):
            for uid, other in annotations[task_id]:
                entry = totals[f"m{version}", f"u{uid}"]
                entry[0] += score(config, result, other, threshold)
                entry[1] += 1
            for other_version, other in preds[k + 1 :]:
                if other_version != version:
                    entry = totals[f"m{version}", f"m{other_version}"]
                    entry[0] += score(config, result, other, threshold)
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
        select(GtScore.model_version, func.sum(GtScore.score), func.count(GtScore.id))
        .where(_gt_filter(project_id), GtScore.prediction_id.is_not(None))
        .group_by(GtScore.model_version)
    )
    rows = []
    for version in sorted(counts):
        total, n = gt.get(version, (0.0, 0))
        rows.append(ModelRow(version, counts[version], mean(total, n), n))
    return rows


def _reviewers(project_id: int) -> list[ReviewerRow]:
    """Everyone who gave a verdict on an annotation of the project, by name."""
    in_project = and_(Annotation.id == Review.annotation_id, Annotation.project_id == project_id)
    counts = db.session.execute(
        select(
            Review.reviewer_id,
            func.count(Review.id),
            *[
                func.count(Review.id).filter(Review.verdict == verdict)
                for verdict in ("accepted", "fixed", "rejected")
            ],
            func.max(Review.created_at),
        )
        .join(Annotation, in_project)
        .group_by(Review.reviewer_id)
    ).all()
    if not counts:
        return []
    times: dict[int, list] = defaultdict(list)
    for uid, at in db.session.execute(
        select(Review.reviewer_id, Review.created_at)
        .join(Annotation, in_project)
        .order_by(Review.reviewer_id, Review.created_at, Review.id)
    ):
        times[uid].append(at)
    people = {
        uid: (email, name)
        for uid, email, name in db.session.execute(
            select(User.id, User.email, User.name).where(User.id.in_([r[0] for r in counts]))
        )
    }
    rows = []
    for uid, reviews, accepted, fixed, rejected, last in counts:
        gaps = review_gaps(times[uid])
        email, name = people[uid]
        rows.append(
            ReviewerRow(
                uid,
                email,
                name or "",
                reviews,
                accepted,
                fixed,
                rejected,
                median(gaps),
                len(gaps),
                last,
            )
        )
    return sorted(rows, key=lambda r: r.label.lower())


def choice_alpha(project: Project, config: LabelConfig | None = None) -> list[AlphaRow]:
    """Krippendorff's alpha (nominal) and raw agreement of each Choices control, in config
    order (see metrics_core.AlphaRow), from one aggregate query per control.

    The database reads each non-skipped annotation's answer out of its JSON result (see
    `_answers_sql`), counts equal answers per task and sums the alpha terms, so only one
    row per distinct answer comes back.
    """
    config = config or parse_label_config(project.label_config)
    return [
        _alpha_row(project.id, control)
        for control in config.controls.values()
        if control.tag == "Choices"
    ]


def _answers_sql(control: Control, params: dict) -> tuple[str, list[str], str]:
    """SQL of (task_id, m0[, m1...]): one row per non-skipped annotation answering the
    control, its value in the m columns; with the m column names and the condition for
    "answered".

    A single choice's value is the choice itself (validated: one item, one choice). A
    multiple choice's value is its set of choices as bitmasks, one bit per choice of the
    config in config order (62 per column), so equal sets are equal whatever their order.
    """
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        items = "FROM annotation AS a CROSS JOIN LATERAL json_array_elements(a.result) AS item"
        from_name = "item.value ->> 'from_name'"
    else:
        items = "FROM annotation AS a, json_each(a.result) AS item"
        from_name = "json_extract(item.value, '$.from_name')"
    where = f"WHERE {from_name} = :control AND a.project_id = :project_id AND NOT a.was_cancelled"
    if not control.multiple:
        first = (
            "item.value -> 'value' -> 'choices' ->> 0"
            if postgres
            else "json_extract(item.value, '$.value.choices[0]')"
        )
        return (
            f"SELECT a.task_id AS task_id, {first} AS m0 {items} {where}",
            ["m0"],
            "m0 IS NOT NULL",
        )
    masks = []
    for start in range(0, max(len(control.labels), 1), MASK_BITS):
        whens = []
        for bit, label in enumerate(control.labels[start : start + MASK_BITS]):
            params[f"c{start + bit}"] = label
            whens.append(f"WHEN :c{start + bit} THEN {1 << bit}")
        cases = f"CASE ch.value {' '.join(whens)} END" if whens else "NULL"
        masks.append(f"COALESCE(SUM(DISTINCT {cases}), 0) AS m{len(masks)}")
    choices = (
        "CROSS JOIN LATERAL json_array_elements_text(item.value -> 'value' -> 'choices') AS ch"
        if postgres
        else ", json_each(item.value, '$.value.choices') AS ch"
    )
    names = [f"m{k}" for k in range(len(masks))]
    sql = (
        f"SELECT a.task_id AS task_id, {', '.join(masks)} {items} {choices} {where}"
        " GROUP BY a.id, a.task_id"
    )
    return sql, names, " OR ".join(f"{m} <> 0" for m in names)


def _alpha_row(project_id: int, control: Control) -> AlphaRow:
    params: dict = {"project_id": project_id, "control": control.name}
    values, names, present = _answers_sql(control, params)
    sql = f"""
        WITH v AS ({values}),
        u AS (
            SELECT task_id, {", ".join(names)}, COUNT(*) AS k FROM v
            WHERE {present}
            GROUP BY task_id, {", ".join(names)}
        ),
        t AS (
            SELECT task_id, SUM(k) AS m, SUM(k * k) AS sq FROM u
            GROUP BY task_id HAVING SUM(k) >= 2
        ),
        o AS (
            SELECT SUM((m * m - sq) * 1.0 / (m - 1)) AS observed, SUM(m) AS n,
                   COUNT(*) AS units, SUM(sq - m) AS agreeing, SUM(m * m - m) AS pairs
            FROM t
        )
        SELECT SUM(u.k), MAX(o.observed), MAX(o.n), MAX(o.units), MAX(o.agreeing), MAX(o.pairs)
        FROM u JOIN t ON t.task_id = u.task_id CROSS JOIN o
        GROUP BY {", ".join(f"u.{m}" for m in names)}
    """
    rows = db.session.execute(text(sql), params).all()
    if not rows:
        return AlphaRow(control.name, control.multiple, None, None, 0, 0)
    _, observed, n, units, agreeing, pairs = rows[0]
    return AlphaRow(
        control=control.name,
        multiple=control.multiple,
        alpha=alpha_from_counts(float(observed), int(n), [int(r[0]) for r in rows]),
        raw_agreement=raw_agreement(float(agreeing), float(pairs)),
        units=int(units),
        values=int(n),
    )
