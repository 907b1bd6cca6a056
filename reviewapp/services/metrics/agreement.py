"""Agreement between two labelling results, and the metrics built on it.

``s(x, y)`` is the agreement between two Label Studio results (annotation, prediction
or ground truth), in 0..1: the mean, over the label config's control tags present on
at least one side, of the per-control score below. A control present on neither side
is left out; present on one side only it scores 0; when no control is present on
either side, ``s = 1``. Result items whose ``from_name`` is not a control of the
config are ignored.

- Choices: single choice, 1 if equal else 0; multiple, Jaccard
  ``|A & B| / |A | B|`` of the two sets (both empty: 1).
- Rating: ``1 - |a - b| / (maxRating - 1)``.
- TextArea: its texts joined by a newline, then ``1 - Levenshtein(a, b) / max(len a,
  len b)`` (both empty: 1).
- Number: ``1 - |a - b| / (max - min)`` (never below 0) when the tag sets min < max,
  else 1 if equal else 0.
- DateTime: 1 if the two values (as stored) are equal, else 0.
- Taxonomy: Jaccard ``|A & B| / |A | B|`` of the two sets of chosen paths.
- Labels, RectangleLabels and PolygonLabels: each result item is a region. Regions are
  matched one to one, only with a region of the same label set, maximising the total
  IoU; a pair counts only when its IoU is > 0 and > the IoU threshold; among matchings
  with the same total IoU the one with more pairs wins. IoU is 1-D over ``[start, end)``
  character offsets, or 2-D over the shapes' areas on the image (clipped to 0..100 %):
  axis-aligned boxes, rotated boxes (``rotation`` != 0, degrees clockwise about the
  box's top-left corner, in pixels when original_width/height are given) and polygons
  (``points`` in percent; a self-crossing one is made valid first), the last two as
  shapely polygons.
  ``score = sum(IoU of matched pairs) / (|x| + |y| - matched pairs)``.
- KeyPointLabels: each item is a point; points are matched one to one, only with a point of
  the same label set, maximising the total of the pair scores ``max(0, 1 - d / r)``, where
  ``d`` is their distance and ``r`` the project's ``keypoint_radius_percent`` of the image
  diagonal (in pixels when original_width/height are given, else on a square image); a pair
  counts when its score is > 0 (the IoU threshold is for areas, not points).
  ``score = sum(pair scores) / (|x| + |y| - matched pairs)``.

No Flask, no database: plain data in, numbers out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations
from typing import NamedTuple

import numpy as np
import shapely
from rapidfuzz.distance import Levenshtein

from reviewapp.labeling.config import REGION_TAGS, Control, LabelConfig

# Added to every candidate pair's IoU before the assignment, so that among matchings
# with the same total IoU the one with more pairs (the higher score) is chosen.
_TIE_BREAK = 1e-9

# A span (start, end), an axis-aligned box (x0, y0, x1, y1) in percent, or a shapely
# polygon (a rotated box or a polygon) in percent.
Geometry = tuple[float, ...] | shapely.Geometry
Region = tuple[Geometry, frozenset[str]]
Match = tuple[int, int, float]

# Key points closer than this share of the image diagonal (in percent) agree in part.
KEYPOINT_RADIUS_PERCENT = 2.0


class Point(NamedTuple):
    """A key point in percent of the image, with the image's size (100 x 100 when unknown)."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class ControlComparison:
    """One control's part of ``s(a, b)``; region indices count that control's items."""

    score: float
    detail: str
    matches: list[Match] = field(default_factory=list)
    unmatched_a: list[int] = field(default_factory=list)
    unmatched_b: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    """``s(a, b)`` with the per-control scores it is the mean of."""

    score: float
    controls: dict[str, ControlComparison]


