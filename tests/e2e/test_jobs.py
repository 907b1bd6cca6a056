"""An import through the browser with a real job worker: the job page's progress bar, the
summary once done, and the link to the Data Manager (issue 13)."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from reviewapp.extensions import db
from reviewapp.models import Task
from tests import factories
from tests.e2e.conftest import log_in
from tests.test_jobs import _stop, _worker


@pytest.fixture
def queued_page(browser, queued_server):
    context = browser.new_context(base_url=queued_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_an_import_runs_in_the_worker_with_a_progress_bar(queued_page, queued_server, tmp_path):
    page = queued_page
    with queued_server.app.app_context():
        manager = factories.user("manager", email="manager@example.com")
        project_id = factories.project(members=(manager,)).id
        database_url = queued_server.app.config["DATABASE_URL"]
    upload = tmp_path / "tasks.json"
    upload.write_text(json.dumps([{"data": {"text": f"review {i}"}} for i in range(3000)]))
    log_in(page, "manager@example.com", factories.PASSWORD)

    page.goto(f"/projects/{project_id}/import")
    page.get_by_label("Label Studio JSON or CSV file").set_input_files(str(upload))
    page.get_by_role("button", name="Import", exact=True).click()
    # No worker yet: the job waits in the queue, and its page says so.
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    status = page.locator("#job-status")
    expect(status).to_have_attribute("data-status", "queued")
    expect(page.locator("progress#job-progress")).to_be_visible()
    expect(status).to_contain_text("Waiting for a worker.")
    expect(status.get_by_role("button", name="Cancel")).to_be_visible()

    worker = _worker(database_url, tmp_path / "jobs.db", tmp_path / "instance")
    try:
        # The block polls itself every second until the job has ended.
        expect(status).to_have_attribute(
            "data-status", re.compile("done|failed|cancelled"), timeout=60_000
        )
    finally:
        output = _stop(worker)
    assert status.get_attribute("data-status") == "done", output
    expect(status).to_contain_text("Imported 3000 tasks, 0 annotations")
    expect(status).not_to_have_attribute("hx-trigger", re.compile(".*"))
    expect(page.locator("progress#job-progress")).to_have_count(0)
    status.get_by_role("link", name="Open the Data Manager").click()
    page.wait_for_url(f"**/projects/{project_id}/tasks")
    expect(page.locator("#task-table")).to_contain_text("review 0")

    with queued_server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Task)) == 3000
