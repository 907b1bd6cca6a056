"""The dashboard's tables as plain rows for CSV: raw numbers (fractions 0..1, seconds),
each mean beside its n, empty cells where a number has no items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from reviewapp.downloads import csv_lines, without_formula
from reviewapp.services.metrics.definitions import ProjectMetrics

Table = tuple[list[str], list[list[object]]]


def annotators(metrics: ProjectMetrics) -> Table:
    header = [
        "user_id", "email", "name", "annotations", "skipped", "accepted", "fixed", "rejected",
        "pending", "acceptance_rate", "acceptance_rate_low", "acceptance_rate_high",
        "first_pass_acceptance", "first_pass_low", "first_pass_high", "first_pass_n",
        "times_rejected", "agreement", "agreement_n", "gt_accuracy", "gt_n", "mean_fix_size",
        "fix_n", "median_lead_time_seconds", "lead_time_n", "last_active",
    ]  # fmt: skip
    rows = [
        [
            r.id,
            r.email,
            r.name,
            r.annotations,
            r.skipped,
            r.accepted,
            r.fixed,
            r.rejected,
            r.pending,
            r.acceptance_rate,
            *(r.acceptance_rate_ci or (None, None)),
            r.first_pass_acceptance,
            *(r.first_pass_acceptance_ci or (None, None)),
            r.first_pass_n,
            r.times_rejected,
            r.agreement,
            r.agreement_n,
            r.gt_accuracy,
            r.gt_n,
            r.mean_fix_size,
            r.fix_n,
            r.median_lead_time,
            r.lead_time_n,
            r.last_active,
        ]  # fmt: skip
        for r in metrics.annotators
    ]
    return header, rows


def matrix(metrics: ProjectMetrics) -> Table:
    """One row per pair of raters (both orders), then each rater's Avg."""
    m = metrics.matrix
    header = ["rater", "other", "score", "n"]
    rows: list[list[object]] = [
        [a.label, b.label, cell.score, cell.n]
        for a, row in zip(m.raters, m.cells, strict=True)
        for b, cell in zip(m.raters, row, strict=True)
        if a.key != b.key
    ]
    rows += [[a.label, "Avg", cell.score, cell.n] for a, cell in zip(m.raters, m.avg, strict=True)]
    return header, rows


def models(metrics: ProjectMetrics) -> Table:
    header = ["model_version", "predictions", "gt_accuracy", "gt_n"]
    return header, [[r.model_version, r.predictions, r.gt_accuracy, r.gt_n] for r in metrics.models]


def reviewers(metrics: ProjectMetrics) -> Table:
    header = [
        "user_id", "email", "name", "reviews", "accepted", "fixed", "rejected", "overturned",
        "overturn_rate", "overturn_rate_low", "overturn_rate_high", "gt_accuracy",
        "gt_accuracy_low", "gt_accuracy_high", "gt_right", "gt_judged", "acceptance_rate",
        "leniency", "median_review_time_seconds", "review_time_n",
        "median_seconds_per_review", "timed_reviews", "last_review",
    ]  # fmt: skip
    rows = [
        [
            r.id,
            r.email,
            r.name,
            r.reviews,
            r.accepted,
            r.fixed,
            r.rejected,
            r.overturned,
            r.overturn_rate,
            *(r.overturn_rate_ci or (None, None)),
            r.gt_accuracy,
            *(r.gt_accuracy_ci or (None, None)),
            r.gt_right,
            r.gt_judged,
            r.acceptance_rate,
            r.leniency,
            r.median_review_time,
            r.review_time_n,
            r.median_seconds,
            r.time_n,
            r.last_review,
        ]  # fmt: skip
        for r in metrics.reviewers
    ]
    return header, rows


def confusion(metrics: ProjectMetrics) -> Table:
    """Every confusion pair between annotators, per control, most confused first."""
    header = ["control", "a", "b", "count"]
    rows: list[list[object]] = [
        [control, p.a, p.b, p.count] for control, pairs in metrics.confusion.items() for p in pairs
    ]
    return header, rows


def confusion_gt(metrics: ProjectMetrics) -> Table:
    """The non-empty cells of each control's matrix against ground truth; an empty answer
    or truth is "no answer"."""
    header = ["control", "answer", "truth", "count"]
    rows: list[list[object]] = [
        [control, c.answer, c.truth, c.count]
        for control, m in metrics.confusion_gt.items()
        for c in m.cells
    ]
    return header, rows


def final_labels(metrics: ProjectMetrics) -> Table:
    """Tasks per rule that gives their final label."""
    return ["source", "tasks"], [[k, n] for k, n in metrics.final_sources.items()]


def throughput(metrics: ProjectMetrics) -> Table:
    """Per day (the server's time zone) each kind's total, then each person's counts."""
    t = metrics.throughput
    header = ["day", "person_id", "email", "annotations", "reviews", "done"]
    rows: list[list[object]] = [
        [d.day.isoformat(), "", "total", d.annotations, d.reviews, d.done] for d in t.days
    ]
    rows += [
        [d.day.isoformat(), p.id, p.email, d.annotations, d.reviews, d.done]
        for p in t.people
        for d in p.days.values()
    ]
    return header, rows


TABLES: dict[str, Callable[[ProjectMetrics], Table]] = {
    "throughput": throughput,
    "final_labels": final_labels,
    "annotators": annotators,
    "matrix": matrix,
    "models": models,
    "reviewers": reviewers,
    "confusion": confusion,
    "confusion_gt": confusion_gt,
}


def to_csv(table: Table) -> Iterator[str]:
    """CSV lines; text that a spreadsheet would run as a formula is quoted with a '."""
    header, rows = table
    return csv_lines([header, *([_cell(value) for value in row] for row in rows)])


def _cell(value: object) -> object:
    # Six decimals: a fraction or a number of seconds, without float noise.
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str):
        return without_formula(value)
    return value


def table_lines(
    project, table: str, order: str, include_models: bool, gt_annotator: int | None
) -> Iterator[str]:
    """The CSV lines of one dashboard table (a key of TABLES), computing only what it needs:
    the same numbers for the page's download and GET /api/projects/<id>/metrics/<table>.csv."""
    from reviewapp.labeling import parse_label_config
    from reviewapp.services.metrics.aggregates import project_metrics
    from reviewapp.services.metrics.confusion import project_gt_confusion

    metrics = project_metrics(
        project,
        order,
        include_models=include_models,
        include_gt_confusion=table == "confusion_gt" and gt_annotator is None,
        include_throughput=table == "throughput",
    )
    if table == "confusion_gt" and gt_annotator is not None:
        config = parse_label_config(project.label_config)
        metrics = replace(metrics, confusion_gt=project_gt_confusion(project, config, gt_annotator))
    return to_csv(TABLES[table](metrics))
