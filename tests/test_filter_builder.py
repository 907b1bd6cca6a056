"""The Data Manager's filter builder: URL parameters shown as rows, rows sent back as them."""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from reviewapp.extensions import db
from reviewapp.models import Task
from reviewapp.services.data_manager.filter_builder import FilterRow, rows_for, submitted
from reviewapp.services.data_manager.query import TableState
from tests import factories

DRILL_DOWN = [
    ("annotator", "7"),
    ("annotator", "9"),
    ("agreement_min", "0.2"),
    ("agreement_max", "0.8"),
    ("state", "done"),
    ("state", "returned"),
    ("label", "sentiment:Positive"),
    ("label_source", "prediction"),
    ("prediction_score_max", "0.5"),
    ("q", "apple"),
]


def test_existing_links_read_as_rows():
    state = TableState.from_args(MultiDict(DRILL_DOWN))
    assert rows_for(state) == [
        FilterRow("annotator", "is", ("7",)),
        FilterRow("annotator", "is", ("9",)),
        FilterRow("state", "is", ("done", "returned")),
        FilterRow("agreement", "between", ("0.2", "0.8")),
        FilterRow("prediction_score", "at_most", ("0.5",)),
        FilterRow("label", "prediction", ("sentiment:Positive",)),
        FilterRow("q", "contains", ("apple",)),
    ]


def form(rows, **extra):
    """The builder form as the browser sends it: row-<i>-field / -was / -op / -value."""
    pairs = [("builder", "1")]
    for i, (field, op, *values) in enumerate(rows):
        pairs += [(f"row-{i}-field", field), (f"row-{i}-was", field), (f"row-{i}-op", op)]
        pairs += [(f"row-{i}-value", v) for v in values]
    return MultiDict(pairs + list(extra.items()))


def test_rows_give_back_the_same_state():
    """Every row of a drill-down link, sent back by the form, gives the link's state."""
    state = TableState.from_args(MultiDict(DRILL_DOWN))
    rows = [(r.field, r.op, *r.values) for r in rows_for(state)]
    builder = submitted(form(rows, ordering="-agreement"), {})
    assert TableState.from_args(builder.args) == TableState.from_args(
        MultiDict([*DRILL_DOWN, ("ordering", "-agreement")])
    )


def test_people_by_email_operators_and_unfinished_rows():
    people = {"amy@x.com": 3}
    builder = submitted(
        form(
            [
                ("annotator", "is_not", "Amy@x.com"),  # the picker's text: an email
                ("agreement", "empty"),
                ("prediction_score", "between", "0.1", ""),  # one bound missing: unfinished
                ("skipped", "is", ""),  # no value yet
            ],
            conjunction="or",
            add_filter="1",
        ),
        people,
    )
    state = TableState.from_args(builder.args)
    assert state.to_args() == {
        "annotator_not": ["3"],
        "agreement_empty": "true",
        "conjunction": "or",
    }
    # Unfinished rows stay on screen, and "+ Add filter" added an empty one.
    assert [r.field for r in builder.rows] == [
        "annotator",
        "agreement",
        "prediction_score",
        "skipped",
        "",
    ]


def test_remove_and_change_a_row():
    rows = [("ground_truth", "is", "true"), ("state", "is", "done")]
    removed = submitted(form(rows, remove_filter="0", conjunction="or"), {})
    # One row left: and/or no longer applies, so the URL drops it.
    assert TableState.from_args(removed.args).to_args() == {"state": ["done"]}
    # Row 1 switched from State to Skipped: its old value "done" is no value of Skipped.
    changed = form(rows)
    changed.setlist("row-1-field", ["skipped"])
    builder = submitted(changed, {})
    assert builder.rows[1] == FilterRow("skipped", "is", ())
    assert TableState.from_args(builder.args).to_args() == {"ground_truth": "true"}


@pytest.fixture
def project(app, auth):
    manager = auth.login("manager")
    amy = factories.user("annotator", email="amy@x.com", name="Amy Adams")
    project = factories.project(members=(manager, amy))
    factories.tasks(
        project,
        [
            {"data": {"text": "one"}, "annotations": [factories.annotation("amy@x.com")]},
            {"data": {"text": "two"}},
            {"data": {"text": "three"}, "annotations": [factories.annotation("amy@x.com")]},
        ],
    )
    project.amy = amy
    return project


def test_builder_request_pushes_the_flat_url_and_draws_the_rows(client, htmx, project):
    """Annotator is amy (tasks one and three) and text contains "three": task three."""
    url = f"/projects/{project.id}/tasks"
    query = form([("annotator", "is", "amy@x.com"), ("q", "contains", "three")])
    response = client.get(url, query_string=query, headers=htmx)
    body = response.get_data(as_text=True)
    pushed = urlsplit(response.headers["HX-Push-Url"])
    assert pushed.path == url
    assert parse_qsl(pushed.query) == [("annotator", str(project.amy.id)), ("q", "three")]
    assert "1</strong> task matching" in body
    three = db.session.scalar(db.select(Task.id).where(Task.data_text.like("%three%")))
    assert f'id="task-{three}"' in body
    # The rows come out of band: amy as a chip naming her, the text in its box.
    rows = body[body.index('<div id="filter-rows"') :]
    assert 'hx-swap-oob="true"' in rows[:80]
    assert re.search(r'<span class="person chip" title="amy@x.com">Amy Adams</span>', rows)
    assert 'name="row-1-value" id="row-1-value" value="three"' in rows

    # Reload of the pushed URL: the same table and the same rows, on a full page.
    page = client.get(response.headers["HX-Push-Url"]).get_data(as_text=True)
    assert "1</strong> task matching" in page and f'id="task-{three}"' in page
    assert "Amy Adams</span>" in page and 'value="three"' in page
    assert page.count('class="filter-row"') == 2


def test_a_full_page_without_filters_offers_only_add(client, project):
    page = client.get(f"/projects/{project.id}/tasks").get_data(as_text=True)
    assert 'class="filter-row"' not in page
    assert 'name="add_filter"' in page and "+ Add filter" in page
    # The people pickers' lists: every member by email, named.
    assert '<option value="amy@x.com">Amy Adams</option>' in page
