import json

from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import log_in


def test_admin_creates_user_and_project_then_imports(page, live_server, tmp_path):
    with live_server.app.app_context():
        admin = factories.user("admin", email="admin@example.com")
        db.session.expunge(admin)
    log_in(page, "admin@example.com", factories.PASSWORD)

    page.get_by_role("link", name="Users").click()
    form = page.locator("form", has=page.get_by_role("button", name="Create user"))
    form.get_by_label("Email").fill("rita@example.com")
    form.get_by_label("Role").select_option("reviewer")
    form.get_by_label("Password").fill("rita-password")
    form.get_by_role("button", name="Create user").click()
    expect(page.locator("#flash")).to_contain_text("Created reviewer rita@example.com.")
    expect(page.locator("#user-2")).to_contain_text("rita@example.com")

    page.get_by_role("link", name="Projects").click()
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Title").fill("Smoke sentiment")
    page.get_by_label("Start from a preset").select_option("text_classification")
    page.get_by_role("button", name="Create project").click()
    expect(page.locator("h1")).to_have_text("Smoke sentiment")
    expect(page.locator('[data-count="tasks"]')).to_have_text("0")

    tasks = [
        {"data": {"text": f"review {i}"}, "annotations": [factories.annotation("ann@example.com")]}
        for i in range(3)
    ]
    upload = tmp_path / "tasks.json"
    upload.write_text(json.dumps(tasks))
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("Label Studio JSON or CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("Imported 3 tasks, 3 annotations")
    expect(page.locator('[data-count="tasks"]')).to_have_text("3")
    expect(page.locator('[data-count="annotations"]')).to_have_text("3")


def test_bad_import_shows_the_reason_and_keeps_nothing(page, live_server, tmp_path):
    with live_server.app.app_context():
        admin = factories.user("admin", email="admin@example.com")
        project = factories.project(members=(admin,))
        project_id = project.id
    log_in(page, "admin@example.com", factories.PASSWORD)
    upload = tmp_path / "bad.json"
    upload.write_text(json.dumps([{"data": {"text": "a"}}, {"data": {"nope": "b"}}]))
    page.goto(f"/projects/{project_id}/import")
    page.get_by_label("Label Studio JSON or CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("main")).to_contain_text("Task 2: data has no field 'text'")
    page.goto(f"/projects/{project_id}")
    expect(page.locator('[data-count="tasks"]')).to_have_text("0")
