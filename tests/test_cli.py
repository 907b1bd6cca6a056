import json

from sqlalchemy import select

from reviewapp.extensions import db
from reviewapp.models import Membership, User, hash_token
from tests import factories


def test_create_admin_and_user(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-admin", "--email", "root@example.com", "--password", "pw-123456"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "r@example.com",
            "--password",
            "pw-123456",
            "--role",
            "reviewer",
        ]
    )
    assert result.exit_code == 0
    users = {u.email: u.role for u in db.session.scalars(select(User))}
    assert users == {"root@example.com": "admin", "r@example.com": "reviewer"}
    again = runner.invoke(args=["create-admin", "--email", "root@example.com", "--password", "x"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_api_token_prints_a_token_stored_hashed(app):
    user = factories.user("manager")
    result = app.test_cli_runner().invoke(args=["api-token", user.email])
    token = result.output.strip()
    db.session.refresh(user)
    assert user.api_token_hash == hash_token(token)
    missing = app.test_cli_runner().invoke(args=["api-token", "ghost@example.com"])
    assert missing.exit_code != 0


def test_add_member(app):
    user = factories.user("annotator")
    project = factories.project()
    result = app.test_cli_runner().invoke(args=["add-member", str(project.id), user.email])
    assert result.exit_code == 0
    assert db.session.get(Membership, (project.id, user.id)) is not None


def test_import_and_export(app, tmp_path):
    project = factories.project()
    source = tmp_path / "in.json"
    source.write_text(
        json.dumps(
            [
                {
                    "data": {"text": "a"},
                    "annotations": [factories.annotation("x@example.com", ground_truth=True)],
                },
                {"data": {"text": "b"}},
            ]
        )
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", str(project.id), str(source)])
    assert result.exit_code == 0, result.output
    assert "Imported 2 tasks, 1 annotations" in result.output
    out = tmp_path / "out.json"
    result = runner.invoke(
        args=[
            "export",
            str(project.id),
            "--format",
            "json",
            "--only",
            "ground-truth",
            "-o",
            str(out),
        ]
    )
    assert result.exit_code == 0
    assert [t["data"]["text"] for t in json.loads(out.read_text())] == ["a"]
    out_csv = tmp_path / "out.csv"
    runner.invoke(
        args=["export", str(project.id), "--format", "csv", "--only", "all", "-o", str(out_csv)]
    )
    assert out_csv.read_text().splitlines()[0] == "id,text,x@example.com,ground_truth"


def test_import_failure_exits_non_zero(app, tmp_path):
    project = factories.project()
    source = tmp_path / "bad.json"
    source.write_text("[{")
    result = app.test_cli_runner().invoke(args=["import", str(project.id), str(source)])
    assert result.exit_code != 0
    assert "not valid JSON" in result.output and "Nothing was imported" in result.output
    missing = app.test_cli_runner().invoke(args=["import", "999", str(source)])
    assert "No project with id 999" in missing.output


def test_demo_prints_where_to_log_in(app):
    result = app.test_cli_runner().invoke(args=["demo", "--url", "http://127.0.0.1:8080"])
    assert result.exit_code == 0, result.output
    assert "Log in at http://127.0.0.1:8080 as:" in result.output
    assert "manager   manager@example.com / demo-password" in result.output
