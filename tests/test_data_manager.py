"""The Data Manager's views: full page and fragments, bulk POSTs, columns, views, API."""

import json

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, ReviewerAssignment, SavedView, Task
from reviewapp.services.data_manager.bulk import ACTIONS
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.users import add_member
from tests import factories


@pytest.fixture
def dm(app, client, auth):
    manager = auth.login("manager")
    reviewer = factories.user("reviewer", email="rev@x.com")
    project = factories.project(members=(manager, reviewer), title="Sentiment")
    factories.tasks(
        project,
        [
            {
                "data": {"text": f"text {i}"},
                "annotations": [factories.annotation("a@x.com")],
                "predictions": [{"result": factories.choice("Positive"), "score": i / 10}],
            }
            for i in range(1, 6)
        ],
    )
    ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    return project, manager, reviewer, ids


def url(project, suffix=""):
    return f"/projects/{project.id}/tasks{suffix}"


def test_full_page_has_every_region(client, dm):
    project, *_ = dm
    response = client.get(url(project))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    for region in (
        'id="filters"',
        'id="bulk-bar"',
        'id="task-table"',
        'id="bulk-confirm"',
        "<html",
    ):
        assert region in body
    assert "Review all tasks" in body and "5</strong> tasks" in body
    assert "HX-Request" in response.headers["Vary"]


def test_fragment_is_the_table_region_only(client, dm, htmx):
    project, *_ = dm
    response = client.get(url(project) + "?ordering=-prediction_score&page_size=2", headers=htmx)
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'id="filters"' not in body
    assert 'name="page_ids"' in body and "Page 1 of 3" in body
    assert body.index("text 5") < body.index("text 4")
    assert "HX-Request" in response.headers["Vary"]


def test_filters_and_count_in_html(client, dm):
    project, *_ = dm
    body = client.get(url(project) + "?prediction_score_min=0.35").get_data(as_text=True)
    # Scores are 0.1 .. 0.5; at least 0.35 keeps 0.4 and 0.5.
    assert "2</strong> tasks matching" in body
    assert "text 3" not in body and "text 4" in body and "text 5" in body


def test_bad_argument_is_reported_not_fatal(client, dm):
    project, *_ = dm
    body = client.get(url(project) + "?ordering=colour").get_data(as_text=True)
    assert "Ignored ordering: unknown key" in body and "5</strong> tasks" in body


def test_roles(client, auth, dm):
    project, manager, reviewer, ids = dm
    auth.logout()
    auth.login(reviewer)
    page = client.get(url(project)).get_data(as_text=True)
    assert "Review all tasks" in page and 'value="delete_tasks"' not in page
    forbidden = client.post(
        url(project, "/bulk"), data={"action": "delete_tasks", "ids": ids, "confirm": "1"}
    )
    assert forbidden.status_code == 403
    assert (
        client.post(url(project, "/export"), data={"ids": ids, "format": "json"}).status_code == 403
    )
    auth.logout()
    annotator = factories.user("annotator")
    from reviewapp.services.users import add_member

    add_member(project.id, annotator)
    db.session.commit()
    auth.login(annotator)
    assert client.get(url(project)).status_code == 403
    assert client.get(url(project, f"/{ids[0]}")).status_code == 403
    auth.logout()
    auth.login("manager")  # not a member
    assert client.get(url(project)).status_code == 404
    assert (
        client.post(url(project, "/bulk"), data={"action": "delete_tasks", "ids": ids}).status_code
        == 404
    )
    assert db.session.scalar(select(func.count(Task.id))) == 5


