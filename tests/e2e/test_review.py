from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import log_in


def test_review_three_tasks_accept_fix_reject(page, live_server):
    with live_server.app.app_context():
        reviewer = factories.user("reviewer", email="rita@example.com")
        project = factories.project(members=(reviewer,), title="Sentiment")
        factories.tasks(
            project,
            [
                {
                    "data": {"text": f"review number {i}"},
                    "annotations": [factories.annotation("ann@example.com", "Positive")],
                }
                for i in range(1, 6)
            ],
        )
        project_id = project.id
        db.session.remove()
    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/tasks")
    for box in page.locator('table.tasks tbody input[name="ids"]').all()[:3]:
        box.check()
    page.get_by_role("button", name="Review 3 tasks").click()
    expect(page.locator(".progress")).to_contain_text("3 annotations in 3 tasks to review")
    expect(page.locator("h1")).to_contain_text("by ann@example.com")

    page.keyboard.press("a")  # accept with the keyboard
    expect(page.locator("#flash")).to_contain_text("Accepted annotation")
    expect(page.locator(".progress")).to_contain_text("2 of 3 left")

    page.get_by_text("Fix & Accept").click()
    page.locator("details.fix-main").get_by_label("Negative").check()
    page.get_by_role("button", name="Save fix and accept").click()
    expect(page.locator("#flash")).to_contain_text("sentiment: Positive → Negative")
    expect(page.locator("#flash")).to_contain_text("fix size 100%")
    expect(page.locator(".progress")).to_contain_text("1 of 3 left")

    page.get_by_label("Comment (required)").fill("This is not a review at all")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".review-end")).to_contain_text(
        "Everything in this set is reviewed (3 annotations)."
    )

    page.get_by_role("link", name="Back to the Data Manager").click()
    statuses = page.locator("table.tasks tbody tr .review-status")
    expect(statuses.nth(0)).to_contain_text("1 accepted")
    expect(statuses.nth(1)).to_contain_text("1 fixed")
    expect(statuses.nth(2)).to_contain_text("1 rejected")
    expect(statuses.nth(3)).to_contain_text("1 pending")


def test_look_ahead_and_a_star_on_another_tab(page, live_server):
    with live_server.app.app_context():
        manager = factories.user("manager", email="max@example.com")
        project = factories.project(members=(manager,), title="Sentiment")
        both = [factories.annotation("amy@example.com"), factories.annotation("bob@example.com")]
        factories.tasks(
            project, [{"data": {"text": f"text {i}"}, "annotations": both} for i in range(1, 4)]
        )
        project_id = project.id
        db.session.remove()
    log_in(page, "max@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    expect(page.locator("h1")).to_contain_text("by amy@example.com")
    page.get_by_text("Next in this set").click()
    items = page.locator("ol.upcoming li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("text 2")
    # Star bob's annotation from his tab; the stream stays on amy's.
    page.locator(".tab-label", has_text="bob@example.com").click()
    page.locator(".tab-panel:visible").get_by_role("button", name="Mark as ground truth").click()
    expect(page.locator("#flash")).to_contain_text("ground truth")
    expect(page.locator("h1")).to_contain_text("by amy@example.com")
    expect(page.locator(".tab-label", has_text="bob@example.com").locator(".star")).to_have_count(1)
