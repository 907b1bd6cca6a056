"""Each ordering and filter of the Data Manager on a small project written out by hand."""

from dataclasses import replace

import pytest
from sqlalchemy import select, text, update
from werkzeug.datastructures import MultiDict

from reviewapp.extensions import db
from reviewapp.models import Annotation, ReviewerAssignment, Task
from reviewapp.services.data_manager.query import (
    Selection,
    TableState,
    count_tasks,
    filtered_tasks,
    in_table_order,
    page_task_ids,
    table_page,
)
from reviewapp.services.derived.task_columns import refresh_tasks
from tests import factories


def prediction(label, score):
    return {"result": factories.choice(label), "score": score, "model_version": "m1"}


@pytest.fixture
def project(app):
    """Five tasks, by position t1..t5:

    t1 "apple pie"      ann: bob(Positive)                      pred Positive 0.9  created 01-05
    t2 "banana bread"   ann: amy(Positive), bob(Negative)       pred Negative 0.2  created 01-01
    t3 "cherry tart"    ann: carl(Neutral), skipped by amy       no prediction    created 01-03
    t4 "Apple crumble"  no annotations                          pred Neutral 0.5   created 01-04
    t5 "date loaf"      ann: amy(Negative, GT), carl(Negative)  pred Positive 0.7  created 01-02
    agreement from import: t2 0 (they differ), t5 1 (they agree), the rest none (< 2 annotations)
    """
    project = factories.project()
    tasks = [
        {
            "data": {"text": "apple pie"},
            "created_at": "2024-01-05T00:00:00",
            "annotations": [factories.annotation("bob@x.com", "Positive")],
            "predictions": [prediction("Positive", 0.9)],
        },
        {
            "data": {"text": "banana bread"},
            "created_at": "2024-01-01T00:00:00",
            "annotations": [
                factories.annotation("amy@x.com", "Positive"),
                factories.annotation("bob@x.com", "Negative"),
            ],
            "predictions": [prediction("Negative", 0.2)],
        },
        {
            "data": {"text": "cherry tart"},
            "created_at": "2024-01-03T00:00:00",
            "annotations": [
                factories.annotation("carl@x.com", "Neutral"),
                {"completed_by": "amy@x.com", "result": [], "was_cancelled": True},
            ],
        },
        {
            "data": {"text": "Apple crumble"},
            "created_at": "2024-01-04T00:00:00",
            "predictions": [prediction("Neutral", 0.5)],
        },
        {
            "data": {"text": "date loaf"},
            "created_at": "2024-01-02T00:00:00",
            "annotations": [
                factories.annotation("amy@x.com", "Negative", ground_truth=True),
                factories.annotation("carl@x.com", "Negative"),
            ],
            "predictions": [prediction("Positive", 0.7)],
        },
    ]
    factories.tasks(project, tasks)
    project.ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    return project


def positions(project, ids):
    return [f"t{project.ids.index(i) + 1}" for i in ids]


def rows(project, **args):
    """The matching tasks in order; both query plans and the count must agree on them."""
    state = TableState.from_args({k: str(v) for k, v in args.items()})
    assert state.errors == ()
    ids = page_task_ids(project.id, state, 0, 50)
    assert walked(project, state) == ids
    assert count_tasks(project.id, state) == len(ids)
    return positions(project, ids)


def walked(project, state):
    """The tasks as the probing plan finds them: walking in order, testing each task."""
    parts = in_table_order(filtered_tasks(project.id, state, probe=True), state)
    return [task_id for part in parts for task_id in db.session.scalars(part)]


def user_id(email):
    from reviewapp.services.users import find_user

    return find_user(email).id


