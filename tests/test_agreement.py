"""Agreement metrics on cases small enough to work out by hand."""

import random

import krippendorff
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewapp.labeling.config import Control, LabelConfig, ObjectTag
from reviewapp.services.metrics.agreement import (
    compare,
    diff_results,
    fix_size,
    krippendorff_alpha_nominal,
    pairwise,
    score,
    task_agreement,
)
from reviewapp.services.metrics.definitions import acceptance_rate

OBJECTS = {
    "text": ObjectTag("text", "Text", "text"),
    "image": ObjectTag("image", "Image", "image"),
}
SENTIMENT = Control("sentiment", "Choices", "text", ("Positive", "Negative", "Neutral"))
TOPICS = Control("topics", "Choices", "text", ("A", "B", "C", "D"), multiple=True)
NER = Control("label", "Labels", "text", ("PER", "ORG", "LOC"))
BOX = Control("box", "RectangleLabels", "image", ("Cat", "Dog"))
STARS = Control("stars", "Rating", "text", max_rating=5)
COMMENT = Control("comment", "TextArea", "text")
ALL = (SENTIMENT, TOPICS, NER, BOX, STARS, COMMENT)


def config(*controls: Control) -> LabelConfig:
    return LabelConfig(objects=OBJECTS, controls={c.name: c for c in controls})


def choice(*choices: str, name: str = "sentiment") -> dict:
    return {
        "from_name": name,
        "to_name": "text",
        "type": "choices",
        "value": {"choices": list(choices)},
    }


def span(start: int, end: int, *labels: str) -> dict:
    value = {"start": start, "end": end, "text": "x" * (end - start), "labels": list(labels)}
    return {"from_name": "label", "to_name": "text", "type": "labels", "value": value}


def box(x: float, y: float, width: float, height: float, *labels: str) -> dict:
    value = {"x": x, "y": y, "width": width, "height": height, "rectanglelabels": list(labels)}
    return {"from_name": "box", "to_name": "image", "type": "rectanglelabels", "value": value}


def rating(value: int) -> dict:
    return {"from_name": "stars", "to_name": "text", "type": "rating", "value": {"rating": value}}


def text(*texts: str) -> dict:
    return {
        "from_name": "comment",
        "to_name": "text",
        "type": "textarea",
        "value": {"text": list(texts)},
    }


def test_single_choice_equal_and_different():
    cfg = config(SENTIMENT)
    assert score(cfg, [choice("Positive")], [choice("Positive")]) == 1
    assert score(cfg, [choice("Positive")], [choice("Negative")]) == 0


def test_multiple_choice_is_jaccard():
    cfg = config(TOPICS)
    a, b = [choice("A", "B", name="topics")], [choice("B", "C", name="topics")]
    # |{B}| / |{A, B, C}|
    assert score(cfg, a, b) == pytest.approx(1 / 3)
    assert compare(cfg, a, b).controls["topics"].detail == "Jaccard 1/3 = 0.333"
    # order of the choices does not matter
    assert score(cfg, [choice("B", "A", name="topics")], a) == 1


def test_rating():
    # 1 - |4 - 2| / (5 - 1)
    assert score(config(STARS), [rating(4)], [rating(2)]) == pytest.approx(1 - 2 / 4)
    assert score(config(STARS), [rating(1)], [rating(5)]) == 0


def test_textarea_levenshtein():
    cfg = config(COMMENT)
    # kitten -> sitting: k->s, e->i, +g = 3 edits over max(6, 7)
    assert score(cfg, [text("kitten")], [text("sitting")]) == pytest.approx(1 - 3 / 7)
    # texts are joined by a newline: "a\nb" vs "a b" is one substitution over 3
    assert score(cfg, [text("a", "b")], [text("a b")]) == pytest.approx(1 - 1 / 3)
    assert score(cfg, [text("")], [text("")]) == 1


def test_spans_partial_overlap():
    cfg = config(NER)
    # [0, 10) and [5, 15): intersection 5, union 15, IoU 1/3; 1 matched pair
    # score = (1/3) / (1 + 1 - 1)
    result = compare(cfg, [span(0, 10, "PER")], [span(5, 15, "PER")])
    assert result.score == pytest.approx(1 / 3)
    assert result.controls["label"].matches == [(0, 0, pytest.approx(1 / 3))]
    # the same pair with a threshold above its IoU is not matched: 0 / (1 + 1 - 0)
    assert score(cfg, [span(0, 10, "PER")], [span(5, 15, "PER")], iou_threshold=0.5) == 0


def test_spans_that_only_touch_do_not_match():
    # [0, 5) and [5, 10) share no character
    assert score(config(NER), [span(0, 5, "PER")], [span(5, 10, "PER")]) == 0