def compare(
    config: LabelConfig,
    a: list[dict],
    b: list[dict],
    iou_threshold: float = 0.0,
    keypoint_radius: float = KEYPOINT_RADIUS_PERCENT,
) -> Comparison:
    """Agreement ``s(a, b)`` with its receipt: each control's score and how it was found.

    ``score`` is the mean of ``controls[name].score`` over the controls present on at
    least one side (1 when there are none). For Labels/RectangleLabels, ``matches`` holds
    ``(i, j, IoU)`` where i and j index that control's regions in a and b in the order
    they appear in the results; see the module docstring for every control's formula.
    """
    pa, pb = _prepare(config, a), _prepare(config, b)
    controls = {}
    for name, control in config.controls.items():
        va, vb = pa.get(name), pb.get(name)
        if va is None and vb is None:
            continue
        if va is None or vb is None:
            side = "a" if vb is None else "b"
            regions = va if vb is None else vb
            unmatched = list(range(len(regions))) if control.tag in REGION_TAGS else []
            controls[name] = ControlComparison(
                0.0,
                f"only in {side} -> 0",
                unmatched_a=unmatched if side == "a" else [],
                unmatched_b=unmatched if side == "b" else [],
            )
        elif control.tag in REGION_TAGS:
            controls[name] = _compare_regions(control, va, vb, iou_threshold, keypoint_radius)
        else:
            value = _value_score(control, va, vb)
            controls[name] = ControlComparison(value, _value_detail(control, va, vb, value))
    total = math.fsum(c.score for c in controls.values())
    return Comparison(total / len(controls) if controls else 1.0, controls)


def score(
    config: LabelConfig,
    a: list[dict],
    b: list[dict],
    iou_threshold: float = 0.0,
    keypoint_radius: float = KEYPOINT_RADIUS_PERCENT,
) -> float:
    """Agreement ``s(a, b)`` in 0..1, as defined in this module's docstring.

    Same number as ``compare(config, a, b, iou_threshold).score``, without the receipt.
    """
    return _score_prepared(
        config, _prepare(config, a), _prepare(config, b), iou_threshold, radius=keypoint_radius
    )


def pairwise(
    config: LabelConfig,
    results: list[list[dict]],
    iou_threshold: float = 0.0,
    keypoint_radius: float = KEYPOINT_RADIUS_PERCENT,
) -> list[Match]:
    """``(i, j, s(results[i], results[j]))`` for every pair i < j, in order."""
    prepared = [_prepare(config, result) for result in results]
    return [
        (
            i,
            j,
            _score_prepared(
                config, prepared[i], prepared[j], iou_threshold, radius=keypoint_radius
            ),
        )
        for i, j in combinations(range(len(prepared)), 2)
    ]


def task_agreement(pair_scores: Sequence[float]) -> float | None:
    """Task agreement: the mean of ``s`` over all pairs of the task's non-skipped annotations.

    The caller passes one score per pair; no pairs (fewer than two annotations) gives
    None, shown as a dash.
    """
    if not pair_scores:
        return None
    return math.fsum(pair_scores) / len(pair_scores)


def fix_size(
    config: LabelConfig,
    before: list[dict],
    after: list[dict],
    iou_threshold: float = 0.0,
    keypoint_radius: float = KEYPOINT_RADIUS_PERCENT,
) -> float:
    """Fix size of a Fix & Accept: ``1 - s(before, after)`` (0 = nothing changed), where a
    region the fix kept (the same result id before and after) is paired with itself first,
    whatever its IoU: a nudged box costs 1 - IoU, not a removed and an added region."""
    pairs = _id_pairs(config, before, after)
    prepared = _prepare(config, before), _prepare(config, after)
    return 1.0 - _score_prepared(config, *prepared, iou_threshold, pairs, keypoint_radius)


def _region_ids(config: LabelConfig, result: list[dict]) -> dict[str, list[object]]:
    """Each region control's result ids, in the order _prepare lists its regions."""
    ids: dict[str, list[object]] = {}
    for item in result:
        control = config.controls.get(item.get("from_name"))
        if control is not None and control.tag in REGION_TAGS:
            ids.setdefault(control.name, []).append(item.get("id"))
    return ids


def _id_pairs(
    config: LabelConfig, before: list[dict], after: list[dict]
) -> dict[str, list[tuple[int, int]]]:
    """Per region control, (i, j) of the regions with the same result id before and after."""
    old, new = _region_ids(config, before), _region_ids(config, after)
    pairs = {}
    for name, ids in old.items():
        position = {rid: j for j, rid in enumerate(new.get(name, ())) if rid is not None}
        found = [(i, position[rid]) for i, rid in enumerate(ids) if rid in position]
        if found:
            pairs[name] = found
    return pairs


