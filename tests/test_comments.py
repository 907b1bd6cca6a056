"""Comments on annotations: the service, the pages (thread, marks, notifications, Data Manager
column and filter) and the JSON API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import COMMENT_MAX_LENGTH, Annotation, Comment, Notification, Task
from reviewapp.services import comments as service
from reviewapp.services.data_manager.bulk import apply_bulk_action
from reviewapp.services.users import remove_member
from tests import factories
from tests.test_concurrency import run_together

TEXT = "Ada Lovelace met Charles Babbage in London."


def span(region_id: str, start: int, end: int, label: str) -> dict:
    return {
        "id": region_id,
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": end, "labels": [label], "text": TEXT[start:end]},
    }


@pytest.fixture
def ner(app):
    """An NER project: annotator Ann labelled one task (regions r1, r2), reviewer Rex and
    manager Meg belong to it; Otto is another annotator of the project."""
    ann = factories.user("annotator", "ann@example.com", name="Ann")
    otto = factories.user("annotator", "otto@example.com")
    rex = factories.user("reviewer", "rex@example.com", name="Rex")
    meg = factories.user("manager", "meg@example.com")
    project = factories.project("ner", members=(ann, otto, rex, meg), title="People")
    factories.tasks(
        project,
        [
            {
                "data": {"text": TEXT},
                "annotations": [
                    {
                        "completed_by": ann.email,
                        "result": [span("r1", 0, 12, "PER"), span("r2", 36, 42, "LOC")],
                    }
                ],
            },
            {"data": {"text": "Nothing to see."}},
        ],
    )
    annotation = db.session.scalar(select(Annotation))
    return project, annotation, ann, otto, rex, meg


def unresolved(task_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Task, task_id).unresolved_comments


def unread(user) -> list[int]:
    return list(
        db.session.scalars(
            select(Notification.comment_id).where(
                Notification.user_id == user.id, Notification.read_at.is_(None)
            )
        )
    )


# The service


def test_a_comment_counts_on_its_task_and_notifies_the_author(ner):
    project, annotation, ann, _, rex, _ = ner
    comment = service.add_comment(annotation, rex, "  Is this the full name? ", region_id="r1")
    db.session.commit()
    assert comment.text == "Is this the full name?"
    assert (comment.region_id, comment.resolved) == ("r1", False)
    assert unresolved(annotation.task_id) == 1
    assert unread(ann) == [comment.id]
    assert unread(rex) == []  # not the comment's own author
    assert service.unread_count(ann) == 1


def test_a_reply_notifies_earlier_commenters_and_reviewers_and_keeps_the_anchor(ner):
    project, annotation, ann, _, rex, meg = ner
    factories.review(annotation, meg, "accepted")
    db.session.commit()
    first = service.add_comment(annotation, rex, "Wrong span?", region_id="r2")
    reply = service.add_comment(annotation, ann, "London is a place.", parent=first)
    db.session.commit()
    assert reply.parent_id == first.id and reply.region_id == "r2"
    assert unread(rex) == [reply.id]  # an earlier commenter
    assert unread(meg) == [first.id, reply.id]  # reviewed the annotation
    assert unread(ann) == [first.id]  # not for her own reply
    assert unresolved(annotation.task_id) == 2


def test_people_who_left_the_project_or_are_inactive_are_not_notified(ner):
    project, annotation, ann, _, rex, meg = ner
    factories.review(annotation, meg, "accepted")
    db.session.commit()
    first = service.add_comment(annotation, meg, "Before")
    remove_member(project.id, meg)
    ann.active = False
    db.session.commit()
    service.add_comment(annotation, rex, "After", parent=first)
    db.session.commit()
    assert unread(meg) == [] and unread(ann) == [first.id]


def test_resolve_and_reopen_keep_the_count_exact(ner):
    project, annotation, ann, _, rex, _ = ner
    a = service.add_comment(annotation, rex, "One")
    service.add_comment(annotation, rex, "Two", control="label")
    db.session.commit()
    assert unresolved(annotation.task_id) == 2
    service.resolve(a, ann)  # the annotation's author resolves what she was asked
    db.session.commit()
    assert unresolved(annotation.task_id) == 1
    assert a.resolved and a.resolved_by_id == ann.id and a.resolved_at is not None
    service.resolve(a, rex)  # again: nothing changes
    db.session.commit()
    assert unresolved(annotation.task_id) == 1 and a.resolved_by_id == ann.id
    service.reopen(a, rex)
    db.session.commit()
    assert unresolved(annotation.task_id) == 2
    assert (a.resolved, a.resolved_by_id, a.resolved_at) == (False, None, None)


@pytest.mark.parametrize(
    "text, fields, message",
    [
        ("   ", {}, "text is empty"),
        ("x" * (COMMENT_MAX_LENGTH + 1), {}, "at most"),
        ("a\x00b", {}, "NUL"),
        ("a\ud800b", {}, "lone surrogates"),
        ("ok", {"region_id": "nope"}, "has no region 'nope'"),
        ("ok", {"control": "sentiment"}, "no control 'sentiment'"),
    ],
)
def test_invalid_comments_are_refused(ner, text, fields, message):
    _, annotation, _, _, rex, _ = ner
    with pytest.raises(service.CommentError, match=message):
        service.add_comment(annotation, rex, text, **fields)


def test_only_the_author_and_reviewers_comment(ner):
    _, annotation, _, otto, _, meg = ner
    with pytest.raises(service.CommentRefused):
        service.add_comment(annotation, otto, "Not mine to say")
    assert service.add_comment(annotation, meg, "Managers may").id


def test_a_reply_must_be_on_the_same_annotation(ner):
    project, annotation, ann, _, rex, _ = ner
    factories.tasks(
        project, [{"data": {"text": TEXT}, "annotations": [{"completed_by": ann.email}]}]
    )
    other = db.session.scalars(select(Annotation).order_by(Annotation.id.desc())).first()
    parent = service.add_comment(annotation, rex, "Here")
    with pytest.raises(service.CommentError, match="same annotation"):
        service.add_comment(other, rex, "There", parent=parent)


def test_comments_go_with_their_annotations(ner):
    project, annotation, _, _, rex, meg = ner
    service.add_comment(annotation, rex, "Check this")
    db.session.commit()
    task_ids = select(Task.id).where(Task.id == annotation.task_id)
    apply_bulk_action("delete_annotations", project, meg, task_ids, confirmed=True)
    db.session.commit()
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    assert unresolved(annotation.task_id) == 0


def test_threads_group_replies_under_their_root(ner):
    _, annotation, ann, _, rex, _ = ner
    root = service.add_comment(annotation, rex, "Root")
    reply = service.add_comment(annotation, ann, "Reply", parent=root)
    deeper = service.add_comment(annotation, rex, "Deeper", parent=reply)
    other = service.add_comment(annotation, rex, "Other", region_id="r1")
    groups = service.threads(service.comments_for(annotation.id))
    assert [(t.comment.id, [c.id for c in t.replies]) for t in groups] == [
        (root.id, [reply.id, deeper.id]),
        (other.id, []),
    ]
    assert service.region_marks(service.comments_for(annotation.id)) == {
        "r1": {"count": 1, "open": 1}
    }


# The pages


def thread_url(project, annotation):
    return f"/projects/{project.id}/annotations/{annotation.id}/comments"


def test_task_page_shows_the_thread_and_marks_the_region(client, auth, ner):
    project, annotation, _, _, rex, _ = ner
    service.add_comment(annotation, rex, "<b>full</b> name?", region_id="r1")
    db.session.commit()
    auth.login(rex)
    body = client.get(f"/projects/{project.id}/tasks/{annotation.task_id}").get_data(as_text=True)
    assert f'id="comments-{annotation.id}"' in body
    assert "&lt;b&gt;full&lt;/b&gt; name?" in body and "<b>full</b>" not in body
    assert 'data-region-id="r1"' in body and 'data-comment-mark="r1"' in body
    assert 'data-comment-mark="r2"' not in body
    assert "on PER “Ada Lovelace”" in body
    assert "1 unresolved" in body


def test_adding_with_htmx_answers_the_thread_fragment(client, auth, ner, htmx):
    project, annotation, ann, _, rex, _ = ner
    auth.login(rex)
    response = client.post(
        thread_url(project, annotation),
        data={"text": "Wrong label", "region_id": "r2", "next": "/somewhere"},
        headers=htmx,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 201
    assert body.lstrip().startswith(f'<section class="comments" id="comments-{annotation.id}"')
    assert "Wrong label" in body and "<html" not in body
    assert 'hx-swap-oob="true"' in body and "Comment added." in body
    assert "HX-Request" in response.headers["Vary"]
    assert 'name="next" value="/somewhere"' in body
    # The marks follow out of band, into the result the page shows.
    oob = f'<div class="marked-result" id="marked-result-{annotation.id}" hx-swap-oob="true">'
    assert oob in body and 'data-comment-mark="r2"' in body
    assert unresolved(annotation.task_id) == 1 and len(unread(ann)) == 1


def test_adding_without_htmx_redirects_back(client, auth, ner):
    project, annotation, _, _, rex, _ = ner
    auth.login(rex)
    back = f"/projects/{project.id}/tasks/{annotation.task_id}?annotation={annotation.id}"
    response = client.post(thread_url(project, annotation), data={"text": "Hm", "next": back})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{back}#comments-{annotation.id}")
    # Another site in next is not followed.
    response = client.post(
        thread_url(project, annotation), data={"text": "Hm", "next": "//evil.example"}
    )
    assert response.headers["Location"].endswith(thread_url(project, annotation) + "#comments-1")


def test_invalid_comment_is_422_for_htmx_and_a_flash_otherwise(client, auth, ner, htmx):
    project, annotation, _, _, rex, _ = ner
    auth.login(rex)
    response = client.post(thread_url(project, annotation), data={"text": " "}, headers=htmx)
    assert response.status_code == 422
    assert "text is empty" in response.get_data(as_text=True)
    response = client.post(
        thread_url(project, annotation),
        data={"text": "x", "region_id": "zz"},
        follow_redirects=True,
    )
    assert "has no region" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_resolve_and_reopen_from_the_page(client, auth, ner, htmx):
    project, annotation, ann, _, rex, _ = ner
    comment = service.add_comment(annotation, rex, "Fix it", region_id="r1")
    db.session.commit()
    auth.login(ann)
    response = client.post(
        f"/projects/{project.id}/comments/{comment.id}/resolve", data={}, headers=htmx
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "resolved" in body and "Reopen" in body
    assert unresolved(annotation.task_id) == 0
    response = client.post(f"/projects/{project.id}/comments/{comment.id}/reopen", data={})
    assert response.status_code == 303
    assert unresolved(annotation.task_id) == 1


def test_others_get_404(client, auth, ner):
    project, annotation, _, otto, _, _ = ner
    comment = service.add_comment(annotation, ner[4], "Hidden")
    db.session.commit()
    auth.login(otto)  # an annotator of the project, not the author
    assert client.get(thread_url(project, annotation)).status_code == 404
    assert client.post(thread_url(project, annotation), data={"text": "x"}).status_code == 404
    url = f"/projects/{project.id}/comments/{comment.id}/resolve"
    assert client.post(url, data={}).status_code == 404
    auth.logout()
    auth.login("reviewer")  # not a member
    assert client.get(thread_url(project, annotation)).status_code == 404
    other = factories.project("ner", title="Other")
    assert (
        client.get(f"/projects/{other.id}/annotations/{annotation.id}/comments").status_code == 404
    )


def test_the_author_sees_counter_opens_notification_and_the_marked_region(client, auth, ner):
    project, annotation, ann, _, rex, _ = ner
    comment = service.add_comment(annotation, rex, "Only the first name?", region_id="r1")
    db.session.commit()
    auth.login(ann)
    header = client.get("/").get_data(as_text=True)
    assert 'data-unread="1"' in header and '<span class="counter">1</span>' in header
    listing = client.get("/notifications").get_data(as_text=True)
    assert "Rex</strong> commented on annotation" in listing and "Only the first name?" in listing
    assert 'class="notification unread"' in listing
    notification = db.session.scalar(select(Notification))
    response = client.post(f"/notifications/{notification.id}/open", data={})
    target = thread_url(project, annotation) + f"#comment-{comment.id}"
    assert response.headers["Location"].endswith(target)
    assert unread(ann) == []
    page = client.get(thread_url(project, annotation)).get_data(as_text=True)
    assert 'data-comment-mark="r1"' in page and "Only the first name?" in page
    assert 'data-unread="0"' in page
    assert f"/projects/{project.id}/my-annotations/{annotation.id}" in page


def test_someone_elses_notification_is_404(client, auth, ner):
    _, annotation, _, otto, rex, _ = ner
    service.add_comment(annotation, rex, "For Ann")
    db.session.commit()
    auth.login(otto)
    notification = db.session.scalar(select(Notification))
    assert client.post(f"/notifications/{notification.id}/open", data={}).status_code == 404
    assert notification.read_at is None


def test_mark_all_read(client, auth, ner):
    _, annotation, ann, _, rex, _ = ner
    service.add_comment(annotation, rex, "One")
    service.add_comment(annotation, rex, "Two")
    db.session.commit()
    auth.login(ann)
    response = client.post("/notifications/read", data={}, follow_redirects=True)
    assert "Marked 2 notifications read." in response.get_data(as_text=True)
    assert unread(ann) == []


def test_review_stream_shows_the_thread_of_the_annotation_under_review(client, auth, ner, htmx):
    project, annotation, _, _, rex, _ = ner
    service.add_comment(annotation, rex, "Before reviewing", region_id="r2")
    db.session.commit()
    auth.login(rex)
    body = client.get(f"/projects/{project.id}/review").get_data(as_text=True)
    assert f'id="comments-{annotation.id}"' in body and "Before reviewing" in body
    assert 'data-comment-mark="r2"' in body
    fragment = client.get(f"/projects/{project.id}/review", headers=htmx).get_data(as_text=True)
    assert f'id="comments-{annotation.id}"' in fragment


def test_label_stream_shows_the_thread_of_a_returned_annotation(client, auth, ner):
    project, annotation, ann, _, rex, _ = ner
    project.reject_actions, project.default_reject_action = ["return"], "return"
    db.session.commit()
    service.add_comment(annotation, rex, "Mark the whole name", region_id="r1")
    db.session.commit()
    auth.login(rex)
    client.post(
        f"/projects/{project.id}/review/{annotation.id}",
        data={"verdict": "rejected", "comment": "see the comment"},
    )
    auth.logout()
    auth.login(ann)
    body = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert "sent back to you" in body
    assert "Mark the whole name" in body and 'data-comment-mark="r1"' in body
    own = client.get(f"/projects/{project.id}/my-annotations/{annotation.id}")
    assert "Mark the whole name" in own.get_data(as_text=True)


def test_data_manager_column_and_filter(client, auth, ner, htmx):
    project, annotation, _, _, rex, meg = ner
    service.add_comment(annotation, rex, "Open")
    db.session.commit()
    auth.login(meg)
    body = client.get(f"/projects/{project.id}/tasks").get_data(as_text=True)
    assert "Unresolved comments" in body
    has = client.get(f"/projects/{project.id}/tasks?unresolved_comments=has", headers=htmx)
    # The filter builder's row for it: Comments are unresolved.
    assert '<option value="unresolved_comments" selected>Comments</option>' in has.text
    assert '<option value="has" selected>unresolved</option>' in has.text
    assert f'id="task-{annotation.task_id}"' in has.get_data(as_text=True)
    assert "<strong>1</strong> task matching" in has.get_data(as_text=True)
    assert "unresolved_comments=has" in has.headers["HX-Push-Url"]
    none = client.get(f"/projects/{project.id}/tasks?unresolved_comments=none", headers=htmx)
    assert f'id="task-{annotation.task_id}"' not in none.get_data(as_text=True)
    bad = client.get(f"/projects/{project.id}/tasks?unresolved_comments=maybe")
    assert "Ignored unresolved_comments: expected one of has, none." in bad.get_data(as_text=True)
    client.post(f"/projects/{project.id}/tasks/columns", data={"columns": ["data"]})
    hidden = client.get(f"/projects/{project.id}/tasks").get_data(as_text=True)
    assert "col-comments" not in hidden


# The API


def api(client, user):
    return {"Authorization": f"Token {factories.token(user)}"}


def test_api_add_list_resolve_reopen(client, ner):
    project, annotation, ann, _, rex, _ = ner
    headers = api(client, rex)
    url = f"/api/annotations/{annotation.id}/comments"
    response = client.post(url, json={"text": "Full name?", "region_id": "r1"}, headers=headers)
    assert response.status_code == 201
    comment = response.get_json()
    assert comment["text"] == "Full name?" and comment["region_id"] == "r1"
    assert comment["author"] == {"id": rex.id, "email": rex.email}
    assert comment["resolved"] is False and comment["control"] is None
    assert comment["created_at"].endswith("Z") and comment["parent_id"] is None
    ann_headers = api(client, ann)
    reply = client.post(
        url, json={"text": "Yes", "parent_id": comment["id"]}, headers=ann_headers
    ).get_json()
    assert reply["parent_id"] == comment["id"] and reply["region_id"] == "r1"
    listed = client.get(url, headers=ann_headers).get_json()
    assert [c["id"] for c in listed["comments"]] == [comment["id"], reply["id"]]
    resolved = client.post(f"/api/comments/{comment['id']}/resolve", headers=ann_headers)
    assert resolved.status_code == 200 and resolved.get_json()["resolved"] is True
    assert resolved.get_json()["resolved_by"]["id"] == ann.id
    reopened = client.post(f"/api/comments/{comment['id']}/reopen", headers=headers)
    assert reopened.status_code == 200 and reopened.get_json()["resolved"] is False
    notes = client.get("/api/notifications", headers=ann_headers).get_json()
    assert notes["unread"] == 1 and notes["notifications"][0]["comment"]["id"] == comment["id"]
    tasks = client.get(
        f"/api/projects/{project.id}/tasks?unresolved_comments=has", headers=headers
    ).get_json()
    assert [(t["id"], t["unresolved_comments"]) for t in tasks["tasks"]] == [
        (annotation.task_id, 2)
    ]


def test_api_errors(client, ner):
    project, annotation, _, otto, rex, _ = ner
    url = f"/api/annotations/{annotation.id}/comments"
    headers = api(client, rex)
    assert client.post(url, json={"text": 3}, headers=headers).status_code == 400
    assert client.post(url, json=[], headers=headers).status_code == 400
    assert client.post(url, json={"text": "x", "control": 1}, headers=headers).status_code == 400
    bad = client.post(url, json={"text": "x", "region_id": "zz"}, headers=headers)
    assert bad.status_code == 422 and "no region" in bad.get_json()["error"]
    assert client.post(url, json={"text": ""}, headers=headers).status_code == 422
    parent = client.post(url, json={"text": "x", "parent_id": 999}, headers=headers)
    assert parent.status_code == 422
    assert client.get(url, headers=api(client, otto)).status_code == 404
    assert client.get(url, headers=api(client, factories.user("reviewer"))).status_code == 404
    assert client.get("/api/annotations/999/comments", headers=headers).status_code == 404
    assert client.post("/api/comments/999/resolve", headers=headers).status_code == 404
    assert client.get(url).status_code == 401


def test_concurrent_comments_and_resolves_keep_the_count_exact(app, ner):
    """Eight writers at once on one task: add a comment, and every other one also resolves
    the first comment or reopens it; the stored count is the count of open comments."""
    _, annotation, ann, _, rex, _ = ner
    first = service.add_comment(annotation, rex, "First")
    db.session.commit()
    ids = {"annotation": annotation.id, "first": first.id, "ann": ann.id, "rex": rex.id}

    def work(i: int) -> None:
        from reviewapp.models import User

        target = db.session.get(Annotation, ids["annotation"])
        author = db.session.get(User, ids["rex" if i % 2 else "ann"])
        service.add_comment(target, author, f"Comment {i}")
        if i % 2 == 0:
            comment = db.session.get(Comment, ids["first"])
            (service.resolve if i % 4 == 0 else service.reopen)(comment, author)
        db.session.commit()

    assert run_together(app, work) == []
    db.session.expire_all()
    open_comments = db.session.scalar(
        select(func.count(Comment.id)).where(
            Comment.task_id == annotation.task_id, Comment.resolved.is_(False)
        )
    )
    assert unresolved(annotation.task_id) == open_comments
    assert db.session.scalar(select(func.count(Comment.id))) == 9
