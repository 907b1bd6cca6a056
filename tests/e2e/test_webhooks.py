"""A webhook set up in the browser, told about a settings change by a real job worker:
signed, retried by Huey's scheduler after the receiver answered 500, and the delivery log
page shows it (issue 17, part 3)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.conftest import _serve, log_in
from tests.test_jobs import _stop, _worker
from tests.test_webhooks import SECRET, Receiver, verified


@pytest.fixture
def hook_server(tmp_path):
    """queued_server that may call a receiver on 127.0.0.1."""
    yield from _serve(
        tmp_path,
        JOBS_IMMEDIATE=False,
        JOBS_PATH=str(tmp_path / "jobs.db"),
        JOBS_WAIT=0,
        WEBHOOK_ALLOW_PRIVATE=True,
    )


@pytest.fixture
def hook_page(browser, hook_server):
    context = browser.new_context(base_url=hook_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_a_webhook_added_on_its_page_is_delivered_by_the_worker(hook_page, hook_server, tmp_path):
    page = hook_page
    receiver = Receiver()
    receiver.statuses = [500]
    with hook_server.app.app_context():
        manager = factories.user("manager", email="manager@example.com")
        project_id = factories.project(members=(manager,)).id
        database_url = hook_server.app.config["DATABASE_URL"]
    log_in(page, "manager@example.com", factories.PASSWORD)

    page.goto(f"/projects/{project_id}/settings")
    page.locator("#webhooks").get_by_role("link", name="Manage webhooks").click()
    page.wait_for_url(f"**/projects/{project_id}/webhooks")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("project.updated").check()
    page.get_by_label("Secret").fill(SECRET)
    page.get_by_role("button", name="Add webhook").click()
    expect(page.locator("#webhooks")).to_contain_text("project.updated")

    page.goto(f"/projects/{project_id}/settings")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#flash")).to_contain_text("Settings saved.")
    assert receiver.calls == []  # the request only queued it

    worker = _worker(
        database_url,
        tmp_path / "jobs.db",
        tmp_path / "instance",
        REVIEWAPP_WEBHOOK_ALLOW_PRIVATE="1",
    )
    try:
        deadline = time.monotonic() + 60
        while len(receiver.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        output = _stop(worker)
        receiver.close()
    assert receiver.events() == ["project.updated", "project.updated"], output
    first, retry = receiver.calls
    assert first["json"]["delivery_id"] == retry["json"]["delivery_id"]
    assert verified(SECRET, retry["body"], retry["headers"]["X-Reviewapp-Signature"])

    page.goto(f"/projects/{project_id}/webhooks")
    page.get_by_role("link", name="Edit and deliveries").click()
    row = page.locator("#delivery-log tbody tr").first
    expect(row).to_contain_text("delivered")
    expect(row).to_contain_text("answer 200")
    expect(row.locator("td").nth(3)).to_have_text("2")
    assert re.search(r"\d+ ms", row.inner_text())
