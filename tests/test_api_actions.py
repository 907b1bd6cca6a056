"""The UI actions that had no API call: the label stream's next task and skip, reading
notifications, changing an earlier verdict, and changing one's own password."""

from __future__ import annotations

from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Notification, Review, Task, User
from reviewapp.services.comments import add_comment
from reviewapp.services.data_manager.saved_views import COLUMNS, hidden_columns
from reviewapp.services.review_stream import record_verdict
from reviewapp.services.users import add_member
from tests import factories


def _headers(user) -> dict:
    return {"Authorization": f"Token {factories.token(user)}"}


def _team(texts=("one", "two", "three"), **settings):
    amy = factories.user("annotator", email="amy@x.com")
    bob = factories.user("annotator", email="bob@x.com")
    rev = factories.user("reviewer", email="rev@x.com")
    project = factories.project(members=(amy, bob, rev), overlap=1, **settings)
    factories.text_tasks(project, *texts)
    tasks = list(db.session.scalars(select(Task).order_by(Task.id)))
    return project, tasks, amy, bob, rev


def test_label_next_leases_a_task_per_annotator_and_says_when_nothing_is_left(client, app):
    project, tasks, amy, bob, _ = _team(("one", "two"))
    url = f"/api/projects/{project.id}/label/next"
    first = client.post(url, headers=_headers(amy))
    assert first.status_code == 200, first.json
    assert first.json["task"] == {"id": tasks[0].id, "data": {"text": "one"}}
    assert first.json["lease_until"] and first.json["returned"] is None
    # The same annotator asking again keeps their task; another gets the next one.
    assert client.post(url, headers=_headers(amy)).json["task"]["id"] == tasks[0].id
    assert client.post(url, headers=_headers(bob)).json["task"]["id"] == tasks[1].id
    submitted = client.post(
        f"/api/tasks/{tasks[0].id}/annotations",
        json={"result": factories.choice("Positive")},
        headers=_headers(amy),
    )
    assert submitted.status_code == 201
    # Task 2 is leased to bob and overlap 1 is reached on task 1: nothing for amy.
    assert client.post(url, headers=_headers(amy)).json == {
        "task": None,
        "lease_until": None,
        "returned": None,
    }


def test_label_next_gives_a_returned_annotation_first_with_its_review(client, app):
    project, tasks, amy, _, rev = _team(
        ("one", "two"), reject_actions=["return"], default_reject_action="return"
    )
    client.post(
        f"/api/tasks/{tasks[0].id}/annotations",
        json={"result": factories.choice("Positive")},
        headers=_headers(amy),
    )
    annotation = db.session.scalars(select(Annotation)).one()
    record_verdict(
        annotation.id, rev, "rejected", comment="Read it again", reason="", action="return"
    )
    db.session.commit()
    answer = client.post(f"/api/projects/{project.id}/label/next", headers=_headers(amy)).json
    assert answer["task"]["id"] == tasks[0].id
    assert answer["returned"]["annotation"]["id"] == annotation.id
    assert answer["returned"]["comment"] == "Read it again"


def test_skip_saves_a_cancelled_annotation_once(client, app):
    project, tasks, amy, _, _ = _team()
    url = f"/api/tasks/{tasks[0].id}/skip"
    skipped = client.post(url, json={"lead_time": 2.5}, headers=_headers(amy))
    assert skipped.status_code == 201, skipped.json
    assert skipped.json["message"] == f"Skipped task {tasks[0].id}."
    saved = db.session.scalars(select(Annotation)).one()
    assert (saved.was_cancelled, saved.result, saved.lead_time) == (True, [], 2.5)
    assert client.post(url, headers=_headers(amy)).status_code == 409
    for raw in ("[1]", "null", '"x"', "{not json"):  # anything but an object, or nothing
        refused = client.post(
            f"/api/tasks/{tasks[1].id}/skip",
            data=raw,
            content_type="application/json",
            headers=_headers(amy),
        )
        assert refused.status_code == 400, raw
    nxt = client.post(f"/api/projects/{project.id}/label/next", headers=_headers(amy)).json
    assert nxt["task"]["id"] == tasks[1].id  # a skipped task is not offered again
    assert client.post("/api/tasks/999999/skip", headers=_headers(amy)).status_code == 404


def test_notifications_are_read_one_or_all_and_only_by_their_owner(client, app):
    project, tasks, amy, _, rev = _team()
    client.post(
        f"/api/tasks/{tasks[0].id}/annotations",
        json={"result": factories.choice("Positive")},
        headers=_headers(amy),
    )
    annotation = db.session.scalars(select(Annotation)).one()
    for text in ("first", "second"):
        add_comment(annotation, rev, text)
    db.session.commit()
    first, second = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert (
        client.post(f"/api/notifications/{first.id}/read", headers=_headers(rev)).status_code == 404
    )
    answer = client.post(f"/api/notifications/{first.id}/read", headers=_headers(amy))
    assert answer.status_code == 200 and answer.json["id"] == first.id and answer.json["read_at"]
    assert client.get("/api/notifications", headers=_headers(amy)).json["unread"] == 1
    assert client.post("/api/notifications/read", headers=_headers(amy)).json == {
        "marked": 1,
        "unread": 0,
    }
    assert client.get("/api/notifications", headers=_headers(amy)).json["unread"] == 0


