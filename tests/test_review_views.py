"""The review stream's pages, fragments and JSON API."""

from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, AnnotationLease, Review, Task
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member
from tests import factories
from tests.conftest import make_app


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
    # At the start the set says what it holds; then how much is left.
    assert "<strong>4</strong> annotations in 2 tasks to review" in body
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


def test_a_reject_is_flashed_as_a_warning_and_an_accept_as_a_success(client, stream, htmx):
    project, _, annotations = stream
    reject = {"verdict": "rejected", "comment": "Not negative"}
    rejected = client.post(review_url(project, f"/{annotations[0]}"), data=reject, headers=htmx)
    accepted = client.post(
        review_url(project, f"/{annotations[1]}"), data={"verdict": "accepted"}, headers=htmx
    )
    assert '<p class="flash warning">Rejected' in rejected.get_data(as_text=True)
    assert '<p class="flash success">Accepted' in accepted.get_data(as_text=True)
    changed = client.post(
        f"/projects/{project.id}/annotations/{annotations[1]}/verdict",
        data={"verdict": "rejected", "comment": "On second thought"},
        follow_redirects=True,
    )
    assert '<p class="flash warning">' in changed.get_data(as_text=True)


def test_double_click_records_one_review_and_says_so(client, stream, htmx):
    project, _, annotations = stream
    url = review_url(project, f"/{annotations[0]}")
    client.post(url, data={"verdict": "accepted"}, headers=htmx)
    second = client.post(url, data={"verdict": "accepted"}, headers=htmx)
    assert second.status_code == 409
    # The same reviewer is told it was their own verdict, not someone else's.
    assert f"You already reviewed annotation #{annotations[0]} (accepted)." in second.get_data(
        as_text=True
    )
    assert len(db.session.scalars(select(Review)).all()) == 1


def test_fix_and_accept_stores_the_new_result_and_shows_the_diff(client, stream, htmx):
    project, _, annotations = stream
    response = client.post(
        review_url(project, f"/{annotations[0]}"),
        data={"verdict": "fixed", "sentiment": "Neutral"},
        headers=htmx,
    )
    body = response.get_data(as_text=True)
    assert "fix size 100%" in body and "sentiment: Positive → Neutral" in body
    assert db.session.get(Annotation, annotations[0]).result[0]["value"]["choices"] == ["Neutral"]


def test_the_set_is_kept_and_the_end_links_back(client, stream, htmx):
    project, _, annotations = stream
    task_id = db.session.scalar(select(Task.id).order_by(Task.id.desc()))
    body = client.get(review_url(project) + f"?ids={task_id}").get_data(as_text=True)
    assert (
        f"Annotation #{annotations[2]}" in body
        and "<strong>2</strong> annotations in 1 task to review" in body
    )
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
    assert "<strong>2</strong> annotations in 1 task to review" in body


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


def test_a_fix_with_an_empty_result_is_refused_unless_the_project_allows_it(client, stream, htmx):
    project, _, annotations = stream
    url = review_url(project, f"/{annotations[0]}")
    response = client.post(url, data={"verdict": "fixed"}, headers=htmx)
    assert response.status_code == 422
    assert "Choose at least one label, or Reject" in response.get_data(as_text=True)
    assert db.session.scalars(select(Review)).all() == []
    assert db.session.get(Annotation, annotations[0]).result == factories.choice("Positive")
    project.allow_empty_annotations = True
    db.session.commit()
    assert client.post(url, data={"verdict": "fixed"}, headers=htmx).status_code == 200
    assert db.session.get(Annotation, annotations[0]).result == []


def test_the_api_refuses_an_empty_fix_with_422(client, stream):
    project, reviewer, annotations = stream
    headers = {"Authorization": f"Token {factories.token(reviewer)}"}
    response = client.post(
        f"/api/annotations/{annotations[0]}/review",
        headers=headers,
        json={"verdict": "fixed", "result": []},
    )
    assert response.status_code == 422
    assert response.json == {"error": "Choose at least one label, or Reject"}
    assert db.session.scalars(select(Review)).all() == []


