"""Dashboard metrics: the pure formulas by hand, then every number of a small project whose
expected values are worked out below, from the SQL aggregates."""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sqlalchemy import select, update

from reviewapp.extensions import db
from reviewapp.models import Annotation, Task
from reviewapp.services.data_manager.bulk import apply_bulk_action
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.metrics import definitions as metrics_core
from reviewapp.services.metrics.aggregates import choice_alpha, project_metrics
from reviewapp.services.metrics.agreement import krippendorff_alpha_nominal
from reviewapp.services.metrics.definitions import (
    AlphaRow,
    AnnotatorRow,
    Cell,
    Rater,
    alpha_from_counts,
    alpha_row,
    bucket_bounds,
    bucket_of,
    build_matrix,
    first_pass,
    histogram,
    median,
    middle_positions,
    overturned,
    review_gaps,
    sort_annotators,
)
from reviewapp.services.projects import update_project
from tests import factories


def test_metrics_core_does_not_import_flask_or_the_database():
    tree = ast.parse(Path(metrics_core.__file__).read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert modules == {
        "__future__", "collections.abc", "dataclasses", "datetime",
        "reviewapp.services.metrics.intervals",  # pure too: no flask, no database
    }  # fmt: skip


def test_median():
    assert median([]) is None
    assert median([3.0]) == 3.0
    assert median([5.0, 1.0, 3.0]) == 3.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5  # (2 + 3) / 2


@pytest.mark.parametrize("n", range(7))
def test_middle_positions_pick_the_median(n):
    values = [float(k * k) for k in range(n)]  # in order
    picked = [values[i] for i in middle_positions(n)]
    assert (sum(picked) / len(picked) if picked else None) == median(values)


def test_review_gaps_are_capped_at_ten_minutes():
    times = [0.0, 30.0, 90.0, 1200.0]  # 9:00:00, 9:00:30, 9:01:30, 9:20:00 in seconds
    # 30 s, 60 s, then 18.5 min capped to 600 s.
    assert review_gaps(times) == [30.0, 60.0, 600.0]
    assert review_gaps(times[:1]) == []


def test_histogram_buckets():
    assert [bucket_of(x) for x in (0.0, 0.0999, 0.1, 0.35, 0.9, 0.95, 1.0)] == [0, 0, 1, 3, 9, 9, 9]
    # 0.3 computed as 0.1 * 3 is 0.30000000000000004, and 0.7 - 0.4 is 0.29999999999999993:
    # both are 30% on screen and go to the 30-40% bar.
    assert bucket_of(0.1 * 3) == bucket_of(0.7 - 0.4) == 3
    h = histogram({3: 2, 9: 5})
    assert [b.count for b in h.buckets] == [0, 0, 0, 2, 0, 0, 0, 0, 0, 5]
    assert (h.total, h.peak, h.buckets[3].label) == (7, 5, "30–40%")


def test_alpha_from_counts_by_hand():
    # Units: [A, A, B], [B, B], [C, C], [A, A]. n = 9; n_A = 4, n_B = 3, n_C = 2.
    # observed = (9 - (4 + 1)) / 2 + 0 + 0 + 0 = 2; expected = 81 - (16 + 9 + 4) = 52.
    # alpha = 1 - (9 - 1) * 2 / 52 = 9 / 13.
    assert alpha_from_counts(2.0, 9, [4, 3, 2]) == pytest.approx(9 / 13)
    units = [["A", "A", "B"], ["B", "B"], ["C", "C"], ["A", "A"]]
    assert krippendorff_alpha_nominal(units) == pytest.approx(9 / 13)
    assert alpha_from_counts(0.0, 0, []) is None
    assert alpha_from_counts(0.0, 4, [4]) is None  # every value equal: undefined


def test_bucket_bounds_agree_with_bucket_of():
    bounds = bucket_bounds()
    assert [k for k, _, _ in bounds] == list(range(10))
    assert bounds[0][1] is None and bounds[-1][2] is None
    for x in (0.0, 0.0999, 0.1, 0.1 * 3, 0.7 - 0.4, 0.35, 0.5, 0.9, 0.95, 0.9999, 1.0):
        holding = [
            k for k, low, high in bounds if (low is None or x >= low) and (high is None or x < high)
        ]
        assert holding == [bucket_of(x)]


def test_alpha_row_by_hand():
    # The units of test_alpha_from_counts_by_hand as stored, (m, value, k, units):
    # [A, A, B] -> (3, A, 2, 1), (3, B, 1, 1); [B, B] -> (2, B, 2, 1); [C, C] -> (2, C, 2, 1);
    # [A, A] -> (2, A, 2, 1). n = 9 (n_A = 4, n_B = 3, n_C = 2); units = 3 / 3 + 6 / 2 = 4;
    # observed = (2 * 1 + 1 * 2) / 2 = 2, so alpha = 9/13 as there. Equal ordered pairs
    # k (k - 1): 2 + 0 + 2 + 2 + 2 = 8 of k (m - 1): 4 + 2 + 2 + 2 + 2 = 12.
    groups = [(3, "A", 2, 1), (3, "B", 1, 1), (2, "B", 2, 1), (2, "C", 2, 1), (2, "A", 2, 1)]
    row = alpha_row("x", False, groups)
    assert (row.units, row.values) == (4, 9)
    assert row.alpha == pytest.approx(9 / 13) and row.raw_agreement == pytest.approx(8 / 12)
    # Alike units come once with their number: [A, B] three times and [A, A] once. n = 8
    # (n_A = 5, n_B = 3); observed = 3 * (1 * 1 + 1 * 1) / 1 = 6; expected = 64 - 34 = 30;
    # alpha = 1 - 7 * 6 / 30 = -0.4.
    row = alpha_row("x", True, [(2, "A", 1, 3), (2, "B", 1, 3), (2, "A", 2, 1)])
    assert (row.units, row.values, row.alpha) == (4, 8, pytest.approx(-0.4))
    assert krippendorff_alpha_nominal([["A", "B"]] * 3 + [["A", "A"]]) == pytest.approx(-0.4)
    assert alpha_row("x", False, []) == AlphaRow("x", False, None, None, 0, 0)


def _counts(units):
    observed = n = 0.0
    totals: dict = {}
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        per = {v: unit.count(v) for v in set(unit)}
        observed += (m * m - sum(c * c for c in per.values())) / (m - 1)
        n += m
        for v, c in per.items():
            totals[v] = totals.get(v, 0) + c
    return observed, int(n), totals.values()


@pytest.mark.parametrize("seed", range(5))
def test_alpha_from_counts_matches_the_krippendorff_package(seed):
    rng = random.Random(seed)
    coders, items = rng.randint(2, 5), rng.randint(5, 40)
    data = [
        [rng.choice([0, 1, 2, np.nan, 1]) if rng.random() > 0.2 else np.nan for _ in range(items)]
        for _ in range(coders)
    ]
    units = [[row[i] for row in data if not np.isnan(row[i])] for i in range(items)]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert alpha_from_counts(*_counts(units)) == pytest.approx(expected)


def test_build_matrix_symmetric_with_avg_over_annotator_pairs():
    raters = [
        Rater("u1", "a", user_id=1),
        Rater("u2", "b", user_id=2),
        Rater("mv", "v", model_version="v"),
    ]
    # (u1, u2) stored both ways: sums add up. A self pair (u1, u1) is left out.
    matrix = build_matrix(
        raters,
        {
            ("u1", "u2"): (1.5, 2),
            ("u2", "u1"): (0.5, 2),
            ("u1", "u1"): (1.0, 1),
            ("mv", "u1"): (0.5, 1),
        },
    )
    assert matrix.cells[0][1] == matrix.cells[1][0] == Cell(0.5, 4)  # (1.5 + 0.5) / 4
    assert matrix.cells[0][0] == Cell(None, 0)
    assert matrix.cells[2][0] == matrix.cells[0][2] == Cell(0.5, 1)
    # Avg of u1: its annotator pairs only (the model pair is not an annotator).
    assert matrix.avg == [Cell(0.5, 4), Cell(0.5, 4), Cell(0.5, 1)]
    assert matrix.avg[0].few and not Cell(0.5, 5).few


def _row(email, **values):
    base = dict(annotations=0, skipped=0, accepted=0, fixed=0, rejected=0, pending=0)
    return AnnotatorRow(id=len(email), email=email, name="", **(base | values))


def test_sort_annotators_puts_empty_values_last_both_ways():
    rows = [_row("a@x", agreement=0.5), _row("b@x"), _row("c@x", agreement=0.9)]
    assert [r.email for r in sort_annotators(rows, "agreement")] == ["a@x", "c@x", "b@x"]
    assert [r.email for r in sort_annotators(rows, "-agreement")] == ["c@x", "a@x", "b@x"]
    with pytest.raises(KeyError):
        sort_annotators(rows, "password")


# The small project. Sentiment (single choice); overlap 2. Results after review:
#
#   task  alice          bob                 carol           predictions
#   t1    Positive (GT)  Positive            Negative        m1 Positive
#   t2    Negative       Negative            -               m1 Neutral
#   t3    Neutral        (skipped)           Neutral         -
#   t4    -              Positive (GT)       Positive        m1 Negative, m2 Positive
#   t5    Positive       -                   -               -
#   t6    -              -                   -               -
#
# Lead times (s): alice 10, 12, 14, 11; bob 20, 40, skipped 5, 8; carol 30, 16, 30.
# Reviews (rita, then mona), in time order:
#   09:00:00 rita accepts alice t1      09:00:30 rita rejects alice t2
#   09:01:30 rita fixes bob t1 (1.0)    09:03:30 rita fixes bob t2 (0.0, saved unchanged)
#   09:20:00 rita rejects carol t1      09:30:00 mona accepts alice t2 (latest: accepted)
#   09:30:45 mona accepts carol t3


@dataclass
class Small:
    project: object
    users: dict
    tasks: dict


RESULTS = {
    "t1": [
        ("alice", "Positive", 10, True),
        ("bob", "Positive", 20, False),
        ("carol", "Negative", 30, False),
    ],
    "t2": [("alice", "Negative", 12, False), ("bob", "Negative", 40, False)],
    "t3": [
        ("alice", "Neutral", 14, False),
        ("bob", None, 5, False),
        ("carol", "Neutral", 16, False),
    ],
    "t4": [("bob", "Positive", 8, True), ("carol", "Positive", 30, False)],
    "t5": [("alice", "Positive", 11, False)],
    "t6": [],
}
PREDICTIONS = {
    "t1": [("m1", "Positive")],
    "t2": [("m1", "Neutral")],
    "t4": [("m1", "Negative"), ("m2", "Positive")],
}
REVIEWS = [
    ("09:00:00", "rita", "alice", "t1", "accepted", None),
    ("09:00:30", "rita", "alice", "t2", "rejected", None),
    ("09:01:30", "rita", "bob", "t1", "fixed", 1.0),
    ("09:03:30", "rita", "bob", "t2", "fixed", 0.0),
    ("09:20:00", "rita", "carol", "t1", "rejected", None),
    ("09:30:00", "mona", "alice", "t2", "accepted", None),
    ("09:30:45", "mona", "carol", "t3", "accepted", None),
]
NAMES = {"alice": "Alice A", "bob": "Bob B", "carol": "Carol C"}


def build_small() -> Small:
    users = {
        name: factories.user("annotator", f"{name}@example.com", name=full)
        for name, full in NAMES.items()
    }
    users["rita"] = factories.user("reviewer", "rita@example.com", name="Rita R")
    users["mona"] = factories.user("manager", "mona@example.com", name="Mona M")
    project = factories.project(members=tuple(users.values()), overlap=2)
    items = []
    for day, (key, task_annotations) in enumerate(RESULTS.items(), start=1):
        items.append(
            {
                "data": {"text": key},
                "annotations": [
                    {
                        "completed_by": f"{who}@example.com",
                        "result": factories.choice(label) if label else [],
                        "was_cancelled": label is None,
                        "ground_truth": gt,
                        "lead_time": lead,
                        # bob's skipped t3 annotation is made last, on day 10.
                        "created_at": f"2024-03-{10 if label is None else day:02d}T08:{k:02d}:00",
                    }
                    for k, (who, label, lead, gt) in enumerate(task_annotations)
                ],
                "predictions": [
                    {"model_version": v, "result": factories.choice(label)}
                    for v, label in PREDICTIONS.get(key, [])
                ],
            }
        )
    factories.tasks(project, items)
    tasks = {t.data["text"]: t.id for t in db.session.scalars(select(Task))}
    for at, reviewer, author, task, verdict, size in REVIEWS:
        annotation = db.session.scalar(
            select(Annotation).where(
                Annotation.task_id == tasks[task], Annotation.completed_by_id == users[author].id
            )
        )
        factories.review(
            annotation,
            users[reviewer],
            verdict,
            fix_size=size,
            created_at=datetime.fromisoformat(f"2024-04-01T{at}"),
        )
        db.session.execute(
            update(Annotation).where(Annotation.id == annotation.id).values(review_status=verdict)
        )
    refresh_tasks(project, tasks.values())
    db.session.commit()
    return Small(project, users, tasks)


@pytest.fixture
def small(app):
    return build_small()


def test_summary_of_the_small_project(small):
    s = project_metrics(small.project).summary
    assert (s.tasks, s.annotated_tasks, s.fully_annotated_tasks) == (6, 5, 4)  # t1-t5; t1-t4
    assert (s.annotations, s.skipped) == (10, 1)
    # Latest verdicts: alice t1 accepted, t2 accepted (mona after rita), bob t1 and t2
    # fixed, carol t1 rejected and t3 accepted; the other four are pending.
    assert (s.accepted, s.fixed, s.rejected, s.pending, s.reviewed) == (3, 2, 1, 4, 6)
    assert s.ground_truth_tasks == 2
    # Task agreement: t1 = (1 + 0 + 0) / 3 = 1/3; t2, t3, t4 = 1. Mean = (1/3 + 3) / 4.
    assert s.mean_agreement == pytest.approx((1 / 3 + 3) / 4) and s.agreement_tasks == 4
    assert s.low_agreement_tasks == 1  # t1 below 0.5


def test_annotator_rows_of_the_small_project(small):
    rows = {r.email.split("@")[0]: r for r in project_metrics(small.project).annotators}
    a, b, c = rows["alice"], rows["bob"], rows["carol"]
    assert [r.email for r in project_metrics(small.project).annotators] == [
        "alice@example.com", "bob@example.com", "carol@example.com"
    ]  # fmt: skip
    assert (a.annotations, a.skipped, a.accepted, a.fixed, a.rejected, a.pending) == (
        4,
        0,
        2,
        0,
        0,
        2,
    )
    assert (b.annotations, b.skipped, b.accepted, b.fixed, b.rejected, b.pending) == (
        3,
        1,
        0,
        2,
        0,
        1,
    )
    assert (c.annotations, c.skipped, c.accepted, c.fixed, c.rejected, c.pending) == (
        3,
        0,
        1,
        0,
        1,
        1,
    )
    # Acceptance: (accepted + fixed) / reviewed.
    assert (a.acceptance_rate, b.acceptance_rate, c.acceptance_rate) == (1.0, 1.0, 0.5)
    # Pairs with others: alice t1 ab=1, ac=0, t2 ab=1, t3 ac=1 -> 3/4; bob t1 ab=1, bc=0,
    # t2 ab=1, t4 bc=1 -> 3/4; carol t1 ac=0, bc=0, t3 ac=1, t4 bc=1 -> 2/4.
    assert [(r.agreement, r.agreement_n) for r in (a, b, c)] == [(0.75, 4), (0.75, 4), (0.5, 4)]
    # Against ground truth: t1 (alice Positive): bob 1, carol 0; t4 (bob Positive): carol 1.
    assert [(r.gt_accuracy, r.gt_n) for r in (a, b, c)] == [(None, 0), (1.0, 1), (0.5, 2)]
    # Fix sizes: bob's two fixes, 1.0 and 0.0.
    assert [(r.mean_fix_size, r.fix_n) for r in (a, b, c)] == [(None, 0), (0.5, 2), (None, 0)]
    # Median lead time: alice 10, 11, 12, 14 -> 11.5; bob 8, 20, 40 (skipped 5 left out)
    # -> 20; carol 16, 30, 30 -> 30.
    assert [(r.median_lead_time, r.lead_time_n) for r in (a, b, c)] == [
        (11.5, 4),
        (20.0, 3),
        (30.0, 3),
    ]
    # First pass: alice t1 yes, t2 no (rejected by rita before mona accepted it); bob's two
    # fixes yes; carol t1 rejected, t3 accepted.
    assert [(r.first_pass, r.first_pass_n, r.times_rejected) for r in (a, b, c)] == [
        (1, 2, 1),
        (2, 2, 0),
        (1, 2, 1),
    ]
    assert [r.first_pass_acceptance for r in (a, b, c)] == [0.5, 1.0, 0.5]
    assert a.last_active == datetime(2024, 3, 5, 8, 0)  # t5
    assert b.last_active == datetime(2024, 3, 10, 8, 1)  # the skipped t3 annotation counts
    assert c.last_active == datetime(2024, 3, 4, 8, 1)


def test_median_lead_time_leaves_out_annotations_without_one(small):
    # alice's t5 annotation (11 s) loses its lead time: 10, 12, 14 -> 12.
    db.session.execute(
        update(Annotation).where(Annotation.task_id == small.tasks["t5"]).values(lead_time=None)
    )
    db.session.commit()
    alice = next(r for r in project_metrics(small.project).annotators if r.email[0] == "a")
    assert (alice.median_lead_time, alice.lead_time_n, alice.annotations) == (12.0, 3, 4)


def test_reviews_in_another_project_do_not_count(small):
    bob, rita = small.users["bob"], small.users["rita"]
    other = factories.project(members=(bob, rita), title="Other")
    factories.tasks(other, [{"data": {"text": "x"}, "annotations": [factories.annotation(bob)]}])
    annotation = db.session.scalar(select(Annotation).where(Annotation.project_id == other.id))
    factories.review(annotation, rita, "fixed", fix_size=0.9)
    db.session.commit()
    metrics = project_metrics(small.project)
    theirs = {r.email[0]: r for r in metrics.annotators + metrics.reviewers}
    assert (theirs["b"].mean_fix_size, theirs["b"].fix_n) == (0.5, 2)
    assert (theirs["r"].reviews, theirs["r"].fixed, theirs["r"].time_n) == (5, 2, 4)
    metrics = project_metrics(other)
    assert [(r.email, r.reviews, r.fixed) for r in metrics.reviewers] == [(rita.email, 1, 1)]
    assert [(a.email, a.mean_fix_size, a.fix_n) for a in metrics.annotators] == [
        (bob.email, 0.9, 1)
    ]


def test_sorting_the_annotator_rows(small):
    emails = lambda order: [r.email[0] for r in project_metrics(small.project, order).annotators]  # noqa: E731
    assert emails("-agreement") == ["a", "b", "c"]  # ties by email
    assert emails("agreement") == ["c", "a", "b"]
    assert emails("gt_accuracy") == ["c", "b", "a"]  # alice has none: last
    assert emails("-gt_accuracy") == ["b", "c", "a"]


def test_matrix_of_the_small_project(small):
    m = project_metrics(small.project).matrix
    assert [r.label for r in m.raters] == ["Alice A", "Bob B", "Carol C"]
    # alice-bob: t1 1, t2 1; alice-carol: t1 0, t3 1; bob-carol: t1 0, t4 1.
    assert m.cells == [
        [Cell(None, 0), Cell(1.0, 2), Cell(0.5, 2)],
        [Cell(1.0, 2), Cell(None, 0), Cell(0.5, 2)],
        [Cell(0.5, 2), Cell(0.5, 2), Cell(None, 0)],
    ]
    assert m.avg == [Cell(0.75, 4), Cell(0.75, 4), Cell(0.5, 4)]


def test_matrix_with_model_versions(small):
    m = project_metrics(small.project, include_models=True).matrix
    assert [r.label for r in m.raters] == ["Alice A", "Bob B", "Carol C", "m1", "m2"]
    assert m.sample_tasks == 3  # t1, t2, t4 have predictions and annotations
    m1 = m.cells[3]
    # m1 vs alice: t1 Positive/Positive 1, t2 Neutral/Negative 0 -> 0.5 (n 2);
    # vs bob: t1 1, t2 0, t4 Negative/Positive 0 -> 1/3; vs carol: t1 0, t4 0 -> 0.
    assert m1[:3] == [Cell(0.5, 2), Cell(pytest.approx(1 / 3), 3), Cell(0.0, 2)]
    assert m1[4] == Cell(0.0, 1)  # t4: m1 Negative against m2 Positive
    assert m.avg[3] == Cell(pytest.approx(2 / 7), 7)  # (1 + 0 + 1 + 0 + 0 + 0 + 0) / 7
    assert m.avg[0] == Cell(0.75, 4)  # an annotator's Avg leaves the models out


def test_histogram_models_reviewers_and_alpha_of_the_small_project(small):
    metrics = project_metrics(small.project)
    assert [b.count for b in metrics.histogram.buckets] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 3]
    # m1: t1 Positive vs GT Positive 1, t4 Negative vs GT Positive 0 -> 0.5 (t2 has no GT).
    assert [(r.model_version, r.predictions, r.gt_accuracy, r.gt_n) for r in metrics.models] == [
        ("m1", 3, 0.5, 2),
        ("m2", 1, 1.0, 1),
    ]
    mona, rita = metrics.reviewers  # by name
    # rita: gaps 30, 60, 120 and 16.5 min capped to 600 -> median (60 + 120) / 2.
    assert (rita.reviews, rita.accepted, rita.fixed, rita.rejected) == (5, 1, 2, 2)
    assert (rita.median_seconds, rita.time_n) == (90.0, 4)
    assert (mona.reviews, mona.accepted, mona.median_seconds, mona.time_n) == (2, 2, 45.0, 1)
    # Units t1 [P, P, N], t2 [N, N], t3 [Neu, Neu], t4 [P, P] (t5 has one value): as in
    # test_alpha_from_counts_by_hand, alpha = 9/13. Raw: equal pairs 1 + 1 + 1 + 1 of
    # 3 + 1 + 1 + 1.
    (alpha,) = metrics.alpha
    assert (alpha.control, alpha.units, alpha.values) == ("sentiment", 4, 9)
    assert alpha.alpha == pytest.approx(9 / 13)
    assert alpha.raw_agreement == pytest.approx(4 / 6)


