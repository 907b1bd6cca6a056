"""Realistic Label Studio tasks for the demo, the tests and the benchmark.

Pure generators: no Flask, no database. Every task has a hidden true answer; each
annotator gets it right with their own accuracy, so annotators agree on most tasks and
disagree on some, and the model's prediction score is higher when the model is right.
The same seed gives the same tasks.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

# Accuracy of the i-th annotator (cycled): the first is the most careful.
ACCURACIES = (0.95, 0.88, 0.8, 0.72, 0.66, 0.6)
MODEL_ACCURACY = 0.82
SKIP_RATE = 0.03
START = datetime(2024, 5, 6, 8, 30)

SENTIMENTS = ("Positive", "Negative", "Neutral")
PRODUCTS = (
    "kettle", "blender", "phone case", "desk lamp", "backpack", "coffee grinder", "keyboard",
    "office chair", "rain jacket", "water bottle", "toaster", "headphones", "yoga mat",
    "frying pan", "charger", "vacuum cleaner", "notebook", "electric toothbrush", "monitor stand",
    "running shoes", "tent", "bike light", "air fryer", "wall clock",
)  # fmt: skip
CLAUSES = {
    "Positive": (
        "works perfectly", "exceeded my expectations", "is worth every penny",
        "feels really solid", "is the best purchase I made this year", "does exactly what I hoped",
        "is quiet and fast", "still looks new after months of use", "was easy to set up",
        "makes my mornings so much easier", "is beautifully made",
    ),
    "Negative": (
        "stopped working after a week", "is a waste of money", "broke on the first day",
        "feels cheap and flimsy", "smells of plastic", "is much smaller than the photos suggest",
        "keeps disconnecting", "arrived scratched", "is far too loud", "leaks every time I use it",
        "gets hot after a few minutes",
    ),
    "Neutral": (
        "arrived on Tuesday", "is about what you would expect", "comes in a cardboard box",
        "does what the description says", "is available in three colours",
        "replaced my old one", "is the same model my sister has", "came with a manual in English",
        "has a two-year warranty", "is a bit heavier than my last one",
    ),
}  # fmt: skip
OPENERS = ("", "Honestly, ", "Overall, ", "So far ", "After two weeks, ", "I have to say ")
OWNERS = ("my partner", "my kitchen", "the office", "my son", "camping", "my mum", "travel")
TAILS = ("", "", "", " Delivery took three days.", " I ordered it online.", " Bought it on sale.")

PEOPLE = (
    "Alice Martin", "Rahul Mehta", "Sofia Rossi", "Kwame Mensah", "Yuki Tanaka", "Liam O'Brien",
    "Fatima Zahra", "Jonas Berg", "Chen Wei", "Maria Gonzalez", "Olga Petrova", "David Cohen",
)  # fmt: skip
ORGS = (
    "Acme Corp", "Globex", "Northwind Traders", "the World Bank", "Initech", "Umbrella Health",
    "Stark Industries", "Red Cross", "Siemens", "Blue River Bank", "the United Nations",
)  # fmt: skip
PLACES = (
    "Berlin", "Lagos", "New York", "Osaka", "Buenos Aires", "Nairobi", "Lyon", "Toronto",
    "Mumbai", "Oslo", "Melbourne", "Cape Town",
)  # fmt: skip
EVENTS = (
    "the Olympic Games", "the Nobel Prize", "Euro 2024", "the Champions League",
    "the Tour de France", "the World Cup",
)  # fmt: skip
TOPICS = ("Python", "Bitcoin", "Windows", "the Paris Agreement", "5G", "the euro")
NER_LABELS = ("PER", "ORG", "LOC", "MISC")
MONTHS = ("January", "March", "June", "September", "November")
# {PER}, {PER2}, {ORG}, {LOC}, {EVENT} and {TOPIC} are entities; {month} is plain text.
NER_TEMPLATES = (
    "{PER} joined {ORG} in {LOC} last {month}.",
    "{ORG} opened a new office in {LOC}, said {PER}.",
    "{PER} met {PER2} in {LOC} to talk about {TOPIC}.",
    "Shares of {ORG} rose after {PER} spoke in {LOC}.",
    "{PER} will represent {LOC} at {EVENT} this {month}.",
    "In {LOC}, {ORG} and {PER} announced support for {TOPIC}.",
    "{PER2} left {ORG} in {month} and moved to {LOC}.",
    "Fans in {LOC} celebrated as {PER} won {EVENT}.",
    "{ORG} hired {PER} to lead its team in {LOC}.",
    "The mayor of {LOC} thanked {ORG} for its work.",
)

SHAPES = ("Circle", "Square", "Triangle")
COLOURS = (
    (214, 39, 40), (31, 119, 180), (44, 160, 44), (255, 127, 14), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (23, 190, 207),
)  # fmt: skip
IMAGE_SIZE = (640, 480)

Box = tuple[str, float, float, float, float]  # label, x, y, width, height in percent
_WORD = re.compile(r"\w+")


def accuracy_of(index: int) -> float:
    """The accuracy given to the annotator at this position in the list."""
    return ACCURACIES[index % len(ACCURACIES)]


def text_classification_tasks(
    n: int,
    annotators: Sequence[str],
    seed: int = 0,
    annotations_per_task: int = 3,
    model_version: str = "sentiment-v1",
    ground_truth_rate: float = 0.0,
) -> Iterator[dict]:
    """Tasks for the TEXT_CLASSIFICATION preset: product reviews with a hidden sentiment.

    About 15% are mixed reviews ("X, but Y"; the truth is the part after "but") on which
    everyone is less accurate. With ground_truth_rate, that share of tasks includes the
    first (most accurate) annotator, whose annotation is marked ground_truth.
    """
    rng = random.Random(seed)
    for i in range(n):
        truth = rng.choice(SENTIMENTS)
        hard = rng.random() < 0.15
        text = _review_text(rng, truth, hard)
        penalty = 0.2 if hard else 0.0
        created = START + timedelta(minutes=7 * i)
        annotations = []
        for who, slot in _pick_annotators(rng, annotators, annotations_per_task, ground_truth_rate):
            result = [_choice(_sentiment(rng, truth, accuracy_of(who) - penalty))]
            annotations.append(_annotation(rng, annotators[who], result, created, slot))
        label = _sentiment(rng, truth, MODEL_ACCURACY - penalty)
        prediction = {
            "model_version": model_version,
            "score": _score(rng, label == truth),
            "result": [_choice(label)],
        }
        yield _task({"text": text}, created, annotations, prediction)


def ner_tasks(
    n: int,
    annotators: Sequence[str],
    seed: int = 0,
    annotations_per_task: int = 3,
    model_version: str = "ner-v1",
    ground_truth_rate: float = 0.0,
) -> Iterator[dict]:
    """Tasks for the NAMED_ENTITIES preset: news sentences with exact entity spans.

    An annotator's mistake on an entity is one of: missing it, moving a boundary by a
    word, or giving it a wrong label.
    """
    rng = random.Random(seed)
    for i in range(n):
        text, spans = _ner_sentence(rng)
        created = START + timedelta(minutes=11 * i)
        annotations = []
        for who, slot in _pick_annotators(rng, annotators, annotations_per_task, ground_truth_rate):
            found = _noisy_spans(rng, text, spans, accuracy_of(who))
            result = [_span(rng, text, *span) for span in found]
            annotations.append(_annotation(rng, annotators[who], result, created, slot))
        found = _noisy_spans(rng, text, spans, MODEL_ACCURACY)
        prediction = {
            "model_version": model_version,
            "score": _score(rng, found == spans),
            "result": [_span(rng, text, *span) for span in found],
        }
        yield _task({"text": text}, created, annotations, prediction)


def image_box_tasks(
    n: int,
    annotators: Sequence[str],
    image_urls_and_shapes: Sequence[tuple[str, Sequence[Box]]],
    seed: int = 0,
    annotations_per_task: int = 3,
    model_version: str = "shapes-v1",
    ground_truth_rate: float = 0.0,
    image_size: tuple[int, int] = IMAGE_SIZE,
) -> Iterator[dict]:
    """Tasks for the IMAGE_BOXES preset, cycling through the given images and true boxes.

    Boxes are the true box with jitter (less for more accurate annotators); a mistake on a
    shape is a missed shape or a wrong label.
    """
    rng = random.Random(seed)
    for i in range(n):
        url, shapes = image_urls_and_shapes[i % len(image_urls_and_shapes)]
        created = START + timedelta(minutes=13 * i)
        annotations = []
        for who, slot in _pick_annotators(rng, annotators, annotations_per_task, ground_truth_rate):
            boxes = _noisy_boxes(rng, shapes, accuracy_of(who))
            result = [_box(rng, box, image_size) for box in boxes]
            annotations.append(_annotation(rng, annotators[who], result, created, slot))
        boxes = _noisy_boxes(rng, shapes, MODEL_ACCURACY)
        exact = len(boxes) == len(shapes) and all(
            b[0] == s[0] for b, s in zip(boxes, shapes, strict=True)
        )
        prediction = {
            "model_version": model_version,
            "score": _score(rng, exact),
            "result": [_box(rng, box, image_size) for box in boxes],
        }
        yield _task({"image": url}, created, annotations, prediction)


def make_shape_images(
    folder: str | os.PathLike, n: int, seed: int = 0
) -> list[tuple[str, list[Box]]]:
    """Draw n PNG images of 1-3 coloured shapes on a light background into folder.

    Returns (file name, true boxes) per image; boxes are in percent of the image, as
    Label Studio's RectangleLabels store them.
    """
    rng = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    width, height = IMAGE_SIZE
    images = []
    for i in range(n):
        background = tuple(rng.randint(228, 250) for _ in range(3))
        image = Image.new("RGB", IMAGE_SIZE, background)
        draw = ImageDraw.Draw(image)
        placed: list[tuple[int, int, int, int]] = []
        boxes: list[Box] = []
        for _ in range(rng.randint(1, 3)):
            box = _free_spot(rng, placed)
            if box is None:
                continue
            placed.append(box)
            left, top, right, bottom = box
            shape = rng.choice(SHAPES)
            colour = rng.choice(COLOURS)
            if shape == "Circle":
                draw.ellipse(box, fill=colour)
            elif shape == "Square":
                draw.rectangle(box, fill=colour)
            else:
                draw.polygon(
                    [((left + right) / 2, top), (right, bottom), (left, bottom)], fill=colour
                )
            # PIL's boxes include the right/bottom pixel.
            boxes.append(
                (
                    shape,
                    round(100 * left / width, 2),
                    round(100 * top / height, 2),
                    round(100 * (right + 1 - left) / width, 2),
                    round(100 * (bottom + 1 - top) / height, 2),
                )
            )
        name = f"shapes-{i:03d}.png"
        image.save(os.path.join(folder, name), optimize=True)
        images.append((name, boxes))
    return images


def _free_spot(
    rng: random.Random, placed: list[tuple[int, int, int, int]]
) -> tuple[int, int, int, int] | None:
    width, height = IMAGE_SIZE
    for _ in range(50):
        size = rng.randint(70, 170)
        left = rng.randint(10, width - size - 10)
        top = rng.randint(10, height - size - 10)
        box = (left, top, left + size - 1, top + size - 1)
        if all(
            box[2] + 10 < p[0] or p[2] + 10 < box[0] or box[3] + 10 < p[1] or p[3] + 10 < box[1]
            for p in placed
        ):
            return box
    return None


def _pick_annotators(
    rng: random.Random, annotators: Sequence[str], count: int, ground_truth_rate: float
) -> list[tuple[int, bool]]:
    """(annotator index, is ground truth) for count different annotators of one task."""
    count = min(count, len(annotators))
    chosen = rng.sample(range(len(annotators)), count)
    if ground_truth_rate and rng.random() < ground_truth_rate:
        if 0 not in chosen:
            chosen[0] = 0
        return [(who, who == 0) for who in chosen]
    return [(who, False) for who in chosen]


def _annotation(
    rng: random.Random, email: str, result: list[dict], task_created: datetime, ground_truth: bool
) -> dict:
    lead_time = round(rng.lognormvariate(2.6, 0.6), 1)
    created = task_created + timedelta(hours=rng.randint(1, 72), seconds=rng.randint(0, 3599))
    skipped = not ground_truth and rng.random() < SKIP_RATE
    annotation = {
        "completed_by": email,
        "result": [] if skipped else result,
        "was_cancelled": skipped,
        "ground_truth": ground_truth,
        "lead_time": lead_time,
        "created_at": _iso(created),
        "updated_at": _iso(created),
    }
    return annotation


def _task(data: dict, created: datetime, annotations: list[dict], prediction: dict) -> dict:
    prediction["created_at"] = _iso(created)
    return {
        "data": data,
        "created_at": _iso(created),
        "annotations": annotations,
        "predictions": [prediction],
    }


def _score(rng: random.Random, right: bool) -> float:
    return round(rng.uniform(0.62, 0.99) if right else rng.uniform(0.25, 0.7), 3)


def _iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"


def _region_id(rng: random.Random) -> str:
    return "".join(
        rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=10)
    )


def _choice(label: str) -> dict:
    return {
        "from_name": "sentiment",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": [label]},
    }


def _sentiment(rng: random.Random, truth: str, accuracy: float) -> str:
    if rng.random() < accuracy:
        return truth
    return rng.choice([s for s in SENTIMENTS if s != truth])


def _region_accuracy(accuracy: float) -> float:
    # A task has two to four regions: halving the error per region keeps the share of
    # tasks an annotator gets exactly right near their accuracy.
    return 1 - (1 - accuracy) / 2


def _review_text(rng: random.Random, truth: str, hard: bool) -> str:
    product = rng.choice(PRODUCTS)
    clause = rng.choice(CLAUSES[truth])
    if hard:
        other = rng.choice(CLAUSES[rng.choice([s for s in SENTIMENTS if s != truth])])
        return f"The {product} {other}, but it {clause}.{rng.choice(TAILS)}"
    form = rng.randrange(3)
    if form == 0:
        sentence = f"{rng.choice(OPENERS)}the {product} {clause}."
    elif form == 1:
        sentence = f"Bought this {product} for {rng.choice(OWNERS)} and it {clause}."
    else:
        sentence = f"This {product} {clause}."
    return sentence[0].upper() + sentence[1:] + rng.choice(TAILS)


def _ner_sentence(rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    """A sentence and its entities as (start, end, label), in text order."""
    template = rng.choice(NER_TEMPLATES)
    people = rng.sample(PEOPLE, 2)
    fillers = {
        "PER": ("PER", people[0]),
        "PER2": ("PER", people[1]),
        "ORG": ("ORG", rng.choice(ORGS)),
        "LOC": ("LOC", rng.choice(PLACES)),
        "EVENT": ("MISC", rng.choice(EVENTS)),
        "TOPIC": ("MISC", rng.choice(TOPICS)),
        "month": (None, rng.choice(MONTHS)),
    }
    text = ""
    spans = []
    for literal, slot in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
        text += literal
        if not slot:
            continue
        label, value = fillers[slot]
        if label:
            # "the World Bank": the article is not part of the entity.
            article = value[:4] if value.startswith("the ") else ""
            text += article.capitalize() if article and not text else article
            start = len(text)
            text += value[len(article) :]
            spans.append((start, len(text), label))
        else:
            text += value
    if text[0].islower():
        text = text[0].upper() + text[1:]
    return text, spans


def _noisy_spans(
    rng: random.Random, text: str, spans: list[tuple[int, int, str]], accuracy: float
) -> list[tuple[int, int, str]]:
    out = []
    for start, end, label in spans:
        if rng.random() < _region_accuracy(accuracy):
            out.append((start, end, label))
            continue
        mistake = rng.choice(("miss", "boundary", "label"))
        if mistake == "label":
            out.append((start, end, rng.choice([k for k in NER_LABELS if k != label])))
        elif mistake == "boundary":
            out.append((*_shift(rng, text, start, end), label))
    return out


def _shift(rng: random.Random, text: str, start: int, end: int) -> tuple[int, int]:
    """Move one boundary of the span by a word: take in a neighbour or drop an end word."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    inside = [w for w in words if start <= w[0] and w[1] <= end]
    options = []
    after = [w for w in words if w[0] >= end]
    before = [w for w in words if w[1] <= start]
    if after:
        options.append((start, after[0][1]))
    if before:
        options.append((before[-1][0], end))
    if len(inside) > 1:
        options.append((start, inside[-2][1]))
        options.append((inside[1][0], end))
    return rng.choice(options) if options else (start, end)


