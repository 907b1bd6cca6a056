"""Stored pair and ground-truth scores: the pure scorer, import, refresh and recompute."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import delete, func, select, update

from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.labeling.presets import NAMED_ENTITIES, TEXT_CLASSIFICATION
from reviewapp.models import AgreementPair, Annotation, ChoiceCount, GtScore, Prediction, Task
from reviewapp.services.data_manager.bulk import ACTIONS, BulkRequest
from reviewapp.services.derived.scores import (
    StoredAnnotation,
    choice_counts,
    choice_value,
    rescore_chunks,
    score_task,
    write_scores,
)
from reviewapp.services.derived.task_columns import refresh_tasks
from tests import factories
from tests.test_import_export import span

TEXT = parse_label_config(TEXT_CLASSIFICATION)
NER = parse_label_config(NAMED_ENTITIES)


def ann(label, skipped=False, gt=False):
    return StoredAnnotation([] if skipped else factories.choice(label), skipped, gt)


def test_score_task_pairs_skip_skipped_and_score_against_ground_truth():
    # 0: Positive (ground truth), 1: Positive, 2: skipped, 3: Negative; one prediction.
    annotations = [
        ann("Positive", gt=True),
        ann("Positive"),
        ann("", skipped=True),
        ann("Negative"),
    ]
    scores = score_task(TEXT, 0.5, annotations, [factories.choice("Negative")])
    # Pairs of the non-skipped 0, 1, 3: equal choices score 1, different 0.
    assert scores.pairs == [(0, 1, 1.0), (0, 3, 0.0), (1, 3, 0.0)]
    assert scores.agreement == pytest.approx(1 / 3)  # (1 + 0 + 0) / 3
    # Against the ground truth (0): 1 agrees, 3 does not; the skipped one gets no score.
    assert scores.annotation_gt == [(1, 1.0), (3, 0.0)]
    assert scores.prediction_gt == [(0, 0.0)]


def test_score_task_without_ground_truth_or_with_a_skipped_one():
    none = score_task(TEXT, 0.5, [ann("Positive"), ann("Negative")], [factories.choice("Positive")])
    assert none.annotation_gt == [] and none.prediction_gt == []
    # A skipped ground truth is in no pair, so its scores are computed directly.
    skipped_gt = StoredAnnotation(factories.choice("Neutral"), True, True)
    scores = score_task(TEXT, 0.5, [skipped_gt, ann("Neutral"), ann("Positive")], [])
    assert scores.pairs == [(1, 2, 0.0)]
    assert scores.annotation_gt == [(1, 1.0), (2, 0.0)]


def test_score_task_span_iou_by_hand():
    # a: [0, 10) PER; b: [5, 10) PER and [20, 25) ORG.
    # Matched: [0,10) with [5,10): IoU = 5 / 10 = 0.5 (> threshold 0.4). ORG is unmatched.
    # score = 0.5 / (1 + 2 - 1) = 0.25.
    a = [span(0, 10, "x" * 10)]
    b = [span(5, 10, "x" * 5), span(20, 25, "x" * 5, "ORG")]
    scores = score_task(NER, 0.4, [StoredAnnotation(a), StoredAnnotation(b)], [])
    assert scores.pairs == [(0, 1, pytest.approx(0.25))]
    # At threshold 0.5 the IoU of 0.5 is not above it: nothing matches, score 0.
    assert score_task(NER, 0.5, [StoredAnnotation(a), StoredAnnotation(b)], []).agreement == 0.0


def topics(*choices):
    return [
        {"from_name": "topics", "to_name": "text", "type": "choices", "value": {"choices": [c]}}
        for c in choices
    ]


def test_choice_counts_by_hand():
    # sentiment: Positive, Positive, Negative, and a skipped Positive that is left out.
    # topics (multiple): {A, B} in the first two (as two items, in either order), {A} in
    # the third; the fourth answers nothing.
    results = [
        factories.choice("Positive") + topics("A", "B"),
        factories.choice("Positive") + topics("B", "A")[:1] + topics("A"),
        factories.choice("Negative") + topics("A"),
        [],
    ]
    annotations = [StoredAnnotation(r) for r in results] + [ann("Positive", skipped=True)]
    scores = score_task(TEXT, 0.5, annotations, [])
    # Units: sentiment has 3 values (2 Positive, 1 Negative); topics has 3 values:
    # {A, B} twice (the order of the items and choices does not matter) and {A} once.
    assert scores.choices == [
        ("sentiment", '["Negative"]', 1, 3),
        ("sentiment", '["Positive"]', 2, 3),
        ("topics", '["A", "B"]', 2, 3),
        ("topics", '["A"]', 1, 3),
    ]
    # A control answered once is no unit of alpha: no rows.
    assert choice_counts([factories.choice("Positive"), []]) == []
    assert scores.choice_rows(7, 70)[0] == {
        "task_id": 70,
        "control": "sentiment",
        "value": '["Negative"]',
        "project_id": 7,
        "count": 1,
        "unit_size": 3,
    }


def test_long_choice_values_are_stored_as_their_digest():
    many = frozenset(f"choice number {k:03d}" for k in range(20))
    key = choice_value(many)
    assert key.startswith("sha256:") and len(key) == 71
    assert key == choice_value(frozenset(sorted(many, reverse=True)))
    assert choice_value(frozenset({"Ünïcode"})) == '["Ünïcode"]'


def test_rows_carry_ids_users_and_order_pairs_by_annotation_id():
    scores = score_task(
        TEXT, 0.5, [ann("Positive", gt=True), ann("Negative")], [factories.choice("Positive")]
    )
    # Ids deliberately out of order: the pair is stored with a.id < b.id.
    pairs, gt = scores.rows(7, 70, [(12, 1), (11, 2)], [(5, "v2")])
    assert pairs == [
        {
            "project_id": 7,
            "task_id": 70,
            "annotation_a_id": 11,
            "annotation_b_id": 12,
            "user_a_id": 2,
            "user_b_id": 1,
            "score": 0.0,
        }
    ]
    assert gt == [
        {
            "project_id": 7,
            "task_id": 70,
            "annotation_id": 11,
            "prediction_id": None,
            "user_id": 2,
            "model_version": None,
            "score": 0.0,
        },
        {
            "project_id": 7,
            "task_id": 70,
            "annotation_id": None,
            "prediction_id": 5,
            "user_id": None,
            "model_version": "v2",
            "score": 1.0,
        },
    ]


def pairs_of(task_id):
    return db.session.execute(
        select(AgreementPair.user_a_id, AgreementPair.user_b_id, AgreementPair.score)
        .where(AgreementPair.task_id == task_id)
        .order_by(AgreementPair.id)
    ).all()


def gt_of(task_id):
    return db.session.execute(
        select(GtScore.user_id, GtScore.model_version, GtScore.score)
        .where(GtScore.task_id == task_id)
        .order_by(GtScore.id)
    ).all()


def choices_of(task_id):
    return db.session.execute(
        select(ChoiceCount.value, ChoiceCount.count, ChoiceCount.unit_size)
        .where(ChoiceCount.task_id == task_id)
        .order_by(ChoiceCount.value)
    ).all()


def assert_consistent(project):
    """Every task's agreement is the mean of its stored pair scores (None without pairs)."""
    stored = dict(
        db.session.execute(
            select(AgreementPair.task_id, func.avg(AgreementPair.score))
            .where(AgreementPair.project_id == project.id)
            .group_by(AgreementPair.task_id)
        ).all()
    )
    for task_id, agreement in db.session.execute(
        select(Task.id, Task.agreement).where(Task.project_id == project.id)
    ):
        if agreement is None:
            assert task_id not in stored
        else:
            assert math.isclose(agreement, stored[task_id])