def _match_paired(
    ra: list[Region],
    rb: list[Region],
    iou: Callable[[Geometry, Geometry], float],
    threshold: float,
    pairs: list[tuple[int, int]],
    same_label: bool = True,
) -> list[Match]:
    """The given pairs (with their IoU, 0 for a relabelled one when labels must agree),
    then the maximum-IoU matching of the rest."""
    paired = [
        (i, j, 0.0 if same_label and ra[i][1] != rb[j][1] else iou(ra[i][0], rb[j][0]))
        for i, j in pairs
    ]
    rest_a = [i for i in range(len(ra)) if i not in {i for i, _ in pairs}]
    rest_b = [j for j in range(len(rb)) if j not in {j for _, j in pairs}]
    rest = _match([ra[i] for i in rest_a], [rb[j] for j in rest_b], iou, threshold, same_label)
    return sorted(paired + [(rest_a[i], rest_b[j], v) for i, j, v in rest])


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable]]) -> float | None:
    """Krippendorff's alpha for nominal data: ``1 - D_o / D_e``.

    Each unit is the list of values the coders gave one item (missing values left out;
    a multiple-choice answer passed as one value such as ``"A|B"``). Units with fewer
    than two values cannot be paired and are ignored. With ``m_u`` values in unit u,
    ``n_uc`` of them equal to c, ``n = sum m_u`` and ``n_c = sum_u n_uc``::

        alpha = 1 - (n - 1) * sum_u (m_u**2 - sum_c n_uc**2) / (m_u - 1)
                            / (n**2 - sum_c n_c**2)

    which is the coincidence-matrix formula written with counts. None when there are no
    pairable values, or when every pairable value is the same (expected disagreement 0,
    so alpha is 0/0: agreement there is perfect but says nothing about reliability).
    """
    totals: Counter[Hashable] = Counter()
    observed = 0.0
    n = 0
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        counts = Counter(unit)
        observed += (m * m - sum(c * c for c in counts.values())) / (m - 1)
        totals.update(counts)
        n += m
    expected = n * n - sum(c * c for c in totals.values())
    if n == 0 or expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected


@dataclass(frozen=True)
class ControlDiff:
    """What changed in one control. Region lists hold the result items' ``value`` dicts."""

    control: Control
    old: object = None
    new: object = None
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    moved: list[tuple[dict, dict]] = field(default_factory=list)  # same size, elsewhere
    resized: list[tuple[dict, dict]] = field(default_factory=list)
    relabelled: list[tuple[dict, dict]] = field(default_factory=list)

    def lines(self) -> list[str]:
        name = self.control.name
        if self.control.tag not in REGION_TAGS:
            return [f"{name}: {_show(self.old)} → {_show(self.new)}"]
        key = self.control.result_type
        lines = []
        for regions, verb in ((self.added, "added"), (self.removed, "removed")):
            if regions:
                labels = ", ".join(_show_labels(value.get(key)) for value in regions)
                lines.append(f"{name}: {_regions(len(regions))} {verb} ({labels})")
        if self.moved:
            lines.append(f"{name}: {_regions(len(self.moved))} moved")
        if self.resized:
            lines.append(f"{name}: {_regions(len(self.resized))} resized")
        if self.relabelled:
            changes = ", ".join(
                f"{_show_labels(old.get(key))} → {_show_labels(new.get(key))}"
                for old, new in self.relabelled
            )
            lines.append(f"{name}: {_regions(len(self.relabelled))} relabelled ({changes})")
        return lines


@dataclass(frozen=True)
class ResultDiff:
    """The changes from one result to another, per control in config order."""

    controls: dict[str, ControlDiff]

    @property
    def is_empty(self) -> bool:
        return not self.controls

    def summary(self) -> list[str]:
        return [line for diff in self.controls.values() for line in diff.lines()]


