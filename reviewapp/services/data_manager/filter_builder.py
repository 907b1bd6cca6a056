"""The Data Manager's filter builder: rows of field / operator / value over the table's
query parameters.

The URL keeps the flat parameters of `TableState` (so every filter link stays valid); the
builder shows them as rows and turns submitted rows back into them. One row is one value
of a parameter (`annotator=3` is "Annotator is 3"; a repeated one is several rows), except a
range (`agreement_min` with `agreement_max` is one "between" row) and the set of states
(one "is any of" row). The builder's form names a row's inputs `row-<i>-field`,
`row-<i>-op` and `row-<i>-value` (repeated for two bounds or several states), and
`row-<i>-was` the field the row was drawn with (a changed field starts the row afresh).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from reviewapp.services.data_manager.query import FILTERS, STATE_NAMES, TableState

MAX_ROWS = 30


@dataclass(frozen=True)
class Field:
    label: str
    kind: str  # person, reviewer, choice, states, unit, label, text
    operators: dict[str, str]  # operator -> its words
    choices: tuple[tuple[str, str], ...] = ()  # value -> words, for a choice


YES_NO = (("true", "yes"), ("false", "no"))
UNIT_OPERATORS = {
    "between": "between",
    "at_least": "at least",
    "at_most": "at most",
    "empty": "is empty",
    "not_empty": "is not empty",
}
LABEL_SOURCES = {
    "is": "is",
    "annotation": "is in an annotation",
    "ground_truth": "is in the ground truth",
    "prediction": "is in a prediction",
}

FIELDS = {
    "annotator": Field("Annotator", "person", {"is": "is", "is_not": "is not"}),
    "reviewer": Field("Assigned reviewer", "reviewer", {"is": "is", "is_not": "is not"}),
    "review_status": Field(
        "Review status",
        "choice",
        {"is": "is"},
        (
            ("pending", "has pending"),
            ("accepted", "has accepted"),
            ("fixed", "has fixed"),
            ("rejected", "has rejected"),
            ("none", "not reviewed yet"),
        ),
    ),
    "state": Field("State", "states", {"is": "is any of"}, tuple(STATE_NAMES.items())),
    "ground_truth": Field("Ground truth", "choice", {"is": "is"}, YES_NO),
    "has_annotations": Field(
        "Annotations", "choice", {"is": "are"}, (("true", "some"), ("false", "none"))
    ),
    "skipped": Field("Skipped", "choice", {"is": "is"}, YES_NO),
    "agreement": Field("Agreement", "unit", UNIT_OPERATORS),
    "prediction_score": Field("Prediction score", "unit", UNIT_OPERATORS),
    "label": Field("Label", "label", LABEL_SOURCES),
    "unresolved_comments": Field(
        "Comments", "choice", {"is": "are"}, (("has", "unresolved"), ("none", "none unresolved"))
    ),
    "q": Field("Text in data", "text", {"contains": "contains"}),
    "source_id": Field("Source id", "text", {"is": "is"}),
}
# Parameters of one field: what a row writes. gt_confusion has no row (a chip shows it).
_PARAMS = {
    "annotator": {"is": "annotator", "is_not": "annotator_not"},
    "reviewer": {"is": "reviewer", "is_not": "reviewer_not"},
}


@dataclass(frozen=True)
class FilterRow:
    field: str = ""  # "" for a row whose field is not chosen yet
    op: str = ""
    values: tuple[str, ...] = ()

    @property
    def spec(self) -> Field | None:
        return FIELDS.get(self.field)

    def value(self, index: int = 0) -> str:
        return self.values[index] if len(self.values) > index else ""


def rows_for(state: TableState) -> list[FilterRow]:
    """The builder's rows for a table state, in the order of FIELDS."""
    rows: list[FilterRow] = []
    for name in FIELDS:
        if name in _PARAMS:
            for op, param in _PARAMS[name].items():
                rows += [FilterRow(name, op, (str(v),)) for v in getattr(state, param)]
        elif name in ("agreement", "prediction_score"):
            low, high = getattr(state, f"{name}_min"), getattr(state, f"{name}_max")
            empty = getattr(state, f"{name}_empty")
            if low is not None or high is not None:
                if low is not None and high is not None:
                    op = "between"
                else:
                    op = "at_least" if low is not None else "at_most"
                bounds = tuple(_number(v) for v in (low, high) if v is not None)
                rows.append(FilterRow(name, op, bounds))
            if empty is not None:
                rows.append(FilterRow(name, "empty" if empty else "not_empty"))
        elif name == "state":
            if state.state:
                rows.append(FilterRow(name, "is", state.state))
        elif name == "label":
            if state.label:
                rows.append(FilterRow(name, state.label_source or "is", (state.label,)))
        else:
            value = getattr(state, name)
            if value is not None:
                text = str(value).lower() if isinstance(value, bool) else str(value)
                rows.append(FilterRow(name, next(iter(FIELDS[name].operators)), (text,)))
    return rows