def test_bulk_assign_answers_with_table_and_message(client, dm, htmx):
    project, manager, reviewer, ids = dm
    data = {"action": "assign_reviewers", "reviewers": [reviewer.id], "ids": ids[:3]}
    response = client.post(url(project, "/bulk"), data=data, headers=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="flash" hx-swap-oob="true"' in body
    assert "Assigned 1 reviewer to 3 tasks; 0 pairs already existed." in body
    assert body.count('title="rev@x.com"') == 3  # the Reviewers column of the refreshed table
    assert db.session.scalar(select(func.count(ReviewerAssignment.id))) == 3


def test_bulk_all_matching_with_exclusion(client, dm, htmx):
    project, manager, reviewer, ids = dm
    data = {
        "action": "assign_reviewers",
        "reviewers": [reviewer.id],
        "all_matching": "1",
        "prediction_score_min": "0.2",
        "page_ids": ids[1:],
        "ids": ids[1:4],
    }
    body = client.post(url(project, "/bulk"), data=data, headers=htmx).get_data(as_text=True)
    assert "Assigned 1 reviewer to 3 tasks" in body
    assigned = db.session.scalars(
        select(ReviewerAssignment.task_id).order_by(ReviewerAssignment.task_id)
    ).all()
    assert assigned == ids[1:4]


def test_bulk_without_js_redirects_with_flash(client, dm):
    project, manager, reviewer, ids = dm
    response = client.post(
        url(project, "/bulk"),
        data={"action": "assign_ground_truth", "ids": ids[:1], "ordering": "-id"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("?ordering=-id")
    assert "Marked ground truth on 1 task." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_delete_asks_for_confirmation_then_deletes(client, dm, htmx):
    project, manager, reviewer, ids = dm
    ask = client.post(
        url(project, "/bulk"), data={"action": "delete_tasks", "ids": ids[:2]}, headers=htmx
    )
    body = ask.get_data(as_text=True)
    assert "Delete 2 tasks with 2 annotations and 2 predictions?" in body
    assert 'name="confirm" value="1"' in body and body.count('name="ids"') == 2
    assert db.session.scalar(select(func.count(Task.id))) == 5
    done = client.post(
        url(project, "/bulk"),
        data={"action": "delete_tasks", "ids": ids[:2], "confirm": "1"},
        headers=htmx,
    )
    assert "Deleted 2 tasks." in done.get_data(as_text=True)
    assert 'id="bulk-confirm" hx-swap-oob="true"' in done.get_data(as_text=True)
    assert db.session.scalars(select(Task.id).order_by(Task.id)).all() == ids[2:]


def test_bulk_errors(client, dm, htmx):
    project, manager, reviewer, ids = dm
    nothing = client.post(
        url(project, "/bulk"), data={"action": "assign_ground_truth"}, headers=htmx
    )
    assert "Select at least one task." in nothing.get_data(as_text=True)
    unknown = client.post(
        url(project, "/bulk"), data={"action": "explode", "ids": ids}, headers=htmx
    )
    assert unknown.status_code == 400


def test_forged_ids_of_another_project_are_not_touched(client, dm, htmx):
    project, manager, reviewer, ids = dm
    other = factories.project(members=(manager,), title="Other")
    factories.text_tasks(other, "keep me")
    foreign = db.session.scalar(select(Task.id).where(Task.project_id == other.id))
    response = client.post(
        url(project, "/bulk"),
        data={"action": "delete_tasks", "ids": [foreign], "confirm": "1"},
        headers=htmx,
    )
    assert "Select at least one task." in response.get_data(as_text=True)
    assert db.session.get(Task, foreign) is not None
    assert client.get(url(project, f"/{foreign}")).status_code == 404


def test_export_selected(client, dm):
    project, manager, reviewer, ids = dm
    response = client.post(url(project, "/export"), data={"ids": ids[1:3], "format": "json"})
    assert response.status_code == 200
    assert [t["data"]["text"] for t in json.loads(response.data)] == ["text 2", "text 3"]
    csv_body = client.post(
        url(project, "/export"), data={"ids": ids[:1], "format": "csv"}
    ).get_data(as_text=True)
    assert csv_body.splitlines()[1].endswith("text 1,Positive,")


def test_hidden_columns_are_remembered_per_user(client, auth, dm, htmx):
    project, manager, reviewer, ids = dm
    shown = ["data", "annotations", "agreement"]
    response = client.post(url(project, "/columns"), data={"columns": shown}, headers=htmx)
    assert (
        'class="col-created"' not in response.get_data(as_text=True)
        and "Prediction score" not in response.get_data(as_text=True).split('id="task-table"')[-1]
    )
    body = client.get(url(project)).get_data(as_text=True)
    table = body.split('<table class="grid tasks')[1]
    assert "Agreement" in table and "Prediction score" not in table and "Created" not in table
    auth.logout()
    auth.login(reviewer)
    table = client.get(url(project)).get_data(as_text=True).split('<table class="grid tasks')[1]
    assert "Prediction score" in table


def test_saved_views(client, dm):
    project, *_ = dm
    response = client.post(
        f"/projects/{project.id}/views",
        data={
            "name": "Confident",
            "prediction_score_min": "0.4",
            "ordering": "-prediction_score",
            "page": "2",
        },
    )
    assert response.status_code == 302
    view = db.session.scalar(select(SavedView))
    assert view.query == "ordering=-prediction_score&prediction_score_min=0.4"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Confident" in page and "2</strong> tasks matching" in page
    client.post(f"/projects/{project.id}/views/{view.id}/delete")
    assert db.session.scalar(select(func.count(SavedView.id))) == 0


def test_review_button_opens_the_stream_over_the_set(client, dm):
    project, manager, reviewer, ids = dm
    body = client.get(f"/projects/{project.id}/review?ids={ids[0]}&ids={ids[1]}").get_data(
        as_text=True
    )
    assert "<strong>2</strong> annotations in 2 tasks to review" in body
    body = client.get(f"/projects/{project.id}/review?prediction_score_min=0.3").get_data(
        as_text=True
    )
    assert "<strong>3</strong> annotations in 3 tasks to review" in body


def test_tasks_api(client, dm):
    project, manager, reviewer, ids = dm
    token = factories.token(reviewer)
    response = client.get(
        f"/api/projects/{project.id}/tasks?ordering=-prediction_score&page_size=2&q=text",
        headers={"Authorization": f"Token {token}"},
    )
    assert response.status_code == 200
    body = response.json
    assert (body["count"], body["page"], body["page_size"]) == (5, 1, 2)
    first = body["tasks"][0]
    assert first["id"] == ids[4] and first["prediction_score"] == 0.5
    assert first["annotators"][0]["email"] == "a@x.com"
    assert first["review_status"] == {"accepted": 0, "fixed": 0, "rejected": 0, "pending": 1}
    assert set(first) == {
        "id",
        "source_id",  # the imported file's own id
        "state",
        "data",
        "annotation_count",
        "skipped_count",
        "annotators",
        "agreement",
        "prediction_score",
        "reviewers",
        "review_status",
        "ground_truth",
        "unresolved_comments",
        "created_at",
    }
    bad = client.get(
        f"/api/projects/{project.id}/tasks?ordering=nope",
        headers={"Authorization": f"Token {token}"},
    )
    assert bad.status_code == 400 and "ordering" in bad.json["error"]
    annotator_token = factories.token(factories.user("annotator"))
    assert (
        client.get(
            f"/api/projects/{project.id}/tasks",
            headers={"Authorization": f"Token {annotator_token}"},
        ).status_code
        == 404
    )


def test_bulk_without_an_action_is_400(client, dm, htmx):
    project, manager, reviewer, ids = dm
    response = client.post(url(project, "/bulk"), data={"ids": ids}, headers=htmx)
    assert response.status_code == 400 and "Unknown bulk action." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Task.id))) == 5


