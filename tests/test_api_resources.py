"""The resource endpoints: what each answers, what a user then sees on the pages, who is
refused, bad bodies and pagination."""

from __future__ import annotations

from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, Membership, Project, Task, User
from reviewapp.services.derived.task_columns import refresh_tasks
from reviewapp.services.users import new_api_token
from tests import factories


def headers(user: User) -> dict:
    return {"Authorization": f"Token {factories.token(user)}"}


def team(**settings):
    """A text project with a manager, a reviewer and two annotators (all members), and three
    tasks: the first annotated Positive by both annotators, the others not annotated."""
    manager = factories.user("manager")
    reviewer = factories.user("reviewer")
    ann1, ann2 = factories.user("annotator"), factories.user("annotator")
    project = factories.project(members=(manager, reviewer, ann1, ann2), **settings)
    factories.tasks(
        project,
        [
            {
                "data": {"text": "a"},
                "annotations": [factories.annotation(ann1), factories.annotation(ann2)],
            },
            {"data": {"text": "b"}},
            {"data": {"text": "c"}},
        ],
    )
    tasks = list(
        db.session.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.id))
    )
    return project, tasks, manager, reviewer, ann1, ann2


def login(client, user: User) -> None:
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302


# --- account and projects --------------------------------------------------------------


def test_me_answers_the_tokens_user_and_needs_a_token(client, app):
    manager = factories.user("manager", name="Mia")
    response = client.get("/api/me", headers=headers(manager))
    assert response.status_code == 200
    assert response.json["email"] == manager.email
    assert (response.json["role"], response.json["name"], response.json["active"]) == (
        "manager",
        "Mia",
        True,
    )
    assert client.get("/api/me").status_code == 401
    assert "Token" in client.get("/api/me").json["error"]


def test_projects_lists_what_the_user_may_see_paginated(client, app):
    project, tasks, manager, reviewer, ann1, ann2 = team()
    other = factories.project(title="Other")
    factories.project(title="Third")
    admin = factories.user("admin")

    page1 = client.get("/api/projects?page_size=2", headers=headers(admin)).json
    assert (page1["count"], page1["page"], page1["page_size"]) == (3, 1, 2)
    assert [p["title"] for p in page1["projects"]] == ["Third", "Other"]  # newest first
    page2 = client.get("/api/projects?page_size=2&page=2", headers=headers(admin)).json
    assert [p["id"] for p in page2["projects"]] == [project.id]
    # Task 1 has two annotations (both pending); tasks 2 and 3 none.
    assert page2["projects"][0]["progress"] == {
        "tasks": 3,
        "annotated_tasks": 1,
        "annotations": 2,
        "reviewed": 0,
    }

    mine = client.get("/api/projects", headers=headers(ann1)).json
    assert (mine["count"], [p["id"] for p in mine["projects"]]) == (1, [project.id])
    assert other.id not in [p["id"] for p in mine["projects"]]
    bad = client.get("/api/projects?page=two", headers=headers(admin))
    assert bad.status_code == 400 and "page" in bad.json["error"]


def test_patch_project_changes_what_the_settings_page_shows(client, app):
    project, tasks, manager, *_ = team()
    h = headers(manager)
    response = client.patch(
        f"/api/projects/{project.id}",
        json={
            "title": "Renamed",
            "overlap": 3,
            "reject_actions": ["remove", "return"],
            "default_reject_action": "return",
            "allow_self_review": True,
        },
        headers=h,
    )
    assert response.status_code == 200, response.json
    assert (response.json["title"], response.json["overlap"]) == ("Renamed", 3)
    assert response.json["reject_actions"] == ["remove", "return"]
    assert response.json["default_reject_action"] == "return" and response.json["allow_self_review"]
    assert "rescore_job" not in response.json
    # A new overlap changes which tasks are fully annotated: their states are recounted.
    assert response.json["recount_job"]["status"] == "done"
    login(client, manager)
    page = client.get(f"/projects/{project.id}/settings").get_data(as_text=True)
    assert 'value="Renamed"' in page and 'value="3"' in page


