"""Label Studio counts text offsets in UTF-16 code units (it is a JavaScript app); we store
code points. Everything that reads or writes Label Studio JSON converts here; storage and
the metrics use code points. Texts without characters beyond U+FFFF are the same in both."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable

from reviewapp.labeling.config import LabelConfig
from reviewapp.labeling.results import ResultError

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# In raw JSON text: an astral character, or the escape of the first half of its pair.
ASTRAL_IN_JSON = re.compile(r"[\U00010000-\U0010ffff]|\\u[dD][89abAB]")


def _units(text: str) -> list[int]:
    """The UTF-16 offset of each code point position 0..len(text)."""
    units, at = [0], 0
    for ch in text:
        at += 2 if ord(ch) > 0xFFFF else 1
        units.append(at)
    return units


def points_to_units(text: str, offset: int) -> int:
    return offset if not _ASTRAL.search(text) else _units(text)[min(offset, len(text))]


def units_to_points(text: str, offset: int) -> int:
    """The code point offset of a UTF-16 offset; ResultError if it splits a character."""
    if offset < 0 or not _ASTRAL.search(text):
        return offset
    units = _units(text)
    point = bisect_left(units, offset)
    if point < len(units) and units[point] != offset:
        raise ResultError(f"offset {offset} (UTF-16) falls inside a character of the text")
    return point if point < len(units) else len(text) + offset - units[-1]


def from_label_studio(config: LabelConfig, result: object, data: dict) -> object:
    """A result as Label Studio wrote it, with span offsets in code points."""
    return _convert(config, result, data, units_to_points)


def to_label_studio(config: LabelConfig, result: list, data: dict) -> list:
    """A stored result with span offsets in UTF-16 code units, for Label Studio."""
    return _convert(config, result, data, points_to_units)


def _convert(config: LabelConfig, result, data, convert: Callable[[str, int], int]):
    """Convert the start/end of every text span; anything malformed is left as it is for
    validate_result to name."""
    if not isinstance(result, list) or not isinstance(data, dict):
        return result
    out = []
    for item in result:
        control = config.controls.get(item.get("from_name")) if isinstance(item, dict) else None
        value = item.get("value") if control is not None and control.tag == "Labels" else None
        obj = config.objects.get(control.to_name) if value is not None else None
        text = data.get(obj.value) if obj is not None else None
        start, end = (value.get("start"), value.get("end")) if isinstance(value, dict) else (0, 0)
        if (
            isinstance(text, str)
            and type(start) is int
            and type(end) is int
            and _ASTRAL.search(text)
        ):
            where = f'result item "{item.get("id", item.get("from_name"))}"'
            try:
                value = {**value, "start": convert(text, start), "end": convert(text, end)}
            except ResultError as error:
                raise ResultError(f"{where}: {error}") from None
            item = {**item, "value": value}
        out.append(item)
    return out
