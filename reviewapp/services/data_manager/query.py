"""The Data Manager's table state and the task queries built from it.

`TableState` is parsed once from the query string (sort keys from an allow-list, page size
clamped) and turns itself back into URL arguments. Query builders return select() objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    event,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from reviewapp.db import text_search
from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.models import (
    LABEL_SOURCES,
    TASK_STATES,
    Annotation,
    AnnotationLease,
    Project,
    Review,
    ReviewerAssignment,
    Task,
    TaskLabel,
    User,
    utcnow,
)
from reviewapp.services.derived.task_columns import state_column, unapplied_state_shifts
from reviewapp.services.metrics.confusion import gt_confusion_task_ids

ORDERINGS = {
    "id": Task.id,
    "agreement": Task.agreement,
    "prediction_score": Task.prediction_score,
    "annotator": Task.first_annotator,
    "annotations": Task.annotation_count,
    "review_status": Task.review_rank,
    "created": Task.created_at,
}
# Columns that may be empty; empty values sort last in both directions.
NULLABLE = {"agreement", "prediction_score", "annotator"}
REPEATABLE = {"annotator", "annotator_not", "reviewer", "reviewer_not", "state"}
REVIEW_STATUS_FILTERS = ("pending", "accepted", "fixed", "rejected", "none")
# "in_review" is not stored: a task is in review while a reviewer holds a live lease on one
# of its annotations (an expired lease needs no write). It shows instead of the stored state.
STATE_FILTERS = (*TASK_STATES, "in_review")
STATE_NAMES = {
    "annotating": "Annotating",
    "needs_review": "Needs review",
    "in_review": "In review",
    "returned": "Returned",
    "done": "Done",
}
UNRESOLVED_COMMENTS_FILTERS = ("has", "none")
CONJUNCTIONS = ("and", "or")
PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Row ids are INTEGER columns: PostgreSQL's hold no more (a larger one overflows, a 500).
MAX_ID = 2**31 - 1


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError("expected true or false")


def _id(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if not 0 < number <= MAX_ID:
        raise ValueError("expected a user id")
    return number


def _text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _unit(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError("expected a number from 0 to 1")
    return number


def _label(value: str) -> str:
    if ":" not in value or value.startswith(":") or value.endswith(":"):
        raise ValueError("expected <control>:<label>")
    return value


GT_CONFUSION_FORMAT = (
    'expected ["control", "answer", "truth"] (null for no answer), optionally with an '
    "annotator id as a fourth item"
)


def _gt_confusion(value: str) -> str:
    """A cell of the confusion matrix against ground truth, as a JSON list: control,
    annotator's answer, ground truth's answer (null: none), optional annotator id. Kept as
    its canonical JSON text, so the URL and a saved view hold it as it is."""
    try:
        cell = json.loads(value)
    except ValueError:
        raise ValueError(GT_CONFUSION_FORMAT) from None
    valid = (
        isinstance(cell, list)
        and len(cell) in (3, 4)
        and isinstance(cell[0], str)
        and cell[0] != ""
        and all(x is None or isinstance(x, str) for x in cell[1:3])
        and (len(cell) == 3 or (type(cell[3]) is int and 0 < cell[3] <= MAX_ID))
    )
    if not valid:
        raise ValueError(GT_CONFUSION_FORMAT)
    return json.dumps(cell, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class GtConfusionCell:
    control: str
    answer: str | None
    truth: str | None
    annotator: int | None


def _choice(options: tuple[str, ...]):
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return parse


def _conjunction(value: str) -> str | None:
    if value not in CONJUNCTIONS:
        raise ValueError(f"expected one of {', '.join(CONJUNCTIONS)}")
    return "or" if value == "or" else None  # "and" is the default, left out of the URL


# query parameter -> parser; an empty value means "no filter".
FILTERS = {
    "annotator": _id,  # repeatable: tasks every given annotator annotated
    "annotator_not": _id,  # repeatable: tasks none of the given annotators annotated
    "reviewer": _id,  # repeatable: tasks assigned to every given reviewer
    "reviewer_not": _id,  # repeatable: tasks assigned to none of them
    "review_status": _choice(REVIEW_STATUS_FILTERS),
    "state": _choice(STATE_FILTERS),  # repeatable: tasks in any of the given states
    "ground_truth": _bool,
    "agreement_min": _unit,
    "agreement_max": _unit,
    "prediction_score_min": _unit,
    "prediction_score_max": _unit,
    "agreement_empty": _bool,  # true: no agreement (fewer than two annotations)
    "prediction_score_empty": _bool,  # true: no prediction with a score
    "has_annotations": _bool,
    "skipped": _bool,
    "q": _text,
    "source_id": _text,
    "label": _label,
    "label_source": _choice(LABEL_SOURCES),
    "gt_confusion": _gt_confusion,
    "unresolved_comments": _choice(UNRESOLVED_COMMENTS_FILTERS),
    # "or": a task passes when any one filter (a row of the filter builder) matches; the
    # selection filters task_ids and gt_confusion still hold for every task.
    "conjunction": _conjunction,
}


@dataclass(frozen=True)
class TableState:
    ordering: str = "id"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    annotator: tuple[int, ...] = ()
    annotator_not: tuple[int, ...] = ()
    reviewer: tuple[int, ...] = ()
    reviewer_not: tuple[int, ...] = ()
    review_status: str | None = None
    state: tuple[str, ...] = ()
    ground_truth: bool | None = None
    agreement_min: float | None = None
    agreement_max: float | None = None
    prediction_score_min: float | None = None
    prediction_score_max: float | None = None
    agreement_empty: bool | None = None
    prediction_score_empty: bool | None = None
    has_annotations: bool | None = None
    skipped: bool | None = None
    q: str | None = None
    source_id: str | None = None
    label: str | None = None
    label_source: str | None = None
    gt_confusion: str | None = None  # JSON, see _gt_confusion
    # Only these tasks (the API's ids=): not a filter of the page, whose checkboxes are "ids".
    task_ids: tuple[int, ...] = ()
    unresolved_comments: str | None = None  # "has" or "none"
    conjunction: str | None = None  # "or", or None for and
    errors: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> TableState:
        """Parse query arguments; bad values are dropped and described in `errors`."""
        values: dict = {}
        errors: list[str] = []
        ordering = (args.get("ordering") or "id").strip()
        if ordering.lstrip("-") in ORDERINGS:
            values["ordering"] = ordering
        else:
            errors.append(f"ordering: unknown key {ordering!r}; use one of {', '.join(ORDERINGS)}")
        for name, low, high in (("page", 1, 10**9), ("page_size", 1, MAX_PAGE_SIZE)):
            raw = args.get(name)
            if raw:
                try:
                    values[name] = min(max(int(raw), low), high)
                except ValueError:
                    errors.append(f"{name}: expected a whole number, got {raw!r}")
        for name, parse in FILTERS.items():
            raws = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
            parsed = []
            for raw in (str(r).strip() for r in raws if r is not None):
                if not raw:
                    continue
                try:
                    parsed.append(parse(raw))
                except ValueError as error:
                    errors.append(f"{name}: {error}")
            parsed = [value for value in parsed if value is not None]
            if parsed:
                values[name] = tuple(dict.fromkeys(parsed)) if name in REPEATABLE else parsed[0]
        return cls(**values, errors=tuple(errors))

    @property
    def gt_confusion_cell(self) -> GtConfusionCell | None:
        """The gt_confusion filter's cell, for showing it."""
        if not self.gt_confusion:
            return None
        control, answer, truth, *annotator = json.loads(self.gt_confusion)
        return GtConfusionCell(control, answer, truth, annotator[0] if annotator else None)

    @property
    def order_key(self) -> str:
        return self.ordering.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.ordering.startswith("-")

    @property
    def filtered(self) -> bool:
        return any(
            getattr(self, name) not in (None, ()) for name in FILTERS if name != "conjunction"
        )

    @property
    def match_any(self) -> bool:
        return self.conjunction == "or"

    def to_args(self, **changes) -> dict[str, str | list[str]]:
        """URL arguments for this state with changes applied, defaults left out; a repeatable
        filter gives a list (url_for and urlencode(doseq=True) repeat the parameter)."""
        state = replace(self, **changes) if changes else self
        args: dict[str, str | list[str]] = {}
        for f in fields(self):
            value = getattr(state, f.name)
            if f.name == "errors" or value is None or value == f.default:
                continue
            if isinstance(value, tuple):
                args[f.name] = [str(v) for v in value]
            else:
                args[f.name] = str(value).lower() if isinstance(value, bool) else str(value)
        return args

    def filter_args(self) -> dict[str, str | list[str]]:
        """Only the filters and ordering: what a saved view keeps."""
        return {k: v for k, v in self.to_args().items() if k not in ("page", "page_size")}

    def sort_args(self, key: str) -> dict[str, str | list[str]]:
        """Arguments for clicking a header: ascending first, again for descending."""
        ordering = f"-{key}" if self.ordering == key else key
        return self.to_args(ordering=ordering, page=1)