def test_patch_project_refuses_bad_values_with_a_message(client, app):
    project, tasks, manager, reviewer, ann1, _ = team()
    h = headers(manager)
    url = f"/api/projects/{project.id}"
    cases = [
        ({"overlap": "3"}, 400, "'overlap' must be a whole number"),
        ({"overlap": True}, 400, "'overlap' must be a whole number"),
        ({"titel": "x"}, 400, "Unknown settings titel"),
        ({"overlap": 0}, 422, "overlap: Number must be between 1 and 50"),
        ({"title": "  "}, 422, "title:"),
        ({"reject_actions": ["burn"]}, 422, "reject_actions:"),
        ({"reject_actions": "remove"}, 400, "'reject_actions' must be a list"),
        ({"default_reject_action": "return"}, 422, "default_reject_action:"),
        ({"review_sample_percent": 0}, 422, "review_sample_percent:"),
        ({"review_order": "alphabetical"}, 422, "review_order:"),
        ({"iou_threshold": 1.5}, 422, "iou_threshold:"),
        ({"label_config": "<View><Audio name='a' value='$a'/></View>"}, 422, "Audio"),
        # Task 1's annotations say "Positive", which this config does not offer.
        (
            {"label_config": factories.CONFIGS["text"].replace("Positive", "Good")},
            422,
            "does not fit annotation",
        ),
    ]
    for body, status, message in cases:
        response = client.patch(url, json=body, headers=h)
        assert response.status_code == status, (body, response.json)
        assert message in response.json["error"], (body, response.json)
    assert client.patch(url, data="x", headers=h).status_code == 400
    db.session.expire_all()
    assert db.session.get(Project, project.id).overlap == 1  # nothing was saved
    assert client.patch(url, json={"title": "x"}, headers=headers(ann1)).status_code == 403
    outsider = factories.user("manager")
    assert client.patch(url, json={"title": "x"}, headers=headers(outsider)).status_code == 404


def test_patch_iou_threshold_rescores_as_a_job(client, app):
    project, tasks, manager, *_ = team()
    response = client.patch(
        f"/api/projects/{project.id}", json={"iou_threshold": 0.7}, headers=headers(manager)
    )
    assert response.status_code == 200
    assert response.json["iou_threshold"] == 0.7
    assert response.json["rescore_job"]["status"] == "done"


def test_delete_project_is_for_admins_with_its_title(client, app):
    project, tasks, manager, *_ = team()
    admin = factories.user("admin")
    url = f"/api/projects/{project.id}"
    assert (
        client.delete(url, json={"confirm": "Reviews"}, headers=headers(manager)).status_code == 403
    )
    wrong = client.delete(url, json={"confirm": "reviews"}, headers=headers(admin))
    assert wrong.status_code == 400 and "confirm" in wrong.json["error"]
    assert client.delete(url, headers=headers(admin)).status_code == 400
    h = headers(admin)
    done = client.delete(url, json={"confirm": "Reviews"}, headers=h)
    assert done.status_code == 200 and "Deleted project Reviews" in done.json["message"]
    assert client.get(url, headers=h).status_code == 404
    assert db.session.scalar(select(func.count(Task.id))) == 0
    assert db.session.scalar(select(func.count(Annotation.id))) == 0


# --- members -------------------------------------------------------------------------------


def test_members_list_add_remove_as_the_members_page(client, app):
    project, tasks, manager, reviewer, ann1, ann2 = team()
    h = headers(manager)
    url = f"/api/projects/{project.id}/members"
    listed = client.get(f"{url}?page_size=3", headers=h).json
    assert listed["count"] == 4 and len(listed["members"]) == 3
    emails = sorted(u.email for u in (manager, reviewer, ann1, ann2))
    assert [m["email"] for m in listed["members"]] == emails[:3]
    assert listed["members"][0]["member_since"].endswith("Z")

    newcomer = factories.user("annotator")
    added = client.post(url, json={"user_id": newcomer.id}, headers=h)
    assert added.status_code == 201 and added.json["added"] is True
    assert added.json["member"]["email"] == newcomer.email
    again = client.post(url, json={"email": newcomer.email.upper()}, headers=h)
    assert again.status_code == 200 and again.json["added"] is False
    login(client, manager)
    assert newcomer.email in client.get(f"/projects/{project.id}/members").get_data(as_text=True)

    removed = client.delete(f"{url}/{newcomer.id}", headers=h)
    assert removed.status_code == 200 and newcomer.email in removed.json["message"]
    assert db.session.get(Membership, (project.id, newcomer.id)) is None
    assert client.delete(f"{url}/{newcomer.id}", headers=h).status_code == 404


