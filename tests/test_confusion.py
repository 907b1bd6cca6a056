"""Confusion pairs and confusion against ground truth (services/metrics/confusion.py),
on cases worked by hand."""

from collections import Counter

import pytest

from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.services.metrics.confusion import (
    ConfusionPair,
    GtCell,
    annotation_gt_cells,
    choice_pairs_from_counts,
    gt_cells,
    gt_confusion_task_ids,
    gt_matrix,
    project_confusion,
    project_gt_confusion,
    set_pairs,
    sorted_pairs,
    task_confusion,
)
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member
from tests import factories
from tests.test_metrics import build_small

LONG_A, LONG_B = "a" * 150, "b" * 150
CONFIG = f"""<View>
  <Text name="text" value="$text"/>
  <Choices name="topics" toName="text" choice="multiple">
    <Choice value="A"/><Choice value="B"/><Choice value="C"/>
  </Choices>
  <Choices name="long" toName="text" choice="multiple">
    <Choice value="{LONG_A}"/><Choice value="{LONG_B}"/><Choice value="c"/>
  </Choices>
  <Rating name="stars" toName="text"/>
</View>"""


def picked(control: str, *choices: str) -> dict:
    return {
        "from_name": control,
        "to_name": "text",
        "type": "choices",
        "value": {"choices": list(choices)},
    }


def test_set_pairs_single_and_multiple():
    assert set_pairs(frozenset({"Positive"}), frozenset({"Negative"})) == [("Negative", "Positive")]
    assert set_pairs(frozenset({"A"}), frozenset({"A"})) == []
    # {A, B} vs {C}: A and B are only in the first, C only in the second.
    assert set_pairs(frozenset({"A", "B"}), frozenset({"C"})) == [("A", "C"), ("B", "C")]
    # {A, B} vs {A}: nothing only in the second, so no pair although the sets differ.
    assert set_pairs(frozenset({"A", "B"}), frozenset({"A"})) == []


def test_task_confusion_counts_every_pair_that_answered():
    results = [
        [picked("topics", "A", "B")],
        [picked("topics", "A", "C")],
        [picked("topics", "C")],
        [],  # answered nothing: in no pair
    ]
    # {A,B}-{A,C}: (B,C); {A,B}-{C}: (A,C), (B,C); {A,C}-{C}: nothing.
    assert task_confusion(["topics"], results) == {
        "topics": Counter({("B", "C"): 2, ("A", "C"): 1})
    }


def test_sorted_by_count_then_labels():
    counts = Counter({("B", "C"): 1, ("A", "C"): 1, ("C", "D"): 3})
    assert sorted_pairs(counts) == [
        ConfusionPair("C", "D", 3),
        ConfusionPair("A", "C", 1),
        ConfusionPair("B", "C", 1),
    ]


def test_pairs_from_stored_counts_equal_the_pairs_of_annotations():
    # A task with answers ["A","B"] twice and ["C"] three times: 2 x 3 = 6 differing pairs,
    # each adding (A,C) and (B,C).
    rows = [("topics", '["A", "B"]', '["C"]', 6)]
    assert choice_pairs_from_counts(rows) == {"topics": Counter({("A", "C"): 6, ("B", "C"): 6})}
    results = [[picked("topics", "A", "B")]] * 2 + [[picked("topics", "C")]] * 3
    assert task_confusion(["topics"], results) == choice_pairs_from_counts(rows)


def test_cells_against_ground_truth():
    truth = frozenset({"A", "B"})
    assert gt_cells(frozenset({"A", "C"}), truth) == (("A", "A"), ("C", "B"))
    assert gt_cells(frozenset({"A"}), truth) == (("A", "A"), (None, "B"))
    assert gt_cells(frozenset({"A", "B", "C"}), truth) == (("A", "A"), ("B", "B"), ("C", None))
    assert gt_cells(frozenset(), frozenset({"A"})) == ((None, "A"),)
    # A control neither answered adds nothing.
    cells = annotation_gt_cells(
        ["topics", "long"], [picked("topics", "A")], [picked("topics", "B")]
    )
    assert cells == {"topics": (("A", "B"),)}


def test_matrix_labels_in_config_order_then_none():
    control = parse_label_config(CONFIG).controls["topics"]
    m = gt_matrix(control, Counter({("C", "B"): 1, ("A", "A"): 2, (None, "B"): 1}))
    assert m.labels == ["A", "B", "C", None]
    assert m.cells == [GtCell("A", "A", 2), GtCell("C", "B", 1), GtCell(None, "B", 1)]
    assert m.total == 4
    assert m.rows[2] == [("C", "A", 0), ("C", "B", 1), ("C", "C", 0), ("C", None, 0)]