def _row(body: str, task_id: int) -> str:
    start = body.index(f'<tr id="task-{task_id}">')
    return body[start : body.index("</tr>", start)]


def test_row_preview_is_one_line_with_the_full_text_in_its_title(client, dm):
    project, *_ = dm
    long_text = "Starts here. " + "y" * 800 + " and ends here."
    factories.text_tasks(project, long_text)
    task_id = db.session.scalar(select(func.max(Task.id)))
    body = client.get(url(project)).get_data(as_text=True)
    row = _row(body, task_id)
    # The whole text is the title; the visible text is cut by CSS, not at a word boundary.
    assert f'<td class="preview" title="{long_text}">' in row
    assert '<span class="preview-text">Starts here. yyyy' in row
    assert 'class="grid tasks compact" data-density-table' in body
    assert "data-density-toggle" in body and "css/data_manager.css" in body
    assert long_text in client.get(url(project, f"/{task_id}")).get_data(as_text=True)


def test_bulk_buttons_destructive_ones_in_red_and_posted_once(client, dm):
    project, *_ = dm
    body = client.get(url(project)).get_data(as_text=True)

    def button(action: str) -> str:
        start = body.index(f'<button type="submit" name="action" value="{action}"')
        return body[start : body.index("</button>", start)]

    for action in ("delete_tasks", "delete_annotations", "delete_ground_truth"):
        assert 'class="small danger"' in button(action)
    for action in ("assign_reviewers", "unassign_reviewers", "assign_ground_truth"):
        assert 'class="small secondary"' in button(action)
    # Undo auto-accept shows only in projects that used auto-accept.
    shown = [action for action in ACTIONS if action != "undo_auto_accept"]
    assert 'value="undo_auto_accept"' not in body
    for action in shown:
        # data_manager.js disables and counts them; htmx disables the one posting.
        assert "data-bulk-action" in button(action)
        assert 'hx-disabled-elt="this"' in button(action)
        assert "<span data-count></span>" in button(action)
    assert body.count("data-bulk-action") == len(shown) + 2  # and the two exports
    confirm = client.post(
        url(project, "/bulk"),
        data={"action": "delete_tasks", "ids": dm[3][:1]},
        headers={"HX-Request": "true"},
    ).get_data(as_text=True)
    assert 'hx-disabled-elt="find button[type=submit]"' in confirm