def test_deleting_ground_truth_leaves_no_ground_truth_accuracy(small):
    # The bulk "delete ground truth" clears the flags and the scores against them.
    everything = select(Task.id).where(Task.project_id == small.project.id)
    apply_bulk_action("delete_ground_truth", small.project, small.users["mona"], everything)
    metrics = project_metrics(small.project)
    assert all(r.gt_n == 0 for r in metrics.annotators + metrics.models)


def test_empty_project(app):
    metrics = project_metrics(factories.project())
    assert metrics.summary.tasks == 0 and metrics.summary.mean_agreement is None
    assert metrics.annotators == [] and metrics.matrix.raters == [] and metrics.models == []
    assert [(a.control, a.alpha, a.units) for a in metrics.alpha] == [("sentiment", None, 0)]


MULTI = """<View>
  <Text name="text" value="$text"/>
  <Choices name="topics" toName="text" choice="multiple">
    <Choice value="A"/><Choice value="B"/><Choice value="C"/>
  </Choices>
  <Choices name="mood" toName="text" choice="single">
    <Choice value="Happy"/><Choice value="Sad"/>
  </Choices>
</View>"""


@pytest.mark.parametrize("seed", range(3))
def test_alpha_from_stored_counts_matches_the_krippendorff_package(app, seed):
    """Random answers from four coders, some missing; multiple choice as the set of
    choices in any order (the stored counts must see ["B", "A"] and ["A", "B"] as one
    value); then after a third of the answers change, as stored by refresh_tasks."""
    rng = random.Random(seed)
    project = factories.project(title="multi")
    update_project(project, MULTI)
    db.session.commit()
    sets = [("A",), ("B",), ("A", "B"), ("B", "A"), ("C", "A", "B")]
    coders = [f"coder{k}@example.com" for k in range(4)]
    items, topics, moods = [], [], []
    for i in range(30):
        annotations, row_topics, row_moods = [], {}, {}
        for coder in coders:
            if rng.random() < 0.25:
                continue
            result = []
            if rng.random() < 0.9:
                chosen = rng.choice(sets)
                row_topics[coder] = "|".join(sorted(chosen))
                result.append(topic_item(chosen))
            if rng.random() < 0.8:
                mood = rng.choice(["Happy", "Sad"])
                row_moods[coder] = mood
                result.append(
                    {
                        "from_name": "mood",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [mood]},
                    }
                )
            annotations.append({"completed_by": coder, "result": result})
        items.append({"data": {"text": f"t{i}"}, "annotations": annotations})
        topics.append(row_topics)
        moods.append(row_moods)
    factories.tasks(project, items)

    def expected(rows):
        values = sorted({v for row in rows for v in row.values()})
        data = [[values.index(row[c]) if c in row else np.nan for row in rows] for c in coders]
        return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")

    by_control = {a.control: a for a in choice_alpha(project)}
    assert by_control["topics"].alpha == pytest.approx(expected(topics))
    assert by_control["mood"].alpha == pytest.approx(expected(moods))
    assert by_control["topics"].multiple and not by_control["mood"].multiple

    stored = db.session.scalars(select(Annotation).where(Annotation.project_id == project.id))
    for annotation in stored.all():
        if rng.random() < 0.33:
            chosen = rng.choice(sets)
            topics[int(annotation.task.data["text"][1:])][annotation.completed_by.email] = "|".join(
                sorted(chosen)
            )
            others = [item for item in annotation.result if item["from_name"] != "topics"]
            annotation.result = [*others, topic_item(chosen)]
    refresh_tasks(project, db.session.scalars(select(Task.id)).all())
    db.session.commit()
    by_control = {a.control: a for a in choice_alpha(project)}
    assert by_control["topics"].alpha == pytest.approx(expected(topics))
    assert by_control["mood"].alpha == pytest.approx(expected(moods))