def test_import_task_agreement_for_0_1_2_and_4_annotations(app):
    project = factories.project()
    a, b, c, d = (f"{name}@example.com" for name in "abcd")
    factories.tasks(
        project,
        [
            {"data": {"text": "none"}},
            {"data": {"text": "one"}, "annotations": [factories.annotation(a)]},
            {
                "data": {"text": "two"},
                "annotations": [factories.annotation(a), factories.annotation(b, "Negative")],
            },
            {
                "data": {"text": "four"},
                "annotations": [
                    factories.annotation(a, "Positive"),
                    factories.annotation(b, "Positive"),
                    factories.annotation(c, "Positive"),
                    factories.annotation(d, "Negative"),
                ],
            },
        ],
    )
    tasks = {t.data["text"]: t for t in db.session.scalars(select(Task))}
    assert tasks["none"].agreement is None and pairs_of(tasks["none"].id) == []
    assert tasks["one"].agreement is None and pairs_of(tasks["one"].id) == []
    # Two annotations that differ: one pair scoring 0.
    assert tasks["two"].agreement == 0.0 and len(pairs_of(tasks["two"].id)) == 1
    # Four: 6 pairs; a, b, c agree with each other (3 pairs of 1), d with nobody (3 of 0).
    assert [s for *_, s in pairs_of(tasks["four"].id)] == [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    assert tasks["four"].agreement == pytest.approx(3 / 6)
    assert_consistent(project)
    # The units of alpha: none below two answers; four: 3 Positive and 1 Negative.
    assert choices_of(tasks["none"].id) == choices_of(tasks["one"].id) == []
    assert choices_of(tasks["two"].id) == [('["Negative"]', 1, 2), ('["Positive"]', 1, 2)]
    assert choices_of(tasks["four"].id) == [('["Negative"]', 1, 4), ('["Positive"]', 3, 4)]


def test_import_stores_ground_truth_scores_with_users_and_model_versions(app):
    project = factories.project()
    factories.tasks(
        project,
        [
            {
                "data": {"text": "t"},
                "annotations": [
                    factories.annotation("gt@example.com", "Positive", ground_truth=True),
                    factories.annotation("x@example.com", "Negative"),
                    factories.annotation("y@example.com", "Positive"),
                    factories.annotation("z@example.com", "Positive", was_cancelled=True),
                ],
                "predictions": [
                    {"result": factories.choice("Positive"), "model_version": "v1"},
                    {"result": factories.choice("Neutral"), "model_version": "v2"},
                ],
            }
        ],
    )
    task = db.session.scalar(select(Task))
    users = {a.completed_by.email: a.completed_by_id for a in task.annotations}
    assert gt_of(task.id) == [
        (users["x@example.com"], None, 0.0),
        (users["y@example.com"], None, 1.0),
        (None, "v1", 1.0),
        (None, "v2", 0.0),
    ]
    prediction_ids = set(db.session.scalars(select(Prediction.id)))
    stored = set(
        db.session.scalars(select(GtScore.prediction_id).where(GtScore.prediction_id.isnot(None)))
    )
    assert stored == prediction_ids


def test_import_maps_ids_across_chunks(app):
    # More tasks than one import chunk (2000), each annotator pair with its own labels, so
    # a score row pointing at the wrong annotation would show up.
    project = factories.project()
    labels = ["Positive", "Negative", "Neutral"]
    items = [
        {
            "data": {"text": f"t{i}"},
            "annotations": [
                factories.annotation("p@example.com", labels[i % 3]),
                factories.annotation("q@example.com", labels[(i // 3) % 3]),
            ],
        }
        for i in range(2050)
    ]
    factories.tasks(project, items)
    mismatched = db.session.scalar(
        select(func.count(AgreementPair.id))
        .join(Annotation, Annotation.id == AgreementPair.annotation_a_id)
        .where(
            (Annotation.task_id != AgreementPair.task_id)
            | (Annotation.completed_by_id != AgreementPair.user_a_id)
        )
    )
    assert mismatched == 0
    rows = db.session.execute(
        select(AgreementPair.score, Annotation.result)
        .join(Annotation, Annotation.id == AgreementPair.annotation_b_id)
        .where(Annotation.task_id == AgreementPair.task_id)
    ).all()
    assert len(rows) == 2050
    assert_consistent(project)


@pytest.fixture
def scored(app):
    """One task: alice Positive (ground truth), bob Positive, carol Negative; a prediction."""
    project = factories.project()
    factories.tasks(
        project,
        [
            {
                "data": {"text": "t"},
                "annotations": [
                    factories.annotation("alice@example.com", "Positive", ground_truth=True),
                    factories.annotation("bob@example.com", "Positive"),
                    factories.annotation("carol@example.com", "Negative"),
                ],
                "predictions": [{"result": factories.choice("Negative"), "model_version": "m"}],
            }
        ],
    )
    task = db.session.scalar(select(Task))
    project.task_id = task.id
    project.by = {a.completed_by.email.split("@")[0]: a for a in task.annotations}
    return project


def test_refresh_after_an_annotation_changes(scored):
    task_id, carol = scored.task_id, scored.by["carol"]
    assert db.session.get(Task, task_id).agreement == pytest.approx(1 / 3)
    carol.result = factories.choice("Positive")
    refresh_tasks(scored, [task_id])
    db.session.commit()
    assert [s for *_, s in pairs_of(task_id)] == [1.0, 1.0, 1.0]
    assert db.session.get(Task, task_id).agreement == 1.0
    assert [s for *_, s in gt_of(task_id)] == [1.0, 1.0, 0.0]  # bob, carol, prediction
    assert choices_of(task_id) == [('["Positive"]', 3, 3)]


def test_refresh_after_an_annotation_is_skipped_or_deleted(scored):
    task_id = scored.task_id
    assert choices_of(task_id) == [('["Negative"]', 1, 3), ('["Positive"]', 2, 3)]
    scored.by["carol"].was_cancelled = True
    refresh_tasks(scored, [task_id])
    db.session.commit()
    assert len(pairs_of(task_id)) == 1 and db.session.get(Task, task_id).agreement == 1.0
    assert choices_of(task_id) == [('["Positive"]', 2, 2)]
    db.session.delete(db.session.get(Annotation, scored.by["bob"].id))
    refresh_tasks(scored, [task_id])
    db.session.commit()
    assert pairs_of(task_id) == [] and db.session.get(Task, task_id).agreement is None
    assert choices_of(task_id) == []  # one answer left: no unit
    assert [(m, s) for _, m, s in gt_of(task_id)] == [("m", 0.0)]  # only the prediction left


def test_refresh_after_ground_truth_changes(scored):
    task_id, alice, carol = scored.task_id, scored.by["alice"], scored.by["carol"]
    db.session.execute(update(Annotation).values(ground_truth=False))
    refresh_tasks(scored, [task_id])
    db.session.commit()
    assert gt_of(task_id) == []
    db.session.execute(
        update(Annotation).where(Annotation.id == carol.id).values(ground_truth=True)
    )
    refresh_tasks(scored, [task_id])
    db.session.commit()
    # Carol's Negative is now the truth: alice and bob score 0, the Negative prediction 1.
    assert gt_of(task_id) == [
        (alice.completed_by_id, None, 0.0),
        (scored.by["bob"].completed_by_id, None, 0.0),
        (None, "m", 1.0),
    ]
    assert len(pairs_of(task_id)) == 3  # pair scores do not depend on ground truth


def test_assign_ground_truth_bulk_action_writes_scores(app):
    project = factories.project()
    factories.tasks(
        project,
        [
            {
                "data": {"text": "t"},
                "annotations": [
                    factories.annotation(
                        "first@example.com", "Neutral", created_at="2024-01-01T00:00:00"
                    ),
                    factories.annotation(
                        "second@example.com", "Neutral", created_at="2024-01-02T00:00:00"
                    ),
                ],
            }
        ],
    )
    manager = factories.user("manager")
    task = db.session.scalar(select(Task))
    assert gt_of(task.id) == []
    ACTIONS["assign_ground_truth"].run(BulkRequest(project, manager, [task.id]))
    db.session.commit()
    second = db.session.scalar(select(Annotation).where(Annotation.ground_truth.is_(False)))
    assert gt_of(task.id) == [(second.completed_by_id, None, 1.0)]


def test_write_scores_returns_agreements_and_replaces_rows(scored):
    before = pairs_of(scored.task_id), gt_of(scored.task_id), choices_of(scored.task_id)
    agreements = write_scores(scored, [scored.task_id])
    db.session.commit()
    assert agreements == {scored.task_id: pytest.approx(1 / 3)}
    assert (pairs_of(scored.task_id), gt_of(scored.task_id), choices_of(scored.task_id)) == before
    assert db.session.scalar(select(func.count(AgreementPair.id))) == 3
    assert db.session.scalar(select(func.count()).select_from(ChoiceCount)) == 2


def test_recompute_scores_restores_choice_counts(scored):
    db.session.execute(delete(ChoiceCount))
    db.session.commit()
    for _ in rescore_chunks(scored):
        db.session.commit()
    assert choices_of(scored.task_id) == [('["Negative"]', 1, 3), ('["Positive"]', 2, 3)]


def test_recompute_scores_after_a_threshold_change(app):
    project = factories.project("ner")
    factories.tasks(
        project,
        [
            {
                "data": {"text": "Ada Lovelace met Charles Babbage in London town"},
                "annotations": [
                    {"completed_by": "a@example.com", "result": [span(0, 12, "Ada Lovelace")]},
                    # [0, 3) against [0, 12): IoU 3 / 12 = 0.25.
                    {"completed_by": "b@example.com", "result": [span(0, 3, "Ada")]},
                ],
            },
            {"data": {"text": "Nothing here"}},
        ],
    )
    task = db.session.scalar(select(Task).where(Task.annotation_count == 2))
    assert task.agreement == 0.0  # the default threshold 0.5 rejects an IoU of 0.25
    project.iou_threshold = 0.2
    db.session.commit()
    seen = []
    for done in rescore_chunks(project, chunk=1):
        db.session.commit()
        seen.append(done)
    assert seen == [1, 2]  # tasks done after each chunk, 2 in all
    # Matched at 0.2: 0.25 / (1 + 1 - 1) = 0.25.
    assert db.session.get(Task, task.id).agreement == pytest.approx(0.25)
    assert [s for *_, s in pairs_of(task.id)] == [pytest.approx(0.25)]