def test_small_project_confusion(app):
    small = build_small()
    config = parse_label_config(small.project.label_config)
    # t1: alice Positive, bob Positive, carol Negative: two differing pairs. t2 (Negative x2),
    # t3 (Neutral x2, bob skipped) and t4 (Positive x2) agree; t5 has one annotation.
    assert project_confusion(small.project, config) == {
        "sentiment": [ConfusionPair("Negative", "Positive", 2)]
    }
    # Ground truth: t1 alice's Positive (bob Positive, carol Negative), t4 bob's Positive
    # (carol Positive).
    m = project_gt_confusion(small.project, config)["sentiment"]
    assert m.labels == ["Positive", "Negative"]
    assert m.cells == [GtCell("Positive", "Positive", 2), GtCell("Negative", "Positive", 1)]
    carol = small.users["carol"].id
    m = project_gt_confusion(small.project, config, carol)["sentiment"]
    assert m.cells == [GtCell("Positive", "Positive", 1), GtCell("Negative", "Positive", 1)]
    t1, t4 = small.tasks["t1"], small.tasks["t4"]
    project = small.project
    assert gt_confusion_task_ids(project, config, "sentiment", "Positive", "Positive") == [t1, t4]
    assert gt_confusion_task_ids(project, config, "sentiment", "Negative", "Positive") == [t1]
    assert gt_confusion_task_ids(project, config, "sentiment", "Positive", "Positive", carol) == [
        t4
    ]
    assert gt_confusion_task_ids(project, config, "sentiment", "Neutral", "Positive") == []
    assert gt_confusion_task_ids(project, config, "nope", "Positive", "Positive") == []


@pytest.fixture
def multi(app):
    people = [factories.user("annotator", f"m{k}@example.com") for k in range(4)]
    project = create_project("Topics", CONFIG, None)
    db.session.commit()
    for person in people:
        add_member(project.id, person)
    db.session.commit()

    def ann(who, *items, **fields):
        return {"completed_by": who.email, "result": list(items), **fields}

    p = people
    factories.tasks(
        project,
        [
            {
                "data": {"text": "one"},
                "annotations": [
                    ann(p[0], picked("topics", "A", "B"), picked("long", LONG_A, LONG_B)),
                    ann(p[1], picked("topics", "A", "C"), picked("long", "c")),
                    ann(p[2], picked("topics", "C"), picked("long", LONG_A)),
                    ann(p[3], picked("topics", "B"), was_cancelled=True),
                ],
            },
            {
                "data": {"text": "two"},
                "annotations": [
                    ann(p[0], picked("topics", "A"), ground_truth=True),
                    ann(p[1], picked("topics", "B")),
                    ann(p[2], {"from_name": "stars", "to_name": "text", "type": "rating",
                               "value": {"rating": 3}}),
                ],
            },
        ],
    )  # fmt: skip
    db.session.commit()
    return project, people


def test_multiple_choice_and_hashed_values(multi):
    project, people = multi
    config = parse_label_config(project.label_config)
    # Task one, topics: as in test_task_confusion_counts_every_pair_that_answered (the
    # skipped {B} is left out). Task two: {A} vs {B}; the rating-only annotation answered
    # no Choices control.
    # Task one, long: {LONG_A, LONG_B} vs {c}: (LONG_A, c), (LONG_B, c); {LONG_A, LONG_B}
    # vs {LONG_A}: nothing; {c} vs {LONG_A}: (LONG_A, c). Its first value is stored
    # hashed (over 200 characters), so these come from the annotations, not ChoiceCount.
    assert project_confusion(project, config) == {
        "topics": [
            ConfusionPair("B", "C", 2),
            ConfusionPair("A", "B", 1),
            ConfusionPair("A", "C", 1),
        ],
        "long": [ConfusionPair(LONG_A, "c", 2), ConfusionPair(LONG_B, "c", 1)],
    }
    # Against ground truth (task two, {A}): {B} adds (B, A); the rating-only annotation
    # answered neither control, so it adds (None, A) to topics only.
    matrices = project_gt_confusion(project, config)
    assert matrices["topics"].cells == [GtCell("B", "A", 1), GtCell(None, "A", 1)]
    assert matrices["long"].cells == []
