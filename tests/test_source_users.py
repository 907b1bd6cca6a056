"""One account per Label Studio user across files (issue 12, A.10): `completed_by: 7` in one
file and `{"id": 7, "email": ...}` in another are the same person in one project."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Annotation, SourceUser, Task, User
from reviewapp.services.import_export.importer import ImportFailed
from reviewapp.services.users import find_user
from tests import factories

PLACEHOLDER = "labelstudio-user-7@imported.invalid"


def _task(text: str, completed_by, label="Positive") -> dict:
    return {
        "data": {"text": text},
        "annotations": [{"completed_by": completed_by, "result": factories.choice(label)}],
    }


def _owners(project) -> dict[str, list[str]]:
    rows = db.session.execute(
        select(User.email, Task.data)
        .join(Annotation, Annotation.completed_by_id == User.id)
        .join(Task, Task.id == Annotation.task_id)
        .where(Annotation.project_id == project.id)
        .order_by(Task.id)
    ).all()
    out: dict[str, list[str]] = {}
    for email, data in rows:
        out.setdefault(email, []).append(data["text"])
    return out


def test_an_id_only_placeholder_moves_to_the_email_account_of_a_later_file(app):
    project = factories.project("text")
    first = factories.tasks(project, [_task("a", 7), _task("b", "7")])
    assert first.new_annotators == [PLACEHOLDER]
    assert _owners(project) == {PLACEHOLDER: ["a", "b"]}

    second = factories.tasks(project, [_task("c", {"id": 7, "email": "Ann@Example.com"})])
    assert second.merged_accounts == [PLACEHOLDER]
    assert any("Moved the annotations of 1 accounts" in line for line in second.lines())
    assert _owners(project) == {"ann@example.com": ["a", "b", "c"]}

    third = factories.tasks(project, [_task("d", 7)])
    assert third.new_annotators == [] and third.merged_accounts == []
    assert _owners(project) == {"ann@example.com": ["a", "b", "c", "d"]}
    # The placeholder account stays as it was, with nothing left in this project.
    assert find_user(PLACEHOLDER) is not None and not find_user(PLACEHOLDER).active


def test_both_forms_in_one_file_give_one_account(app):
    project = factories.project("text")
    summary = factories.tasks(
        project,
        [_task("a", 7), _task("b", {"id": 7, "email": "ann@example.com"}), _task("c", 7)],
    )
    assert summary.merged_accounts == [PLACEHOLDER]
    assert _owners(project) == {"ann@example.com": ["a", "b", "c"]}


def test_email_first_then_id_only(app):
    project = factories.project("text")
    factories.tasks(project, [_task("a", {"id": 7, "email": "ann@example.com"})])
    summary = factories.tasks(project, [_task("b", 7)])
    assert summary.new_annotators == []
    assert _owners(project) == {"ann@example.com": ["a", "b"]}
    assert find_user(PLACEHOLDER) is None


def test_the_mapping_is_per_project(app):
    one, two = factories.project("text"), factories.project("text", title="Other")
    factories.tasks(one, [_task("a", {"id": 7, "email": "ann@example.com"})])
    factories.tasks(two, [_task("b", 7)])
    assert _owners(two) == {PLACEHOLDER: ["b"]}
    assert db.session.scalar(select(func.count()).select_from(SourceUser)) == 2


def test_moved_work_counts_for_the_account_in_the_data_manager_and_the_dashboard(client, auth, app):
    manager = auth.login("manager")
    project = factories.project("text", members=(manager,))
    factories.tasks(project, [_task("a", 7, "Positive"), _task("b", 7, "Negative")])
    factories.tasks(project, [_task("c", {"id": 7, "email": "ann@example.com"})])
    ann = find_user("ann@example.com")
    response = client.get(
        f"/api/projects/{project.id}/tasks?annotator={ann.id}",
        headers={"Authorization": f"Token {factories.token(manager)}"},
    )
    assert response.json["count"] == 3
    dashboard = client.get(f"/projects/{project.id}/dashboard").get_data(as_text=True)
    assert "ann@example.com" in dashboard and PLACEHOLDER not in dashboard


def test_a_malformed_email_beside_an_id_is_still_refused(app):
    project = factories.project("text")
    with pytest.raises(ImportFailed) as refused:
        factories.tasks(project, [_task("a", {"id": 7, "email": "<b>x</b>"})])
    assert "completed_by" in str(refused.value)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0
    assert db.session.scalar(select(func.count()).select_from(SourceUser)) == 0


def test_a_refused_file_moves_nothing(app):
    project = factories.project("text")
    factories.tasks(project, [_task("a", 7)])
    with pytest.raises(ImportFailed):
        factories.tasks(
            project,
            [_task("b", {"id": 7, "email": "ann@example.com"}), {"data": {"nope": 1}}],
        )
    db.session.rollback()
    assert _owners(project) == {PLACEHOLDER: ["a"]}