@dataclass(frozen=True)
class _IdSet:
    """A filter answered by another table's index: the ids of the matching tasks, and the
    same test made on one task (a probe by Task.id, or a look at the task's own row)."""

    ids: Select
    probe: ColumnElement
    in_project: bool  # ids holds only the project's tasks (so they can be counted alone)


def filtered_tasks(project_id: int, state: TableState, probe: bool = False) -> Select:
    """select(Task.id) of the project's tasks that pass every filter of state.

    A filter on another table's index reads its matching ids once (IN), or with probe=True
    tests each task the query walks: cheaper when many tasks match and only a page is read.
    """
    if state.match_any:
        return _any_filter_tasks(project_id, state, probe)
    query = select(Task.id).where(Task.project_id == project_id, *_conditions(project_id, state))
    for id_set in _id_sets(project_id, state):
        query = query.where(id_set.probe if probe else Task.id.in_(id_set.ids))
    return query


def _any_filter_tasks(project_id: int, state: TableState, probe: bool) -> Select:
    """The OR of the filters, one term per row of the filter builder (a range is one term);
    the selection's task_ids and gt_confusion still narrow every task."""
    rows = replace(state, task_ids=(), gt_confusion=None)
    terms = [
        *_conditions(project_id, rows),
        *(i.probe if probe else Task.id.in_(i.ids) for i in _id_sets(project_id, rows)),
    ]
    fixed = replace(TableState(), task_ids=state.task_ids, gt_confusion=state.gt_confusion)
    query = filtered_tasks(project_id, fixed, probe)
    return query.where(or_(*terms)) if terms else query


