import io
import json
import re

from sqlalchemy import event, func, select

from reviewapp.extensions import db
from reviewapp.labeling.presets import NAMED_ENTITIES
from reviewapp.models import Annotation, Membership, Project, Task
from tests import factories

SETTINGS = {
    "overlap": "3",
    "reject_actions": ["return", "remove"],
    "default_reject_action": "return",
    "require_comment_on_reject": "y",
    "review_only_assigned": "y",
    "low_agreement_threshold": "0.4",
    "iou_threshold": "0.6",
    "reject_reasons": "Wrong label\nMissed entity",
}


def test_manager_creates_project_from_preset(client, auth):
    manager = auth.login("manager")
    response = client.post(
        "/projects/new",
        data={
            "title": "Sentiment",
            "preset": "text_classification",
            "label_config": "",
            **SETTINGS,
        },
    )
    assert response.status_code == 302
    project = db.session.scalar(select(Project).where(Project.title == "Sentiment"))
    assert '<Choices name="sentiment"' in project.label_config
    assert project.overlap == 3 and project.reject_actions == ["remove", "return"]
    assert project.default_reject_action == "return"
    assert project.review_only_assigned and not project.allow_self_review
    assert project.low_agreement_threshold == 0.4 and project.iou_threshold == 0.6
    assert db.session.get(Membership, (project.id, manager.id)) is not None
    assert "Sentiment" in client.get("/").get_data(as_text=True)


def test_pasted_config_wins_over_preset(client, auth):
    auth.login("manager")
    client.post(
        "/projects/new",
        data={
            "title": "NER",
            "preset": "text_classification",
            "label_config": NAMED_ENTITIES,
            **SETTINGS,
        },
    )
    project = db.session.scalar(select(Project).where(Project.title == "NER"))
    assert project.label_config == NAMED_ENTITIES


def test_malformed_and_unsupported_configs_are_refused_precisely(client, auth):
    auth.login("manager")
    broken = client.post(
        "/projects/new",
        data={
            "title": "X",
            "preset": "text_classification",
            "label_config": "<View><Text",
            **SETTINGS,
        },
    )
    assert broken.status_code == 422
    assert "line 1" in broken.get_data(as_text=True)
    polygon = (
        "<View><Image name='i' value='$image'/>"
        "<BrushLabels name='p' toName='i'><Label value='a'/></BrushLabels></View>"
    )
    unsupported = client.post(
        "/projects/new",
        data={"title": "X", "preset": "text_classification", "label_config": polygon, **SETTINGS},
    )
    body = unsupported.get_data(as_text=True)
    assert unsupported.status_code == 422
    assert "BrushLabels" in body and "KeyPointLabels" in body
    assert db.session.scalar(select(func.count(Project.id))) == 0


