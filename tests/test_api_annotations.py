"""Annotators' own annotations through the API: POST /api/tasks/<id>/annotations and
PUT /api/annotations/<id>, with the label stream's rules."""

from __future__ import annotations

from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Task
from reviewapp.services.review_stream import record_verdict
from tests import factories


def _headers(user) -> dict:
    return {"Authorization": f"Token {factories.token(user)}"}


def _setup(overlap=1, **settings):
    amy = factories.user("annotator", email="amy@x.com")
    bob = factories.user("annotator", email="bob@x.com")
    rev = factories.user("reviewer", email="rev@x.com")
    project = factories.project(members=(amy, bob, rev), overlap=overlap, **settings)
    factories.text_tasks(project, "one")
    task = db.session.scalars(select(Task)).one()
    return project, task, amy, bob, rev


def test_an_annotator_submits_once_within_the_overlap(client, app):
    project, task, amy, bob, _ = _setup()
    url = f"/api/tasks/{task.id}/annotations"
    body = {"result": factories.choice("Positive"), "lead_time": 4.5}
    response = client.post(url, json=body, headers=_headers(amy))
    assert response.status_code == 201, response.json
    annotation = response.json["annotation"]
    assert annotation["completed_by"]["email"] == "amy@x.com"
    assert annotation["review_status"] == "pending" and annotation["lead_time"] == 4.5
    assert annotation["result"][0]["value"] == {"choices": ["Positive"]}
    assert db.session.get(Task, task.id, populate_existing=True).state == "needs_review"
    # A second submit by the same person, and one past the overlap, keep the first answer.
    again = client.post(url, json=body, headers=_headers(amy))
    assert again.status_code == 409 and "already submitted" in again.json["error"]
    over = client.post(url, json=body, headers=_headers(bob))
    assert over.status_code == 409
    assert (
        db.session.scalar(select(Annotation.id).where(Annotation.completed_by_id == bob.id)) is None
    )


def test_bad_results_and_bodies_are_refused_whole(client, app):
    project, task, amy, _, rev = _setup()
    url = f"/api/tasks/{task.id}/annotations"
    h = _headers(amy)
    assert client.post(url, json={"lead_time": 1}, headers=h).status_code == 400
    assert client.post(url, json=[1], headers=h).status_code == 400
    bad = client.post(url, json={"result": factories.choice("Purple")}, headers=h)
    assert bad.status_code == 422 and "Purple" in bad.json["error"]
    assert client.post(url, json={"result": [], "lead_time": -3}, headers=h).status_code == 400
    empty = client.post(url, json={"result": []}, headers=h)
    assert empty.status_code == 422
    # Reviewers do not annotate; other people's projects are not found.
    reviewer = client.post(
        url, json={"result": factories.choice("Positive")}, headers=_headers(rev)
    )
    assert reviewer.status_code == 403
    stranger = factories.user("annotator")
    response = client.post(
        url, json={"result": factories.choice("Positive")}, headers=_headers(stranger)
    )
    assert response.status_code == 404
    assert client.post("/api/tasks/999999/annotations", json={}, headers=h).status_code == 404
    assert db.session.scalar(select(Annotation.id)) is None


def test_spans_come_in_label_studio_utf16_offsets(client, app):
    amy = factories.user("annotator", email="amy@x.com")
    project = factories.project("ner", members=(amy,))
    factories.text_tasks(project, "😀 Paris")
    task = db.session.scalars(select(Task)).one()
    span = {
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": 3, "end": 8, "text": "Paris", "labels": ["LOC"]},
    }
    response = client.post(
        f"/api/tasks/{task.id}/annotations", json={"result": [span]}, headers=_headers(amy)
    )
    assert response.status_code == 201, response.json
    stored = db.session.scalars(select(Annotation)).one().result[0]["value"]
    assert (stored["start"], stored["end"]) == (2, 7)  # code points in storage
    assert response.json["annotation"]["result"][0]["value"]["start"] == 3


def test_an_annotator_changes_their_own_until_it_is_accepted(client, app):
    project, task, amy, bob, rev = _setup(
        reject_actions=["return"], require_comment_on_reject=False
    )
    created = client.post(
        f"/api/tasks/{task.id}/annotations",
        json={"result": factories.choice("Positive")},
        headers=_headers(amy),
    ).json["annotation"]
    url = f"/api/annotations/{created['id']}"
    changed = client.put(url, json={"result": factories.choice("Negative")}, headers=_headers(amy))
    assert changed.status_code == 200
    assert changed.json["annotation"]["result"][0]["value"] == {"choices": ["Negative"]}
    assert (
        client.put(
            url, json={"result": factories.choice("Neutral")}, headers=_headers(bob)
        ).status_code
        == 403
    )

    # Returned: the annotator changes it and it is pending review again.
    record_verdict(created["id"], rev, "rejected", action="return")
    db.session.commit()
    assert db.session.get(Task, task.id, populate_existing=True).state == "returned"
    back = client.put(url, json={"result": factories.choice("Neutral")}, headers=_headers(amy))
    assert back.status_code == 200 and back.json["annotation"]["review_status"] == "pending"
    assert db.session.get(Task, task.id, populate_existing=True).state == "needs_review"

    record_verdict(created["id"], rev, "accepted")
    db.session.commit()
    locked = client.put(url, json={"result": factories.choice("Positive")}, headers=_headers(amy))
    assert locked.status_code == 409 and "can no longer be changed" in locked.json["error"]
    assert db.session.get(Annotation, created["id"], populate_existing=True).result[0]["value"] == {
        "choices": ["Neutral"]
    }