def topic_item(chosen):
    return {
        "from_name": "topics",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": list(chosen)},
    }


def test_sql_histogram_uses_the_same_buckets(small):
    values = [0.0, 0.1 * 3, 0.7 - 0.4, 0.5, 0.9999, 1.0]
    for task_id, value in zip(small.tasks.values(), values, strict=True):
        db.session.execute(update(Task).where(Task.id == task_id).values(agreement=value))
    db.session.commit()
    counts = [b.count for b in project_metrics(small.project).histogram.buckets]
    expected = [0] * 10
    for value in values:
        expected[bucket_of(value)] += 1
    assert counts == expected == [1, 0, 0, 2, 0, 1, 0, 0, 0, 2]


def test_review_gap_medians_in_sql_match_the_python_definition(app):
    """Medians read from the database equal median(review_gaps(...)) of the times."""
    from datetime import timedelta

    from reviewapp.services.metrics.aggregates import _review_gap_medians
    from reviewapp.services.metrics.definitions import median

    project = factories.project()
    reviewers = [factories.user("reviewer") for _ in range(3)]
    factories.tasks(
        project, [{"data": {"text": "two"}, "annotations": [factories.annotation("a@x.com")]}]
    )
    annotation = db.session.scalar(select(Annotation))
    rng = random.Random(7)
    start = datetime(2024, 5, 1, 9, 0, 0)
    expected = {}
    for count, reviewer in zip((1, 6, 9), reviewers, strict=True):
        # Gaps from a second to an hour, with repeats; sub-second parts too.
        offsets = sorted(rng.choice([0, 1.5, 30, 30, 59.25, 600, 601, 3600]) for _ in range(count))
        times = [start + timedelta(seconds=sum(offsets[: i + 1]) + i) for i in range(count)]
        for at in times:
            factories.review(annotation, reviewer, created_at=at)
        gaps = review_gaps([(at - start).total_seconds() for at in times])
        if gaps:
            expected[reviewer.id] = (round(median(gaps), 3), len(gaps))
    db.session.commit()
    assert _review_gap_medians(project.id) == expected