def test_members_refusals(client, app):
    project, tasks, manager, reviewer, ann1, ann2 = team()
    h = headers(manager)
    url = f"/api/projects/{project.id}/members"
    other = factories.user("reviewer")
    cases = [
        ({}, 400, "user_id"),
        ({"user_id": "7"}, 400, "positive integer"),
        ({"user_id": 10**6}, 422, "No user with id"),
        ({"email": "nobody@example.com"}, 422, "No user with email"),
        ({"user_id": other.id, "role": "manager"}, 422, "Roles are global"),
    ]
    for body, status, message in cases:
        response = client.post(url, json=body, headers=h)
        assert response.status_code == status, (body, response.json)
        assert message in response.json["error"]
    assert (
        client.post(url, json={"user_id": other.id, "role": "reviewer"}, headers=h).status_code
        == 201
    )
    for who in (reviewer, ann1):
        assert client.get(url, headers=headers(who)).status_code == 403
        assert client.post(url, json={"user_id": other.id}, headers=headers(who)).status_code == 403
        assert client.delete(f"{url}/{ann2.id}", headers=headers(who)).status_code == 403
    assert client.get(url, headers=headers(factories.user("manager"))).status_code == 404


# --- users -----------------------------------------------------------------------------------


def test_admin_creates_users_who_can_log_in(client, app):
    admin = factories.user("admin")
    h = headers(admin)
    created = client.post(
        "/api/users",
        json={"email": "New@Example.com", "password": "long enough pw", "role": "reviewer"},
        headers=h,
    )
    assert created.status_code == 201, created.json
    assert (created.json["email"], created.json["role"]) == ("new@example.com", "reviewer")
    login_page = client.post(
        "/login", data={"email": "new@example.com", "password": "long enough pw"}
    )
    assert login_page.status_code == 302

    cases = [
        ({"email": "a@example.com", "password": "short", "role": "annotator"}, 422, "8 characters"),
        ({"email": "not-an-email", "password": "long enough pw"}, 422, "email:"),
        ({"email": "b@example.com", "password": "long enough pw", "role": "boss"}, 422, "role:"),
        ({"email": "b@example.com", "password": 12345678}, 400, "'password' must be a string"),
        ({"email": "new@example.com", "password": "long enough pw"}, 409, "already exists"),
    ]
    for body, status, message in cases:
        response = client.post("/api/users", json=body, headers=h)
        assert response.status_code == status, (body, response.json)
        assert message in response.json["error"], (body, response.json)


def test_users_list_is_paginated_and_for_admins(client, app):
    admin = factories.user("admin")
    for role in ("manager", "reviewer", "annotator"):
        factories.user(role)
    h = headers(admin)
    first = client.get("/api/users?page_size=3", headers=h).json
    rest = client.get("/api/users?page_size=3&page=2", headers=h).json
    assert first["count"] == 4 and len(first["users"]) == 3 and len(rest["users"]) == 1
    emails = [u["email"] for u in first["users"] + rest["users"]]
    assert emails == sorted(emails)
    manager = db.session.scalar(select(User).where(User.role == "manager"))
    for call in (
        lambda hh: client.get("/api/users", headers=hh),
        lambda hh: client.post("/api/users", json={}, headers=hh),
        lambda hh: client.patch(f"/api/users/{admin.id}", json={"active": False}, headers=hh),
        lambda hh: client.post(f"/api/users/{admin.id}/password", json={}, headers=hh),
        lambda hh: client.post(f"/api/users/{admin.id}/token", headers=hh),
    ):
        assert call(headers(manager)).status_code == 403