def test_boxes_two_overlapping_one_only_one_matches():
    cfg = config(BOX)
    a = [box(0, 0, 10, 10, "Cat")]
    # b0 covers the top 60 % of a's box: IoU 60/100; b1 the bottom 40 %: IoU 40/100
    b = [box(0, 0, 10, 6, "Cat"), box(0, 6, 10, 4, "Cat")]
    result = compare(cfg, a, b)
    # only b0 matches: 0.6 / (1 + 2 - 1)
    assert result.score == pytest.approx(0.6 / 2)
    control = result.controls["box"]
    assert control.matches == [(0, 0, pytest.approx(0.6))]
    assert control.unmatched_a == [] and control.unmatched_b == [1]


def test_regions_matching_maximises_total_iou_not_greedy():
    cfg = config(NER)
    a = [span(0, 10, "PER"), span(0, 3, "PER")]
    b = [span(0, 6, "PER"), span(5, 10, "PER")]
    # IoU: a0-b0 6/10, a0-b1 5/10, a1-b0 3/6, a1-b1 0.
    # Greedy a0-b0 would give 0.6 / (2 + 2 - 1) = 0.2; the best matching is
    # a0-b1 + a1-b0 = 0.5 + 0.5 over (2 + 2 - 2).
    result = compare(cfg, a, b)
    assert result.score == pytest.approx(1.0 / 2)
    assert result.controls["label"].matches == [(0, 1, 0.5), (1, 0, 0.5)]


def test_regions_matching_maximises_total_iou_not_the_score():
    a = [span(0, 2, "PER"), span(1, 3, "PER")]
    b = [span(1, 3, "PER"), span(2, 3, "PER")]
    # IoU: a0-b0 1/3, a0-b1 0, a1-b0 1, a1-b1 1/2.
    # a1-b0 alone has total IoU 1 > 1/3 + 1/2, so it wins: 1 / (2 + 2 - 1).
    # (a0-b0 + a1-b1 would score higher, (5/6) / 2, but the definition maximises overlap.)
    assert score(config(NER), a, b) == pytest.approx(1 / 3)


def test_regions_equal_total_iou_prefers_more_pairs():
    a = [span(0, 2, "PER"), span(1, 2, "PER")]
    b = [span(0, 2, "PER"), span(0, 1, "PER")]
    # IoU: a0-b0 1, a0-b1 1/2, a1-b0 1/2, a1-b1 0: both {a0-b0} and {a0-b1, a1-b0}
    # total 1; the one with two pairs is kept: 1 / (2 + 2 - 2).
    assert score(config(NER), a, b) == pytest.approx(1 / 2)
    assert score(config(NER), b, a) == pytest.approx(1 / 2)


def test_regions_with_different_labels_do_not_match():
    assert score(config(NER), [span(0, 5, "PER")], [span(0, 5, "ORG")]) == 0
    # a region's labels are compared as a set
    assert score(config(NER), [span(0, 5, "PER", "ORG")], [span(0, 5, "ORG", "PER")]) == 1


def test_empty_and_one_sided():
    cfg = config(NER)
    assert score(cfg, [], []) == 1
    assert score(cfg, [span(0, 5, "PER")], []) == 0
    assert score(cfg, [], [span(0, 5, "PER")]) == 0
    assert compare(cfg, [], [span(0, 5, "PER"), span(6, 9, "LOC")]).controls[
        "label"
    ].unmatched_b == [0, 1]


def test_control_present_on_one_side_only_counts_zero():
    cfg = config(SENTIMENT, NER)
    a = [choice("Positive"), span(0, 5, "PER")]
    b = [choice("Positive")]
    # sentiment 1, label only in a: 0; mean (1 + 0) / 2
    result = compare(cfg, a, b)
    assert result.score == 0.5
    assert result.controls["label"].detail == "only in a -> 0"


def test_control_on_neither_side_is_left_out():
    # label is absent on both sides: only sentiment counts
    assert score(config(SENTIMENT, NER), [choice("Positive")], [choice("Positive")]) == 1


def test_items_of_unknown_controls_are_ignored():
    stray = {"from_name": "other", "to_name": "text", "type": "choices", "value": {}}
    assert score(config(SENTIMENT), [choice("Positive"), stray], [choice("Positive")]) == 1


