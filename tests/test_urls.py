"""safe_next: `next=` only ever leads to a path on this site, on every form that takes it."""

from urllib.parse import quote

import pytest
from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Annotation
from reviewapp.urls import safe_next
from tests import factories

ELSEWHERE = [
    "//evil.example",
    "/\\evil",
    "\\\\evil",
    "https://evil.example/x",
    "javascript:alert(1)",
    "/\t/evil.example",  # browsers drop the tab: //evil.example
    "",
    None,
]


@pytest.mark.parametrize("value", ELSEWHERE)
def test_elsewhere_is_refused(value):
    assert safe_next(value) is None


def test_a_path_with_its_query_is_kept():
    assert safe_next("/tasks?x=1") == "/tasks?x=1"


@pytest.mark.parametrize("value", [v for v in ELSEWHERE if v])
def test_log_in_refuses_elsewhere(client, value):
    user = factories.user("manager")
    data = {"email": user.email, "password": factories.PASSWORD}
    response = client.post(f"/login?next={quote(value)}", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_log_in_keeps_a_local_next(client):
    user = factories.user("manager")
    data = {"email": user.email, "password": factories.PASSWORD}
    response = client.post(f"/login?next={quote('/tasks?x=1')}", data=data)
    assert response.headers["Location"] == "/tasks?x=1"


@pytest.fixture
def starred(app, client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    factories.tasks(
        project, [{"data": {"text": "x"}, "annotations": [factories.annotation("a@x.com")]}]
    )
    annotation = db.session.scalar(select(Annotation))
    return f"/projects/{project.id}/annotations/{annotation.id}/ground-truth", annotation


@pytest.mark.parametrize("value", [v for v in ELSEWHERE if v])
def test_the_ground_truth_star_refuses_elsewhere(client, starred, value):
    url, annotation = starred
    response = client.post(url, data={"next": value})
    task_page = f"/projects/{annotation.project_id}/tasks/{annotation.task_id}"
    assert response.status_code == 302 and response.headers["Location"] == task_page


def test_the_ground_truth_star_keeps_a_local_next(client, starred):
    url, _ = starred
    response = client.post(url, data={"next": "/tasks?x=1"})
    assert response.headers["Location"] == "/tasks?x=1"