def diff_results(
    config: LabelConfig,
    before: list[dict],
    after: list[dict],
    iou_threshold: float = 0.0,
    keypoint_radius: float = KEYPOINT_RADIUS_PERCENT,
) -> ResultDiff:
    """What a Fix & Accept changed, per control, listing only the controls that changed.

    Choices, Rating, TextArea: the old and new value (choices as a tuple in config order,
    the TextArea texts joined by a newline; None when absent or empty). Labels and
    RectangleLabels: regions are matched one to one maximising total IoU regardless of
    label (IoU > 0 and > the threshold); unmatched ones in ``after`` are added, in
    ``before`` removed; a matched pair whose coordinates differ (by > 1e-6) is moved,
    one whose label set differs is relabelled (it can be both).
    """
    old_items, new_items = _items_by_control(config, before), _items_by_control(config, after)
    old_prepared, new_prepared = _prepare(config, before), _prepare(config, after)
    pairs = _id_pairs(config, before, after)
    diffs = {}
    for name, control in config.controls.items():
        if control.tag in REGION_TAGS:
            diff = _diff_regions(
                control,
                old_items.get(name, []),
                new_items.get(name, []),
                iou_threshold,
                pairs.get(name, []),
                keypoint_radius,
            )
        else:
            old = _display_value(control, old_prepared.get(name))
            new = _display_value(control, new_prepared.get(name))
            diff = ControlDiff(control, old, new) if old != new else None
        if diff is not None:
            diffs[name] = diff
    return ResultDiff(diffs)


def _items_by_control(config: LabelConfig, result: list[dict]) -> dict[str, list[dict]]:
    items: dict[str, list[dict]] = {}
    for item in result:
        name = item.get("from_name")
        if name in config.controls:
            items.setdefault(name, []).append(item)
    return items


def _prepare(config: LabelConfig, result: list[dict]) -> dict[str, object]:
    """Each present control's value: frozenset of choices, rating, joined text or regions."""
    controls = config.controls
    prepared: dict[str, object] = {}
    texts: dict[str, list[str]] = {}
    for item in result:
        control = controls.get(item.get("from_name"))
        if control is None:
            continue
        name, tag, value = control.name, control.tag, item.get("value") or {}
        if tag in REGION_TAGS:
            prepared.setdefault(name, []).append(_region(tag, value, item))
        elif tag == "Choices":
            prepared[name] = prepared.get(name, frozenset()) | frozenset(value.get("choices", ()))
        elif tag == "Rating":
            prepared.setdefault(name, value.get("rating", 0))
        elif tag in ("Number", "DateTime"):
            prepared.setdefault(name, value.get(control.result_type))
        elif tag == "Taxonomy":
            paths = frozenset(tuple(path) for path in value.get("taxonomy", ()))
            prepared[name] = prepared.get(name, frozenset()) | paths
        else:
            text = value.get("text", ())
            texts.setdefault(name, []).extend([text] if isinstance(text, str) else text)
    for name, parts in texts.items():
        prepared[name] = "\n".join(parts)
    return prepared


_LABEL_KEYS = {
    "Labels": "labels",
    "RectangleLabels": "rectanglelabels",
    "PolygonLabels": "polygonlabels",
    "KeyPointLabels": "keypointlabels",
}


def _region(tag: str, value: dict, item: dict) -> Region:
    labels = frozenset(value.get(_LABEL_KEYS[tag], ()))
    if tag == "Labels":
        return (value["start"], value["end"]), labels
    if tag == "KeyPointLabels":
        width = item.get("original_width", 100)
        height = item.get("original_height", 100)
        return Point(value["x"], value["y"], width, height), labels
    if tag == "PolygonLabels":
        polygon = shapely.make_valid(shapely.polygons(np.asarray(value["points"], dtype=float)))
        return shapely.clip_by_rect(polygon, 0.0, 0.0, 100.0, 100.0), labels
    if value.get("rotation"):
        return _rotated_box(value, item), labels
    # A box may reach a little past the image's edge (Label Studio writes such boxes); only
    # the part on the image counts.
    x, y = value["x"], value["y"]
    box = (
        max(x, 0.0),
        max(y, 0.0),
        min(x + value["width"], 100.0),
        min(y + value["height"], 100.0),
    )
    return box, labels


