"""The review stream's pages, fragments and JSON API."""

import pytest
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Review, Task
from reviewapp.services.users import add_member
from tests import factories


@pytest.fixture
def stream(app, client, auth):
    reviewer = auth.login("reviewer")
    project = factories.project(members=(reviewer,), reject_reasons="Wrong label")
    factories.tasks(
        project,
        [
            {
                "data": {"text": f"text {i}"},
                "annotations": [
                    factories.annotation("amy@x.com", "Positive"),
                    factories.annotation("bob@x.com", "Negative"),
                ],
                "predictions": [
                    {
                        "result": factories.choice("Positive"),
                        "score": 0.25 * i,
                        "model_version": "m1",
                    }
                ],
            }
            for i in range(1, 3)
        ],
    )
    annotations = db.session.scalars(select(Annotation.id).order_by(Annotation.id)).all()
    return project, reviewer, annotations


def review_url(project, suffix=""):
    return f"/projects/{project.id}/review{suffix}"


def test_stream_page_shows_the_first_item_and_progress(client, stream):
    project, _, annotations = stream
    body = client.get(review_url(project)).get_data(as_text=True)
    assert f"Annotation #{annotations[0]} by amy@x.com" in body
    assert "<strong>4</strong> of 4 left" in body
    assert f"amy@x.com #{annotations[0]}" in body and f"bob@x.com #{annotations[1]}" in body
    assert "m1 0.25" in body
    assert "Task agreement" in body and ">0%<" in body  # Positive vs Negative
    assert 'data-key="a"' in body and "Fix &amp; Accept" in body


