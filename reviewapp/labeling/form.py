"""Turn the editor's form fields (macros/editor.html) into a validated Label Studio result.

The fields, per control of the label config:

- ``Choices``: one value per picked choice under the control's name (radio or checkboxes).
- ``Rating``: the rating as a whole number under the control's name.
- ``TextArea``: the text under the control's name; blank means no answer.
- ``Number``: the number under the control's name; blank means no answer.
- ``DateTime``: the browser's ISO date, time or datetime-local value under the control's
  name, stored in the tag's format; blank means no answer.
- ``Taxonomy``: one JSON array (a node's path) per ticked checkbox under the control's name.
- ``Labels`` / ``RectangleLabels`` / ``PolygonLabels``: ``regions-<name>``, a JSON list of
  Label Studio result items for that control (the page's JavaScript keeps it in sync with
  the drawn regions).

Other fields (CSRF token, lead time, ...) are ignored. No Flask import: the form is any
werkzeug ``MultiDict``-like object with ``getlist``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Protocol

from reviewapp.labeling.config import REGION_TAGS, Control, LabelConfig
from reviewapp.labeling.results import ResultError, validate_result

REGIONS_PREFIX = "regions-"


class FormData(Protocol):
    def getlist(self, key: str) -> list[str]: ...

    def __iter__(self): ...


def result_from_form(config: LabelConfig, form: FormData, data: dict | None) -> list[dict]:
    """The Label Studio result the editor's fields describe, validated against the config.

    Items come in config order (regions in the order the field lists them). Raises
    ResultError naming the field or item when a value is malformed, names a control the
    config lacks, or does not fit the config or the task ``data`` (see validate_result).
    """
    return validate_result(config, items_from_form(config, form, data), data)


def items_from_form(config: LabelConfig, form: FormData, data: dict | None) -> list[dict]:
    """The result items the editor's fields describe, read but not yet validated: for a
    caller whose service validates what it stores (review_stream.record_verdict)."""
    for key in form:
        if key.startswith(REGIONS_PREFIX):
            name = key[len(REGIONS_PREFIX) :]
            control = config.controls.get(name)
            if control is None or control.tag not in REGION_TAGS:
                raise ResultError(
                    f"{key}: the label config has no Labels, RectangleLabels or PolygonLabels "
                    f'control named "{name}"'
                )
    items: list[dict] = []
    for control in config.controls.values():
        if control.tag in REGION_TAGS:
            items += _regions(control, form.getlist(REGIONS_PREFIX + control.name), config, data)
        else:
            value = _READERS[control.tag](control, form.getlist(control.name))
            if value is not None:
                items.append(_item(control, value))
    return items


def _item(control: Control, value: dict) -> dict:
    return {
        "from_name": control.name,
        "to_name": control.to_name,
        "type": control.result_type,
        "value": value,
    }


def _choices(control: Control, values: list[str]) -> dict | None:
    # Every submitted value is kept, so that two values for a single-choice control are
    # refused by validate_result rather than silently reduced to one.
    picked = [v for v in values if v != ""]
    return {"choices": picked} if picked else None


def _rating(control: Control, values: list[str]) -> dict | None:
    given = [v.strip() for v in values if v.strip()]
    if not given:
        return None
    if len(given) > 1:
        raise ResultError(f"{control.name}: one rating expected, got {len(given)}")
    if not given[0].isdigit():
        raise ResultError(f"{control.name}: the rating must be a whole number, got {given[0]!r}")
    return {"rating": int(given[0])}


def _textarea(control: Control, values: list[str]) -> dict | None:
    # Browsers send a textarea's line breaks as CRLF.
    texts = [v.replace("\r\n", "\n") for v in values]
    texts = [t for t in texts if t.strip()]
    return {"text": texts} if texts else None


def _one(control: Control, values: list[str], what: str) -> str | None:
    given = [v.strip() for v in values if v.strip()]
    if len(given) > 1:
        raise ResultError(f"{control.name}: one {what} expected, got {len(given)}")
    return given[0] if given else None


def _number(control: Control, values: list[str]) -> dict | None:
    raw = _one(control, values, "number")
    if raw is None:
        return None
    try:
        number = int(raw) if _WHOLE.fullmatch(raw) else float(raw)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ResultError(f"{control.name}: expected a number, got {raw!r}")
    return {"number": number}


def _datetime(control: Control, values: list[str]) -> dict | None:
    # The browser sends ISO (date, time or datetime-local); results use the tag's format.
    raw = _one(control, values, "date or time")
    if raw is None:
        return None
    try:
        return {"datetime": control.spec.from_input(raw)}
    except ValueError as exc:
        raise ResultError(f"{control.name}: {exc}") from None


def _taxonomy(control: Control, values: list[str]) -> dict | None:
    # Each ticked checkbox sends its node's path as a JSON array.
    paths = []
    for raw in values:
        if not raw.strip():
            continue
        try:
            path = json.loads(raw)
        except ValueError:
            path = None
        if type(path) is not list or not all(type(key) is str for key in path):
            raise ResultError(f"{control.name}: {raw!r} is not a taxonomy path (a JSON array)")
        paths.append(path)
    return {"taxonomy": paths} if paths else None


_WHOLE = re.compile(r"[+-]?[0-9]+")

_READERS = {
    "Choices": _choices,
    "Rating": _rating,
    "TextArea": _textarea,
    "Number": _number,
    "DateTime": _datetime,
    "Taxonomy": _taxonomy,
}


def _regions(
    control: Control, fields: list[str], config: LabelConfig, data: dict | None
) -> list[dict]:
    field = REGIONS_PREFIX + control.name
    if len(fields) > 1:
        raise ResultError(f"{field}: sent {len(fields)} times, expected once")
    raw = fields[0].strip() if fields else ""
    if not raw:
        return []
    try:
        regions = json.loads(raw)
    except ValueError:
        raise ResultError(f"{field}: not valid JSON") from None
    if type(regions) is not list:
        raise ResultError(f"{field}: expected a JSON list of result items")
    items = []
    for index, region in enumerate(regions):
        if type(region) is not dict:
            raise ResultError(f"{field}[{index}]: expected an object")
        item = dict(region)
        item.setdefault("from_name", control.name)
        if item["from_name"] != control.name and item["from_name"] in config.controls:
            raise ResultError(
                f"{field}[{index}]: from_name is {item['from_name']!r}, expected {control.name!r}"
            )
        item.setdefault("to_name", control.to_name)
        item.setdefault("type", control.result_type)
        if control.tag == "Labels":
            _fill_span_text(item, config, control, data)
        items.append(item)
    return items


def _fill_span_text(item: dict, config: LabelConfig, control: Control, data: dict | None) -> None:
    """A span sent without its text gets it from the task, as Label Studio stores it."""
    value = item.get("value")
    if type(value) is not dict or "text" in value or data is None:
        return
    text = data.get(config.objects[control.to_name].value)
    start, end = value.get("start"), value.get("end")
    if type(text) is str and type(start) is int and type(end) is int and 0 <= start < end:
        item["value"] = {**value, "text": text[start:end]}