def _rotated_box(value: dict, item: dict) -> shapely.Geometry:
    """Label Studio turns a box by ``rotation`` degrees clockwise about its top-left corner,
    on the image in pixels (original_width/height, on the item or in its value); without
    the image's size, percent of a square image."""
    sx = value.get("original_width", item.get("original_width", 100)) / 100
    sy = value.get("original_height", item.get("original_height", 100)) / 100
    angle = math.radians(value["rotation"])
    along = np.array([math.cos(angle), math.sin(angle)]) * value["width"] * sx
    down = np.array([-math.sin(angle), math.cos(angle)]) * value["height"] * sy
    corner = np.array([value["x"] * sx, value["y"] * sy])
    pixels = np.array([corner, corner + along, corner + along + down, corner + down])
    polygon = shapely.polygons(pixels / [sx, sy])
    return shapely.clip_by_rect(polygon, 0.0, 0.0, 100.0, 100.0)


def _shape_iou(a: Geometry, b: Geometry) -> float:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return _box_iou(a, b)
    a, b = _as_shape(a), _as_shape(b)
    # Most pairs of an image's shapes lie apart: their bounding boxes say so without the
    # polygon overlay, which costs far more.
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a.bounds, b.bounds
    if ax1 < bx0 or bx1 < ax0 or ay1 < by0 or by1 < ay0:
        return 0.0
    inter = shapely.area(shapely.intersection(a, b))
    union = shapely.area(a) + shapely.area(b) - inter
    if inter <= 0 or union <= 0:
        return 1.0 if shapely.equals_exact(a, b, 0.0) else 0.0
    return min(1.0, inter / union)


def _as_shape(geometry: Geometry) -> shapely.Geometry:
    if isinstance(geometry, tuple):
        return shapely.box(*geometry)
    return geometry


def _span_iou(a: Geometry, b: Geometry) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        # Zero-length spans have no IoU; an identical one still agrees fully.
        return 1.0 if a == b else 0.0
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def _box_iou(a: Geometry, b: Geometry) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = width * height if width > 0 and height > 0 else 0.0
    if inter <= 0:  # also when a tiny box's area underflows to 0
        return 1.0 if a == b else 0.0
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return min(1.0, inter / union)


def _match(
    ra: list[Region],
    rb: list[Region],
    iou: Callable[[Geometry, Geometry], float],
    threshold: float,
    same_label: bool = True,
) -> list[Match]:
    """The one-to-one matching of maximum total IoU, as ``(i, j, IoU)`` sorted by i."""
    edges = []
    for i, (ga, la) in enumerate(ra):
        for j, (gb, lb) in enumerate(rb):
            if same_label and la != lb:
                continue
            value = iou(ga, gb)
            if value > threshold and value > 0:
                edges.append((i, j, value))
    if len(edges) <= 1:
        return edges
    rows = sorted({i for i, _, _ in edges})
    cols = sorted({j for _, j, _ in edges})
    if len(rows) == len(cols) == len(edges):
        return edges  # no region has two candidates: the candidates are the matching
    if len(rows) == 1 or len(cols) == 1:
        return [max(edges, key=lambda edge: edge[2])]  # only one pair can be kept
    # scipy.optimize takes ~0.3 s to import and most comparisons never need it.
    from scipy.optimize import linear_sum_assignment

    row_of = {i: k for k, i in enumerate(rows)}
    col_of = {j: k for k, j in enumerate(cols)}
    weights = np.zeros((len(rows), len(cols)))
    for i, j, value in edges:
        weights[row_of[i], col_of[j]] = value + _TIE_BREAK
    picked_rows, picked_cols = linear_sum_assignment(weights, maximize=True)
    iou_of = {(i, j): value for i, j, value in edges}
    return [
        (rows[r], cols[c], iou_of[rows[r], cols[c]])
        for r, c in zip(picked_rows, picked_cols, strict=True)
        if weights[r, c] > 0
    ]