def test_import_computes_agreement(project):
    agreements = db.session.scalars(select(Task.agreement).order_by(Task.id)).all()
    # t2: Positive vs Negative -> 0; t5: Negative vs Negative -> 1; others have < 2 annotations.
    assert agreements == [None, 0.0, None, None, 1.0]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("id", ["t1", "t2", "t3", "t4", "t5"]),
        ("-id", ["t5", "t4", "t3", "t2", "t1"]),
        # Empty agreement sorts last in both directions, then by id.
        ("agreement", ["t2", "t5", "t1", "t3", "t4"]),
        ("-agreement", ["t5", "t2", "t1", "t3", "t4"]),
        ("prediction_score", ["t2", "t4", "t5", "t1", "t3"]),
        ("-prediction_score", ["t1", "t5", "t4", "t2", "t3"]),
        # first annotator: t1 bob, t2 amy, t3 carl, t4 none, t5 amy
        ("annotator", ["t2", "t5", "t1", "t3", "t4"]),
        ("-annotator", ["t3", "t1", "t5", "t2", "t4"]),
        ("annotations", ["t4", "t1", "t3", "t2", "t5"]),
        ("-annotations", ["t5", "t2", "t3", "t1", "t4"]),
        # review rank: none (t4) < pending (the rest, all pending)
        ("review_status", ["t4", "t1", "t2", "t3", "t5"]),
        ("created", ["t2", "t5", "t3", "t4", "t1"]),
        ("-created", ["t1", "t4", "t3", "t5", "t2"]),
    ],
)
def test_orderings(project, ordering, expected):
    assert rows(project, ordering=ordering) == expected


def test_nullable_ordering_pages_across_the_boundary(project):
    state = TableState.from_args({"ordering": "-agreement", "page_size": "2"})
    pages = [
        positions(project, page_task_ids(project.id, state, offset, 2)) for offset in (0, 2, 4)
    ]
    assert pages == [["t5", "t2"], ["t1", "t3"], ["t4"]]


def test_filters(project):
    amy, bob, carl = user_id("amy@x.com"), user_id("bob@x.com"), user_id("carl@x.com")
    assert rows(project, annotator=amy) == ["t2", "t5"]  # amy's skip on t3 does not count
    assert rows(project, annotator=carl) == ["t3", "t5"]
    assert rows(project, ground_truth="true") == ["t5"]
    assert rows(project, ground_truth="false") == ["t1", "t2", "t3", "t4"]
    assert rows(project, agreement_min=0.5) == ["t5"]
    assert rows(project, agreement_max=0.5) == ["t2"]
    assert rows(project, prediction_score_min=0.5, prediction_score_max=0.8) == ["t4", "t5"]
    assert rows(project, has_annotations="false") == ["t4"]
    assert rows(project, has_annotations="true") == ["t1", "t2", "t3", "t5"]
    assert rows(project, skipped="true") == ["t3"]
    assert rows(project, q="APPLE") == ["t1", "t4"]
    assert rows(project, q="text") == []  # the JSON key is not searched
    assert rows(project, q="%") == []
    # Filters combine.
    assert rows(project, annotator=bob, prediction_score_min=0.5) == ["t1"]


def test_label_filter_by_source(project):
    assert rows(project, label="sentiment:Positive") == ["t1", "t2", "t5"]
    assert rows(project, label="sentiment:Positive", label_source="annotation") == ["t1", "t2"]
    assert rows(project, label="sentiment:Positive", label_source="prediction") == ["t1", "t5"]
    assert rows(project, label="sentiment:Negative", label_source="ground_truth") == ["t5"]
    assert rows(project, label="sentiment:Neutral") == ["t3", "t4"]


def test_reviewer_and_review_status_filters(project):
    reviewer = factories.user("reviewer")
    db.session.add(ReviewerAssignment(task_id=project.ids[0], user_id=reviewer.id))
    db.session.add(ReviewerAssignment(task_id=project.ids[2], user_id=reviewer.id))
    first = db.session.scalar(select(Annotation).where(Annotation.task_id == project.ids[1]))
    first.review_status = "accepted"
    refresh_tasks(project, [project.ids[1]])
    db.session.commit()
    assert rows(project, reviewer=reviewer.id) == ["t1", "t3"]
    assert rows(project, review_status="accepted") == ["t2"]
    assert rows(project, review_status="pending") == ["t1", "t2", "t3", "t5"]
    assert rows(project, review_status="none") == ["t1", "t3", "t4", "t5"]
    assert rows(project, review_status="rejected") == []


def test_count_and_page(project):
    state = TableState.from_args({"q": "a", "page_size": "2", "page": "2"})
    page = table_page(project.id, state)
    assert page.count == 5 and page.pages == 3
    assert positions(project, [r.task.id for r in page.rows]) == ["t3", "t4"]
    assert count_tasks(project.id, TableState.from_args({"skipped": "true"})) == 1


