"""The OpenAPI document: it names every API route and nothing else, its schemas are valid
JSON Schema, the answers that list tasks (and the others exercised here) match it, and
/api/docs shows it as a page."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from reviewapp.api.openapi import operations
from reviewapp.extensions import db
from reviewapp.models import Task, User
from tests import factories

BASE = "urn:reviewapp-openapi"


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def headers(user: User) -> dict:
    return {"Authorization": f"Token {factories.token(user)}"}


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="") for p in parts)


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check(document: dict, path: str, method: str, response) -> dict:
    """response's JSON against the schema the document gives for its path, method and status
    (a status the document does not list fails too); returns the JSON."""
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], (path, method, status, response.json)
    answer = _resolve(document, operation["responses"][status])
    assert "application/json" in answer["content"], (path, method, status)
    where = operation["responses"][status].get("$ref") or _pointer(
        "paths", path, method, "responses", status
    )
    schema = {"$ref": f"{BASE}{where}/content/application~1json/schema"}
    registry = Registry().with_resource(
        BASE, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    Draft202012Validator(schema, registry=registry).validate(response.json)
    return response.json


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _route_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_every_api_route_is_in_the_document_and_nothing_else(app, document):
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes[(_route_path(rule.rule), method.lower())] = rule.endpoint[4:]
    described = {(path, method): op["operationId"] for path, method, op in operations(document)}
    assert described == routes
    for path, method, operation in operations(document):
        assert operation["summary"] and operation["tags"], (path, method)
        if operation.get("security") != []:
            assert "401" in operation["responses"], (path, method)
    # What a fuzzer must leave out so that it cannot lock itself out.
    assert {
        op["operationId"] for _, _, op in operations(document) if op.get("x-ends-own-credentials")
    } == {
        "delete_project_api",
        "update_user_api",
        "reset_password_api",
        "create_token_api",
        "change_own_password_api",
    }


def test_the_document_is_openapi_31_with_valid_schemas_and_refs(document):
    assert document["openapi"] == "3.1.0"
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    refs = list(_refs(document))
    assert len(refs) > 50
    for ref in refs:
        target = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, ref
            target = target[part]
    for path, method, operation in operations(document):
        for status in operation["responses"]:
            assert re.fullmatch(r"[1-5]\d\d", status), (path, method, status)
        names = set(re.findall(r"{(\w+)}", path))
        path_params = {
            p["name"]
            for p in [
                *document["paths"][path].get("parameters", []),
                *operation.get("parameters", []),
            ]
            if "$ref" not in p and p["in"] == "path"
        }
        assert path_params == names, (path, method)


def _reviewed_project(client):
    """A text project: task 1 annotated Positive by two annotators (one answer accepted by the
    reviewer through the API, the other starred as ground truth), with a prediction; task 2
    annotated Negative once; task 3 not annotated."""
    manager, reviewer = factories.user("manager"), factories.user("reviewer")
    ann1, ann2 = factories.user("annotator"), factories.user("annotator")
    project = factories.project(members=(manager, reviewer, ann1, ann2))
    prediction = {"model_version": "m1", "score": 0.8, "result": factories.choice("Positive")}
    factories.tasks(
        project,
        [
            {
                "data": {"text": "good"},
                "annotations": [factories.annotation(ann1), factories.annotation(ann2)],
                "predictions": [prediction],
            },
            {"data": {"text": "bad"}, "annotations": [factories.annotation(ann1, "Negative")]},
            {"data": {"text": "none"}},
        ],
    )
    first = db.session.scalars(
        select(Task).where(Task.project_id == project.id).order_by(Task.id)
    ).first()
    one, two = first.annotations
    verdict = client.post(
        f"/api/annotations/{one.id}/review", json={"verdict": "accepted"}, headers=headers(reviewer)
    )
    assert verdict.status_code == 201, verdict.json
    star = client.put(f"/api/annotations/{two.id}/ground_truth", headers=headers(manager))
    assert star.status_code == 200
    return project, first, manager, reviewer, ann1


def test_every_task_listing_matches_the_document(client, document):
    project, first, manager, reviewer, ann1 = _reviewed_project(client)
    task_fields = set(document["components"]["schemas"]["Task"]["properties"])
    path = "/api/projects/{project_id}/tasks"
    queries = {
        "": 3,
        "ordering=-agreement": 3,
        "review_status=accepted": 1,
        "ground_truth=true": 1,
        f"annotator={ann1.id}": 2,
        "q=bad": 1,
        "prediction_score_min=0.5": 1,
        "has_annotations=false": 1,
        "page=9&page_size=2": 0,
    }
    for query, count in queries.items():
        response = client.get(f"/api/projects/{project.id}/tasks?{query}", headers=headers(manager))
        answer = check(document, path, "get", response)
        assert answer["count"] == (count if query != "page=9&page_size=2" else 3), query
        for task in answer["tasks"]:
            # An undocumented field fails too: the schema is open for clients, not for us.
            assert set(task) == task_fields, query
    listed = client.get(f"/api/projects/{project.id}/tasks", headers=headers(reviewer)).json
    row = next(t for t in listed["tasks"] if t["id"] == first.id)
    assert row["reviewers"] == [{"id": reviewer.id, "email": reviewer.email}]
    assert row["review_status"] == {"accepted": 1, "fixed": 0, "rejected": 0, "pending": 1}
    assert (row["ground_truth"], row["prediction_score"], row["agreement"]) == (True, 0.8, 1.0)
    # The refusals answer the documented error shape.
    check(document, path, "get", client.get(f"/api/projects/{project.id}/tasks?page=x"))
    bad = client.get(f"/api/projects/{project.id}/tasks?page=x", headers=headers(manager))
    assert check(document, path, "get", bad)["error"]
    refused = client.get(f"/api/projects/{project.id}/tasks", headers=headers(ann1))
    assert refused.status_code == 403 and check(document, path, "get", refused)["error"]


def test_the_resource_answers_match_the_document(client, document):
    project, first, manager, reviewer, ann1 = _reviewed_project(client)
    admin = factories.user("admin")
    a, m = headers(admin), headers(manager)
    p = project.id
    calls = [
        ("/api/me", "get", client.get("/api/me", headers=m)),
        ("/api/projects", "get", client.get("/api/projects", headers=m)),
        ("/api/projects/{project_id}", "get", client.get(f"/api/projects/{p}", headers=m)),
        (
            "/api/projects/{project_id}",
            "patch",
            client.patch(f"/api/projects/{p}", json={"iou_threshold": 0.6}, headers=m),
        ),
        (
            "/api/projects/{project_id}",
            "patch",
            client.patch(f"/api/projects/{p}", json={"overlap": 0}, headers=m),
        ),
        (
            "/api/projects/{project_id}/members",
            "get",
            client.get(f"/api/projects/{p}/members", headers=m),
        ),
        (
            "/api/projects/{project_id}/members",
            "post",
            client.post(f"/api/projects/{p}/members", json={"user_id": admin.id}, headers=m),
        ),
        (
            "/api/projects/{project_id}/members/{user_id}",
            "delete",
            client.delete(f"/api/projects/{p}/members/{admin.id}", headers=m),
        ),
        ("/api/users", "get", client.get("/api/users?page_size=2", headers=a)),
        (
            "/api/users",
            "post",
            client.post(
                "/api/users",
                json={"email": "new@example.com", "password": factories.PASSWORD},
                headers=a,
            ),
        ),
        ("/api/users", "get", client.get("/api/users", headers=m)),
        (
            "/api/users/{user_id}",
            "patch",
            client.patch(f"/api/users/{ann1.id}", json={"role": "reviewer"}, headers=a),
        ),
        (
            "/api/users/{user_id}/password",
            "post",
            client.post(
                f"/api/users/{ann1.id}/password", json={"password": "another long one"}, headers=a
            ),
        ),
        (
            "/api/users/{user_id}/token",
            "post",
            client.post(f"/api/users/{ann1.id}/token", headers=a),
        ),
        ("/api/tasks/{task_id}", "get", client.get(f"/api/tasks/{first.id}", headers=m)),
        (
            "/api/projects/{project_id}/views",
            "post",
            client.post(
                f"/api/projects/{p}/views",
                json={"name": "Accepted", "filters": {"review_status": "accepted"}},
                headers=m,
            ),
        ),
        (
            "/api/projects/{project_id}/views",
            "get",
            client.get(f"/api/projects/{p}/views", headers=m),
        ),
        (
            "/api/projects/{project_id}/metrics",
            "get",
            client.get(f"/api/projects/{p}/metrics", headers=m),
        ),
    ]
    for path, method, response in calls:
        check(document, path, method, response)
    statuses = [response.status_code for *_, response in calls]
    assert statuses == [200] * 4 + [422, 200, 201, 200, 200, 201, 403, 200, 200, 201] + [
        200,
        201,
        200,
        200,
    ]
    assert calls[3][2].json["rescore_job"]["status"] == "done"
    task = calls[14][2].json
    assert [a["ground_truth"] for a in task["annotations"]] == [False, True]


def test_docs_page_shows_every_operation_without_inline_script(client, document):
    response = client.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for path, method, operation in operations(document):
        assert f'id="op-{operation["operationId"]}"' in page
        assert f"<code>{method.upper()} {path}</code>" in page
    # The CSP allows scripts from files only: no inline script, no event attributes.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=|hx-on", page)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    # Parameters and body fields are listed with their types.
    assert "<code>review_status</code>" in page and "<code>confirm</code>" in page
    # The fields of combined schemas too (PATCH answers the settings with its rescore job).
    assert "<code>rescore_job</code>" in page and "<code>reject_actions</code>" in page
