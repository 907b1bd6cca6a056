"""The rework loop in a real browser: a reviewer returns an annotation with a reason and a
comment, its annotator sees them first in their label stream and resubmits, the reviewer
gets the resubmission first and accepts it; the Data Manager shows each state on the way.
And auto-accept: the spot-check is reviewed, then the waiting task is accepted."""

from playwright.sync_api import expect

from reviewapp.extensions import db
from tests import factories
from tests.e2e.conftest import log_in


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login**")


def test_return_resubmit_and_re_review(page, live_server):
    with live_server.app.app_context():
        reviewer = factories.user("reviewer", email="rita@example.com")
        amy = factories.user("annotator", email="amy@example.com")
        project = factories.project(
            members=(reviewer, amy),
            title="Loop",
            reject_actions=["remove", "return"],
            default_reject_action="remove",
            reject_reasons="Wrong label\nSloppy",
        )
        factories.tasks(
            project,
            [
                {"data": {"text": "the food was cold"}, "annotations": [factories.annotation(amy)]},
                {"data": {"text": "lovely staff"}, "annotations": [factories.annotation(amy)]},
            ],
        )
        project_id = project.id
        db.session.remove()

    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/review")
    expect(page.locator(".progress")).to_contain_text("2 annotations in 2 tasks to review")
    expect(page.locator(".review-item")).to_contain_text("the food was cold")
    page.keyboard.press("b")  # the return action's key
    expect(page.locator('.reject-actions input[value="return"]')).to_be_checked()
    page.locator("[data-reject-comment]").fill("Cold food is a complaint: Negative")
    page.locator("[data-reject-reason]").select_option("Wrong label")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator("#flash")).to_contain_text("Rejected")
    expect(page.locator(".progress")).to_contain_text("1 of 2 left")

    page.goto(f"/projects/{project_id}/tasks")
    states = page.locator("table.tasks tbody tr .task-state")
    expect(states.nth(0)).to_have_text("Returned")
    expect(page.locator('.state-counts [data-state="returned"] strong')).to_have_text("1")
    _log_out(page)

    log_in(page, "amy@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/label")
    note = page.locator(".requeue-note")
    expect(note).to_contain_text("back: Wrong label.")
    expect(note).to_contain_text("Cold food is a complaint: Negative")
    page.locator("#label-form").get_by_label("Negative").check()
    page.get_by_role("button", name="Submit update").click()
    expect(page.locator("#flash")).to_contain_text("it is back in review")
    _log_out(page)

    log_in(page, "rita@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/tasks")
    # The resubmission comes first for the reviewer who returned it.
    page.goto(f"/projects/{project_id}/review")
    expect(page.locator(".review-item")).to_contain_text("the food was cold")
    expect(page.locator(".review-item")).to_contain_text("Earlier reviews")
    page.keyboard.press("a")
    expect(page.locator("#flash")).to_contain_text("Accepted annotation")
    page.goto(f"/projects/{project_id}/tasks")
    expect(page.locator("table.tasks tbody tr .task-state").nth(0)).to_have_text("Done")
    task_link = page.locator("table.tasks tbody tr td:nth-child(2) a").first
    task_link.click()
    history = page.locator("#state-history")
    expect(history).to_contain_text("review: rejected, returned")
    expect(history).to_contain_text("annotation resubmitted")
    expect(history).to_contain_text("review: accepted")


def test_auto_accept_spot_check_then_accept(page, live_server):
    with live_server.app.app_context():
        manager = factories.user("manager", email="mona@example.com")
        project = factories.project(members=(manager,), title="Auto", overlap=2)
        factories.tasks(
            project,
            [
                {
                    "data": {"text": f"agree {k}"},
                    "annotations": [
                        factories.annotation("amy@example.com"),
                        factories.annotation("bob@example.com"),
                    ],
                }
                for k in range(6)
            ],
        )
        project_id = project.id
        db.session.remove()

    log_in(page, "mona@example.com", factories.PASSWORD)
    page.goto(f"/projects/{project_id}/settings")
    page.get_by_label("Auto-accept tasks whose annotators all agree").check()
    page.get_by_label("Auto-accept: largest share of wrong accepts").fill("0.5")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#flash")).to_contain_text("Settings saved")  # before navigating away
    page.goto(f"/projects/{project_id}/dashboard")
    card = page.locator("#auto-accept")
    # 6 qualifying tasks, n = 5 for a 50% target: 5 spot-checks, 1 waits.
    expect(card.locator('[data-auto="spot_checked"]')).to_contain_text("5")
    expect(card.locator('[data-auto="waiting"]')).to_have_text("1")

    page.goto(f"/projects/{project_id}/review")
    expect(page.locator(".progress")).to_contain_text("10 annotations in 5 tasks to review")
    for left in range(9, -1, -1):
        # The key clicks Accept: wait until the last answer has re-enabled it.
        expect(page.locator('button[data-key="a"]')).to_be_enabled()
        page.keyboard.press("a")
        if left:
            expect(page.locator(".progress")).to_contain_text(f"{left} of 10 left")
    expect(page.locator(".review-end")).to_be_visible()

    page.goto(f"/projects/{project_id}/dashboard")
    card = page.locator("#auto-accept")
    expect(card.locator('[data-auto="accepted"]')).to_have_text("1")
    expect(card.locator('[data-auto="rejects"]')).to_contain_text("0 of 10")
    expect(card.locator('[data-auto="upper_bound"]')).to_have_text("25.9%")
    expect(card.locator('[data-auto="waiting"]')).to_have_text("0")