def test_first_pass_and_overturns_by_hand():
    assert first_pass(["accepted"], "accepted") and first_pass(["fixed"], "fixed")
    assert not first_pass([], "pending")  # not reviewed: not counted at all
    # A return, a resubmission and an accept is not a first pass.
    assert not first_pass(["rejected", "accepted"], "accepted")
    assert not first_pass(["accepted", "rejected"], "rejected")
    # Reviews as (reviewer, round judged). 1 rejects and returns, the annotator resubmits
    # (round 2), 2 accepts: no overturn. 2's accept is then replaced by 3 on round 2: one.
    assert overturned([(1, 1), (2, 2), (3, 2)]) == [False, True, False]
    # The same reviewer changing their own verdict is no overturn; a fix then a reject by
    # another reviewer is (the fix kept its round).
    assert overturned([(1, 1), (1, 1), (2, 1)]) == [False, True, False]
    assert overturned([]) == []


def test_overturns_in_the_small_project(small):
    reviewers = {r.email.split("@")[0]: r for r in project_metrics(small.project).reviewers}
    # Only alice's t2: rita rejected it and mona accepted it, on the same round.
    assert (reviewers["rita"].overturned, reviewers["mona"].overturned) == (1, 0)
    assert reviewers["rita"].overturn_rate == 1 / 5