def test_admin_changes_role_and_deactivates_but_not_themselves(client, app):
    admin = factories.user("admin")
    annotator = factories.user("annotator")
    their = headers(annotator)
    h = headers(admin)
    promoted = client.patch(f"/api/users/{annotator.id}", json={"role": "reviewer"}, headers=h)
    assert promoted.status_code == 200 and promoted.json["role"] == "reviewer"
    assert client.get("/api/me", headers=their).json["role"] == "reviewer"
    off = client.patch(f"/api/users/{annotator.id}", json={"active": False}, headers=h)
    assert off.status_code == 200 and off.json["active"] is False
    assert client.get("/api/me", headers=their).status_code == 401  # their token stops

    demote = client.patch(f"/api/users/{admin.id}", json={"role": "manager"}, headers=h)
    assert demote.status_code == 422 and "admin role from yourself" in demote.json["error"]
    quit_ = client.patch(f"/api/users/{admin.id}", json={"active": False}, headers=h)
    assert quit_.status_code == 422 and "deactivate yourself" in quit_.json["error"]
    assert client.get("/api/me", headers=h).json["role"] == "admin"
    for body in ({}, {"active": "no"}, {"role": 3}, {"email": "x@example.com"}):
        assert client.patch(f"/api/users/{annotator.id}", json=body, headers=h).status_code == 400
    unknown = client.patch(f"/api/users/{annotator.id}", json={"role": "boss"}, headers=h)
    assert unknown.status_code == 422 and "Unknown role" in unknown.json["error"]
    assert client.patch("/api/users/999999", json={"active": True}, headers=h).status_code == 404


def test_admin_resets_password_and_creates_token(client, app):
    admin = factories.user("admin")
    user = factories.user("annotator")
    old = new_api_token(user)
    db.session.commit()
    h = headers(admin)
    short = client.post(f"/api/users/{user.id}/password", json={"password": "short"}, headers=h)
    assert short.status_code == 422 and "8 characters" in short.json["error"]
    assert client.post(f"/api/users/{user.id}/password", json={}, headers=h).status_code == 400
    reset = client.post(
        f"/api/users/{user.id}/password", json={"password": "brand new pw"}, headers=h
    )
    assert reset.status_code == 200 and user.email in reset.json["message"]
    assert (
        client.post("/login", data={"email": user.email, "password": "brand new pw"}).status_code
        == 302
    )

    made = client.post(f"/api/users/{user.id}/token", headers=h)
    assert made.status_code == 201 and made.json["user"]["id"] == user.id
    token = made.json["token"]
    assert client.get("/api/me", headers={"Authorization": f"Token {token}"}).json["id"] == user.id
    assert client.get("/api/me", headers={"Authorization": f"Token {old}"}).status_code == 401


# --- tasks ---------------------------------------------------------------------------------


def test_task_answers_what_its_page_shows(client, app):
    project, tasks, manager, reviewer, ann1, ann2 = team()
    ann3 = factories.user("annotator")
    task = tasks[0]
    # A third, disagreeing annotation and a prediction; ann1's is the ground truth.
    db.session.add(
        Annotation(
            task_id=task.id,
            project_id=project.id,
            completed_by_id=ann3.id,
            result=factories.choice("Negative"),
        )
    )
    db.session.commit()
    first = task.annotations[0]
    h = headers(manager)
    assert client.put(f"/api/annotations/{first.id}/ground_truth", headers=h).status_code == 200
    factories.review(first, reviewer, "accepted", comment="fine")
    first.review_status = "accepted"
    db.session.commit()
    refresh_tasks(project, [task.id])
    db.session.commit()

    answer = client.get(f"/api/tasks/{task.id}", headers=headers(reviewer)).json
    assert answer["data"] == {"text": "a"} and answer["project_id"] == project.id
    assert [a["completed_by"]["email"] for a in answer["annotations"]] == [
        ann1.email,
        ann2.email,
        ann3.email,
    ]
    assert answer["annotations"][0]["completed_by"]["id"] == ann1.id
    assert answer["annotations"][0]["review_status"] == "accepted"
    assert answer["annotations"][0]["reviews"][0]["comment"] == "fine"
    assert answer["reviews"][0]["verdict"] == "accepted"
    assert answer["ground_truth_annotation_id"] == first.id
    # Pairs: (1,2) Positive/Positive = 1, (1,3) and (2,3) Positive/Negative = 0: mean 1/3.
    assert abs(answer["agreement"]["score"] - 1 / 3) < 1e-9
    assert [p["score"] for p in answer["agreement"]["pairs"]] == [1.0, 0.0, 0.0]
    assert answer["agreement"]["pairs"][0]["receipt"]["controls"][0]["name"] == "sentiment"
    # Ground-truth accuracy: ann2 agrees with the star (1), ann3 does not (0).
    assert [a["gt_accuracy"] and a["gt_accuracy"]["score"] for a in answer["annotations"]] == [
        None,
        1.0,
        0.0,
    ]
    assert answer["annotations"][0]["result"] == factories.choice("Positive")


