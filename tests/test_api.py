import json

from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Project, Task, User
from tests import factories
from tests.conftest import make_app


def headers(user: User) -> dict:
    return {"Authorization": f"Token {factories.token(user)}"}


def test_token_is_required_and_checked(client, app):
    for h in ({}, {"Authorization": "Token wrong"}, {"Authorization": "Basic abc"}):
        response = client.post("/api/projects", json={"title": "x"}, headers=h)
        assert response.status_code == 401
        assert "Token" in response.json["error"]


def test_token_is_stored_hashed_and_replaced(app):
    user = factories.user("manager")
    first = factories.token(user)
    assert user.api_token_hash != first and len(user.api_token_hash) == 64
    second = factories.token(user)
    client = app.test_client()
    assert (
        client.get("/api/projects/1", headers={"Authorization": f"Token {first}"}).status_code
        == 401
    )
    assert (
        client.get("/api/projects/1", headers={"Authorization": f"Token {second}"}).status_code
        == 404
    )


def test_inactive_user_token_is_refused(client, app):
    user = factories.user("manager")
    h = headers(user)
    user.active = False
    db.session.commit()
    assert client.post("/api/projects", json={"title": "x"}, headers=h).status_code == 401


def test_create_import_export(client, app):
    manager = factories.user("manager")
    h = headers(manager)
    config = factories.CONFIGS["text"]
    created = client.post("/api/projects", json={"title": "API", "label_config": config}, headers=h)
    assert created.status_code == 201
    project_id = created.json["id"]
    assert created.json["title"] == "API"
    tasks = [
        {
            "data": {"text": "a"},
            "annotations": [factories.annotation("x@example.com")],
            "predictions": [{"result": factories.choice("Neutral"), "score": 0.5}],
        },
        {"data": {"text": "b"}},
    ]
    imported = client.post(
        f"/api/projects/{project_id}/import",
        data=json.dumps(tasks),
        content_type="application/json",
        headers=h,
    )
    assert imported.status_code == 201
    assert (
        imported.json["task_count"],
        imported.json["annotation_count"],
        imported.json["prediction_count"],
    ) == (2, 1, 1)
    exported = client.get(f"/api/projects/{project_id}/export?format=json&only=all", headers=h)
    assert exported.status_code == 200
    assert [t["data"]["text"] for t in json.loads(exported.data)] == ["a", "b"]
    csv_export = client.get(f"/api/projects/{project_id}/export?format=csv", headers=h)
    assert csv_export.get_data(as_text=True).splitlines()[0] == "id,text,x@example.com,ground_truth"


def test_create_project_errors(client, app):
    h = headers(factories.user("manager"))
    assert client.post("/api/projects", data="nope", headers=h).status_code == 400
    bad = client.post(
        "/api/projects", json={"title": "x", "label_config": "<View><Foo/></View>"}, headers=h
    )
    assert bad.status_code == 400
    assert "Foo" in bad.json["error"]
    assert db.session.scalar(select(func.count(Project.id))) == 0


def test_import_error_is_json_with_task_index(client, app):
    manager = factories.user("manager")
    project = factories.project(members=(manager,))
    body = json.dumps(
        [
            {"data": {"text": "a"}},
            {
                "data": {"text": "b"},
                "annotations": [{"completed_by": "a@b.co", "result": factories.choice("Meh")}],
            },
        ]
    )
    response = client.post(
        f"/api/projects/{project.id}/import", data=body, headers=headers(manager)
    )
    assert response.status_code == 400
    assert "Task 2" in response.json["error"] and "Meh" in response.json["error"]
    assert db.session.scalar(select(func.count(Task.id))) == 0


def test_oversized_import_is_413(database_url, tmp_path, app):
    small = make_app(database_url, tmp_path, MAX_CONTENT_LENGTH=100)
    with small.app_context():
        manager = factories.user("manager")
        project = factories.project(members=(manager,))
        response = small.test_client().post(
            f"/api/projects/{project.id}/import",
            data=b"[" + b" " * 500 + b"]",
            headers=headers(manager),
        )
    assert response.status_code == 413
    assert "too large" in response.json["error"]


def test_permissions(client, app):
    outsider = factories.user("manager")
    annotator = factories.user("annotator")
    project = factories.project(members=(annotator,))
    for url in (f"/api/projects/{project.id}", f"/api/projects/{project.id}/export"):
        assert client.get(url, headers=headers(outsider)).status_code == 404
    assert (
        client.post(
            f"/api/projects/{project.id}/import", data="[]", headers=headers(outsider)
        ).status_code
        == 404
    )
    h = headers(annotator)
    assert (
        client.post(f"/api/projects/{project.id}/import", data="[]", headers=h).status_code == 403
    )
    assert client.get(f"/api/projects/{project.id}/export", headers=h).status_code == 403
    assert (
        client.post("/api/projects", json={"title": "x", "label_config": ""}, headers=h).status_code
        == 403
    )
    assert client.get("/api/projects/999", headers=h).status_code == 404


def test_api_ignores_session_cookie(client, auth):
    auth.login("admin")
    assert client.post("/api/projects", json={"title": "x"}).status_code == 401