def test_an_earlier_verdict_is_changed_only_when_asked(client, app):
    project, tasks, amy, _, rev = _team()
    client.post(
        f"/api/tasks/{tasks[0].id}/annotations",
        json={"result": factories.choice("Positive")},
        headers=_headers(amy),
    )
    annotation = db.session.scalars(select(Annotation)).one()
    url = f"/api/annotations/{annotation.id}/review"
    assert client.post(url, json={"verdict": "accepted"}, headers=_headers(rev)).status_code == 201
    again = client.post(url, json={"verdict": "rejected", "comment": "no"}, headers=_headers(rev))
    assert again.status_code == 409
    assert (
        client.post(
            url, json={"verdict": "rejected", "change": "yes"}, headers=_headers(rev)
        ).status_code
        == 400
    )
    changed = client.post(
        url, json={"verdict": "rejected", "comment": "no", "change": True}, headers=_headers(rev)
    )
    assert changed.status_code == 201, changed.json
    assert changed.json["review"]["verdict"] == "rejected"
    fixed = client.post(url, json={"verdict": "fixed", "change": True}, headers=_headers(rev))
    assert fixed.status_code == 201, fixed.json
    verdicts = db.session.scalars(select(Review.verdict).order_by(Review.id)).all()
    assert verdicts == ["accepted", "rejected", "fixed"]  # the history keeps every one
    db.session.expire_all()
    assert db.session.get(Annotation, annotation.id).review_status == "fixed"


def test_a_user_changes_their_own_password_given_the_current_one(client, app):
    amy = factories.user("annotator", email="amy@x.com")
    headers = _headers(amy)
    url = "/api/me/password"
    wrong = client.post(
        url, json={"current_password": "nope", "new_password": "a-long-new-pass"}, headers=headers
    )
    assert wrong.status_code == 403
    weak = client.post(
        url, json={"current_password": factories.PASSWORD, "new_password": "x"}, headers=headers
    )
    assert weak.status_code == 422 and weak.json["error"].startswith("new_password:")
    assert client.post(url, json={"current_password": 1}, headers=headers).status_code == 400
    done = client.post(
        url,
        json={"current_password": factories.PASSWORD, "new_password": "a-long-new-pass"},
        headers=headers,
    )
    assert done.status_code == 200 and done.json["user"]["email"] == "amy@x.com"
    db.session.expire_all()
    assert db.session.scalar(select(User).where(User.email == "amy@x.com")).check_password(
        "a-long-new-pass"
    )
    assert client.get("/api/me", headers=headers).status_code == 200  # the token still works


def test_a_user_chooses_their_data_manager_columns(client, app):
    project, tasks, amy, bob, rev = _team()
    other = factories.user("reviewer", email="rex@x.com")
    add_member(project.id, other)
    db.session.commit()
    url = f"/api/projects/{project.id}/columns"
    first = client.get(url, headers=_headers(rev)).json["columns"]
    assert all(c["shown"] for c in first)
    assert {"name": "state", "label": "State", "shown": True} in first
    answer = client.put(url, json={"shown": ["data", "state"]}, headers=_headers(rev))
    assert answer.status_code == 200
    assert {c["name"] for c in answer.json["columns"] if c["shown"]} == {"data", "state"}
    # What the Data Manager page reads for this user; another user's columns stay theirs.
    assert hidden_columns(rev, project.id) == set(COLUMNS) - {"data", "state"}
    assert all(c["shown"] for c in client.get(url, headers=_headers(other)).json["columns"])
    assert client.get(url, headers=_headers(amy)).status_code == 403  # annotators have no table
    bogus = client.put(url, json={"shown": ["data", "bogus"]}, headers=_headers(rev))
    assert bogus.status_code == 422 and "bogus" in bogus.json["error"]
    assert client.put(url, json={"shown": "data"}, headers=_headers(rev)).status_code == 400


def test_export_only_the_given_tasks_as_export_selected_does(client, app):
    project, tasks, amy, bob, rev = _team(("one", "two", "three"))
    manager = factories.user("manager", email="max@x.com")
    add_member(project.id, manager)
    other = factories.project(members=(manager,), title="Other")
    factories.text_tasks(other, "elsewhere")
    foreign = db.session.scalar(select(Task.id).where(Task.project_id == other.id))
    db.session.commit()
    url = f"/api/projects/{project.id}/export"
    query = f"?ids={tasks[0].id}&ids={tasks[2].id}&ids={foreign}&ids=x"
    answer = client.get(url + query, headers=_headers(manager))
    assert answer.status_code == 200
    assert [t["data"]["text"] for t in answer.json] == [
        "one",
        "three",
    ]  # another project's: dropped
    everything = client.get(url, headers=_headers(manager)).json
    assert [t["data"]["text"] for t in everything] == ["one", "two", "three"]