def test_task_refusals(client, app):
    project, tasks, manager, reviewer, ann1, ann2 = team()
    other = factories.project(title="Other")
    factories.text_tasks(other, "x")
    other_task = db.session.scalar(select(Task).where(Task.project_id == other.id))
    assert client.get(f"/api/tasks/{tasks[0].id}", headers=headers(ann1)).status_code == 403
    assert client.get(f"/api/tasks/{other_task.id}", headers=headers(reviewer)).status_code == 404
    assert client.get("/api/tasks/999999", headers=headers(reviewer)).status_code == 404
    assert client.get(f"/api/tasks/{tasks[0].id}").status_code == 401
    assert client.delete(f"/api/tasks/{tasks[0].id}", headers=headers(reviewer)).status_code == 403
    assert client.delete(f"/api/tasks/{other_task.id}", headers=headers(manager)).status_code == 404


def test_delete_task_removes_it_from_the_table(client, app):
    project, tasks, manager, *_ = team()
    h = headers(manager)
    response = client.delete(f"/api/tasks/{tasks[0].id}", headers=h)
    assert response.status_code == 200 and response.json["message"] == "Deleted 1 task."
    listed = client.get(f"/api/projects/{project.id}/tasks", headers=h).json
    assert [t["id"] for t in listed["tasks"]] == [tasks[1].id, tasks[2].id]
    assert db.session.get(Project, project.id).annotation_count == 0


# --- ground truth ------------------------------------------------------------------------------


def test_ground_truth_star_on_and_off(client, app):
    project, tasks, manager, reviewer, ann1, ann2 = team()
    first, second = tasks[0].annotations
    h = headers(manager)
    on = client.put(f"/api/annotations/{first.id}/ground_truth", headers=h)
    assert on.status_code == 200 and on.json["annotation"]["ground_truth"] is True
    login(client, manager)
    page = client.get(f"/projects/{project.id}/tasks/{tasks[0].id}").get_data(as_text=True)
    assert f"#{first.id}" in page and "★" in page
    moved = client.put(f"/api/annotations/{second.id}/ground_truth", headers=h)
    assert "the star moved from annotation #" in moved.json["message"]
    again = client.put(f"/api/annotations/{second.id}/ground_truth", headers=h)
    assert again.status_code == 200 and "already is" in again.json["message"]
    db.session.expire_all()
    assert [a.ground_truth for a in db.session.get(Task, tasks[0].id).annotations] == [False, True]
    off = client.delete(f"/api/annotations/{second.id}/ground_truth", headers=h)
    assert off.status_code == 200 and off.json["annotation"]["ground_truth"] is False
    db.session.expire_all()
    assert db.session.get(Task, tasks[0].id).has_ground_truth is False
    assert (
        client.put(
            f"/api/annotations/{first.id}/ground_truth", headers=headers(reviewer)
        ).status_code
        == 403
    )
    assert (
        client.delete(
            f"/api/annotations/{first.id}/ground_truth", headers=headers(ann1)
        ).status_code
        == 403
    )
    assert client.put("/api/annotations/999999/ground_truth", headers=h).status_code == 404


def test_a_skip_cannot_be_ground_truth(client, app):
    project, tasks, manager, *_ = team()
    skip = Annotation(
        task_id=tasks[1].id, project_id=project.id, completed_by_id=manager.id, was_cancelled=True
    )
    db.session.add(skip)
    db.session.commit()
    response = client.put(f"/api/annotations/{skip.id}/ground_truth", headers=headers(manager))
    assert response.status_code == 409 and "skip" in response.json["error"]


# --- saved views ----------------------------------------------------------------------------