def test_rows_carry_annotators_and_reviewers(project):
    reviewer = factories.user("reviewer", email="rev@x.com")
    db.session.add(ReviewerAssignment(task_id=project.ids[1], user_id=reviewer.id))
    db.session.commit()
    page = table_page(project.id, TableState())
    second = page.rows[1]
    assert [p.email for p in second.annotators] == ["amy@x.com", "bob@x.com"]
    assert [p.email for p in second.reviewers] == ["rev@x.com"]


def test_bad_arguments_are_reported_and_dropped():
    state = TableState.from_args(
        {
            "ordering": "price",
            "page": "x",
            "page_size": "100000",
            "agreement_min": "2",
            "ground_truth": "maybe",
            "label": "Positive",
            "review_status": "done",
            "annotator": "me",
        }
    )
    assert state.ordering == "id" and state.page == 1 and state.page_size == 200
    assert state.agreement_min is None and state.ground_truth is None and state.label is None
    # page_size is clamped, not refused; the seven others are reported.
    assert len(state.errors) == 7
    assert any("ordering" in e for e in state.errors)


def test_state_round_trips_through_url_args():
    args = {
        "ordering": "-agreement",
        "page": "3",
        "annotator": "4",
        "ground_truth": "false",
        "agreement_min": "0.25",
        "q": "apple",
        "label": "sentiment:Positive",
    }
    state = TableState.from_args(args)
    # The repeatable annotator filter comes back as a list.
    assert state.to_args() == {**args, "annotator": ["4"]}
    assert TableState.from_args(MultiDict(state.to_args())) == state
    assert state.sort_args("agreement")["ordering"] == "agreement"
    assert state.sort_args("agreement").get("page") is None
    assert TableState().sort_args("id") == {"ordering": "-id"}


def test_several_annotators_mean_tasks_they_all_annotated(project):
    amy, carl = user_id("amy@x.com"), user_id("carl@x.com")
    state = TableState.from_args(MultiDict([("annotator", str(amy)), ("annotator", str(carl))]))
    assert state.annotator == (amy, carl)
    # amy annotated t2 and t5 (her t3 is a skip), carl t3 and t5: both, only t5.
    assert positions(project, page_task_ids(project.id, state, 0, 50)) == ["t5"]
    assert state.to_args()["annotator"] == [str(amy), str(carl)]


def test_selection_all_matching_with_exclusions(project):
    state = TableState.from_args({"has_annotations": "true"})
    form = _MultiDict(
        {
            "all_matching": ["1"],
            "ids": [str(project.ids[0])],
            "page_ids": [str(project.ids[0]), str(project.ids[1])],
        }
    )
    selection = Selection.from_form(form)
    assert selection.all_matching and selection.excluded == (project.ids[1],)
    chosen = db.session.scalars(selection.task_ids(project.id, state).order_by(Task.id)).all()
    assert positions(project, chosen) == ["t1", "t3", "t5"]


def test_selection_ignores_ids_of_other_projects(project):
    other = factories.project(title="other")
    factories.text_tasks(other, "foreign")
    foreign = db.session.scalar(select(Task.id).where(Task.project_id == other.id))
    selection = Selection.from_form(_MultiDict({"ids": [str(project.ids[0]), str(foreign), "x"]}))
    chosen = db.session.scalars(selection.task_ids(project.id, TableState())).all()
    assert chosen == [project.ids[0]]


def test_refresh_matches_what_import_wrote(project):
    columns = [
        Task.annotation_count,
        Task.skipped_count,
        Task.pending_count,
        Task.review_rank,
        Task.prediction_score,
        Task.agreement,
        Task.has_ground_truth,
        Task.first_annotator,
    ]
    before = db.session.execute(select(*columns).order_by(Task.id)).all()
    db.session.execute(
        update(Task).values(annotation_count=99, agreement=None, first_annotator="x")
    )
    refresh_tasks(project, project.ids)
    assert db.session.execute(select(*columns).order_by(Task.id)).all() == before


class _MultiDict(dict):
    def getlist(self, key):
        return self.get(key, [])

    def get(self, key, default=None):
        value = super().get(key, default)
        return value[0] if isinstance(value, list) and key in ("all_matching",) else value


def test_text_search_matches_substrings_of_any_length_and_quotes(project):
    assert rows(project, q="pple") == ["t1", "t4"]  # within a word, any case
    assert rows(project, q="e c") == ["t4"]  # "apple crumble", across a space
    assert rows(project, q="ta") == ["t3"]  # shorter than the trigram index reads
    assert rows(project, q='pie"') == []
    assert rows(project, q="apple pie") == ["t1"]