def test_mean_over_controls():
    cfg = config(SENTIMENT, STARS, COMMENT)
    a = [choice("Positive"), rating(4), text("kitten")]
    b = [choice("Negative"), rating(2), text("sitting")]
    # (0 + 1/2 + 4/7) / 3
    assert score(cfg, a, b) == pytest.approx((0 + 0.5 + 4 / 7) / 3)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([], None),
        (["Positive"], None),
        (["Positive", "Negative"], 0.0),
        # pairs (0,1)=1 (0,2)=0 (0,3)=1 (1,2)=0 (1,3)=1 (2,3)=0: 3 / 6
        (["Positive", "Positive", "Negative", "Positive"], 3 / 6),
    ],
)
def test_task_agreement(answers, expected):
    pairs = pairwise(config(SENTIMENT), [[choice(answer)] for answer in answers])
    n = len(answers)
    assert len(pairs) == n * (n - 1) // 2
    assert task_agreement([s for _, _, s in pairs]) == expected


def test_pairwise_indices():
    pairs = pairwise(config(SENTIMENT), [[choice("Positive")], [choice("Negative")], []])
    # the empty result lacks sentiment while the others have it: 0
    assert pairs == [(0, 1, 0.0), (0, 2, 0.0), (1, 2, 0.0)]


def test_acceptance_rate():
    # (3 accepted + 1 fixed) / 8 reviewed
    assert acceptance_rate(3, 1, 8) == 0.5
    assert acceptance_rate(0, 0, 0) is None


def test_fix_size():
    cfg = config(NER)
    before = [span(0, 10, "PER")]
    after = [span(5, 15, "PER")]
    # 1 - IoU 5/15
    assert fix_size(cfg, before, after) == pytest.approx(1 - 1 / 3)
    assert fix_size(cfg, before, before) == 0


def test_diff_unchanged_is_empty():
    cfg = config(SENTIMENT, NER)
    result = [choice("Positive"), span(0, 5, "PER")]
    diff = diff_results(cfg, result, result)
    assert diff.is_empty
    assert diff.summary() == []


def test_diff_value_controls():
    cfg = config(SENTIMENT, TOPICS, STARS, COMMENT)
    before = [choice("Positive"), choice("C", "A", name="topics"), rating(3)]
    after = [choice("Negative"), choice("A", "C", name="topics"), rating(4), text("ok")]
    diff = diff_results(cfg, before, after)
    assert diff.summary() == [
        "sentiment: Positive → Negative",
        "stars: 3 → 4",
        'comment: (none) → "ok"',
    ]
    assert diff.controls["sentiment"].old == ("Positive",)


def test_diff_regions():
    cfg = config(NER)
    before = [span(0, 5, "PER"), span(10, 15, "ORG"), span(20, 25, "LOC")]
    after = [span(0, 6, "PER"), span(10, 15, "LOC"), span(30, 35, "PER"), span(40, 42, "ORG")]
    diff = diff_results(cfg, before, after)
    assert diff.summary() == [
        "label: 2 regions added (PER, ORG)",
        "label: 1 region removed (LOC)",
        "label: 1 region resized",  # 0-5 widened to 0-6
        "label: 1 region relabelled (ORG → LOC)",
    ]
    control = diff.controls["label"]
    assert control.resized == [(before[0]["value"], after[0]["value"])] and not control.moved


def test_diff_region_moved_and_relabelled():
    cfg = config(BOX)
    before = [box(10, 10, 20, 20, "Cat")]
    after = [box(12, 10, 20, 20, "Dog")]
    assert diff_results(cfg, before, after).summary() == [
        "box: 1 region moved",
        "box: 1 region relabelled (Cat → Dog)",
    ]


def test_krippendorff_alpha_by_hand():
    # units (a, a), (a, b), (b, b): n = 6, n_a = n_b = 3.
    # Observed disagreement: only unit 2, (2**2 - 1 - 1) / (2 - 1) = 2.
    # Expected: n**2 - n_a**2 - n_b**2 = 36 - 9 - 9 = 18.
    # alpha = 1 - (6 - 1) * 2 / 18 = 4/9
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "b"], ["b", "b"]]) == pytest.approx(4 / 9)


def test_krippendorff_alpha_textbook():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders,
    # 12 units, nominal alpha = 0.743. Missing values are left out of a unit.
    coders = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[c[u] for c in coders if c[u] is not None] for u in range(12)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_undefined():
    assert krippendorff_alpha_nominal([]) is None
    assert krippendorff_alpha_nominal([["a"], ["b"]]) is None  # nothing pairable
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "a", "a"]]) is None  # one value


@pytest.mark.parametrize("seed", range(10))
def test_krippendorff_alpha_matches_reference_package(seed):
    rng = random.Random(seed)
    values = ["Positive", "Negative", "Neutral", "A|B"]
    coders, units = rng.randint(2, 5), rng.randint(5, 30)
    data = [[rng.choice(values + [None]) for _ in range(units)] for _ in range(coders)]
    ours = krippendorff_alpha_nominal(
        [[row[u] for row in data if row[u] is not None] for u in range(units)]
    )
    reference = krippendorff.alpha(
        reliability_data=np.array(
            [[np.nan if v is None else values.index(v) for v in row] for row in data]
        ),
        level_of_measurement="nominal",
    )
    assert ours == pytest.approx(reference)