def _id_sets(project_id: int, s: TableState) -> list[_IdSet]:
    sets = []
    for annotator in s.annotator:  # tasks every given annotator annotated
        ids = _annotated_by(project_id, annotator)
        sets.append(_IdSet(ids, ids.where(Annotation.task_id == Task.id).exists(), True))
    if s.label:
        control, _, label = s.label.partition(":")
        ids = select(TaskLabel.task_id).where(
            TaskLabel.project_id == project_id,
            TaskLabel.control == control,
            TaskLabel.label == label,
        )
        if s.label_source:
            ids = ids.where(TaskLabel.source == s.label_source)
        sets.append(_IdSet(ids, ids.where(TaskLabel.task_id == Task.id).exists(), True))
    if s.q and _text_indexed(s.q):
        sets.append(_IdSet(text_search.matching_ids(s.q.lower()), _text_like(s.q), False))
    if s.gt_confusion:
        # The ids are written into the SQL (integers from our own query): a cell may hold
        # more tasks than a statement may have parameters.
        found = _gt_confusion_ids(project_id, s.gt_confusion)
        ids = bindparam("gt_confusion_ids", found, expanding=True, literal_execute=True)
        sets.append(_IdSet(select(Task.id).where(Task.id.in_(ids)), Task.id.in_(ids), True))
    return sets


# The tasks of a confusion-matrix cell, per (project, cell), for the transaction: one table
# request asks for the filter's ids several times (count, page, walk estimate), and they
# are found by reading the annotations of the project's ground-truth tasks.
GT_CONFUSION_IDS = "reviewapp_gt_confusion_ids"