REQUIRED_SENTIMENT = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" required="true">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <TextArea name="note" toName="text"/>
</View>"""


def test_a_fix_must_answer_a_required_control(client, auth, htmx):
    reviewer = auth.login("reviewer")
    project = create_project("Required", REQUIRED_SENTIMENT, None, allow_empty_annotations=True)
    add_member(project.id, reviewer)
    factories.tasks(
        project, [{"data": {"text": "t"}, "annotations": [factories.annotation("a@x")]}]
    )
    annotation_id = db.session.scalar(select(Annotation.id))
    url = review_url(project, f"/{annotation_id}")
    for headers in (htmx, {}):
        response = client.post(url, data={"verdict": "fixed", "note": "my fix"}, headers=headers)
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and "sentiment is required" in body
        assert "\nmy fix</textarea>" in body  # the reviewer's edit is kept in the editor
    api = client.post(
        f"/api/annotations/{annotation_id}/review",
        headers={"Authorization": f"Token {factories.token(reviewer)}"},
        json={"verdict": "fixed", "result": []},
    )
    assert api.status_code == 422 and api.json == {"error": "sentiment is required"}
    assert db.session.scalars(select(Review)).all() == []
    ok = client.post(url, data={"verdict": "fixed", "sentiment": "Negative"}, headers=htmx)
    assert ok.status_code == 200


def test_a_reload_of_the_stream_hands_back_the_same_item_and_writes_nothing(
    client, stream, statements
):
    project, _, annotations = stream
    assert f"Annotation #{annotations[0]}" in client.get(review_url(project)).get_data(as_text=True)
    statements.clear()
    again = client.get(review_url(project)).get_data(as_text=True)
    assert f"Annotation #{annotations[0]}" in again
    writes = [
        s for s in statements if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []


@pytest.mark.parametrize("header", [("Sec-Purpose", "prefetch"), ("Purpose", "prefetch")])
def test_a_prefetch_of_the_stream_takes_no_lease(client, stream, header):
    project, _, _ = stream
    response = client.get(review_url(project), headers=[header])
    assert response.status_code == 503 and response.headers["Retry-After"] == "0"
    assert db.session.scalar(select(func.count()).select_from(AnnotationLease)) == 0


class Forms(HTMLParser):
    """The forms of a page: for each, whether a GET can submit it and its input names; and
    every URL-bearing attribute."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict] = {}
        self.urls: list[str] = []
        self._current = None

    def _form(self, key):
        return self.forms.setdefault(key, {"get": False, "names": set()})

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.urls += [
            attrs[name] for name in ("href", "action", "formaction", "hx-get") if attrs.get(name)
        ]
        if tag == "form":
            self._current = attrs.get("id") or f"form-{len(self.forms)}"
            form = self._form(self._current)
            form["get"] |= (attrs.get("method") or "get").lower() == "get"
            return
        key = attrs.get("form") or self._current
        if key is None or tag not in ("input", "button", "select", "textarea"):
            return
        form = self._form(key)
        if attrs.get("name"):
            form["names"].add(attrs["name"])
        if (attrs.get("formmethod") or "").lower() == "get":
            form["get"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def test_no_csrf_token_can_reach_a_url_from_the_data_manager(client, stream):
    project, _, _ = stream
    page = Forms()
    page.feed(client.get(f"/projects/{project.id}/tasks").get_data(as_text=True))
    assert any("csrf_token" in form["names"] for form in page.forms.values())
    leaking = [
        key for key, form in page.forms.items() if form["get"] and "csrf_token" in form["names"]
    ]
    assert leaking == []
    assert [url for url in page.urls if "csrf_token" in url] == []
    assert page.forms["bulk-form"]["get"] is False  # the Review button posts


def test_the_review_button_posts_and_lands_on_a_clean_url(database_url, tmp_path, app):
    secure = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    client = secure.test_client()
    with secure.app_context():
        reviewer = factories.user("reviewer")
        project = factories.project(members=(reviewer,))
        factories.tasks(
            project,
            [{"data": {"text": t}, "annotations": [factories.annotation("a@x")]} for t in "abc"],
        )
        task_ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
        login = client.get("/login").get_data(as_text=True)
        token = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        data = {"email": reviewer.email, "password": factories.PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data).status_code == 302
        table = client.get(f"/projects/{project.id}/tasks").get_data(as_text=True)
        token = table.split('name="csrf_token" value="')[1].split('"')[0]
        selection = {
            "ordering": "-id",
            "ids": [str(task_ids[0]), str(task_ids[2])],
            "page_ids": [str(task_id) for task_id in task_ids],
        }
        url = f"/projects/{project.id}/review"
        assert client.post(url, data=selection).status_code == 400  # no token: refused
        response = client.post(url, data={"csrf_token": token, **selection})
        assert response.status_code == 303
        assert "csrf_token" not in response.location and "page_ids" not in response.location
        assert response.location == f"{url}?ordering=-id&ids={task_ids[0]}&ids={task_ids[2]}"
        assert "<strong>2</strong> annotations in 2 tasks" in client.get(
            response.location
        ).get_data(as_text=True)


def test_another_pending_tab_becomes_the_one_under_review(client, stream):
    project, reviewer, annotations = stream
    first = client.get(review_url(project))
    body = first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == "no-store"  # Back/Forward fetch it again
    assert f"Annotation #{annotations[0]} by amy@x.com" in body
    # bob's annotation of the same task is pending: its tab offers to review it instead.
    assert f"annotation={annotations[1]}" in body and "Review this one instead" in body
    switched = client.get(review_url(project, f"?annotation={annotations[1]}"))
    body = switched.get_data(as_text=True)
    assert f"Annotation #{annotations[1]} by bob@x.com" in body
    # The lease moved with it: the first annotation is free for another reviewer.
    leases = db.session.scalars(select(AnnotationLease.annotation_id)).all()
    assert leases == [annotations[1]]
    client.post(review_url(project, f"/{annotations[1]}"), data={"verdict": "accepted"})
    page = client.get(review_url(project, f"?annotation={annotations[0]}")).get_data(as_text=True)
    assert "accepted · view only" in page  # bob's reviewed tab
    bogus = client.get(review_url(project, f"?annotation={annotations[1]}")).get_data(as_text=True)
    assert f"Annotation #{annotations[1]} is not yours to review now" in bogus


def test_a_manager_stars_any_tab_from_the_stream_and_stays_on_the_item(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    factories.tasks(
        project,
        [
            {
                "data": {"text": "one"},
                "annotations": [
                    factories.annotation("amy@x.com", "Positive"),
                    factories.annotation("bob@x.com", "Negative"),
                ],
            }
        ],
    )
    amy, bob = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()
    body = client.get(review_url(project)).get_data(as_text=True)
    assert f"Annotation #{amy.id} by amy@x.com" in body
    for annotation in (amy, bob):
        assert f"/annotations/{annotation.id}/ground-truth" in body
    assert body.count("☆</span> Mark as ground truth") == 2
    # Starring bob's tab (not the one under review) comes back to amy's annotation.
    answer = client.post(
        f"/projects/{project.id}/annotations/{bob.id}/ground-truth",
        data={"next": f"/projects/{project.id}/review?annotation={amy.id}"},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/projects/{project.id}/review?annotation={amy.id}"
    body = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"Annotation #{amy.id} by amy@x.com" in body
    assert body.count("★</span> Clear ground truth") == 1
    db.session.expire_all()
    assert db.session.get(Annotation, bob.id).ground_truth is True


def test_a_reviewer_sees_no_star(client, stream):
    project, _, annotations = stream
    body = client.get(review_url(project)).get_data(as_text=True)
    assert "ground-truth" not in body and "Mark as ground truth" not in body


def test_the_look_ahead_lists_the_next_tasks_of_the_set_in_order(client, auth, htmx):
    reviewer = auth.login("reviewer")
    project = factories.project(members=(reviewer,))
    factories.tasks(
        project,
        [
            {"data": {"text": f"<b>text {i}</b>"}, "annotations": [factories.annotation("a@x.com")]}
            for i in range(1, 5)
        ],
    )
    t1, t2, t3, t4 = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    body = client.get(review_url(project)).get_data(as_text=True)
    assert f'hx-get="/projects/{project.id}/review/upcoming?after={t1}"' in body
    # Task 3 is reviewed meanwhile: it no longer has pending annotations.
    third = db.session.scalar(select(Annotation).where(Annotation.task_id == t3))
    client.post(review_url(project, f"/{third.id}"), data={"verdict": "accepted"})
    part = client.get(review_url(project, f"/upcoming?after={t1}"), headers=htmx)
    html = part.get_data(as_text=True)
    assert part.status_code == 200 and "<html" not in html
    listed = [int(x.split("<")[0]) for x in html.split(">Task ")[1:]]
    assert listed == [t2, t4]
    assert "&lt;b&gt;text 2&lt;/b&gt;" in html and "<b>text" not in html  # escaped
    assert "Needs review" in html and "1 pending" in html
    # A set of two selected tasks lists only the other one; one task, nothing after it.
    html = client.get(
        review_url(project, f"/upcoming?after={t1}&ids={t1}&ids={t4}"), headers=htmx
    ).get_data(as_text=True)
    assert [int(x.split("<")[0]) for x in html.split(">Task ")[1:]] == [t4]
    html = client.get(review_url(project, f"/upcoming?after={t1}&ids={t1}"), headers=htmx)
    assert "Nothing after this task." in html.get_data(as_text=True)