def _iou_for(control: Control, radius: float) -> Callable[[Geometry, Geometry], float]:
    if control.tag == "KeyPointLabels":
        return partial(_point_score, radius=radius)
    return _span_iou if control.tag == "Labels" else _shape_iou


def _threshold_for(control: Control, threshold: float) -> float:
    return 0.0 if control.tag == "KeyPointLabels" else threshold


def _point_score(a: Point, b: Point, radius: float) -> float:
    """``max(0, 1 - d / r)`` with d and r in pixels of a's image (r: radius % of its
    diagonal)."""
    d = math.hypot((a.x - b.x) * a.width, (a.y - b.y) * a.height) / 100
    r = radius / 100 * math.hypot(a.width, a.height)
    if r <= 0:
        return 1.0 if d == 0 else 0.0
    return max(0.0, 1.0 - d / r)


def _region_score(n_a: int, n_b: int, matches: list[Match]) -> float:
    return math.fsum(value for _, _, value in matches) / (n_a + n_b - len(matches))


def _value_score(control: Control, va, vb) -> float:
    if control.tag == "Choices":
        if not control.multiple:
            return 1.0 if va == vb else 0.0
        union = va | vb
        return len(va & vb) / len(union) if union else 1.0
    if control.tag == "Rating":
        if control.max_rating <= 1:
            return 1.0 if va == vb else 0.0
        return max(0.0, 1.0 - abs(va - vb) / (control.max_rating - 1))
    if control.tag == "Number":
        spec = control.spec
        if spec.has_range:
            return max(0.0, 1.0 - abs(va - vb) / (spec.max - spec.min))
        return 1.0 if va == vb else 0.0
    if control.tag == "DateTime":
        return 1.0 if va == vb else 0.0
    if control.tag == "Taxonomy":
        union = va | vb
        return len(va & vb) / len(union) if union else 1.0
    longest = max(len(va), len(vb))
    return 1.0 - Levenshtein.distance(va, vb) / longest if longest else 1.0


def _score_prepared(
    config: LabelConfig,
    pa: dict,
    pb: dict,
    threshold: float,
    pairs: dict | None = None,
    radius: float = KEYPOINT_RADIUS_PERCENT,
) -> float:
    scores = []
    for name, control in config.controls.items():
        va, vb = pa.get(name), pb.get(name)
        if va is None and vb is None:
            continue
        if va is None or vb is None:
            scores.append(0.0)
        elif control.tag in REGION_TAGS:
            paired = (pairs or {}).get(name)
            if paired:
                matches = _match_paired(
                    va, vb, _iou_for(control, radius), _threshold_for(control, threshold), paired
                )
            else:
                matches = _match(
                    va, vb, _iou_for(control, radius), _threshold_for(control, threshold)
                )
            scores.append(_region_score(len(va), len(vb), matches))
        else:
            scores.append(_value_score(control, va, vb))
    return math.fsum(scores) / len(scores) if scores else 1.0


def _compare_regions(
    control: Control, ra: list, rb: list, threshold: float, radius: float
) -> ControlComparison:
    matches = _match(ra, rb, _iou_for(control, radius), _threshold_for(control, threshold))
    value = _region_score(len(ra), len(rb), matches)
    matched_a = {i for i, _, _ in matches}
    matched_b = {j for _, j, _ in matches}
    what = "1 - d / r" if control.tag == "KeyPointLabels" else "IoU"
    detail = (
        f"sum {what} {_num(math.fsum(v for _, _, v in matches))} / "
        f"({len(ra)} + {len(rb)} - {len(matches)} matched) = {_num(value)}"
    )
    return ControlComparison(
        value,
        detail,
        matches,
        [i for i in range(len(ra)) if i not in matched_a],
        [j for j in range(len(rb)) if j not in matched_b],
    )