def test_settings_save_and_validate(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    data = {"title": "Renamed", "label_config": project.label_config, **SETTINGS}
    assert client.post(f"/projects/{project.id}/settings", data=data).status_code == 302
    db.session.refresh(project)
    assert project.title == "Renamed" and project.default_reject_action == "return"
    bad = client.post(
        f"/projects/{project.id}/settings", data={**data, "low_agreement_threshold": "1.5"}
    )
    assert bad.status_code == 422
    db.session.refresh(project)
    assert project.low_agreement_threshold == 0.4


def test_the_allow_empty_annotations_setting(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    url = f"/projects/{project.id}/settings"
    page = client.get(url).get_data(as_text=True)
    assert 'name="allow_empty_annotations"' in page
    assert "Allow empty annotations (submit with no label)" in page
    data = {"title": project.title, "label_config": project.label_config, **SETTINGS}
    assert client.post(url, data={**data, "allow_empty_annotations": "y"}).status_code == 302
    db.session.refresh(project)
    assert project.allow_empty_annotations
    assert 'checked id="allow_empty_annotations"' in client.get(url).get_data(as_text=True)
    assert client.post(url, data=data).status_code == 302  # unticked: off again
    db.session.refresh(project)
    assert not project.allow_empty_annotations


def test_config_change_must_fit_existing_annotations(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    factories.tasks(
        project,
        [{"data": {"text": "ok"}, "annotations": [factories.annotation(manager, "Neutral")]}],
    )
    without_neutral = project.label_config.replace('<Choice value="Neutral"/>', "")
    response = client.post(
        f"/projects/{project.id}/settings",
        data={"title": project.title, "label_config": without_neutral, **SETTINGS},
    )
    assert response.status_code == 422
    assert "Neutral" in response.get_data(as_text=True)
    db.session.refresh(project)
    assert "Neutral" in project.label_config


def test_annotator_and_reviewer_cannot_create_or_configure(client, auth):
    for role in ("annotator", "reviewer"):
        user = auth.login(role)
        project = factories.project(members=(user,))
        assert client.get("/projects/new").status_code == 403
        assert client.get(f"/projects/{project.id}/settings").status_code == 403
        assert (
            client.post(f"/projects/{project.id}/settings", data={"title": "x"}).status_code == 403
        )
        assert client.get(f"/projects/{project.id}/import").status_code == 403
        assert client.get(f"/projects/{project.id}/export").status_code == 403
        assert client.get(f"/projects/{project.id}/members").status_code == 403
        assert client.get(f"/projects/{project.id}").status_code == 200
        auth.logout()


def test_non_member_gets_404_for_every_project_page(client, auth):
    project = factories.project()
    auth.login("manager")
    for suffix in ("", "/settings", "/import", "/export", "/members"):
        assert client.get(f"/projects/{project.id}{suffix}").status_code == 404
    assert (
        client.post(f"/projects/{project.id}/members", data={"email": "a@b.co"}).status_code == 404
    )
    assert "Reviews" not in client.get("/").get_data(as_text=True)


def test_admin_sees_every_project(client, auth):
    project = factories.project(title="Hidden from others")
    auth.login("admin")
    assert "Hidden from others" in client.get("/").get_data(as_text=True)
    assert client.get(f"/projects/{project.id}").status_code == 200


def _progress_line(html: str, project_id: int) -> str:
    item = re.search(rf'<li id="project-{project_id}">.*?</li>', html, re.S).group(0)
    line = re.search(
        r'<p class="progress-line">(.*?)<progress|<p class="progress-line">(.*?)</p>', item, re.S
    )
    return " ".join(re.sub(r"<[^>]+>", " ", line.group(1) or line.group(2)).split())


def test_the_project_list_shows_task_counts_and_progress_in_one_query(client, auth, app):
    """By hand, "Sentiment": 4 tasks; task 1 has amy's and bob's annotations, task 2 amy's,
    task 3 only a skipped one, task 4 none: 2 tasks annotated, 3 non-skipped annotations.
    One rejected and one accepted: 2 of 3 reviewed. "Fresh": 1 task and nothing else."""
    admin = auth.login("admin")
    sentiment = factories.project(members=(admin,), title="Sentiment")
    factories.tasks(
        sentiment,
        [
            {
                "data": {"text": "a"},
                "annotations": [
                    factories.annotation("amy@x.com"),
                    factories.annotation("bob@x.com"),
                ],
            },
            {"data": {"text": "b"}, "annotations": [factories.annotation("amy@x.com")]},
            {
                "data": {"text": "c"},
                "annotations": [{"completed_by": "amy@x.com", "result": [], "was_cancelled": True}],
            },
            {"data": {"text": "d"}},
        ],
    )
    fresh = factories.project(title="Fresh")
    factories.text_tasks(fresh, "only one")
    first, second = db.session.scalars(
        select(Annotation.id).where(Annotation.was_cancelled.is_(False)).order_by(Annotation.id)
    ).all()[:2]
    verdicts = [
        (first, {"verdict": "rejected", "comment": "no"}),
        (second, {"verdict": "accepted"}),
    ]
    for annotation_id, data in verdicts:
        url = f"/projects/{sentiment.id}/review/{annotation_id}"
        assert client.post(url, data=data).status_code == 302

    statements = []
    record = lambda conn, cursor, sql, *args: statements.append(sql)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", record)
    html = client.get("/").get_data(as_text=True)
    event.remove(db.engine, "before_cursor_execute", record)

    assert (
        _progress_line(html, sentiment.id) == "4 tasks · 2 annotated · 2 of 3 annotations reviewed"
    )
    assert _progress_line(html, fresh.id) == "1 task · 0 annotated · 0 of 0 annotations reviewed"
    assert 'value="2"' in html and 'max="4"' in html
    reading_tasks = [sql for sql in statements if re.search(r"\btask\b", sql)]
    assert len(reading_tasks) == 1, reading_tasks


def test_add_and_remove_members(client, auth):
    auth.login("admin")
    project = factories.project()
    annotator = factories.user("annotator")
    response = client.post(f"/projects/{project.id}/members", data={"email": annotator.email})
    assert response.status_code == 302
    assert db.session.get(Membership, (project.id, annotator.id)) is not None
    unknown = client.post(f"/projects/{project.id}/members", data={"email": "nobody@example.com"})
    assert unknown.status_code == 422 and "No user with email" in unknown.get_data(as_text=True)
    client.post(f"/projects/{project.id}/members/{annotator.id}/remove")
    assert db.session.get(Membership, (project.id, annotator.id)) is None


def test_member_annotator_sees_project_after_being_added(client, auth):
    annotator = auth.login("annotator")
    project = factories.project(title="Labelling")
    assert client.get(f"/projects/{project.id}").status_code == 404
    factories.project  # noqa: B018
    from reviewapp.services.users import add_member

    add_member(project.id, annotator)
    db.session.commit()
    assert client.get(f"/projects/{project.id}").status_code == 200


def upload(client, project, name, content: bytes):
    return client.post(
        f"/projects/{project.id}/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_import_upload_json_then_counts_on_overview(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    tasks = [
        {"data": {"text": "great"}, "annotations": [factories.annotation("a@example.com")]},
        {
            "data": {"text": "bad"},
            "predictions": [{"result": factories.choice("Negative"), "score": 0.9}],
        },
    ]
    response = upload(client, project, "tasks.json", json.dumps(tasks).encode())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 2 tasks, 1 annotations" in page
    assert 'data-count="tasks">2<' in page


def test_import_upload_csv(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    response = upload(client, project, "tasks.csv", b"text,source\nfine,web\nawful,shop\n")
    assert response.status_code == 302
    data = db.session.scalars(
        select(Task.data).where(Task.project_id == project.id).order_by(Task.id)
    ).all()
    assert data == [{"text": "fine", "source": "web"}, {"text": "awful", "source": "shop"}]


def test_import_upload_bad_file_names_task_and_imports_nothing(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    tasks = [
        {"data": {"text": "fine"}},
        {
            "data": {"text": "bad"},
            "annotations": [factories.annotation("a@example.com", "Furious")],
        },
    ]
    response = upload(client, project, "tasks.json", json.dumps(tasks).encode())
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Task 2" in body and "Furious" in body and "Nothing was imported" in body
    assert db.session.scalar(select(func.count(Task.id))) == 0


def test_import_upload_too_large_is_413(database_url, tmp_path, app):
    from tests.conftest import make_app

    small = make_app(database_url, tmp_path, MAX_CONTENT_LENGTH=1000)
    client = small.test_client()
    with small.app_context():
        manager = factories.user("manager")
        project = factories.project(members=(manager,))
        client.post("/login", data={"email": manager.email, "password": factories.PASSWORD})
        response = upload(client, project, "big.json", b"[" + b" " * 5000 + b"]")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_export_download_json_and_csv(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,))
    factories.tasks(
        project,
        [{"data": {"text": "great"}, "annotations": [factories.annotation("a@example.com")]}],
    )
    response = client.get(f"/projects/{project.id}/export?download=1&format=json&only=all")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    exported = json.loads(response.data)
    assert exported[0]["data"] == {"text": "great"}
    assert exported[0]["annotations"][0]["completed_by"]["email"] == "a@example.com"
    csv_response = client.get(f"/projects/{project.id}/export?download=1&format=csv&only=all")
    assert csv_response.get_data(as_text=True).splitlines() == [
        "id,text,a@example.com,ground_truth",
        f"{exported[0]['id']},great,Positive,",
    ]
    bad = client.get(f"/projects/{project.id}/export?download=1&format=xml&only=all")
    assert bad.status_code == 400


def test_task_data_is_escaped(client, auth):
    manager = auth.login("manager")
    project = factories.project(members=(manager,), title="<script>alert(1)</script>")
    body = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_changing_the_iou_threshold_rescores_regions(client, auth):
    from tests.test_import_export import span

    manager = auth.login("manager")
    project = factories.project("ner", members=(manager,))
    # Spans [0,10) and [0,6): IoU 0.6 -> matched at threshold 0.5 (s = 0.6), not at 0.7 (s = 0).
    text = "Alice Smith went home"
    factories.tasks(
        project,
        [
            {
                "data": {"text": text},
                "annotations": [
                    {"completed_by": "a@x.com", "result": [span(0, 10, text[0:10])]},
                    {"completed_by": "b@x.com", "result": [span(0, 6, text[0:6])]},
                ],
            }
        ],
    )
    task = db.session.scalar(select(Task))
    assert task.agreement == 0.6
    data = {
        "title": project.title,
        "label_config": project.label_config,
        **SETTINGS,
        "iou_threshold": "0.7",
    }
    response = client.post(f"/projects/{project.id}/settings", data=data)
    assert response.status_code == 302
    assert "recomputed for 1 tasks" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    db.session.refresh(task)
    assert task.agreement == 0.0
