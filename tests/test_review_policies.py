"""The project's review policies hold on every path that records a verdict: the review form,
the task page and the API, not only in what the stream hands out."""

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Review, ReviewerAssignment
from reviewapp.services.review_stream import record_verdict
from tests import factories


def api(user):
    return {"Authorization": f"Token {factories.token(user)}"}


@pytest.fixture
def assigned_only(app):
    """Two tasks of one annotation each; the reviewer is assigned the first only."""
    reviewer = factories.user("reviewer")
    project = factories.project(members=(reviewer,), review_only_assigned=True)
    factories.tasks(
        project,
        [{"data": {"text": t}, "annotations": [factories.annotation("amy@x.com")]} for t in "ab"],
    )
    mine, other = db.session.scalars(select(Annotation).order_by(Annotation.id)).all()
    db.session.add(ReviewerAssignment(task_id=mine.task_id, user_id=reviewer.id))
    db.session.commit()
    return project, reviewer, mine.id, other.id


def reviews() -> int:
    return db.session.scalar(select(func.count(Review.id)))


def test_the_service_refuses_a_task_not_assigned_to_the_reviewer(assigned_only):
    project, reviewer, mine, other = assigned_only
    with pytest.raises(PermissionError, match="not assigned to you"):
        record_verdict(other, reviewer, "accepted", project=project)
    db.session.rollback()
    record_verdict(mine, reviewer, "accepted", project=project)
    db.session.commit()
    assert reviews() == 1


def test_the_api_refuses_a_task_not_assigned_to_the_reviewer(client, assigned_only):
    project, reviewer, mine, other = assigned_only
    refused = client.post(
        f"/api/annotations/{other}/review", json={"verdict": "accepted"}, headers=api(reviewer)
    )
    assert refused.status_code == 403
    assert "not assigned to you" in refused.json["error"]
    assert db.session.get(Annotation, other).review_status == "pending"
    assert reviews() == 0
    ok = client.post(
        f"/api/annotations/{mine}/review", json={"verdict": "accepted"}, headers=api(reviewer)
    )
    assert ok.status_code == 201


def test_the_review_form_and_the_task_page_refuse_it_too(client, auth, assigned_only, htmx):
    project, reviewer, _, other = assigned_only
    auth.login(reviewer)
    form = client.post(
        f"/projects/{project.id}/review/{other}", data={"verdict": "accepted"}, headers=htmx
    )
    assert form.status_code == 403
    assert "not assigned to you" in form.get_data(as_text=True)
    page = client.post(
        f"/projects/{project.id}/annotations/{other}/verdict", data={"verdict": "rejected"}
    )
    assert page.status_code == 403
    assert db.session.get(Annotation, other).review_status == "pending"
    assert reviews() == 0


def test_no_self_review_through_the_api_unless_the_project_allows_it(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    factories.tasks(
        project, [{"data": {"text": "a"}, "annotations": [factories.annotation(manager.email)]}]
    )
    own = db.session.scalar(select(Annotation.id))
    url = f"/api/annotations/{own}/review"
    refused = client.post(url, json={"verdict": "accepted"}, headers=api(manager))
    assert refused.status_code == 403
    assert "your own annotations" in refused.json["error"]
    assert db.session.get(Annotation, own).review_status == "pending"
    project.allow_self_review = True
    db.session.commit()
    assert client.post(url, json={"verdict": "accepted"}, headers=api(manager)).status_code == 201
    assert db.session.get(Annotation, own).review_status == "accepted"


def test_a_verdict_on_another_projects_annotation_is_404_on_the_form(client, auth, app):
    reviewer = factories.user("reviewer")
    mine = factories.project(members=(reviewer,))
    theirs = factories.project(title="Theirs", members=(reviewer,))
    factories.tasks(
        theirs, [{"data": {"text": "x"}, "annotations": [factories.annotation("a@x.com")]}]
    )
    foreign = db.session.scalar(select(Annotation.id))
    auth.login(reviewer)
    response = client.post(f"/projects/{mine.id}/review/{foreign}", data={"verdict": "accepted"})
    assert response.status_code == 404
    assert db.session.get(Annotation, foreign).review_status == "pending"