def test_a_resubmission_after_a_return_is_no_overturn(app):
    from reviewapp.services.label_stream import submit, update_own
    from reviewapp.services.review_stream import record_verdict

    amy = factories.user("annotator", email="amy@x.com")
    rev = factories.user("reviewer", email="rev@x.com")
    rev2 = factories.user("reviewer", email="rev2@x.com")
    project = factories.project(members=(amy, rev, rev2), reject_actions=["return"])
    factories.text_tasks(project, "one")
    task = db.session.scalars(select(Task)).one()
    annotation = submit(project, amy, task, factories.choice("Positive"), 1.0).annotation
    db.session.commit()
    record_verdict(annotation.id, rev, "rejected", comment="No", action="return")
    db.session.commit()
    update_own(project, amy, annotation, factories.choice("Negative"))
    db.session.commit()
    record_verdict(annotation.id, rev2, "accepted")
    db.session.commit()
    metrics = project_metrics(project)
    assert [r.overturned for r in metrics.reviewers] == [0, 0]
    [row] = metrics.annotators
    assert (row.first_pass, row.first_pass_n, row.times_rejected) == (0, 1, 1)
    # rev2 changing that accept into a reject from the task page overturns rev2? No: the
    # same reviewer. rev changing it does: same round, another reviewer.
    record_verdict(annotation.id, rev, "rejected", comment="Still wrong", change=True)
    db.session.commit()
    by_email = {r.email: r.overturned for r in project_metrics(project).reviewers}
    assert by_email == {"rev@x.com": 0, "rev2@x.com": 1}