def test_saved_views_appear_in_the_data_manager(client, app):
    project, tasks, manager, reviewer, ann1, _ = team()
    url = f"/api/projects/{project.id}/views"
    made = client.post(
        url,
        json={
            "name": "Unreviewed",
            "filters": {"review_status": "pending", "ordering": "-id", "annotator": [ann1.id]},
        },
        headers=headers(reviewer),
    )
    assert made.status_code == 201, made.json
    assert made.json["filters"] == {
        "ordering": "-id",
        "annotator": str(ann1.id),
        "review_status": "pending",
    }
    assert made.json["created_by"]["email"] == reviewer.email
    login(client, manager)
    assert "Unreviewed" in client.get(f"/projects/{project.id}/tasks").get_data(as_text=True)
    client.post(url, json={"name": "Mine", "filters": {}}, headers=headers(manager))
    listed = client.get(f"{url}?page_size=1", headers=headers(reviewer)).json
    assert (listed["count"], [v["name"] for v in listed["views"]]) == (2, ["Mine"])

    bad = client.post(
        url, json={"name": "x", "filters": {"ordering": "colour"}}, headers=headers(reviewer)
    )
    assert bad.status_code == 400 and "ordering" in bad.json["error"]
    unnamed = client.post(url, json={"name": " ", "filters": {}}, headers=headers(reviewer))
    assert unnamed.status_code == 422 and "name" in unnamed.json["error"]
    taken = client.post(url, json={"name": "Mine", "filters": {}}, headers=headers(reviewer))
    assert taken.status_code == 422 and "Someone else" in taken.json["error"]
    assert client.get(url, headers=headers(ann1)).status_code == 403

    mine = listed["views"][0]["id"]
    refused = client.delete(f"/api/views/{mine}", headers=headers(reviewer))
    assert refused.status_code == 403 and "someone else's" in refused.json["error"]
    own = client.delete(f"/api/views/{made.json['id']}", headers=headers(reviewer))
    assert own.status_code == 200 and "Unreviewed" in own.json["message"]
    assert client.delete(f"/api/views/{mine}", headers=headers(manager)).status_code == 200
    assert client.delete(f"/api/views/{mine}", headers=headers(manager)).status_code == 404


# --- what the fuzzer found ------------------------------------------------------------------


def test_an_id_beyond_the_database_is_404_not_a_server_error(client, app):
    project, tasks, manager, *_ = team()
    h = headers(manager)
    too_big = 2**31  # one more than an INTEGER id holds on PostgreSQL
    for url in (
        f"/api/tasks/{too_big}",
        f"/api/projects/{too_big}",
        f"/api/projects/{too_big}/members",
        f"/api/jobs/{too_big}",
        f"/api/projects/{project.id}/members/{too_big}",
    ):
        response = (
            client.get(url, headers=h) if "members/" not in url else client.delete(url, headers=h)
        )
        assert response.status_code == 404, url
        assert response.json["error"], url
    assert client.get(f"/api/tasks/{2**31 - 1}", headers=h).status_code == 404
    assert client.get(f"/api/tasks/{2**63}", headers=h).status_code == 404  # past SQLite's too
    # The Data Manager's id filters hold the same bound.
    bad = client.get(f"/api/projects/{project.id}/tasks?annotator={too_big}", headers=h)
    assert bad.status_code == 400 and "annotator" in bad.json["error"]


def test_verdict_and_review_next_refuse_bodies_of_the_wrong_kind(client, app):
    project, tasks, manager, reviewer, *_ = team()
    annotation = tasks[0].annotations[0]
    h = headers(reviewer)
    url = f"/api/annotations/{annotation.id}/review"
    for body, field in (
        ({"verdict": "accepted", "result": {}}, "'result'"),
        ({"verdict": "accepted", "result": [[None]]}, "'result'"),
        ({"verdict": "rejected", "comment": 5}, "'comment'"),
        ({"verdict": "rejected", "reason": ["x"]}, "'reason'"),
    ):
        response = client.post(url, json=body, headers=h)
        assert response.status_code == 400 and field in response.json["error"], body
    assert db.session.get(Annotation, annotation.id).review_status == "pending"
    next_url = f"/api/projects/{project.id}/review/next"
    for body in ("[1, 2]", "null", '"x"'):
        response = client.post(next_url, data=body, content_type="application/json", headers=h)
        assert response.status_code == 400 and "JSON object" in response.json["error"], body
    claimed = client.post(next_url, headers=h)  # no body: the whole project
    assert claimed.status_code == 200 and claimed.json["annotation"]["id"] == annotation.id


def test_an_export_parameter_sent_twice_is_refused(client, app):
    project, tasks, manager, *_ = team()
    response = client.post(
        f"/api/projects/{project.id}/exports?wait=abc", json={"wait": 0}, headers=headers(manager)
    )
    assert response.status_code == 400 and "wait once" in response.json["error"]