@event.listens_for(Session, "after_transaction_end")
def _forget_gt_confusion_ids(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(GT_CONFUSION_IDS, None)


def _gt_confusion_ids(project_id: int, cell: str) -> list[int]:
    cache = db.session.info.setdefault(GT_CONFUSION_IDS, {})
    if (project_id, cell) not in cache:
        control, answer, truth, *annotator = json.loads(cell)
        project = db.session.get(Project, project_id)
        config = parse_label_config(project.label_config)
        cache[project_id, cell] = gt_confusion_task_ids(
            project, config, control, answer, truth, annotator[0] if annotator else None
        )
    return cache[project_id, cell]


def _annotated_by(project_id: int, annotator: int) -> Select:
    return select(Annotation.task_id).where(
        Annotation.project_id == project_id,
        Annotation.completed_by_id == annotator,
        Annotation.was_cancelled.is_(False),
    )


def _assigned_to(reviewer: int) -> ColumnElement:
    return (
        select(ReviewerAssignment.id)
        .where(ReviewerAssignment.user_id == reviewer, ReviewerAssignment.task_id == Task.id)
        .exists()
    )


IN_REVIEW_IDS = "reviewapp_in_review_ids"


@event.listens_for(Session, "after_transaction_end")
def _forget_in_review_ids(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(IN_REVIEW_IDS, None)


def in_review_ids(project_id: int) -> list[int]:
    """The project's tasks a reviewer holds a live lease on one annotation of (few: one per
    reviewer at work), read once per transaction."""
    cache = db.session.info.setdefault(IN_REVIEW_IDS, {})
    if project_id not in cache:
        # From the few live leases to their annotations by primary key, in two steps: in one
        # query SQLite walks every annotation of the project (300k at 100k tasks) instead.
        live = list(
            db.session.scalars(
                select(AnnotationLease.annotation_id).where(AnnotationLease.until > utcnow())
            )
        )
        rows = (
            db.session.execute(
                select(Annotation.task_id, Annotation.project_id).where(Annotation.id.in_(live))
            ).all()
            if live
            else []
        )
        cache[project_id] = sorted({task_id for task_id, owner in rows if owner == project_id})
    return cache[project_id]


def _state_condition(project_id: int, wanted: tuple[str, ...]) -> ColumnElement:
    live = in_review_ids(project_id)
    ids = bindparam("in_review_ids", live, expanding=True, literal_execute=True)
    stored = [name for name in wanted if name != "in_review"]
    parts = []
    if stored:
        parts.append(
            and_(Task.state.in_(stored), Task.id.not_in(ids)) if live else Task.state.in_(stored)
        )
    if "in_review" in wanted:
        parts.append(Task.id.in_(ids) if live else false())
    return or_(*parts)


def state_counts(project_id: int) -> dict[str, int]:
    """How many of the project's tasks are in each state, in review counted apart: the
    project's counts per state (kept with every change) and the few live leases."""
    stored = db.session.execute(
        select(*(state_column(state) for state in TASK_STATES)).where(Project.id == project_id)
    ).one()
    moved = unapplied_state_shifts(project_id)
    counts = {state: n + moved[state] for state, n in zip(TASK_STATES, stored, strict=True)}
    counts["in_review"] = 0
    live = in_review_ids(project_id)
    if live:
        for stored in db.session.scalars(select(Task.state).where(Task.id.in_(live))):
            counts[stored] -= 1
            counts["in_review"] += 1
    return counts


def _text_indexed(q: str) -> bool:
    return text_search.indexed(db.session.get_bind().dialect.name, q.lower())


def _text_like(q: str) -> ColumnElement:
    return Task.data_text.like(text_search.like_pattern(q.lower()), escape="\\")


def _conditions(project_id: int, s: TableState) -> list:
    """Conditions on the task's own columns (and its reviewer assignments), one per row of
    the filter builder (a range's two bounds are one)."""
    conditions = [_assigned_to(reviewer) for reviewer in s.reviewer]
    conditions += [~_assigned_to(reviewer) for reviewer in s.reviewer_not]
    # NOT IN reads the annotator's task ids once (ix_annotation_project_user); a correlated
    # NOT EXISTS probed that index per task: 268 ms against 92 ms to count 100k on SQLite.
    conditions += [Task.id.not_in(_annotated_by(project_id, a)) for a in s.annotator_not]
    if s.review_status is not None:
        column = {
            "pending": Task.pending_count,
            "accepted": Task.accepted_count,
            "fixed": Task.fixed_count,
            "rejected": Task.rejected_count,
        }.get(s.review_status)
        if column is not None:
            conditions.append(column > 0)
        else:  # "none": no annotation of the task has been reviewed
            conditions.append(
                and_(Task.accepted_count == 0, Task.fixed_count == 0, Task.rejected_count == 0)
            )
    if s.task_ids:
        conditions.append(Task.id.in_(s.task_ids))
    if s.state:
        conditions.append(_state_condition(project_id, s.state))
    if s.ground_truth is not None:
        conditions.append(Task.has_ground_truth.is_(s.ground_truth))
    for column, low, high, empty in (
        (Task.agreement, s.agreement_min, s.agreement_max, s.agreement_empty),
        (
            Task.prediction_score,
            s.prediction_score_min,
            s.prediction_score_max,
            s.prediction_score_empty,
        ),
    ):
        bounds = [column >= low] if low is not None else []
        bounds += [column <= high] if high is not None else []
        if bounds:
            conditions.append(and_(*bounds))
        if empty is not None:
            conditions.append(column.is_(None) if empty else column.is_not(None))
    if s.has_annotations is not None:
        conditions.append(
            Task.annotation_count > 0 if s.has_annotations else Task.annotation_count == 0
        )
    if s.skipped is not None:
        conditions.append(Task.skipped_count > 0 if s.skipped else Task.skipped_count == 0)
    if s.source_id is not None:
        conditions.append(Task.source_id == s.source_id)
    if s.unresolved_comments is not None:
        has = s.unresolved_comments == "has"
        conditions.append(Task.unresolved_comments > 0 if has else Task.unresolved_comments == 0)
    if s.q and not _text_indexed(s.q):
        conditions.append(_text_like(s.q))
    return conditions


def count_tasks(project_id: int, state: TableState) -> int:
    """How many tasks match. A lone filter on another table's index (one annotator, a
    label) is counted in that index alone, without visiting the tasks; a filter on states
    alone is the sum of the project's counts per state."""
    id_sets = _id_sets(project_id, state)
    if state.state and not id_sets and not _conditions(project_id, replace(state, state=())):
        counts = state_counts(project_id)
        return sum(counts[name] for name in set(state.state))
    if len(id_sets) == 1 and id_sets[0].in_project and not _conditions(project_id, state):
        ids = id_sets[0].ids.subquery()
        return db.session.scalar(select(func.count(ids.c[0].distinct())))
    return db.session.scalar(
        select(func.count()).select_from(filtered_tasks(project_id, state).subquery())
    )


def _ordered(query: Select, key: str, descending: bool) -> Select:
    column = ORDERINGS[key]
    if descending:
        return query.order_by(column.desc(), Task.id.desc())
    return query.order_by(column.asc(), Task.id.asc())


def page_task_ids(
    project_id: int, state: TableState, offset: int, limit: int, count: int | None = None
) -> list[int]:
    """Ids of one page of matching tasks in the state's order.

    For a nullable key the rows with a value come first (an index range scan), then the
    empty ones by id: empty values sort last in both directions without a full sort.
    Given the count, filters on other tables' indexes probe each task walked when that
    walk is shorter than reading every match.
    """
    probe = count is not None and _walk_is_shorter(project_id, state, offset + limit, count)
    parts = in_table_order(filtered_tasks(project_id, state, probe), state)
    ids = list(db.session.scalars(parts[0].offset(offset).limit(limit)))
    if len(ids) == limit or len(parts) == 1:
        return ids
    if ids:
        empty_offset = 0
    else:
        valued = db.session.scalar(select(func.count()).select_from(parts[0].subquery()))
        empty_offset = max(offset - valued, 0)
    return ids + list(db.session.scalars(parts[1].offset(empty_offset).limit(limit - len(ids))))


def _walk_is_shorter(project_id: int, state: TableState, rows: int, count: int) -> bool:
    """Whether walking the tasks in order to the end of the page (about rows x tasks / count
    of them, the matches being spread out) visits fewer than the count of matches.

    The project's id range stands in for its number of tasks: two index seeks, and never
    less than the number, so a doubtful case reads the matches.
    """
    if not count or not _id_sets(project_id, state):
        return False
    # One aggregate per query: SQLite answers a lone min() or max() with one index seek.
    low, high = (
        db.session.scalar(select(bound(Task.id)).where(Task.project_id == project_id))
        for bound in (func.min, func.max)
    )
    return rows * (high - low + 1) < count * count


def in_table_order(tasks: Select, state: TableState) -> list[Select]:
    """A select(Task.id) in the state's order, as one select per part (valued rows then empty
    ones for a nullable key), each an index scan; used to walk the review queue."""
    key = state.order_key
    if key not in NULLABLE:
        return [_ordered(tasks, key, state.descending)]
    column = ORDERINGS[key]
    return [
        _ordered(tasks.where(column.is_not(None)), key, state.descending),
        tasks.where(column.is_(None)).order_by(Task.id),
    ]


@dataclass(frozen=True)
class Selection:
    """Rows picked in the table: explicit ids, or all matching the filter less exclusions."""

    all_matching: bool = False
    ids: tuple[int, ...] = ()
    excluded: tuple[int, ...] = ()

    @classmethod
    def from_form(cls, form) -> Selection:
        def ints(name: str) -> tuple[int, ...]:
            out = []
            for raw in form.getlist(name):
                if raw.isdigit() and 0 < int(raw) <= MAX_ID:  # else no task's id: dropped
                    out.append(int(raw))
            return tuple(dict.fromkeys(out))

        if form.get("all_matching") == "1":
            # Rows shown on the page but unticked are the exclusions.
            picked = set(ints("ids"))
            unticked = [i for i in ints("page_ids") if i not in picked]
            return cls(True, (), tuple(dict.fromkeys([*ints("excluded"), *unticked])))
        return cls(False, ints("ids"), ())

    @property
    def empty(self) -> bool:
        return not self.all_matching and not self.ids

    def task_ids(self, project_id: int, state: TableState) -> Select:
        """select(Task.id) of the selected tasks; ids of other projects never match."""
        if self.all_matching:
            query = filtered_tasks(project_id, state)
            if self.excluded:
                query = query.where(Task.id.not_in(self.excluded))
            return query
        return select(Task.id).where(Task.project_id == project_id, Task.id.in_(self.ids or (-1,)))

    def to_args(self) -> dict:
        if self.all_matching:
            return {"all_matching": "1", "excluded": list(self.excluded)}
        return {"ids": list(self.ids)}


@dataclass(frozen=True)
class Person:
    id: int
    email: str


@dataclass
class TaskRow:
    task: Task
    annotators: list[Person]
    assigned: list[Person]  # reviewers assigned to the task now, by email
    reviewed: list[Person]  # who gave a verdict on one of its annotations, by email
    in_review: bool = False  # a reviewer holds one of its annotations now

    @property
    def state(self) -> str:
        """The state shown: in review over the stored one."""
        return "in_review" if self.in_review else self.task.state

    @property
    def reviewers(self) -> list[Person]:
        """Assigned or who reviewed, once each, by email."""
        people = {p.id: p for p in self.assigned + self.reviewed}
        return sorted(people.values(), key=lambda p: p.email)


@dataclass
class TablePage:
    rows: list[TaskRow]
    count: int
    state: TableState

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.state.page_size))