def test_accept_swaps_in_the_next_item(client, stream, htmx):
    project, _, annotations = stream
    client.get(review_url(project))
    response = client.post(
        review_url(project, f"/{annotations[0]}"), data={"verdict": "accepted"}, headers=htmx
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert f"Accepted annotation #{annotations[0]}." in body and 'hx-swap-oob="true"' in body
    assert f"Annotation #{annotations[1]} by bob@x.com" in body
    assert "<strong>3</strong> of 4 left" in body
    task = db.session.scalar(select(Task).order_by(Task.id))
    assert (task.accepted_count, task.pending_count) == (1, 1)


def test_reject_requires_a_comment(client, stream, htmx):
    project, _, annotations = stream
    response = client.post(
        review_url(project, f"/{annotations[0]}"), data={"verdict": "rejected"}, headers=htmx
    )
    assert response.status_code == 422
    assert "requires a comment" in response.get_data(as_text=True)
    assert db.session.scalars(select(Review)).all() == []
    ok = client.post(
        review_url(project, f"/{annotations[0]}"),
        data={"verdict": "rejected", "comment": "Not negative", "reason": "Wrong label"},
        headers=htmx,
    )
    assert ok.status_code == 200 and "it leaves every queue" in ok.get_data(as_text=True)


def test_double_click_records_one_review_and_says_so(client, stream, htmx):
    project, _, annotations = stream
    url = review_url(project, f"/{annotations[0]}")
    client.post(url, data={"verdict": "accepted"}, headers=htmx)
    second = client.post(url, data={"verdict": "accepted"}, headers=htmx)
    assert second.status_code == 409
    assert "reviewed by someone else meanwhile" in second.get_data(as_text=True)
    assert len(db.session.scalars(select(Review)).all()) == 1


def test_fix_and_accept_stores_the_new_result_and_shows_the_diff(client, stream, htmx):
    project, _, annotations = stream
    response = client.post(
        review_url(project, f"/{annotations[0]}"),
        data={"verdict": "fixed", "sentiment": "Neutral"},
        headers=htmx,
    )
    body = response.get_data(as_text=True)
    assert "fix size 1.00" in body and "sentiment: Positive → Neutral" in body
    assert db.session.get(Annotation, annotations[0]).result[0]["value"]["choices"] == ["Neutral"]


def test_the_set_is_kept_and_the_end_links_back(client, stream, htmx):
    project, _, annotations = stream
    task_id = db.session.scalar(select(Task.id).order_by(Task.id.desc()))
    body = client.get(review_url(project) + f"?ids={task_id}").get_data(as_text=True)
    assert f"Annotation #{annotations[2]}" in body and "of 2 left" in body
    data = {"verdict": "accepted", "ids": task_id}
    client.post(review_url(project, f"/{annotations[2]}"), data=data, headers=htmx)
    end = client.post(review_url(project, f"/{annotations[3]}"), data=data, headers=htmx).get_data(
        as_text=True
    )
    assert "Everything in this set is reviewed (2 annotations)." in end
    assert f'href="/projects/{project.id}/tasks"' in end


def test_without_htmx_a_verdict_redirects_to_the_stream(client, stream):
    project, _, annotations = stream
    response = client.post(
        review_url(project, f"/{annotations[0]}"), data={"verdict": "accepted", "ordering": "-id"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{project.id}/review?ordering=-id"


def test_change_verdict_from_the_task_page(client, stream):
    project, _, annotations = stream
    client.post(review_url(project, f"/{annotations[0]}"), data={"verdict": "accepted"})
    response = client.post(
        f"/projects/{project.id}/annotations/{annotations[0]}/verdict",
        data={"verdict": "rejected", "comment": "On second thought"},
    )
    assert response.status_code == 302
    verdicts = db.session.scalars(select(Review.verdict).order_by(Review.id)).all()
    assert verdicts == ["accepted", "rejected"]


def test_permissions(client, auth, stream):
    project, _, annotations = stream
    auth.logout()
    annotator = factories.user("annotator")
    add_member(project.id, annotator)
    db.session.commit()
    auth.login(annotator)
    assert client.get(review_url(project)).status_code == 403
    assert (
        client.post(
            review_url(project, f"/{annotations[0]}"), data={"verdict": "accepted"}
        ).status_code
        == 403
    )
    auth.logout()
    auth.login("reviewer")
    assert client.get(review_url(project)).status_code == 404
    assert (
        client.post(
            review_url(project, f"/{annotations[0]}"), data={"verdict": "accepted"}
        ).status_code
        == 404
    )
    assert db.session.scalars(select(Review)).all() == []


def test_api_next_and_review(client, stream):
    project, reviewer, annotations = stream
    headers = {"Authorization": f"Token {factories.token(reviewer)}"}
    claimed = client.post(
        f"/api/projects/{project.id}/review/next?ordering=-prediction_score", headers=headers
    )
    body = claimed.json
    assert body["annotation"]["id"] == annotations[2]
    assert body["annotation"]["completed_by"]["email"] == "amy@x.com"
    assert body["task"]["data"] == {"text": "text 2"} and body["remaining"] == 4
    fixed = client.post(
        f"/api/annotations/{annotations[2]}/review",
        headers=headers,
        json={"verdict": "fixed", "result": factories.choice("Negative"), "comment": "ok"},
    )
    assert fixed.status_code == 201 and fixed.json["review"]["fix_size"] == 1.0
    stale = client.post(
        f"/api/annotations/{annotations[2]}/review", headers=headers, json={"verdict": "accepted"}
    )
    assert stale.status_code == 409
    missing = client.post(
        f"/api/annotations/{annotations[1]}/review", headers=headers, json={"verdict": "fixed"}
    )
    assert missing.status_code == 400
    for annotation_id in annotations[:2] + annotations[3:]:
        client.post(
            f"/api/annotations/{annotation_id}/review",
            headers=headers,
            json={"verdict": "accepted"},
        )
    end = client.post(f"/api/projects/{project.id}/review/next", headers=headers)
    assert end.json == {"annotation": None, "remaining": 0}
    outsider = {"Authorization": f"Token {factories.token(factories.user('reviewer'))}"}
    assert (
        client.post(f"/api/projects/{project.id}/review/next", headers=outsider).status_code == 404
    )
    assert (
        client.post(
            f"/api/annotations/{annotations[0]}/review",
            headers=outsider,
            json={"verdict": "accepted"},
        ).status_code
        == 404
    )


def test_task_page_offers_the_verdict_change(client, stream):
    project, _, annotations = stream
    task_id = db.session.scalar(select(Task.id).order_by(Task.id))
    body = client.get(f"/projects/{project.id}/tasks/{task_id}").get_data(as_text=True)
    assert f'action="/projects/{project.id}/annotations/{annotations[0]}/verdict"' in body


def test_the_task_text_is_shown_and_escaped(client, app, stream):
    project, _, _ = stream
    factories.tasks(
        project,
        [
            {
                "data": {"text": "<b>bold</b> claim"},
                "annotations": [factories.annotation("amy@x.com")],
            }
        ],
    )
    task_id = db.session.scalar(select(Task.id).order_by(Task.id.desc()))
    body = client.get(review_url(project) + f"?ids={task_id}").get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in body and "<b>bold</b>" not in body


def test_the_data_managers_form_lands_on_a_clean_url_of_the_set(client, stream):
    project, _, _ = stream
    task_ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    response = client.get(
        review_url(project),
        query_string=[
            ("csrf_token", "token"),
            ("ordering", "-prediction_score"),
            ("all_matching", "1"),
            ("ids", str(task_ids[0])),
            ("page_ids", str(task_ids[0])),
            ("page_ids", str(task_ids[1])),
        ],
    )
    assert response.status_code == 302
    # The unticked row on the page is the exclusion; token and page ids are gone.
    assert response.location == (
        f"/projects/{project.id}/review?ordering=-prediction_score"
        f"&all_matching=1&excluded={task_ids[1]}"
    )
    body = client.get(response.location).get_data(as_text=True)
    assert "<strong>2</strong> of 2 left" in body


def test_an_unknown_verdict_is_refused_with_the_item_again(client, stream, htmx):
    project, _, annotations = stream
    url = review_url(project, f"/{annotations[0]}")
    response = client.post(url, data={"verdict": "maybe"}, headers=htmx)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert "Unknown verdict" in body and f"Annotation #{annotations[0]}" in body
    full = client.post(url, data={"comment": "no verdict"})
    assert full.status_code == 422 and "<html" in full.get_data(as_text=True)
    assert db.session.scalars(select(Review)).all() == []