def _choices(control: Control):
    if control.multiple:
        return st.lists(st.sampled_from(control.labels), max_size=3, unique=True)
    return st.sampled_from(control.labels).map(lambda label: [label])


@st.composite
def results(draw) -> list[dict]:
    result = []
    if draw(st.booleans()):
        result.append(choice(*draw(_choices(SENTIMENT))))
    if draw(st.booleans()):
        result.append(choice(*draw(_choices(TOPICS)), name="topics"))
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, 20))
        end = draw(st.integers(start, 30))  # zero-length spans included, for robustness
        labels = draw(st.lists(st.sampled_from(NER.labels), min_size=1, max_size=2, unique=True))
        result.append(span(start, end, *labels))
    coordinate = st.floats(0, 100, allow_nan=False)
    for _ in range(draw(st.integers(0, 4))):
        x, y = draw(coordinate), draw(coordinate)
        width, height = draw(st.floats(0, 100 - x)), draw(st.floats(0, 100 - y))
        result.append(box(x, y, width, height, draw(st.sampled_from(BOX.labels))))
    if draw(st.booleans()):
        result.append(rating(draw(st.integers(1, STARS.max_rating))))
    if draw(st.booleans()):
        result.append(text(*draw(st.lists(st.text("ab \n", max_size=10), max_size=2))))
    draw(st.randoms()).shuffle(result)
    return result


thresholds = st.sampled_from([0.0, 0.3, 0.5])


@given(results(), results(), thresholds)
def test_score_in_unit_interval(a, b, threshold):
    assert 0 <= score(config(*ALL), a, b, threshold) <= 1


@given(results(), results(), thresholds)
def test_score_is_symmetric(a, b, threshold):
    cfg = config(*ALL)
    assert score(cfg, a, b, threshold) == pytest.approx(score(cfg, b, a, threshold))


@given(results(), thresholds)
def test_score_with_itself_is_one(a, threshold):
    assert score(config(*ALL), a, a, threshold) == 1
    assert diff_results(config(*ALL), a, a, threshold).is_empty


@given(results(), results(), thresholds)
def test_compare_agrees_with_score(a, b, threshold):
    cfg = config(*ALL)
    assert compare(cfg, a, b, threshold).score == score(cfg, a, b, threshold)


def _with_id(item: dict, rid: str) -> dict:
    return {**item, "id": rid}


def test_a_region_the_fix_kept_is_moved_not_removed_and_added():
    cfg = config(BOX)
    # Nudged by 12 of its 20 width: IoU 8*20 / (400 + 400 - 160) = 0.25, below the 0.5
    # threshold, so matched by IoU alone it was "1 added, 1 removed" and fix size 1.
    before = [_with_id(box(10, 10, 20, 20, "Cat"), "r1")]
    after = [_with_id(box(22, 10, 20, 20, "Cat"), "r1")]
    assert diff_results(cfg, before, after, 0.5).summary() == ["box: 1 region moved"]
    assert fix_size(cfg, before, after, 0.5) == pytest.approx(0.75)
    without_ids = [box(10, 10, 20, 20, "Cat")], [box(22, 10, 20, 20, "Cat")]
    assert fix_size(cfg, *without_ids, 0.5) == 1.0
    assert diff_results(cfg, *without_ids, 0.5).summary() == [
        "box: 1 region added (Cat)",
        "box: 1 region removed (Cat)",
    ]
    # Resized in place: IoU 400 / 600, fix size 1/3; moved right off itself: fix size 1.
    wider = [_with_id(box(10, 10, 30, 20, "Cat"), "r1")]
    assert diff_results(cfg, before, wider, 0.5).summary() == ["box: 1 region resized"]
    assert fix_size(cfg, before, wider, 0.5) == pytest.approx(1 / 3)
    away = [_with_id(box(60, 60, 20, 20, "Cat"), "r1")]
    assert diff_results(cfg, before, away, 0.5).summary() == ["box: 1 region moved"]
    assert fix_size(cfg, before, away, 0.5) == 1.0
    # A relabel of a kept region is a relabel, with the whole region changed.
    dog = [_with_id(box(10, 10, 20, 20, "Dog"), "r1")]
    assert diff_results(cfg, before, dog, 0.5).summary() == ["box: 1 region relabelled (Cat → Dog)"]
    assert fix_size(cfg, before, dog, 0.5) == 1.0