def _value_detail(control: Control, va, vb, value: float) -> str:
    if control.tag == "Choices":
        if not control.multiple:
            return f"{'equal' if va == vb else 'different'} -> {_num(value)}"
        return f"Jaccard {len(va & vb)}/{len(va | vb)} = {_num(value)}"
    if control.tag == "Rating":
        return f"1 - |{va} - {vb}| / ({control.max_rating} - 1) = {_num(value)}"
    if control.tag == "Number" and control.spec.has_range:
        spec = control.spec
        return f"1 - |{va} - {vb}| / ({spec.max} - {spec.min}) = {_num(value)}"
    if control.tag in ("Number", "DateTime"):
        return f"{'equal' if va == vb else 'different'} -> {_num(value)}"
    if control.tag == "Taxonomy":
        return f"Jaccard of paths {len(va & vb)}/{len(va | vb)} = {_num(value)}"
    distance = Levenshtein.distance(va, vb)
    return f"1 - Levenshtein {distance} / max({len(va)}, {len(vb)}) = {_num(value)}"


def _num(value: float) -> str:
    return f"{value:.3g}"


def _diff_regions(
    control: Control,
    old: list[dict],
    new: list[dict],
    threshold: float,
    pairs: list[tuple[int, int]] = (),
    radius: float = KEYPOINT_RADIUS_PERCENT,
) -> ControlDiff | None:
    old_regions = [_region(control.tag, item.get("value") or {}, item) for item in old]
    new_regions = [_region(control.tag, item.get("value") or {}, item) for item in new]
    old = [item.get("value") or {} for item in old]
    new = [item.get("value") or {} for item in new]
    # A region the fix kept (same result id) is itself however far it went.
    matches = _match_paired(
        old_regions,
        new_regions,
        _iou_for(control, radius),
        _threshold_for(control, threshold),
        list(pairs),
        same_label=False,
    )
    matched_old = {i for i, _, _ in matches}
    matched_new = {j for _, j, _ in matches}
    moved, resized, relabelled = [], [], []
    for i, j, _ in matches:
        (old_geometry, old_labels), (new_geometry, new_labels) = old_regions[i], new_regions[j]
        if not _same_place(old_geometry, new_geometry):
            (resized if _size(old_geometry) != _size(new_geometry) else moved).append(
                (old[i], new[j])
            )
        if old_labels != new_labels:
            relabelled.append((old[i], new[j]))
    added = [value for j, value in enumerate(new) if j not in matched_new]
    removed = [value for i, value in enumerate(old) if i not in matched_old]
    if not (added or removed or moved or resized or relabelled):
        return None
    return ControlDiff(
        control,
        added=added,
        removed=removed,
        moved=moved,
        resized=resized,
        relabelled=relabelled,
    )


def _same_place(a: Geometry, b: Geometry) -> bool:
    if isinstance(a, Point):
        return abs(a.x - b.x) <= 1e-6 and abs(a.y - b.y) <= 1e-6
    if isinstance(a, tuple) and isinstance(b, tuple):
        return all(abs(p - q) <= 1e-6 for p, q in zip(a, b, strict=True))
    return bool(shapely.equals_exact(_as_shape(a), _as_shape(b), 1e-6))


def _size(geometry: Geometry) -> tuple[float, ...]:
    """A span's length, a box's width and height, a polygon's area (rounded: float noise is
    no resize)."""
    if isinstance(geometry, Point):
        return ()  # a point has no size: it can only move
    if not isinstance(geometry, tuple):
        return (round(float(shapely.area(geometry)), 6),)
    if len(geometry) == 2:
        return (round(geometry[1] - geometry[0], 6),)
    return (round(geometry[2] - geometry[0], 6), round(geometry[3] - geometry[1], 6))


def _display_value(control: Control, value: object) -> object:
    if value is None or value == "" or value == frozenset():
        return None
    if control.tag == "Choices":
        order = {label: k for k, label in enumerate(control.labels)}
        return tuple(sorted(value, key=lambda choice: (order.get(choice, len(order)), choice)))
    if control.tag == "Taxonomy":
        spec = control.spec
        return tuple(spec.label(path) for path in sorted(value, key=lambda p: (spec.order(p), p)))
    return value


def _show(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 40 else f'"{value[:39]}…"'
    return str(value)


def _show_labels(labels: list[str] | None) -> str:
    return "+".join(labels) if labels else "no label"


def _regions(count: int) -> str:
    return f"{count} region{'' if count == 1 else 's'}"