def test_text_index_follows_deleted_tasks_and_projects(project):
    from reviewapp.services.data_manager.bulk import BulkRequest, delete_tasks

    other = factories.project(title="other")
    factories.text_tasks(other, "apple strudel")
    delete_tasks(BulkRequest(project, factories.user("manager"), [project.ids[0]]))
    db.session.delete(other)
    db.session.commit()
    assert rows(project, q="apple") == ["t4"]
    if db.engine.dialect.name == "sqlite":
        # FTS5 compares its index with the task table and raises if they differ.
        db.session.execute(text("INSERT INTO task_text(task_text) VALUES ('integrity-check')"))
        matches = db.session.execute(
            text("SELECT rowid FROM task_text WHERE task_text MATCH 'apple'")
        )
        assert [r[0] for r in matches] == [project.ids[3]]


def many(project, pairs, **replaced):
    """Like rows, for repeated parameters (a list of (name, value))."""
    state = TableState.from_args(MultiDict([(k, str(v)) for k, v in pairs]))
    assert state.errors == ()
    state = replace(state, **replaced)
    ids = page_task_ids(project.id, state, 0, 50)
    assert walked(project, state) == ids
    assert count_tasks(project.id, state) == len(ids)
    return positions(project, ids)


def test_negated_and_empty_filters(project):
    amy, bob = user_id("amy@x.com"), user_id("bob@x.com")
    rita, ron = factories.user("reviewer"), factories.user("reviewer")
    for position, reviewer in ((0, rita), (1, rita), (1, ron)):
        db.session.add(ReviewerAssignment(task_id=project.ids[position], user_id=reviewer.id))
    db.session.commit()
    # amy annotated t2 and t5 (her skip on t3 is no annotation).
    assert rows(project, annotator_not=amy) == ["t1", "t3", "t4"]
    # bob annotated t1 and t2: neither amy nor bob leaves t3 and t4.
    assert many(project, [("annotator_not", amy), ("annotator_not", bob)]) == ["t3", "t4"]
    assert rows(project, reviewer_not=rita.id) == ["t3", "t4", "t5"]
    assert many(project, [("reviewer", rita.id), ("reviewer", ron.id)]) == ["t2"]
    # Agreement exists on t2 (0) and t5 (1) only; t3 alone has no prediction.
    assert rows(project, agreement_empty="true") == ["t1", "t3", "t4"]
    assert rows(project, agreement_empty="false") == ["t2", "t5"]
    assert rows(project, prediction_score_empty="true") == ["t3"]


def test_or_between_filters(project):
    bob, carl = user_id("bob@x.com"), user_id("carl@x.com")
    # And (the default): ground truth (t5) and a score of at least 0.85 (t1): none.
    assert rows(project, ground_truth="true", prediction_score_min=0.85) == []
    # Or: either one, t1 by its score, t5 by its ground truth.
    assert rows(project, ground_truth="true", prediction_score_min=0.85, conjunction="or") == [
        "t1",
        "t5",
    ]
    # A range is one term: score 0.6..0.8 (t5 at 0.7) or "cherry" (t3). Were its two bounds
    # two terms, "at least 0.6 or at most 0.8" would keep every task with a score.
    assert rows(
        project, prediction_score_min=0.6, prediction_score_max=0.8, q="cherry", conjunction="or"
    ) == ["t3", "t5"]
    # Repeated annotators: bob (t1, t2) or carl (t3, t5); with "and" no task has both.
    pairs = [("annotator", bob), ("annotator", carl)]
    assert many(project, pairs) == []
    assert many(project, [*pairs, ("conjunction", "or")]) == ["t1", "t2", "t3", "t5"]
    # The API's ids= still narrow every task: of t1, t2, t4 only t1 and t2 pass.
    chosen = (project.ids[0], project.ids[1], project.ids[3])
    assert many(project, [*pairs, ("conjunction", "or")], task_ids=chosen) == ["t1", "t2"]
    # "and" is the default and is left out of the URL; a one-filter "or" is that filter.
    assert TableState.from_args({"conjunction": "and", "skipped": "true"}).to_args() == {
        "skipped": "true"
    }
    assert rows(project, skipped="true", conjunction="or") == ["t3"]
    assert TableState.from_args({"conjunction": "xor"}).errors == (
        "conjunction: expected one of and, or",
    )