def _number(value: float) -> str:
    return f"{value:g}"


def row_args(row: FilterRow, people: Mapping[str, int]) -> list[tuple[str, str]]:
    """The query parameters a row stands for; none while it is incomplete. A person is
    given by id or by email (the picker's text), looked up in people (email -> id)."""
    spec = row.spec
    if spec is None or row.op not in spec.operators:
        return []
    values = [v.strip() for v in row.values if v.strip()]
    if row.field in _PARAMS:
        found = [_person_id(v, people) for v in values]
        return [(_PARAMS[row.field][row.op], v) for v in found if v]
    if spec.kind == "unit":
        if row.op in ("empty", "not_empty"):
            return [(f"{row.field}_empty", "true" if row.op == "empty" else "false")]
        bounds = {
            "between": ("min", "max"),
            "at_least": ("min",),
            "at_most": ("max",),
        }[row.op]
        given = list(zip(bounds, row.values, strict=False))
        if len(given) < len(bounds) or not all(v.strip() for _, v in given):
            return []
        return [(f"{row.field}_{bound}", v.strip()) for bound, v in given]
    if spec.kind == "states":
        return [("state", v) for v in values]
    if spec.kind == "label":
        if not values:
            return []
        return [("label", values[0])] + ([("label_source", row.op)] if row.op != "is" else [])
    return [(row.field, values[0])] if values else []


def _person_id(value: str, people: Mapping[str, int]) -> str | None:
    if value.isdigit():
        return value
    found = people.get(value.lower())
    return str(found) if found is not None else None


@dataclass
class Builder:
    rows: list[FilterRow]
    args: MultiDict  # the table state's query arguments, as the rows give them


def submitted(args: MultiDict, people: Mapping[str, int]) -> Builder | None:
    """The builder's rows as the form sent them (None when it sent none), with its
    "+ Add filter" (add_filter) and remove (remove_filter=<i>) buttons applied. Other
    arguments (ordering, page size, conjunction, gt_confusion) pass through; the rows
    replace every parameter a row can write."""
    if "builder" not in args:
        return None
    rows = []
    for i in range(MAX_ROWS):
        field = args.get(f"row-{i}-field")
        if field is None:
            continue
        if str(i) == args.get("remove_filter"):
            continue
        spec = FIELDS.get(field)
        op = args.get(f"row-{i}-op", "")
        values = tuple(args.getlist(f"row-{i}-value"))
        if field != args.get(f"row-{i}-was", field):  # another field: start the row afresh
            op, values = "", ()
        if spec is not None and op not in spec.operators:
            op = next(iter(spec.operators))
        if field in _PARAMS:  # a picked email becomes the id, shown as the person's chip
            values = tuple(_person_id(v.strip(), people) or v for v in values)
        rows.append(FilterRow(field if spec else "", op if spec else "", values))
    if args.get("add_filter") and len(rows) < MAX_ROWS:
        rows.append(FilterRow())
    written = set(FILTERS) - {"conjunction", "gt_confusion"}
    out = MultiDict(
        (k, v)
        for k, v in args.items(multi=True)
        if k not in written
        and not k.startswith("row-")
        and k not in ("builder", "add_filter", "remove_filter")
    )
    for row in rows:
        for name, value in row_args(row, people):
            out.add(name, value)
    if len(rows) < 2:  # and/or shows between two rows; alone, a row is the filter
        out.pop("conjunction", None)
    return Builder(rows, out)
