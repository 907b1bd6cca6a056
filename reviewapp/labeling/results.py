"""Validate Label Studio results against a parsed label config."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from itertools import chain

import numpy as np

from reviewapp.labeling.config import Control, LabelConfig


class ResultError(ValueError):
    """A result does not fit the label config; the message names the item and field."""


class IncompleteResult(ResultError):
    """A submitted result leaves out what the project or the label config asks for."""


EMPTY_RESULT = "Choose at least one label, or Skip"


# Keys Label Studio writes next to from_name/to_name/type/value; kept verbatim.
EXTRA_KEYS = (
    "origin",
    "score",
    "readonly",
    "hidden",
    "image_rotation",
    "original_width",
    "original_height",
)

# Rounding slack for boxes that end exactly on the image edge.
EDGE_TOLERANCE = 1e-6
# How far (in percent of the image) a box may reach past its edge: Label Studio's own
# exports have boxes with x + width = 100.43.
EDGE_SLACK = 5.0

_JSON_KINDS = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _kind(value: object) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _is_int(value: object) -> bool:
    return type(value) is int


def _show(value: object) -> str:
    return f'"{value}"' if type(value) is str else _kind(value)


def _fmt(number: float) -> str:
    return f"{number:.10g}"


def _label_list(value: dict, key: str, control: Control, noun: str) -> list[str]:
    labels = value.get(key)
    if type(labels) is not list or not labels:
        got = "an empty array" if labels == [] else _kind(labels)
        raise ResultError(f"value.{key} must be a non-empty array, got {got}")
    known = control.label_set
    for label in labels:
        if type(label) is not str or label not in known:
            raise ResultError(
                f"unknown {noun} {_show(label)} in value.{key}; "
                f"expected one of {', '.join(control.labels)}"
            )
    if len(labels) > 1 and len(set(labels)) != len(labels):
        raise ResultError(f"value.{key} lists the same {noun} twice")
    return list(labels)


def _choices(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    choices = _label_list(value, "choices", control, "choice")
    if not control.multiple and len(choices) != 1:
        raise ResultError(
            f"value.choices has {len(choices)} choices, but this is a single-choice control"
        )
    return {"choices": choices}


def _labels(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    start = value.get("start")
    end = value.get("end")
    if not _is_int(start) or not _is_int(end):
        raise ResultError(
            f"value.start and value.end must be integers, got {_kind(start)} and {_kind(end)}"
        )
    if not 0 <= start < end:
        raise ResultError(f"value.start = {start}, value.end = {end}: need 0 <= start < end")
    labels = _label_list(value, "labels", control, "label")
    out = {"start": start, "end": end}
    span = value.get("text")
    if span is not None and type(span) is not str:
        raise ResultError(f"value.text must be a string, got {_kind(span)}")
    if type(text) is str:
        if end > len(text):
            raise ResultError(f"value.end = {end} is past the end of the text ({len(text)} chars)")
        if span is not None and text[start:end] != span:
            if notes is None:
                raise ResultError(
                    f"value.text {span!r} does not match the task text at {start}..{end} "
                    f"({text[start:end]!r})"
                )
            # In a Label Studio file: it collapses double spaces in value.text, and old
            # versions were one character off. The offsets are the truth; the text is kept.
            notes["spans_text_differs"] += 1
    if span is not None:
        out["text"] = span
    out["labels"] = labels
    return out


def _rectanglelabels(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    x = value.get("x")
    y = value.get("y")
    width = value.get("width")
    height = value.get("height")
    for key, number in (("x", x), ("y", y), ("width", width), ("height", height)):
        if not _is_number(number):
            raise ResultError(f"value.{key} must be a number, got {_kind(number)}")
    # Comparisons are written so that NaN (and infinity, through the sums) fails them.
    low, high = -EDGE_SLACK, 100 + EDGE_SLACK
    if not low <= x <= 100:
        raise ResultError(f"x = {_fmt(x)} is outside {_fmt(low)}..100")
    if not low <= y <= 100:
        raise ResultError(f"y = {_fmt(y)} is outside {_fmt(low)}..100")
    if not width > 0:
        raise ResultError(f"width = {_fmt(width)} must be > 0")
    if not height > 0:
        raise ResultError(f"height = {_fmt(height)} must be > 0")
    if not x + width <= high:
        raise ResultError(f"x + width = {_fmt(x + width)} is past {_fmt(high)}")
    if not y + height <= high:
        raise ResultError(f"y + height = {_fmt(y + height)} is past {_fmt(high)}")
    edge = 100 + EDGE_TOLERANCE
    if notes is not None and (x < 0 or y < 0 or x + width > edge or y + height > edge):
        notes["boxes_past_edge"] += 1
    out = {"x": x, "y": y, "width": width, "height": height}
    if "rotation" in value:
        rotation = value["rotation"]
        if not _is_number(rotation):
            raise ResultError(f"value.rotation must be a number, got {_kind(rotation)}")
        out["rotation"] = rotation
    for key in ("original_width", "original_height"):
        if key in value:
            out[key] = _positive_int(value[key], f"value.{key}")
    out["rectanglelabels"] = _label_list(value, "rectanglelabels", control, "label")
    return out


def _polygonlabels(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    points = value.get("points")
    if type(points) is not list:
        raise ResultError(f"value.points must be an array of [x, y] points, got {_kind(points)}")
    # Types through map and set, then one array for the whole polygon: no Python loop over
    # its points (numpy alone would read true as 1 and "1" as 1.0).
    array = None
    if set(map(type, points)) <= {list} and set(map(type, chain.from_iterable(points))) <= {
        int,
        float,
    }:
        with suppress(ValueError):  # points of different lengths
            array = np.asarray(points, dtype=float)
    if array is None or array.ndim != 2 or array.shape[1] != 2:
        raise ResultError("value.points must be an array of [x, y] number pairs")
    if len(array) < 3:
        raise ResultError(f"value.points has {len(array)} points; a polygon needs at least 3")
    low, high = -EDGE_SLACK, 100 + EDGE_SLACK
    # Written so that NaN fails the comparison; infinity is outside the range anyway.
    outside = ~((array >= low) & (array <= high)).all(axis=1)
    if outside.any():
        index = int(np.argmax(outside))
        x, y = (float(n) for n in array[index])
        raise ResultError(
            f"value.points[{index}] = [{_fmt(x)}, {_fmt(y)}] is outside {_fmt(low)}..{_fmt(high)}"
        )
    x, y = array[:, 0], array[:, 1]
    twice_area = x[:-1] @ y[1:] - x[1:] @ y[:-1] + x[-1] * y[0] - x[0] * y[-1]  # shoelace
    if not abs(twice_area) > 0:
        raise ResultError("value.points enclose no area (they lie on one line)")
    if notes is not None and ((array < 0) | (array > 100 + EDGE_TOLERANCE)).any():
        notes["boxes_past_edge"] += 1
    out: dict = {"points": points}
    if "closed" in value:
        if type(value["closed"]) is not bool:
            raise ResultError(f"value.closed must be true or false, got {_kind(value['closed'])}")
        out["closed"] = value["closed"]
    out["polygonlabels"] = _label_list(value, "polygonlabels", control, "label")
    return out


def _keypointlabels(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    x, y = value.get("x"), value.get("y")
    for key, number in (("x", x), ("y", y)):
        if not _is_number(number):
            raise ResultError(f"value.{key} must be a number, got {_kind(number)}")
        # Written so that NaN fails the comparison; infinity is outside anyway.
        if not -EDGE_SLACK <= number <= 100 + EDGE_SLACK:
            raise ResultError(f"{key} = {_fmt(number)} is outside {_fmt(-EDGE_SLACK)}..105")
    if notes is not None and not (
        0 <= x <= 100 + EDGE_TOLERANCE and 0 <= y <= 100 + EDGE_TOLERANCE
    ):
        notes["boxes_past_edge"] += 1
    out: dict = {"x": x, "y": y}
    if "width" in value:  # the dot's size as drawn, in percent of the image width
        width = value["width"]
        if not _is_number(width) or not 0 <= width <= 100:
            shown = _fmt(width) if _is_number(width) else _kind(width)
            raise ResultError(f"value.width must be a number in 0..100, got {shown}")
        out["width"] = width
    out["keypointlabels"] = _label_list(value, "keypointlabels", control, "label")
    return out


def _rating(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    rating = value.get("rating")
    if not _is_int(rating) or not 1 <= rating <= control.max_rating:
        shown = rating if _is_number(rating) else _kind(rating)
        raise ResultError(
            f"value.rating must be an integer in 1..{control.max_rating}, got {shown}"
        )
    return {"rating": rating}


def _textarea(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    texts = value.get("text")
    if type(texts) is str:
        return {"text": [texts]}
    if type(texts) is not list:
        raise ResultError(f"value.text must be a string or an array of strings, got {_kind(texts)}")
    for i, text in enumerate(texts):
        if type(text) is not str:
            raise ResultError(f"value.text[{i}] must be a string, got {_kind(text)}")
    return {"text": list(texts)}


def _number(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    number, spec = value.get("number"), control.spec
    # Comparisons are written so that NaN fails them; infinity fails isfinite.
    if not _is_number(number) or not math.isfinite(number):
        shown = _fmt(number) if _is_number(number) else _kind(number)
        raise ResultError(f"value.number must be a finite number, got {shown}")
    if spec.min is not None and not number >= spec.min:
        raise ResultError(f"value.number = {_fmt(number)} is below min {_fmt(spec.min)}")
    if spec.max is not None and not number <= spec.max:
        raise ResultError(f"value.number = {_fmt(number)} is above max {_fmt(spec.max)}")
    return {"number": number}


def _datetime(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    stamp, spec = value.get("datetime"), control.spec
    if type(stamp) is not str:
        raise ResultError(f"value.datetime must be a string, got {_kind(stamp)}")
    parsed = spec.parse(stamp)
    if parsed is None:
        example = datetime(2021, 1, 31, 10, 30).strftime(spec.format)
        raise ResultError(
            f'value.datetime "{stamp}" does not match the format {spec.format} (e.g. "{example}")'
        )
    problem = spec.out_of_range(parsed)
    if problem:
        raise ResultError(f'value.datetime "{stamp}" {problem}')
    return {"datetime": stamp}


def _taxonomy(value: dict, control: Control, text: object, notes: Counter | None) -> dict:
    paths, spec = value.get("taxonomy"), control.spec
    if type(paths) is not list or not paths:
        got = "an empty array" if paths == [] else _kind(paths)
        raise ResultError(f"value.taxonomy must be a non-empty array of paths, got {got}")
    seen: set[tuple] = set()
    for i, path in enumerate(paths):
        if type(path) is not list or not path or any(type(key) is not str for key in path):
            raise ResultError(f"value.taxonomy[{i}] must be a non-empty array of strings")
        node = spec.by_path.get(tuple(path))
        if node is None:
            examples = " or ".join(f'"{label}"' for label in control.labels[:3])
            raise ResultError(
                f'value.taxonomy[{i}]: "{spec.label(path)}" is not a path of the taxonomy '
                f"(each path starts at a top-level choice, e.g. {examples})"
            )
        if spec.leafs_only and node.children:
            raise ResultError(
                f'value.taxonomy[{i}]: "{spec.label(path)}" is not a leaf, and the taxonomy '
                'has leafsOnly="true"'
            )
        if tuple(path) in seen:
            raise ResultError(f'value.taxonomy lists "{spec.label(path)}" twice')
        seen.add(tuple(path))
    if spec.max_usages is not None and len(paths) > spec.max_usages:
        raise ResultError(
            f"value.taxonomy has {len(paths)} paths, more than maxUsages={spec.max_usages}"
        )
    return {"taxonomy": [list(path) for path in paths]}


# One item per control: Label Studio writes one, and a second would be a second answer.
ONE_ITEM_TYPES = frozenset({"number", "datetime", "taxonomy"})


def _positive_int(number: object, field: str) -> int:
    if not _is_int(number) or number <= 0:
        shown = _fmt(number) if _is_number(number) else _kind(number)
        raise ResultError(f"{field} must be a positive integer, got {shown}")
    return number


_VALIDATORS: dict[str, Callable[[dict, Control, object, Counter | None], dict]] = {
    "choices": _choices,
    "labels": _labels,
    "rectanglelabels": _rectanglelabels,
    "polygonlabels": _polygonlabels,
    "keypointlabels": _keypointlabels,
    "rating": _rating,
    "textarea": _textarea,
    "number": _number,
    "datetime": _datetime,
    "taxonomy": _taxonomy,
}


def validate_result(
    config: LabelConfig, result: object, data: dict | None = None, notes: Counter | None = None
) -> list[dict]:
    """Check a Label Studio result list against the config; return normalised copies.

    `data` is the task's data; when given, text spans are checked against the text. A box
    may reach up to EDGE_SLACK past the image (kept as given). With `notes` (a Label Studio
    file being imported) a span's value.text other than the task's text at its offsets is
    kept, the offsets trusted; both are counted there ("boxes_past_edge",
    "spans_text_differs"). Without, such a span is refused.
    """
    if type(result) is not list:
        raise ResultError(f"result must be an array of result items, got {_kind(result)}")
    controls = config.controls
    out: list[dict] = []
    single_choice_seen: set[str] = set()
    for index, item in enumerate(result):
        if type(item) is not dict:
            raise ResultError(f"result[{index}]: expected an object, got {_kind(item)}")
        from_name = item.get("from_name")
        control = controls.get(from_name) if type(from_name) is str else None
        if control is None:
            if item.get("type") == "relation":
                raise ResultError(f'result[{index}]: type "relation" is not supported')
            raise ResultError(
                f"result[{index}]: from_name {_show(from_name)} is not a control of the "
                f"label config (controls: {', '.join(controls)})"
            )
        where = f'result[{index}] (from_name "{from_name}")'
        to_name = item.get("to_name")
        if to_name != control.to_name:
            raise ResultError(f'{where}: to_name is {_show(to_name)}, expected "{control.to_name}"')
        kind = item.get("type")
        if kind != control.result_type:
            raise ResultError(f'{where}: type is {_show(kind)}, expected "{control.result_type}"')
        value = item.get("value")
        if type(value) is not dict:
            raise ResultError(f"{where}: value must be an object, got {_kind(value)}")
        if kind == "choices" and not control.multiple:
            if from_name in single_choice_seen:
                raise ResultError(f"{where}: a second choices item for this single-choice control")
            single_choice_seen.add(from_name)
        elif kind in ONE_ITEM_TYPES:
            if from_name in single_choice_seen:
                raise ResultError(f"{where}: a second {kind} item for this control")
            single_choice_seen.add(from_name)
        text = None
        if data is not None and kind == "labels":
            text = data.get(config.objects[control.to_name].value)
        try:
            out.append(_normalise_item(item, kind, _VALIDATORS[kind](value, control, text, notes)))
        except ResultError as exc:
            raise ResultError(f"{where}: {exc}") from None
    return out


def check_complete(
    config: LabelConfig, result: list[dict], allow_empty: bool, empty_message: str = EMPTY_RESULT
) -> None:
    """Raise IncompleteResult for a submitted (not skipped) result that has no items while
    the project does not allow empty annotations (`empty_message`), or that has no item for
    a control marked required="true" ("sentiment is required"), allowed empty or not.

    For what a person submits (label stream, their own edits, a reviewer's fix); imports and
    stored results are not checked, so a Label Studio file with empty annotations still loads.
    """
    if not result and not allow_empty:
        raise IncompleteResult(empty_message)
    answered = {item.get("from_name") for item in result}
    missing = [c.name for c in config.controls.values() if c.required and c.name not in answered]
    if missing:
        raise IncompleteResult("; ".join(f"{name} is required" for name in missing))


def _normalise_item(item: dict, kind: str, value: dict) -> dict:
    new_item: dict = {}
    if "id" in item:
        item_id = item["id"]
        if type(item_id) is not str:
            raise ResultError(f"id must be a string, got {_kind(item_id)}")
        new_item["id"] = item_id
    new_item["from_name"] = item["from_name"]
    new_item["to_name"] = item["to_name"]
    new_item["type"] = kind
    new_item["value"] = value
    for key in EXTRA_KEYS:
        if key in item:
            new_item[key] = item[key]
    for key in ("original_width", "original_height"):
        if key in new_item:
            _positive_int(new_item[key], key)
    return new_item


def result_labels(config: LabelConfig, result: list[dict]) -> set[tuple[str, str]]:
    """The (control name, label) pairs carried by a validated result."""
    pairs: set[tuple[str, str]] = set()
    for item in result:
        name = item["from_name"]
        control = config.controls.get(name)
        if control is None:
            continue
        value = item["value"]
        if control.tag == "Rating":
            pairs.add((name, str(value["rating"])))
        elif control.tag == "Taxonomy":
            pairs.update((name, control.spec.label(path)) for path in value["taxonomy"])
        elif control.tag not in ("TextArea", "Number", "DateTime"):
            pairs.update((name, label) for label in value[control.result_type])
    return pairs
