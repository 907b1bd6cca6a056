"""Bulk Accept in the Data Manager as a manager clicks it: tick three tasks, Accept, read the
counts in the question, confirm, and see the counts and the Review status column change."""

from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import log_in


def _project(live_server) -> int:
    """Five tasks with two pending annotations each (ann and bob)."""
    with live_server.app.app_context():
        manager = factories.user("manager", email="manager@example.com")
        project = factories.project(members=(manager,), title="Bulk verdicts", overlap=2)
        factories.tasks(
            project,
            [
                {
                    "data": {"text": f"Review {i}: the parcel came on time."},
                    "annotations": [
                        factories.annotation("ann@example.com"),
                        factories.annotation("bob@example.com", "Negative"),
                    ],
                }
                for i in range(1, 6)
            ],
        )
        project_id = project.id
        db.session.remove()
    return project_id


def test_accept_three_tasks(page, live_server):
    project_id = _project(live_server)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "manager@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/tasks")
    rows = page.locator("table.tasks tbody tr")
    expect(rows).to_have_count(5)
    accept = page.locator('button[name="action"][value="accept"]')
    expect(accept).to_be_disabled()

    for row in rows.all()[:3]:
        row.locator('input[name="ids"]').check()
    expect(accept).to_have_text("Accept (3)")
    accept.click()
    confirm = page.locator("#bulk-confirm")
    expect(confirm).to_contain_text("Accept 6 pending annotations in 3 tasks?")
    confirm.get_by_role("button", name="Yes, accept").click()

    expect(page.locator("#flash")).to_contain_text("Accepted 6 annotations in 3 tasks.")
    expect(confirm).to_be_empty()
    status = page.locator("table.tasks tbody td.review-status")
    for i in range(3):
        expect(status.nth(i)).to_have_text("2 accepted")
    for i in (3, 4):
        expect(status.nth(i)).to_have_text("2 pending")
    # The table came back without a selection: nothing to accept until a task is ticked.
    expect(accept).to_be_disabled()