def test_reviewers_column_tells_assigned_from_reviewed(client, dm, htmx):
    project, manager, reviewer, ids = dm
    other = factories.user("reviewer", email="carl@x.com")
    add_member(project.id, other)
    annotation = db.session.scalar(select(Annotation).where(Annotation.task_id == ids[0]))
    factories.review(annotation, reviewer)
    db.session.commit()
    data = {"action": "assign_reviewers", "reviewers": [reviewer.id, other.id], "ids": ids[:1]}
    body = client.post(url(project, "/bulk"), data=data, headers=htmx).get_data(as_text=True)
    row = _row(body, ids[0])
    assigned = row[row.index('<span class="assigned">') : row.index('<span class="reviewed">')]
    reviewed = row[row.index('<span class="reviewed">') :]
    assert "assigned:" in assigned and ">carl<" in assigned and ">rev<" in assigned
    assert "reviewed:" in reviewed and ">rev<" in reviewed and "carl" not in reviewed
    assert 'title="Assigned: carl@x.com, rev@x.com. Reviewed by: rev@x.com."' in row

    data["action"] = "unassign_reviewers"
    body = client.post(url(project, "/bulk"), data=data, headers=htmx).get_data(as_text=True)
    row = _row(body, ids[0])
    # The assignment is gone; the review that rev gave stays.
    assert '<span class="assigned">' not in row and "carl" not in row
    assert '<span class="reviewed"><span class="people-role">reviewed:</span>' in row
    assert 'title="Assigned: nobody. Reviewed by: rev@x.com."' in row
    assert '<span class="reviewed">' not in _row(body, ids[1])


def test_review_status_in_words(client, dm):
    project, manager, reviewer, ids = dm
    task = db.session.get(Task, ids[0])
    factories.tasks(
        project,
        [{"data": {"text": "two"}, "annotations": [factories.annotation("b@x.com")]}],
    )
    second = db.session.scalar(select(func.max(Task.id)))
    for task_id in (ids[0], second):
        annotation = db.session.scalar(select(Annotation).where(Annotation.task_id == task_id))
        factories.review(annotation, reviewer, "rejected" if task_id == second else "accepted")
        annotation.review_status = "rejected" if task_id == second else "accepted"
    factories.tasks(
        project,
        [{"data": {"text": "bare"}}],
    )
    bare = db.session.scalar(select(func.max(Task.id)))
    refresh_tasks(project, [ids[0], second], results_changed=False)
    db.session.commit()
    assert task.accepted_count == 1
    body = client.get(url(project)).get_data(as_text=True)
    assert '<td class="review-status" title="1 accepted"><span class="ok">1 accepted</span>' in (
        _row(body, ids[0])
    )
    assert '<span class="bad">1 rejected</span>' in _row(body, second)
    assert '<td class="review-status" title="1 pending"><span class="pending">1 pending</span>' in (
        _row(body, ids[1])
    )
    assert '<td class="review-status">–</td>' in _row(body, bare)


def test_people_pickers_are_searchable_checkbox_lists(client, dm):
    """The bulk bar's reviewers and annotators are ticked in a drop-down with a search box
    (data_manager.js narrows it), not picked in a two-row <select multiple>."""
    project, manager, reviewer, ids = dm
    page = client.get(url(project)).get_data(as_text=True)
    assert '<select name="reviewers"' not in page and '<select name="annotators"' not in page
    picker = page[page.index('data-people-picker="reviewers"') :]
    picker = picker[: picker.index("</details>")]
    assert 'aria-label="Reviewers to assign or unassign"' in picker
    assert "data-people-search" in picker
    assert f'<input type="checkbox" name="reviewers" value="{reviewer.id}"' in picker
    # The ticked reviewer is posted as the select's value was.
    response = client.post(
        url(project, "/bulk"),
        data={"action": "assign_reviewers", "ids": ids[:2], "reviewers": reviewer.id},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(ReviewerAssignment.id))) == 2
