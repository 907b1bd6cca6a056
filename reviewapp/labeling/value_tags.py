"""The Number, DateTime and Taxonomy control tags: their attributes, their results, and
how the editor's inputs read and write them.

Each tag's attributes live in a frozen spec on ``Control.spec``; config.py calls
``parse_spec`` for these tags. Result shapes (Label Studio's):
``{"number": 5}``, ``{"datetime": "2021-01-01T10:00"}``,
``{"taxonomy": [["A", "A1"], ["B"]]}`` (each chosen node as its path from the root).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property
from xml.etree.ElementTree import Element

from reviewapp.labeling.config import LabelConfigError

VALUE_TAGS = ("Number", "DateTime", "Taxonomy")

_INT = re.compile(r"-?[0-9]+")


def show_number(number: float | int) -> str:
    """A number as an HTML attribute or in a message: no trailing .0, no lost digits."""
    return str(number) if type(number) is int else f"{number:.15g}"


# --- Number -------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberSpec:
    min: float | None = None
    max: float | None = None
    step: float | None = None  # None: any step (Label Studio's default of 1 only nudges)

    @property
    def has_range(self) -> bool:
        return self.min is not None and self.max is not None and self.max > self.min

    def attr(self, number: float | None) -> str:
        return "" if number is None else show_number(number)


def _number_attr(element: Element, attribute: str, what: str) -> float | None:
    raw = element.get(attribute)
    if raw is None or not raw.strip():
        return None
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise LabelConfigError(f'{what} has {attribute}="{raw}"; expected a number')
    return int(number) if _INT.fullmatch(raw.strip()) else number


def _parse_number(element: Element, what: str) -> NumberSpec:
    low = _number_attr(element, "min", what)
    high = _number_attr(element, "max", what)
    step = _number_attr(element, "step", what)
    if low is not None and high is not None and low > high:
        raise LabelConfigError(
            f'{what} has min="{element.get("min")}" above max="{element.get("max")}"'
        )
    if step is not None and step <= 0:
        raise LabelConfigError(f'{what} has step="{element.get("step")}"; expected a number > 0')
    return NumberSpec(low, high, step)


# --- DateTime -----------------------------------------------------------------------

# What Label Studio writes when the tag has no format attribute.
_DEFAULT_FORMATS = {"datetime": "%Y-%m-%dT%H:%M", "date": "%Y-%m-%d", "time": "%H:%M"}
# The HTML input for each mode and the ISO form its value takes.
_INPUTS = {
    "datetime": ("datetime-local", "%Y-%m-%dT%H:%M"),
    "date": ("date", "%Y-%m-%d"),
    "time": ("time", "%H:%M"),
}


@dataclass(frozen=True)
class DateTimeSpec:
    mode: str = "datetime"  # "datetime" | "date" | "time", from only=
    format: str = _DEFAULT_FORMATS["datetime"]  # strftime, as Label Studio's format=
    min: str | None = None  # ISO, as given
    max: str | None = None

    @property
    def input_type(self) -> str:
        return _INPUTS[self.mode][0]

    @property
    def _seconds_format(self) -> str | None:
        """The default format with seconds, as some exports write them (None: not allowed)."""
        if self.format == _DEFAULT_FORMATS.get(self.mode) and self.mode != "date":
            return self.format + ":%S"
        return None

    def parse(self, value: str) -> datetime | None:
        """The stored string as a datetime (time mode: on 1900-01-01), or None."""
        for fmt in (self.format, self._seconds_format):
            if fmt is None:
                continue
            try:
                return datetime.strptime(value, fmt)
            except ValueError:
                continue
        return None

    def to_input(self, value: object) -> str:
        """A stored value as the HTML input's value ("" when it cannot be read). Seconds
        written in the value are kept (even ":00"), so that an untouched input gives back
        the same value."""
        parsed = self.parse(value) if type(value) is str else None
        if parsed is None:
            return ""
        text = parsed.strftime(_INPUTS[self.mode][1])
        seconds = parsed.second or self._has_seconds(value)
        return text + parsed.strftime(":%S") if seconds else text

    def from_input(self, raw: str) -> str:
        """The HTML input's ISO value as Label Studio stores it (in the tag's format)."""
        try:
            if self.mode == "time":
                parsed = datetime.combine(date(1900, 1, 1), time.fromisoformat(raw))
            else:
                parsed = datetime.fromisoformat(raw)
        except ValueError:
            kind = self.input_type.replace("-local", "")
            raise ValueError(f"expected a {kind}, got {raw!r}") from None
        if self._has_seconds(raw) and self._seconds_format:
            return parsed.strftime(self._seconds_format)
        return parsed.strftime(self.format)

    def _has_seconds(self, value: str) -> bool:
        clock = value if self.mode == "time" else value.partition("T")[2]
        return self.mode != "date" and clock.count(":") >= 2

    def bound(self, iso: str | None, end: bool = False) -> str:
        """min (or max, with end) as the HTML input's min/max attribute; a date bound of a
        date-time input takes in its whole day."""
        if iso is None:
            return ""
        if self.mode == "time":
            return iso
        if self.mode == "date":
            return iso[:10]
        return iso if "T" in iso else iso + ("T23:59" if end else "T00:00")

    def out_of_range(self, parsed: datetime) -> str | None:
        for iso, outside, word in ((self.min, "before", "min"), (self.max, "after", "max")):
            if iso is None:
                continue
            limit = _iso_limit(self.mode, iso)
            here = parsed.time() if self.mode == "time" else parsed
            if self.mode == "date" or (self.mode == "datetime" and "T" not in iso):
                here, limit = parsed.date(), limit.date()  # a date bound takes in its whole day
            if (here < limit) if word == "min" else (here > limit):
                return f"is {outside} {word} {iso}"
        return None


def _iso_limit(mode: str, iso: str):
    return time.fromisoformat(iso) if mode == "time" else datetime.fromisoformat(iso)


def _parse_datetime(element: Element, what: str) -> DateTimeSpec:
    only = element.get("only")
    parts = {p.strip() for p in (only or "date,time").split(",") if p.strip()}
    unknown = parts - {"date", "time", "month", "year"}
    if unknown or not parts:
        raise LabelConfigError(f'{what} has only="{only}"; expected date, time or date,time')
    if "date" not in parts and parts & {"month", "year"}:
        raise LabelConfigError(
            f'{what} has only="{only}": month and year pickers are not supported yet; '
            "use date, time or date,time"
        )
    mode = "datetime" if parts >= {"date", "time"} else "date" if "date" in parts else "time"
    fmt = element.get("format")
    # Label Studio keeps only=time values as typed, whatever the format says.
    if mode == "time" or not fmt:
        fmt = _DEFAULT_FORMATS[mode]
    bounds = {}
    for attribute in ("min", "max"):
        raw = element.get(attribute)
        if raw is not None and raw.strip():
            try:
                # Values carry no time zone (as the browser's inputs), so neither may a bound.
                if _iso_limit(mode, raw.strip()).tzinfo is not None:
                    raise ValueError
            except ValueError:
                expected = "HH:MM" if mode == "time" else "YYYY-MM-DD or YYYY-MM-DDTHH:MM"
                raise LabelConfigError(
                    f'{what} has {attribute}="{raw}"; expected an ISO {expected} '
                    "without a time zone"
                ) from None
            bounds[attribute] = raw.strip()
    return DateTimeSpec(mode, fmt, bounds.get("min"), bounds.get("max"))


# --- Taxonomy -----------------------------------------------------------------------


@dataclass(frozen=True)
class TaxonomyNode:
    value: str  # shown
    key: str  # written in results: the alias when given, else the value
    path: tuple[str, ...]  # keys from the root down to this node
    children: tuple[TaxonomyNode, ...] = ()


@dataclass(frozen=True)
class TaxonomySpec:
    nodes: tuple[TaxonomyNode, ...]
    leafs_only: bool = False
    max_usages: int | None = None
    separator: str = " / "

    def walk(self):
        stack = list(reversed(self.nodes))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    @cached_property
    def by_path(self) -> dict[tuple[str, ...], TaxonomyNode]:
        return {node.path: node for node in self.walk()}

    def label(self, path) -> str:
        """A path as shown: the nodes' values joined by the separator."""
        path = tuple(path)
        shown = [
            self.by_path[path[: k + 1]].value if path[: k + 1] in self.by_path else key
            for k, key in enumerate(path)
        ]
        return self.separator.join(shown)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.label(node.path) for node in self.walk())

    @cached_property
    def _positions(self) -> dict[tuple[str, ...], int]:
        return {path: k for k, path in enumerate(self.by_path)}

    def order(self, path) -> int:
        """Position of a path in config order (unknown paths last), to sort for display."""
        return self._positions.get(tuple(path), len(self._positions))

    def selection(self, items: list[dict], name: str) -> list[list[str]]:
        """The paths chosen in a result for the control called name."""
        return [
            list(path)
            for item in items
            if item.get("from_name") == name
            for path in (item.get("value") or {}).get("taxonomy", [])
        ]

    def has_chosen_below(self, node: TaxonomyNode, chosen: list[list[str]]) -> bool:
        depth = len(node.path)
        return any(len(p) > depth and tuple(p[:depth]) == node.path for p in chosen)


