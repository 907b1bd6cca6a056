"""The generated tasks fit their presets, look like real labelling work and are reproducible."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import pytest
from PIL import Image

from reviewapp.demo import sample_data
from reviewapp.labeling import parse_label_config, validate_result
from reviewapp.labeling.presets import IMAGE_BOXES, NAMED_ENTITIES, TEXT_CLASSIFICATION
from tests.factories import comparable

ANNOTATORS = [f"ann{i}@example.com" for i in range(1, 5)]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shapes")
    return folder, sample_data.make_shape_images(folder, 12, seed=7)


def image_tasks(images, n=40, **kwargs):
    _, made = images
    urls = [(f"/media/demo/{name}", shapes) for name, shapes in made]
    return list(sample_data.image_box_tasks(n, ANNOTATORS, urls, **kwargs))


def all_kinds(images, seed=0):
    return {
        "text": list(sample_data.text_classification_tasks(200, ANNOTATORS, seed=seed)),
        "ner": list(sample_data.ner_tasks(200, ANNOTATORS, seed=seed)),
        "image": image_tasks(images, seed=seed),
    }


PRESET = {"text": TEXT_CLASSIFICATION, "ner": NAMED_ENTITIES, "image": IMAGE_BOXES}


@pytest.mark.parametrize("kind", ["text", "ner", "image"])
def test_every_result_validates_against_its_preset(images, kind):
    config = parse_label_config(PRESET[kind])
    tasks = all_kinds(images)[kind]
    for task in tasks:
        for item in task["annotations"] + task["predictions"]:
            # validate_result returns normalised copies; a valid result comes back unchanged.
            assert validate_result(config, item["result"], task["data"]) == item["result"]


@pytest.mark.parametrize("kind", ["text", "ner", "image"])
def test_annotations_come_from_different_annotators_with_one_scored_prediction(images, kind):
    tasks = all_kinds(images)[kind]
    for task in tasks:
        emails = [a["completed_by"] for a in task["annotations"]]
        assert len(emails) == 3 and len(set(emails)) == 3
        assert set(emails) <= set(ANNOTATORS)
        [prediction] = task["predictions"]
        assert 0 <= prediction["score"] <= 1
        assert prediction["model_version"]
        for annotation in task["annotations"]:
            assert annotation["lead_time"] > 0
            assert annotation["created_at"].endswith("Z")
    used = Counter(a["completed_by"] for t in tasks for a in t["annotations"])
    assert set(used) == set(ANNOTATORS)


@pytest.mark.parametrize("kind", ["text", "ner", "image"])
def test_annotators_disagree_on_some_tasks_but_not_all(images, kind):
    tasks = all_kinds(images)[kind]
    distinct = [
        len({comparable(a["result"]) for a in t["annotations"] if not a["was_cancelled"]})
        for t in tasks
    ]
    agreed = sum(1 for d in distinct if d == 1)
    assert 0.2 * len(tasks) < agreed < 0.95 * len(tasks)


def test_a_few_annotations_are_skipped():
    tasks = list(sample_data.text_classification_tasks(1000, ANNOTATORS, seed=3))
    annotations = [a for t in tasks for a in t["annotations"]]
    skipped = [a for a in annotations if a["was_cancelled"]]
    assert 0.01 * len(annotations) < len(skipped) < 0.06 * len(annotations)
    assert all(a["result"] == [] for a in skipped)


def test_more_accurate_annotators_agree_more_with_the_majority():
    tasks = list(sample_data.text_classification_tasks(1500, ANNOTATORS, seed=4))
    hits, seen = Counter(), Counter()
    for task in tasks:
        done = [a for a in task["annotations"] if not a["was_cancelled"]]
        votes = Counter(comparable(a["result"]) for a in done)
        majority, count = votes.most_common(1)[0]
        if count < 2:
            continue
        for a in done:
            seen[a["completed_by"]] += 1
            hits[a["completed_by"]] += comparable(a["result"]) == majority
    rates = [hits[e] / seen[e] for e in ANNOTATORS]
    assert rates == sorted(rates, reverse=True)


def test_prediction_scores_are_higher_when_the_model_agrees_with_the_annotators():
    tasks = list(sample_data.text_classification_tasks(1500, ANNOTATORS, seed=5))
    agree, disagree = [], []
    for task in tasks:
        votes = Counter(comparable(a["result"]) for a in task["annotations"] if a["result"])
        majority, count = votes.most_common(1)[0]
        if count == 3:
            prediction = task["predictions"][0]
            right = comparable(prediction["result"]) == majority
            (agree if right else disagree).append(prediction["score"])
    assert disagree and sum(agree) / len(agree) > sum(disagree) / len(disagree) + 0.2


def test_ground_truth_is_one_annotation_of_the_most_accurate_annotator(images):
    for tasks in (
        list(sample_data.text_classification_tasks(300, ANNOTATORS, ground_truth_rate=0.1)),
        list(sample_data.ner_tasks(300, ANNOTATORS, ground_truth_rate=0.1)),
        image_tasks(images, n=300, ground_truth_rate=0.1),
    ):
        marked = [[a for a in t["annotations"] if a["ground_truth"]] for t in tasks]
        with_gt = [m for m in marked if m]
        assert 0.05 * len(tasks) < len(with_gt) < 0.15 * len(tasks)
        for gt in with_gt:
            assert len(gt) == 1
            assert gt[0]["completed_by"] == ANNOTATORS[0]
            assert not gt[0]["was_cancelled"]


def test_ner_spans_cover_the_named_entities():
    task = next(sample_data.ner_tasks(1, ANNOTATORS, seed=11))
    text = task["data"]["text"]
    spans = {
        (r["value"]["text"], r["value"]["labels"][0])
        for a in task["annotations"]
        for r in a["result"]
    }
    assert spans
    for span_text, label in spans:
        assert span_text in text
        assert label in ("PER", "ORG", "LOC", "MISC")


def test_generation_is_deterministic_for_a_seed(images, tmp_path):
    assert all_kinds(images, seed=3) == all_kinds(images, seed=3)
    assert all_kinds(images, seed=3)["text"] != all_kinds(images, seed=4)["text"]
    again = sample_data.make_shape_images(tmp_path, 12, seed=7)
    folder, made = images
    assert again == made
    for name, _ in made:
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes()


def test_generators_are_lazy():
    tasks = sample_data.text_classification_tasks(10**9, ANNOTATORS)
    assert len(list(islice(tasks, 5))) == 5


def test_shape_images_have_their_shapes_inside_the_true_boxes(images):
    folder, made = images
    assert len(made) == 12
    for name, boxes in made:
        with Image.open(folder / name) as image:
            assert image.size == (640, 480)
            background = image.getpixel((0, 0))
            assert 1 <= len(boxes) <= 3
            for label, x, y, w, h in boxes:
                assert label in ("Circle", "Square", "Triangle")
                assert x >= 0 and y >= 0
                assert x + w <= 100 and y + h <= 100
                centre = (round((x + w / 2) * 6.4), round((y + h / 2) * 4.8))
                assert image.getpixel(centre) != background
                # Just outside the box, the background shows.
                left = (max(round(x * 6.4) - 3, 0), centre[1])
                assert image.getpixel(left) == background