def _span(rng: random.Random, text: str, start: int, end: int, label: str) -> dict:
    return {
        "id": _region_id(rng),
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]},
    }


def _noisy_boxes(rng: random.Random, shapes: Sequence[Box], accuracy: float) -> list[Box]:
    jitter = 0.3 + 4 * (1 - accuracy)  # percent of the image
    out = []
    for label, x, y, w, h in shapes:
        if rng.random() >= _region_accuracy(accuracy):
            if rng.random() < 0.5:
                continue  # missed
            label = rng.choice([s for s in SHAPES if s != label])
        left = _clamp(x + rng.gauss(0, jitter), 0, 99)
        top = _clamp(y + rng.gauss(0, jitter), 0, 99)
        right = _clamp(x + w + rng.gauss(0, jitter), left + 1, 100)
        bottom = _clamp(y + h + rng.gauss(0, jitter), top + 1, 100)
        out.append(
            (label, round(left, 2), round(top, 2), round(right - left, 2), round(bottom - top, 2))
        )
    return out


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _box(rng: random.Random, box: Box, image_size: tuple[int, int]) -> dict:
    label, x, y, w, h = box
    return {
        "id": _region_id(rng),
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": image_size[0],
        "original_height": image_size[1],
        "image_rotation": 0,
        "value": {
            "x": x,
            "y": y,
            "width": min(w, round(100 - x, 2)),
            "height": min(h, round(100 - y, 2)),
            "rotation": 0,
            "rectanglelabels": [label],
        },
    }