# Each path is a label of the Data Manager's label filter (TaskLabel.label, 200 characters).
MAX_PATH_CHARS = 200


def _parse_taxonomy(element: Element, what: str) -> TaxonomySpec:
    if element.get("apiUrl"):
        raise LabelConfigError(
            f"{what} has apiUrl: a remote taxonomy is not supported; list it as nested "
            '<Choice value="..."> children'
        )
    nodes = _taxonomy_nodes(element, (), what)
    if not nodes:
        raise LabelConfigError(f'{what} has no options; add <Choice value="..."/> children')
    raw = element.get("maxUsages")
    max_usages = None
    if raw is not None and raw.strip():
        if not raw.strip().isdigit() or int(raw) < 1:
            raise LabelConfigError(f'{what} has maxUsages="{raw}"; expected an integer >= 1')
        max_usages = int(raw)
    separator = element.get("pathSeparator")
    spec = TaxonomySpec(
        nodes,
        leafs_only=(element.get("leafsOnly") or "").strip().lower() == "true",
        max_usages=max_usages,
        separator=f" {separator.strip()} " if separator and separator.strip() else " / ",
    )
    for label in spec.labels:
        if len(label) > MAX_PATH_CHARS:
            raise LabelConfigError(
                f'{what} has the path "{label[:40]}…", {len(label)} characters long; '
                f"a path may have at most {MAX_PATH_CHARS}"
            )
    return spec


def _taxonomy_nodes(parent: Element, path: tuple[str, ...], what: str) -> tuple:
    nodes = []
    seen: set[str] = set()
    for child in parent:
        if child.tag == "Label":
            raise LabelConfigError(f'{what} contains <Label>; its options are <Choice value="...">')
        if child.tag != "Choice":
            continue
        value = child.get("value")
        if value is None or not value.strip():
            raise LabelConfigError(f"<Choice> in {what} is missing the value attribute")
        key = child.get("alias") or value
        if key in seen:
            raise LabelConfigError(f'{what} has duplicate choice "{key}" under the same parent')
        seen.add(key)
        children = _taxonomy_nodes(child, (*path, key), what)
        nodes.append(TaxonomyNode(value, key, (*path, key), children))
    return tuple(nodes)


_PARSERS = {"Number": _parse_number, "DateTime": _parse_datetime, "Taxonomy": _parse_taxonomy}


def parse_spec(element: Element, what: str) -> NumberSpec | DateTimeSpec | TaxonomySpec:
    return _PARSERS[element.tag](element, what)
