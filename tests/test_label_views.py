"""The label blueprint: stream page and fragment, submit/skip, 422/409, permissions, GT star."""

import json
from html import unescape
from html.parser import HTMLParser

import pytest
from flask import render_template_string
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from reviewapp.extensions import db
from reviewapp.labeling import parse_label_config
from reviewapp.labeling.form import result_from_form
from reviewapp.models import Annotation, Task, TaskLease
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member
from tests import factories


@pytest.fixture
def setup(app):
    annotator = factories.user("annotator", email="ann@x.com")
    project = factories.project(members=(annotator,))
    factories.text_tasks(project, "good", "bad", "meh")
    ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    return project, annotator, ids


def count_annotations() -> int:
    return db.session.scalar(select(func.count()).select_from(Annotation))


def test_stream_page_leases_the_first_task(client, auth, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    response = client.get(f"/projects/{project.id}/label")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert 'id="label-task"' in html and f"Task {ids[0]}" in html
    assert f'action="/projects/{project.id}/label/{ids[0]}"' in html
    assert 'name="sentiment" value="Positive" data-key="1"' in html
    assert "js/editor.js" in html and "annotorious" not in html  # no boxes in this config
    assert "HX-Request" in response.headers["Vary"]


def test_stream_fragment(client, auth, htmx, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    response = client.get(f"/projects/{project.id}/label", headers=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section id="label-task"')
    assert "HX-Request" in response.headers["Vary"]


def test_submit_with_htmx_swaps_in_the_next_task(client, auth, htmx, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    client.get(f"/projects/{project.id}/label")
    response = client.post(
        f"/projects/{project.id}/label/{ids[0]}",
        data={"action": "submit", "sentiment": "Negative", "lead_time": "4.25"},
        headers=htmx,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Task {ids[1]}" in html and 'hx-swap-oob="true"' in html
    assert f"Saved task {ids[0]}." in html
    annotation = db.session.scalar(select(Annotation))
    assert annotation.result == factories.choice("Negative") and annotation.lead_time == 4.25
    assert annotation.completed_by_id == annotator.id
    assert db.session.get(Task, ids[0]).annotation_count == 1


def test_submit_without_htmx_redirects(client, auth, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    response = client.post(
        f"/projects/{project.id}/label/{ids[0]}",
        data={"sentiment": "Positive", "shown_at": "0"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/projects/{project.id}/label")
    page = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert f"Saved task {ids[0]}." in page and f"Task {ids[1]}" in page
    assert db.session.scalar(select(Annotation.lead_time)) > 0  # from shown_at: no script


def test_skip_saves_a_cancelled_annotation(client, auth, htmx, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    response = client.post(
        f"/projects/{project.id}/label/{ids[0]}",
        data={"action": "skip", "sentiment": "Positive"},
        headers=htmx,
    )
    assert f"Skipped task {ids[0]}." in response.get_data(as_text=True)
    annotation = db.session.scalar(select(Annotation))
    assert annotation.was_cancelled and annotation.result == []
    assert db.session.get(Task, ids[0]).skipped_count == 1


def test_an_invalid_result_is_refused_with_422_and_nothing_is_stored(client, auth, htmx, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    url = f"/projects/{project.id}/label/{ids[0]}"
    response = client.post(url, data={"sentiment": "Great"}, headers=htmx)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#flash"
    assert 'Not saved: result[0] (from_name "sentiment"): unknown choice "Great"' in unescape(
        response.get_data(as_text=True)
    )
    full = client.post(url, data={"sentiment": ["Positive", "Negative"]})
    html = full.get_data(as_text=True)
    assert full.status_code == 422 and "single-choice control" in html
    assert f"Task {ids[0]}" in html and 'role="alert"' in html
    assert count_annotations() == 0
    assert db.session.get(Task, ids[0]).annotation_count == 0


def test_a_double_submit_stores_one_annotation(client, auth, htmx, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    url = f"/projects/{project.id}/label/{ids[0]}"
    assert client.post(url, data={"sentiment": "Positive"}, headers=htmx).status_code == 200
    second = client.post(url, data={"sentiment": "Negative"}, headers=htmx)
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert f"Task {ids[0]} was already submitted; your first answer was kept" in html
    assert f"Task {ids[1]}" in html  # and the next task is there
    assert count_annotations() == 1
    assert db.session.scalar(select(Annotation.result)) == factories.choice("Positive")


def test_end_of_the_queue_says_so(client, auth, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    for task_id in ids:
        client.post(f"/projects/{project.id}/label/{task_id}", data={"action": "skip"})
    html = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert "Nothing left to label" in html and '<form id="label-form"' not in html


def test_requeued_annotation_shows_the_reviewers_comment(client, auth, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    client.post(f"/projects/{project.id}/label/{ids[0]}", data={"sentiment": "Positive"})
    annotation = db.session.scalar(select(Annotation))
    annotation.review_status, annotation.requeued = "rejected", True
    reviewer = factories.user("reviewer")
    factories.review(annotation, reviewer, "rejected", comment="Read it <again>.")
    db.session.commit()
    html = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert f"Task {ids[0]}" in html and "sent back to you" in html
    assert "Read it &lt;again&gt;." in html
    assert 'value="Positive" data-key="1" checked' in html  # their answer, to change


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_may_label(client, auth, app, role):
    user = factories.user(role)
    project = factories.project(members=(user,))
    factories.text_tasks(project, "x")
    auth.login(user)
    html = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert 'name="ground_truth"' in html  # and may star their own answer


def test_reviewers_may_not_label_and_non_members_get_404(client, auth, setup):
    project, _, ids = setup
    reviewer = factories.user("reviewer")
    add_member(project.id, reviewer)
    db.session.commit()
    auth.login(reviewer)
    assert client.get(f"/projects/{project.id}/label").status_code == 403
    assert client.get(f"/projects/{project.id}/my-annotations").status_code == 403
    auth.logout()
    auth.login(factories.user("annotator"))
    assert client.get(f"/projects/{project.id}/label").status_code == 404
    url = f"/projects/{project.id}/label/{ids[0]}"
    assert client.post(url, data={"sentiment": "Positive"}).status_code == 404
    assert count_annotations() == 0


def test_annotators_get_no_ground_truth_star(client, auth, htmx, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    html = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert 'name="ground_truth"' not in html
    url = f"/projects/{project.id}/label/{ids[0]}"
    client.post(url, data={"sentiment": "Positive", "ground_truth": "1"}, headers=htmx)
    assert not db.session.scalar(select(Annotation.ground_truth))


def test_a_task_of_another_project_is_404(client, auth, setup):
    project, annotator, _ = setup
    other = factories.project(title="Other")
    factories.text_tasks(other, "elsewhere")
    foreign = db.session.scalar(select(Task.id).where(Task.project_id == other.id))
    auth.login(annotator)
    url = f"/projects/{project.id}/label/{foreign}"
    response = client.post(url, data={"sentiment": "Positive"})
    assert response.status_code == 404


@pytest.fixture
def two_answers(setup):
    project, annotator, ids = setup
    other = factories.user("annotator", email="other@x.com")
    manager = factories.user("manager", email="boss@x.com")
    for user in (other, manager):
        add_member(project.id, user)
    factories.tasks(
        project,
        [
            {
                "data": {"text": "both"},
                "annotations": [factories.annotation(annotator), factories.annotation(other)],
            }
        ],
    )
    a, b = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()
    return project, annotator, manager, a.id, b.id


def test_ground_truth_star_moves_and_clears(client, auth, two_answers):
    project, _, manager, a, b = two_answers
    auth.login(manager)
    url = f"/projects/{project.id}/annotations/{{}}/ground-truth"
    response = client.post(url.format(a))
    task_id = db.session.get(Annotation, a).task_id
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/projects/{project.id}/tasks/{task_id}")
    response = client.post(url.format(b), data={"next": f"/projects/{project.id}"})
    assert response.headers["Location"].endswith(f"/projects/{project.id}")
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert f"Annotation #{b} is now the ground truth of task {task_id}" in page
    assert f"(the star moved from annotation #{a})" in page
    starred = db.session.scalars(select(Annotation.id).where(Annotation.ground_truth.is_(True)))
    assert list(starred) == [b] and db.session.get(Task, task_id).has_ground_truth
    client.post(url.format(b))
    assert db.session.scalar(select(func.count()).where(Annotation.ground_truth.is_(True))) == 0
    assert not db.session.get(Task, task_id).has_ground_truth


def test_ground_truth_star_with_htmx_redirects_and_refuses_others(client, auth, htmx, two_answers):
    project, annotator, manager, a, _ = two_answers
    url = f"/projects/{project.id}/annotations/{a}/ground-truth"
    auth.login(annotator)
    assert client.post(url).status_code == 403
    auth.logout()
    auth.login(manager)
    response = client.post(url, data={"next": "//evil.example/"}, headers=htmx)
    assert response.status_code == 204 and "/tasks/" in response.headers["HX-Redirect"]
    other = factories.project(title="Other", members=(manager,))
    assert client.post(f"/projects/{other.id}/annotations/{a}/ground-truth").status_code == 404


def test_a_skip_cannot_be_starred(client, auth, two_answers):
    project, annotator, manager, a, _ = two_answers
    annotation = db.session.get(Annotation, a)
    annotation.was_cancelled, annotation.result = True, []
    db.session.commit()
    auth.login(manager)
    response = client.post(f"/projects/{project.id}/annotations/{a}/ground-truth")
    assert response.status_code == 409
    assert "a skip cannot be the ground truth" in response.get_data(as_text=True)


def test_my_annotations_lists_only_mine(client, auth, two_answers):
    project, annotator, _, a, b = two_answers
    auth.login(annotator)
    html = client.get(f"/projects/{project.id}/my-annotations").get_data(as_text=True)
    assert f'id="annotation-{a}"' in html and f'id="annotation-{b}"' not in html
    assert client.get(f"/projects/{project.id}/my-annotations/{b}").status_code == 404
    page = client.get(f"/projects/{project.id}/my-annotations/{a}")
    assert page.status_code == 200 and 'name="sentiment"' in page.get_data(as_text=True)


def test_update_own_annotation_while_pending_only(client, auth, htmx, two_answers):
    project, annotator, _, a, b = two_answers
    auth.login(annotator)
    url = f"/projects/{project.id}/my-annotations/{a}"
    response = client.post(url, data={"sentiment": "Neutral"}, headers=htmx)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/projects/{project.id}/my-annotations"
    assert db.session.get(Annotation, a).result == factories.choice("Neutral")
    bad = client.post(url, data={"sentiment": "Nope"}, headers=htmx)
    assert bad.status_code == 422 and db.session.get(Annotation, a).result == factories.choice(
        "Neutral"
    )
    assert client.post(f"/projects/{project.id}/my-annotations/{b}", data={}).status_code == 404
    db.session.get(Annotation, a).review_status = "accepted"
    db.session.commit()
    refused = client.post(url, data={"sentiment": "Positive"})
    assert refused.status_code == 409 and "already reviewed (accepted)" in refused.get_data(
        as_text=True
    )
    page = client.get(url).get_data(as_text=True)
    assert "can no longer be changed" in page and 'name="sentiment"' not in page


ALL_TAGS = """<View>
  <Text name="text" value="$text"/>
  <Labels name="entity" toName="text"><Label value="PER"/><Label value="LOC"/></Labels>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Choices name="topics" toName="text" choice="multiple">
    <Choice value="Sport"/><Choice value="Art"/>
  </Choices>
  <Rating name="quality" toName="text" maxRating="4"/>
  <TextArea name="note" toName="text"/>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image">
    <Label value="Cat"/><Label value="Dog"/>
  </RectangleLabels>
</View>"""


SPAN = {"value": {"start": 0, "end": 3, "labels": ["PER"]}}
BOX = {
    "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": ["Dog"]},
    "original_width": 10,
    "original_height": 20,
}


class FormFields(HTMLParser):
    """What a browser would submit from the editor's inputs, as it is rendered."""

    def __init__(self):
        super().__init__()
        self.fields = MultiDict()
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") in ("radio", "checkbox"):
            if "checked" in attrs:
                self.fields.add(attrs["name"], attrs["value"])
        elif tag == "input" and attrs.get("name"):
            self.fields.add(attrs["name"], attrs.get("value", ""))
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]

    def handle_data(self, data):
        if self._textarea:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            name, text = self._textarea
            self.fields.add(name, text[1:] if text.startswith("\n") else text)
            self._textarea = None


def test_the_editor_renders_every_tag_prefilled_and_round_trips(app):
    project = create_project("All", ALL_TAGS, None)
    data = {"text": "Ada <b>lived</b> in London.", "image": "/media/cat.png"}
    factories.tasks(project, [{"data": data}])
    task = db.session.scalar(select(Task))
    config = parse_label_config(ALL_TAGS)
    result = result_from_form(
        config,
        MultiDict(
            [
                ("regions-entity", json.dumps([SPAN])),
                ("sentiment", "Negative"),
                ("topics", "Sport"),
                ("topics", "Art"),
                ("quality", "3"),
                ("note", "\nstarts with a blank line\nand <goes> on"),
                ("regions-box", json.dumps([BOX])),
            ]
        ),
        data,
    )
    with app.test_request_context():
        html = render_template_string(
            '{% from "macros/editor.html" import editor %}{{ editor(config, task, result) }}',
            config=config,
            task=task,
            result=result,
        )
    assert "<form" not in html
    assert '<mark class="span lbl-0" data-label="PER">Ada</mark> &lt;b&gt;lived' in html
    assert 'style="left: 1%; top: 2%; width: 3%; height: 4%;"' in html
    parser = FormFields()
    parser.feed(html)
    assert result_from_form(config, parser.fields, data) == result
    empty = FormFields()
    with app.test_request_context():
        empty.feed(
            render_template_string(
                '{% from "macros/editor.html" import editor %}{{ editor(config, task, []) }}',
                config=config,
                task=task,
            )
        )
    assert result_from_form(config, empty.fields, data) == []


def test_an_unknown_action_is_refused_with_422(client, auth, htmx, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    url = f"/projects/{project.id}/label/{ids[0]}"
    response = client.post(url, data={"action": "publish", "sentiment": "Positive"}, headers=htmx)
    assert response.status_code == 422 and "Unknown action" in response.get_data(as_text=True)
    assert count_annotations() == 0


def test_an_empty_submit_is_refused_unless_the_project_allows_it(client, auth, htmx, setup):
    project, annotator, ids = setup
    auth.login(annotator)
    url = f"/projects/{project.id}/label/{ids[0]}"
    partial = client.post(url, data={"action": "submit"}, headers=htmx)
    assert partial.status_code == 422 and partial.headers["HX-Retarget"] == "#flash"
    assert "Not saved: Choose at least one label, or Skip" in partial.get_data(as_text=True)
    full = client.post(url, data={"action": "submit"})
    html = full.get_data(as_text=True)
    assert full.status_code == 422 and "Choose at least one label, or Skip" in html
    assert f"Task {ids[0]}" in html and 'role="alert"' in html
    assert count_annotations() == 0
    project.allow_empty_annotations = True
    db.session.commit()
    assert client.post(url, data={"action": "submit"}, headers=htmx).status_code == 200
    annotation = db.session.scalar(select(Annotation))
    assert annotation.result == [] and not annotation.was_cancelled


def test_an_own_annotation_may_not_be_emptied(client, auth, htmx, two_answers):
    project, annotator, _, a, _ = two_answers
    auth.login(annotator)
    response = client.post(f"/projects/{project.id}/my-annotations/{a}", data={}, headers=htmx)
    assert response.status_code == 422
    assert "Choose at least one label, or Skip" in response.get_data(as_text=True)
    assert db.session.get(Annotation, a).result == factories.choice("Positive")


REQUIRED_SENTIMENT = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" required="true">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Rating name="stars" toName="text" required="true"/>
  <TextArea name="note" toName="text"/>
</View>"""


@pytest.fixture
def required(app):
    annotator = factories.user("annotator", email="req@x.com")
    project = create_project("Required", REQUIRED_SENTIMENT, None, allow_empty_annotations=True)
    add_member(project.id, annotator)
    factories.text_tasks(project, "first", "second")
    ids = db.session.scalars(select(Task.id).order_by(Task.id)).all()
    return project, annotator, ids


def test_a_required_control_must_be_answered_even_where_empty_is_allowed(client, auth, required):
    project, annotator, ids = required
    auth.login(annotator)
    url = f"/projects/{project.id}/label/{ids[0]}"
    response = client.post(url, data={"note": "kept <as typed>", "stars": "2"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Not saved: sentiment is required" in html
    assert "\nkept &lt;as typed&gt;</textarea>" in html  # the user's input is shown again
    assert 'value="2" id="stars-2" checked' in html
    assert count_annotations() == 0
    both = client.post(url, data={}).get_data(as_text=True)
    assert "sentiment is required; stars is required" in both  # empty is allowed here
    ok = client.post(url, data={"sentiment": "Negative", "stars": "4"})
    assert ok.status_code == 303 and count_annotations() == 1
    skip = client.post(f"/projects/{project.id}/label/{ids[1]}", data={"action": "skip"})
    assert skip.status_code == 303 and count_annotations() == 2  # a skip answers nothing


def test_the_editor_marks_required_controls_and_skip_skips_validation(client, auth, required):
    project, annotator, _ = required
    auth.login(annotator)
    html = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert 'name="sentiment" value="Positive" data-key="1" required>' in html
    assert 'name="stars" value="5" id="stars-5" required>' in html
    assert "no rating" not in html  # a required rating cannot be cleared
    assert '<textarea name="note" rows="3">' in html  # not required
    assert 'sentiment <small class="muted">(required)</small>' in html
    assert 'value="skip" class="secondary" formnovalidate>Skip' in html


def count_writes(statements: list[str]) -> int:
    return sum(
        1
        for sql in statements
        if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
    )


def test_a_reload_hands_back_the_same_task_and_writes_nothing(client, auth, setup, statements):
    project, annotator, ids = setup
    auth.login(annotator)
    statements.clear()
    first = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert f"Task {ids[0]}" in first and count_writes(statements) == 1  # the claim
    until = db.session.get(TaskLease, ids[0]).until
    statements.clear()
    again = client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert f"Task {ids[0]}" in again
    assert count_writes(statements) == 0  # the fresh lease is kept, not rewritten
    db.session.expire_all()
    assert db.session.get(TaskLease, ids[0]).until == until


@pytest.mark.parametrize(
    "header",
    [("Sec-Purpose", "prefetch"), ("Sec-Purpose", "prefetch;prerender"), ("Purpose", "prefetch")],
)
def test_a_prefetch_takes_no_lease(client, auth, setup, header):
    project, annotator, ids = setup
    auth.login(annotator)
    response = client.get(f"/projects/{project.id}/label", headers=[header])
    assert response.status_code == 503 and response.headers["Cache-Control"] == "no-store"
    assert db.session.scalar(select(func.count()).select_from(TaskLease)) == 0
    assert f"Task {ids[0]}" in client.get(f"/projects/{project.id}/label").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(TaskLease)) == 1