def table_page(project_id: int, state: TableState) -> TablePage:
    """One page of the table: the tasks in order, with annotators and reviewers, and the count."""
    count = count_tasks(project_id, state)
    offset = (state.page - 1) * state.page_size
    ids = page_task_ids(project_id, state, offset, state.page_size, count) if offset < count else []
    return TablePage(rows=task_rows(ids), count=count, state=state)


def task_rows(ids: list[int]) -> list[TaskRow]:
    """Rows for these task ids, in the given order; three queries whatever the page size.
    Assigned reviewers and those who reviewed are kept apart, so an unassign shows."""
    if not ids:
        return []
    tasks = {t.id: t for t in db.session.scalars(select(Task).where(Task.id.in_(ids)))}
    annotators: dict[int, dict[int, Person]] = {i: {} for i in ids}
    assigned: dict[int, dict[int, Person]] = {i: {} for i in ids}
    reviewed: dict[int, dict[int, Person]] = {i: {} for i in ids}

    for task_id, user_id, email in db.session.execute(
        select(Annotation.task_id, User.id, User.email)
        .join(User, User.id == Annotation.completed_by_id)
        .where(Annotation.task_id.in_(ids))
        .order_by(Annotation.id)
    ):
        annotators[task_id].setdefault(user_id, Person(user_id, email))
    assignments = (
        select(ReviewerAssignment.task_id, User.id, User.email, literal(True).label("assigned"))
        .join(User, User.id == ReviewerAssignment.user_id)
        .where(ReviewerAssignment.task_id.in_(ids))
    )
    reviews = (
        select(Annotation.task_id, User.id, User.email, literal(False).label("assigned"))
        .join(Review, Review.annotation_id == Annotation.id)
        .join(User, User.id == Review.reviewer_id)
        .where(Annotation.task_id.in_(ids))
    )
    for task_id, user_id, email, is_assigned in db.session.execute(assignments.union(reviews)):
        (assigned if is_assigned else reviewed)[task_id].setdefault(user_id, Person(user_id, email))

    def by_email(people: dict[int, Person]) -> list[Person]:
        return sorted(people.values(), key=lambda p: p.email)

    live = set()
    for project_id in {t.project_id for t in tasks.values()}:
        live.update(in_review_ids(project_id))
    return [
        TaskRow(
            tasks[i],
            list(annotators[i].values()),
            by_email(assigned[i]),
            by_email(reviewed[i]),
            i in live,
        )
        for i in ids
        if i in tasks
    ]
